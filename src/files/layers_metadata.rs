//! `LayersMetadata`: the `io.buildpacks.lifecycle.metadata` label (JSON) and the
//! `[metadata]` table of analyzed.toml (TOML), one model with both spellings
//! (`runImage`/`run-image`, `topLayer`/`top-layer`, layer `data`/`metadata`).
//!
//! Go nil is modelled as "empty": an empty `app`/`buildpacks` list is written as JSON
//! `null` and left out of TOML, like the zero Go struct the analyzer writes for a first
//! build; `null` reads back as empty.

use std::collections::BTreeMap;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::freeform::{self, Table};
use super::gojson;

/// Picks the JSON or the TOML spelling of a key for the writer in use.
fn key(json: &'static str, toml: &'static str) -> &'static str {
    if gojson::json_mode() { json } else { toml }
}

/// `null` (Go nil) reads as the empty value.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `{sha}`: a layer diffID (`sha256:<hex>`, or `""` when absent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerMetadata {
    #[serde(default)]
    pub sha: String,
}

impl LayerMetadata {
    pub fn new(sha: impl Into<String>) -> Self {
        LayerMetadata { sha: sha.into() }
    }
}

/// The whole label / `[metadata]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct LayersMetadata {
    #[serde(default, deserialize_with = "null_default")]
    pub app: Vec<LayerMetadata>,
    #[serde(default)]
    pub sbom: Option<LayerMetadata>,
    #[serde(default, deserialize_with = "null_default")]
    pub buildpacks: Vec<BuildpackLayersMetadata>,
    #[serde(default, deserialize_with = "null_default")]
    pub config: LayerMetadata,
    #[serde(default, deserialize_with = "null_default")]
    pub launcher: LayerMetadata,
    #[serde(rename = "process-types", default, deserialize_with = "null_default")]
    pub process_types: LayerMetadata,
    #[serde(
        rename = "runImage",
        alias = "run-image",
        default,
        deserialize_with = "null_default"
    )]
    pub run_image: RunImageForRebase,
    #[serde(default)]
    pub stack: Option<Stack>,
}

impl Serialize for LayersMetadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.app.is_empty() {
            serialize_with_app(self, &None::<()>, None, s)
        } else {
            serialize_with_app(self, &self.app, None, s)
        }
    }
}

/// Writes `md` in Go field order with `app` taken from `app` (shared with the compat form);
/// `empty_buildpacks` is what to write for an empty `buildpacks` (default: `null`).
pub(crate) fn serialize_with_app<S: Serializer, A: Serialize + ?Sized>(
    md: &LayersMetadata,
    app: &A,
    empty_buildpacks: Option<&[()]>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut st = s.serialize_struct("LayersMetadata", 8)?;
    st.serialize_field("app", app)?;
    if let Some(sbom) = &md.sbom {
        st.serialize_field("sbom", sbom)?;
    }
    if md.buildpacks.is_empty() {
        st.serialize_field("buildpacks", &empty_buildpacks)?;
    } else {
        st.serialize_field("buildpacks", &md.buildpacks)?;
    }
    st.serialize_field("config", &md.config)?;
    st.serialize_field("launcher", &md.launcher)?;
    st.serialize_field("process-types", &md.process_types)?;
    st.serialize_field(key("runImage", "run-image"), &md.run_image)?;
    if let Some(stack) = &md.stack {
        st.serialize_field("stack", stack)?;
    }
    st.end()
}

impl LayersMetadata {
    /// Parse the `io.buildpacks.lifecycle.metadata` label value (Go `json.Unmarshal`).
    pub fn from_label(label: &str) -> Result<Self, serde_json::Error> {
        gojson::from_str(label)
    }

    /// The label value, byte-identical to Go's `json.Marshal`.
    pub fn to_label(&self) -> Result<String, serde_json::Error> {
        gojson::to_string(self)
    }

    /// The entry for buildpack `id`, if any (Go returns an empty one when absent).
    pub fn for_buildpack(&self, id: &str) -> Option<&BuildpackLayersMetadata> {
        self.buildpacks.iter().find(|b| b.id == id)
    }
}

