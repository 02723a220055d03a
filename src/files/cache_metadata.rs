//! Cache metadata (Go `platform.CacheMetadata`): the `io.buildpacks.lifecycle.cache.metadata`
//! label of a cache image, and the file of that name in a volume cache. JSON only.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::gojson;
use super::io::{self, Error};
use super::layers_metadata::{BuildpackLayersMetadata, LayerMetadata, null_default};

/// The label name, also the volume cache's metadata file name.
pub const CACHE_METADATA_LABEL: &str = "io.buildpacks.lifecycle.cache.metadata";

/// `{"sbom":{"sha":…},"buildpacks":[…]}`: `sbom` always present; an empty `buildpacks`
/// is written `null` (Go nil), as for the empty metadata of a missing cache.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CacheMetadata {
    #[serde(default, deserialize_with = "null_default")]
    pub sbom: LayerMetadata,
    #[serde(default, deserialize_with = "null_default")]
    pub buildpacks: Vec<BuildpackLayersMetadata>,
}

impl Serialize for CacheMetadata {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("CacheMetadata", 2)?;
        st.serialize_field("sbom", &self.sbom)?;
        if self.buildpacks.is_empty() {
            st.serialize_field("buildpacks", &None::<()>)?;
        } else {
            st.serialize_field("buildpacks", &self.buildpacks)?;
        }
        st.end()
    }
}

impl CacheMetadata {
    /// Parse the label value / file content (Go `json.Unmarshal`).
    pub fn from_json(data: &[u8]) -> Result<Self, serde_json::Error> {
        gojson::from_slice(data)
    }

    /// The label value (Go `json.Marshal`).
    pub fn to_label(&self) -> Result<String, serde_json::Error> {
        gojson::to_string(self)
    }

    /// Read a volume cache metadata file.
    pub fn read(path: &Path) -> Result<Self, Error> {
        io::read_json("cache metadata", path)
    }

    /// Write a volume cache metadata file (`json.NewEncoder(f).Encode`: trailing newline).
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        io::write_json_line("cache metadata", path, self)
    }

    /// The entry for buildpack `id`, if any.
    pub fn for_buildpack(&self, id: &str) -> Option<&BuildpackLayersMetadata> {
        self.buildpacks.iter().find(|b| b.id == id)
    }
}
