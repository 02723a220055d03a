//! Image manifests: OCI `application/vnd.oci.image.manifest.v1+json` and Docker v2 schema 2
//! (`application/vnd.docker.distribution.manifest.v2+json`) share one shape.
//! Field order and omissions follow go-containerregistry's `v1.Manifest`.

use super::descriptor::Descriptor;
use super::json::go;
use super::media_type::MediaType;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: i64,
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "MediaType::is_empty"
    )]
    pub media_type: MediaType,
    pub config: Descriptor,
    #[serde(default, deserialize_with = "go::null_default")]
    pub layers: Vec<Descriptor>,
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

impl Manifest {
    /// A manifest with no layers, pointing at `config`.
    pub fn new(media_type: MediaType, config: Descriptor) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type,
            config,
            layers: Vec::new(),
            annotations: BTreeMap::new(),
            subject: None,
            artifact_type: String::new(),
            extra: BTreeMap::new(),
        }
    }
}
