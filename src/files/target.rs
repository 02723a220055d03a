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

    /// Go `TargetSatisfiedForRebase`: `self` (the new run image) fits the app's target when
    /// os and arch are equal and arch-variant and distro name/version match where `self`
    /// sets them (empty means "any"; a distro on `self` requires one on the app).
    pub fn satisfied_for_rebase(&self, app: &TargetMetadata) -> bool {
        if self.os != app.os || self.arch != app.arch {
            return false;
        }
        if !self.arch_variant.is_empty()
            && !app.arch_variant.is_empty()
            && self.arch_variant != app.arch_variant
        {
            return false;
        }
        match (&self.distro, &app.distro) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(want), Some(have)) => {
                (want.name.is_empty() || want.name == have.name)
                    && (want.version.is_empty() || want.version == have.version)
            }
        }
    }

    /// Go `platform.EnvVarsFor`: the `CNB_TARGET_*` variables given to buildpacks.
    /// Without a distro, os/arch default to `linux`/this machine's GOARCH and the distro is
    /// taken from `os_release` (the caller reads `/etc/os-release` with
    /// [`parse_os_release`] and logs Go's one-time info line).
    pub fn env_vars(&self, os_release: impl FnOnce() -> Option<OsDistro>) -> Vec<String> {
        let mut tm = self.clone();
        if tm.distro.is_none() {
            if tm.os.is_empty() {
                tm.os = "linux".into();
            }
            if tm.arch.is_empty() {
                tm.arch = go_arch().into();
            }
            tm.distro = os_release().filter(|d| !d.name.is_empty() || !d.version.is_empty());
        }
        let mut env = vec![
            format!("CNB_TARGET_OS={}", tm.os),
            format!("CNB_TARGET_ARCH={}", tm.arch),
        ];
        let (name, version) = tm.distro.map(|d| (d.name, d.version)).unwrap_or_default();
        for (key, val) in [
            ("CNB_TARGET_ARCH_VARIANT", tm.arch_variant),
            ("CNB_TARGET_DISTRO_NAME", name),
            ("CNB_TARGET_DISTRO_VERSION", version),
        ] {
            if !val.is_empty() {
                env.push(format!("{key}={val}"));
            }
        }
        env
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

/// This machine's architecture in Go's `GOARCH` spelling.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Distro name (`ID`) and version (`VERSION_ID`) from `/etc/os-release` text, parsed the
/// way Go's lifecycle does (split on `=`, trim `"` and spaces, lines with more than one `=`
/// skipped).
pub fn parse_os_release(contents: &str) -> OsDistro {
    let mut out = OsDistro::default();
    for line in contents.split('\n') {
        let parts: Vec<&str> = line.split('=').collect();
        if parts.len() != 2 {
            continue;
        }
        let value = parts[1].trim_matches(|c| c == '"' || c == ' ').to_owned();
        match parts[0] {
            "ID" => out.name = value,
            "VERSION_ID" => out.version = value,
            _ => {}
        }
        if !out.name.is_empty() && !out.version.is_empty() {
            break;
        }
    }
    out
}
