//! Content descriptors (OCI image-spec `descriptor.md`), in go-containerregistry's field order.

use super::json::go;
use super::media_type::MediaType;
use super::platform::Platform;
use crate::digest::Digest;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Annotation key naming an image inside an OCI layout `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A pointer to a blob: media type, size, digest and optional extras.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: MediaType,
    #[serde(default)]
    pub size: u64,
    pub digest: Digest,
    /// Embedded content, base64 (kept verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub urls: Vec<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(
        rename = "artifactType",
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub artifact_type: String,
    /// Fields we do not model, kept for read-modify-write.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Descriptor {
    pub fn new(media_type: MediaType, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type,
            size,
            digest,
            data: None,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: String::new(),
            extra: BTreeMap::new(),
        }
    }

    /// The `org.opencontainers.image.ref.name` annotation, if any.
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations
            .get(ANNOTATION_REF_NAME)
            .map(String::as_str)
    }
}
