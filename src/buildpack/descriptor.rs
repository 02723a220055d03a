//! `buildpack.toml`, the buildpack descriptor (Buildpack API spec; Go `buildpack/bp_descriptor.go`).

use super::group::GroupElement;
use super::order::Order;
use super::target::{OsDistro, TargetMetadata};
use super::{FileError, read_toml};
use crate::api::Version;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A parsed `buildpack.toml` plus the directory it was read from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildpackDescriptor {
    #[serde(default)]
    pub api: String,
    #[serde(default)]
    pub buildpack: BuildpackInfo,
    /// Non-empty for a composite (meta) buildpack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Order,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetMetadata>,
    /// Legacy `[[stacks]]`, kept only to infer targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stacks: Vec<Stack>,
    /// Absolute directory holding buildpack.toml (and `bin/`).
    #[serde(skip)]
    pub root_dir: PathBuf,
}

/// The `[buildpack]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildpackInfo {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub homepage: String,
    #[serde(default, rename = "clear-env")]
    pub clear_env: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<License>,
    #[serde(
        default,
        rename = "sbom-formats",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sbom_formats: Vec<String>,
    /// Execution environments the buildpack applies to (Buildpack API ≥ 0.12; Go reads a
    /// string array).
    #[serde(default, rename = "exec-env", skip_serializing_if = "Vec::is_empty")]
    pub exec_env: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct License {
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uri: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stack {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mixins: Vec<String>,
}

impl BuildpackDescriptor {
    /// `id@version` as the logs and errors name it.
    pub fn key(&self) -> String {
        format!("{}@{}", self.buildpack.id, self.buildpack.version)
    }

    pub fn is_composite(&self) -> bool {
        !self.order.is_empty()
    }

    /// The Buildpack API, if it parses.
    pub fn api_version(&self) -> Option<Version> {
        Version::parse(&self.api).ok()
    }

    /// True when the API parses and is at least `v` (unparseable APIs count as old; they
    /// are rejected by the API gate before anything runs).
    pub fn api_at_least(&self, v: &str) -> bool {
        self.api_version().is_some_and(|a| a.at_least(v))
    }

    /// The group element this descriptor stands for (with api and homepage filled in).
    pub fn group_element(&self) -> GroupElement {
        GroupElement {
            id: self.buildpack.id.clone(),
            version: self.buildpack.version.clone(),
            api: self.api.clone(),
            homepage: self.buildpack.homepage.clone(),
            ..Default::default()
        }
    }

    pub fn detect_path(&self) -> PathBuf {
        self.root_dir.join("bin").join("detect")
    }

    pub fn build_path(&self) -> PathBuf {
        self.root_dir.join("bin").join("build")
    }
}

/// Reads a `buildpack.toml`, records its directory and infers targets when none are declared
/// (as the Go lifecycle does): stack `io.buildpacks.stacks.bionic` → linux/amd64 ubuntu 18.04
/// (if the API is ≥ 0.10 or it is the only stack), stack `*` → match-any, otherwise a
/// `bin/build` file → `{os = "linux"}`.
pub fn read_descriptor(path: &Path) -> Result<BuildpackDescriptor, FileError> {
    let mut d: BuildpackDescriptor = read_toml("buildpack descriptor", path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    d.root_dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    if d.targets.is_empty() {
        let only_one = d.stacks.len() == 1;
        let new_api = d.api_at_least("0.10");
        for s in &d.stacks {
            if s.id == "io.buildpacks.stacks.bionic" {
                if new_api || only_one {
                    d.targets.push(TargetMetadata {
                        os: "linux".into(),
                        arch: "amd64".into(),
                        distros: vec![OsDistro {
                            name: "ubuntu".into(),
                            version: "18.04".into(),
                        }],
                        ..Default::default()
                    });
                }
            } else if s.id == "*" {
                d.targets.push(TargetMetadata::default());
            }
        }
    }
    if d.targets.is_empty() && d.build_path().exists() {
        d.targets.push(TargetMetadata {
            os: "linux".into(),
            ..Default::default()
        });
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_descriptor_and_infers_targets() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("buildpack.toml");
        std::fs::write(
            &p,
            r#"api = "0.12"
[buildpack]
id = "ex/a"
name = "A"
version = "1.0"
homepage = "https://example.com"
clear-env = true
description = "d"
keywords = ["k"]
sbom-formats = ["application/vnd.cyclonedx+json"]
exec-env = ["production"]
[[buildpack.licenses]]
type = "MIT"
[[stacks]]
id = "*"
"#,
        )
        .unwrap();
        let d = read_descriptor(&p).unwrap();
        assert_eq!(d.key(), "ex/a@1.0");
        assert!(d.buildpack.clear_env);
        assert_eq!(d.buildpack.exec_env, ["production"]);
        assert_eq!(d.buildpack.licenses[0].kind, "MIT");
        assert_eq!(d.targets, vec![TargetMetadata::default()]);
        assert!(d.root_dir.is_absolute());
    }

    #[test]
    fn composite_order_and_bin_build_inference() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/build"), "").unwrap();
        let p = dir.path().join("buildpack.toml");
        std::fs::write(
            &p,
            "api = \"0.10\"\n[buildpack]\nid = \"m\"\nversion = \"1\"\n[[order]]\n[[order.group]]\nid = \"x\"\nversion = \"2\"\noptional = true\n",
        )
        .unwrap();
        let d = read_descriptor(&p).unwrap();
        assert!(d.is_composite());
        assert!(d.order[0].group[0].optional);
        assert_eq!(d.targets[0].os, "linux");
    }
}
