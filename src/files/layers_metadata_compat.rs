//! Go `files.LayersMetadataCompat`: the lifecycle metadata label as the rebaser reads and
//! rewrites it, with `app` kept verbatim whatever its shape (older lifecycles wrote an
//! object instead of an array), so rebasing never loses or rejects it.

use serde::{Serialize, Serializer};

use super::gojson;
use super::layers_metadata::{LayersMetadata, serialize_with_app};

/// The label with an opaque `app`; every other field is typed (`metadata.app` stays empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayersMetadataCompat {
    /// `app` as decoded into Go `any` (`Null` when absent).
    pub app: serde_json::Value,
    pub metadata: LayersMetadata,
    /// The label had `"buildpacks":[]` (Go keeps a non-nil empty slice and writes `[]`).
    buildpacks_empty_not_nil: bool,
}

impl Serialize for LayersMetadataCompat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.buildpacks_empty_not_nil && self.metadata.buildpacks.is_empty() {
            let empty: [(); 0] = [];
            return serialize_with_app(&self.metadata, &self.app, Some(&empty[..]), s);
        }
        serialize_with_app(&self.metadata, &self.app, None, s)
    }
}

impl LayersMetadataCompat {
    /// Parse the label value (Go `json.Unmarshal` into `LayersMetadataCompat`).
    pub fn from_label(label: &str) -> Result<Self, serde_json::Error> {
        let mut value: serde_json::Value = gojson::from_str(label)?;
        let app = match value.as_object_mut() {
            Some(obj) => obj.remove("app").unwrap_or(serde_json::Value::Null),
            None => serde_json::Value::Null,
        };
        let buildpacks_empty_not_nil = value
            .get("buildpacks")
            .and_then(serde_json::Value::as_array)
            .is_some_and(Vec::is_empty);
        let metadata = gojson::from_value(value)?;
        Ok(LayersMetadataCompat {
            app,
            metadata,
            buildpacks_empty_not_nil,
        })
    }

    /// The label value (Go `json.Marshal`).
    pub fn to_label(&self) -> Result<String, serde_json::Error> {
        gojson::to_string(self)
    }
}
