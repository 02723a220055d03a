//! Image indexes: OCI `application/vnd.oci.image.index.v1+json` and Docker manifest lists;
//! also the shape of an OCI layout's `index.json`. Field order follows ggcr's `v1.IndexManifest`.

use super::descriptor::Descriptor;
use super::json::go;
use super::media_type::MediaType;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Index {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: i64,
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "MediaType::is_empty"
    )]
    pub media_type: MediaType,
    #[serde(default, deserialize_with = "go::null_default")]
    pub manifests: Vec<Descriptor>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(
        rename = "artifactType",
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub artifact_type: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Index {
    /// An empty OCI index (what ggcr's `empty.Index` is).
    pub fn empty_oci() -> Index {
        Index {
            schema_version: 2,
            media_type: MediaType::OCI_INDEX,
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
            subject: None,
            artifact_type: String::new(),
            extra: BTreeMap::new(),
        }
    }
}

impl Default for Index {
    fn default() -> Self {
        Index::empty_oci()
    }
}