/// One buildpack's layers in the label / cache metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildpackLayersMetadata {
    /// Buildpack ID (key `key`).
    #[serde(rename = "key", default)]
    pub id: String,
    #[serde(default)]
    pub version: String,
    /// Layer name → metadata; always written (`{}` / a bare TOML header when empty).
    #[serde(default, deserialize_with = "null_default")]
    pub layers: BTreeMap<String, BuildpackLayerMetadata>,
    /// `store.toml` content; absent when the buildpack wrote none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreToml>,
}

/// `{sha, data, build, launch, cache}` (JSON) / `sha, build, launch, cache, [metadata]` (TOML).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct BuildpackLayerMetadata {
    #[serde(default)]
    pub sha: String,
    /// The layer toml's `[metadata]`; `None` is written as JSON `null` and omitted in TOML.
    #[serde(rename = "data", alias = "metadata", default, with = "freeform::opt")]
    pub data: Option<Table>,
    #[serde(default)]
    pub build: bool,
    #[serde(default)]
    pub launch: bool,
    #[serde(default)]
    pub cache: bool,
}

impl Serialize for BuildpackLayerMetadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Data<'a>(&'a Option<Table>);
        impl Serialize for Data<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                freeform::opt::serialize(self.0, s)
            }
        }
        let mut st = s.serialize_struct("LayerMetadata", 5)?;
        st.serialize_field("sha", &self.sha)?;
        st.serialize_field(key("data", "metadata"), &Data(&self.data))?;
        st.serialize_field("build", &self.build)?;
        st.serialize_field("launch", &self.launch)?;
        st.serialize_field("cache", &self.cache)?;
        st.end()
    }
}

/// `store.toml` (`[metadata]` free-form), also embedded in the label as `store`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreToml {
    #[serde(default, with = "freeform::opt")]
    pub metadata: Option<Table>,
}

/// `runImage {topLayer, reference, image?, mirrors?}` / `[run-image] top-layer, reference, …`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RunImageForRebase {
    #[serde(rename = "topLayer", alias = "top-layer", default)]
    pub top_layer: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub image: String,
    #[serde(default, deserialize_with = "null_default")]
    pub mirrors: Vec<String>,
}

impl Serialize for RunImageForRebase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("RunImageForRebase", 4)?;
        st.serialize_field(key("topLayer", "top-layer"), &self.top_layer)?;
        st.serialize_field("reference", &self.reference)?;
        if !self.image.is_empty() {
            st.serialize_field("image", &self.image)?;
        }
        if !self.mirrors.is_empty() {
            st.serialize_field("mirrors", &self.mirrors)?;
        }
        st.end()
    }
}

impl RunImageForRebase {
    /// The `stack` entry mirroring this run image (Go `ToStack`).
    pub fn to_stack(&self) -> Stack {
        Stack {
            run_image: self.for_export(),
        }
    }

    /// Just `{image, mirrors}`.
    pub fn for_export(&self) -> RunImageForExport {
        RunImageForExport {
            image: self.image.clone(),
            mirrors: self.mirrors.clone(),
        }
    }
}

/// `{image?, mirrors?}`: an entry of run.toml `[[images]]`, stack.toml `[run-image]`,
/// the label's `stack.runImage`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunImageForExport {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub mirrors: Vec<String>,
}

impl RunImageForExport {
    /// `image` followed by `mirrors`.
    pub fn candidates(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.image.as_str()).chain(self.mirrors.iter().map(String::as_str))
    }

    /// True when `image` or a mirror names `provided`, comparing names normalized by
    /// `normalize` (Go `name.ParseMaybe`: digest stripped, `:latest` and Docker Hub
    /// expanded; supplied by the reference parser).
    pub fn contains(&self, provided: &str, normalize: impl Fn(&str) -> String) -> bool {
        let want = normalize(provided);
        self.candidates().any(|c| normalize(c) == want)
    }
}

/// `stack {runImage {…}}` in the label; also the legacy stack.toml (`[run-image]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Stack {
    #[serde(
        rename = "runImage",
        alias = "run-image",
        default,
        deserialize_with = "null_default"
    )]
    pub run_image: RunImageForExport,
}

impl Serialize for Stack {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Stack", 1)?;
        st.serialize_field(key("runImage", "run-image"), &self.run_image)?;
        st.end()
    }
}
