//! `report.toml` (Go `files.Report` / `files.RebaseReport`), written by the exporter and
//! the rebaser.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::io::{self, Error};

/// `[image]` and, for Platform API < 0.9, `[build] bom` (left as raw TOML values here,
/// since the legacy BOM entries are the buildpack module's type). Known gap: each raw entry
/// is written with its keys sorted (plain values first), where Go follows its struct order
/// (name, version, metadata, buildpack), so `[build.bom.buildpack]` lands before
/// `[build.bom.metadata]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Go `omitempty` on a struct: written only when it has BOM entries.
    #[serde(default, skip_serializing_if = "BuildReport::is_empty")]
    pub build: BuildReport,
    #[serde(default)]
    pub image: ImageReport,
}

/// `[build] bom = […]` (legacy).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    #[serde(default)]
    pub bom: Vec<toml::Value>,
}

impl BuildReport {
    pub fn is_empty(&self) -> bool {
        self.bom.is_empty()
    }
}

/// `[image] tags, image-id?, digest?, manifest-size?`.
///
/// `tags: None` is Go's nil slice (no `tags` line); `Some(vec![])` writes `tags = []`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageReport {
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Daemon image ID (hex, no `sha256:`).
    #[serde(rename = "image-id", default, skip_serializing_if = "String::is_empty")]
    pub image_id: String,
    /// Registry manifest digest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
    #[serde(rename = "manifest-size", default, skip_serializing_if = "is_zero")]
    pub manifest_size: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The rebaser's report: `[image]` only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebaseReport {
    #[serde(default)]
    pub image: ImageReport,
}

impl Report {
    pub fn read(path: &Path) -> Result<Self, Error> {
        io::read_toml("report", path)
    }
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        io::write_toml("report", path, self)
    }
}

impl RebaseReport {
    pub fn read(path: &Path) -> Result<Self, Error> {
        io::read_toml("report", path)
    }
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        io::write_toml("report", path, self)
    }
}
