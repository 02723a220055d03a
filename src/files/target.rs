//! Target data (`[run-image.target]` of analyzed.toml; Go `files.TargetMetadata`) and how
//! it is read off a base image's config and labels.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Label giving the target ID.
pub const LABEL_TARGET_ID: &str = "io.buildpacks.base.id";
/// Label giving the distribution name.
pub const LABEL_DISTRO_NAME: &str = "io.buildpacks.base.distro.name";
/// Label giving the distribution version.
pub const LABEL_DISTRO_VERSION: &str = "io.buildpacks.base.distro.version";

/// `id?, os, arch, arch-variant?, [distro]?`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetMetadata {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub arch: String,
    /// Go key `arch-variant` (the spec text says `variant`).
    #[serde(
        rename = "arch-variant",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub arch_variant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<OsDistro>,
}

/// `{name, version}` of the OS distribution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsDistro {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

impl TargetMetadata {
    /// Target data of a base image from its config `os`/`architecture`/`variant` and labels
    /// (Go `platform.GetTargetMetadata`): `id` from `io.buildpacks.base.id`; a distro only
    /// when the distro name or version label exists (even if empty). Fails like Go when the config has no OS.
    pub fn from_image(
        os: &str,
        architecture: &str,
        variant: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<Self, MissingOs> {
        if os.is_empty() {
            return Err(MissingOs);
        }
        let label = |k: &str| labels.get(k).cloned().unwrap_or_default();
        let has_distro =
            labels.contains_key(LABEL_DISTRO_NAME) || labels.contains_key(LABEL_DISTRO_VERSION);
        let distro = has_distro.then(|| OsDistro {
            name: label(LABEL_DISTRO_NAME),
            version: label(LABEL_DISTRO_VERSION),
        });
        Ok(TargetMetadata {
            id: label(LABEL_TARGET_ID),
            os: os.to_owned(),
            arch: architecture.to_owned(),
            arch_variant: variant.to_owned(),
            distro,
        })
    }

    /// Go `TargetMetadata.String()`: its compact JSON, used in log lines and errors.
    pub fn to_json(&self) -> String {
        super::gojson::to_string(self).unwrap_or_default()
    }
}

/// The base image config has no `os`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("failed to find OS in run image config")]
pub struct MissingOs;
