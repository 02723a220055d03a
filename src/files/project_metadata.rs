//! `project-metadata.toml` (platform input to the exporter) and the
//! `io.buildpacks.project.metadata` label made from it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::freeform::{self, Table};
use super::gojson;
use super::io::{self, Error};

/// `[source]`; the label is `{}` when there is none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ProjectSource>,
}

/// `type`, `[source.version]`, `[source.metadata]` (each left out of the label when empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectSource {
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, with = "freeform::opt", skip_serializing_if = "is_empty")]
    pub version: Option<Table>,
    #[serde(default, with = "freeform::opt", skip_serializing_if = "is_empty")]
    pub metadata: Option<Table>,
}

fn is_empty(t: &Option<Table>) -> bool {
    t.as_ref().is_none_or(|t| t.is_empty())
}

impl ProjectMetadata {
    /// Read `path`, `Ok(None)` when it does not exist (Go logs at debug level
    /// `No project metadata found at path "<path>", project metadata will not be exported`).
    pub fn read_optional(path: &Path) -> Result<Option<Self>, Error> {
        io::read_toml_optional("project metadata", path)
    }

    /// The label value (Go `json.Marshal`).
    pub fn to_label(&self) -> Result<String, serde_json::Error> {
        gojson::to_string(self)
    }

    /// Parse the label value.
    pub fn from_label(label: &str) -> Result<Self, serde_json::Error> {
        gojson::from_str(label)
    }
}
