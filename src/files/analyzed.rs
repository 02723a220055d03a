//! `analyzed.toml` (Go `files.Analyzed`): written by the analyzer, rewritten by the
//! detector and restorer, read by most phases.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::io::{self, Error};
use super::layers_metadata::LayersMetadata;
use super::target::TargetMetadata;

/// Go's file kind name, used in error messages.
const WHAT: &str = "analyzed";

/// The whole file. Tables in Go order: `[image]`, `[build-image]`, `[metadata]`, `[run-image]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Analyzed {
    /// Previous image (`[image] reference`); the analyzer always writes it, with `""`
    /// when there is no usable previous image.
    #[serde(rename = "image", default, skip_serializing_if = "Option::is_none")]
    pub previous_image: Option<ImageIdentifier>,
    /// Build image recorded by the restorer (`-build-image`).
    #[serde(
        rename = "build-image",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub build_image: Option<ImageIdentifier>,
    /// The previous image's `io.buildpacks.lifecycle.metadata`, in TOML spelling.
    #[serde(rename = "metadata", default)]
    pub layers_metadata: LayersMetadata,
    #[serde(rename = "run-image", default, skip_serializing_if = "Option::is_none")]
    pub run_image: Option<RunImage>,
}

/// `{reference}`: digest reference, daemon image ID (hex) or `<layout path>@sha256:…`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageIdentifier {
    #[serde(default)]
    pub reference: String,
}

impl ImageIdentifier {
    pub fn new(reference: impl Into<String>) -> Self {
        ImageIdentifier {
            reference: reference.into(),
        }
    }
}

/// `[run-image] reference, image?, extend?, [run-image.target]?`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunImage {
    #[serde(default)]
    pub reference: String,
    /// The run image name as given (platform or extensions).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// True when extensions extend the run image.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub extend: bool,
    #[serde(rename = "target", default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetMetadata>,
}

impl Analyzed {
    /// Read `path`. A missing file is an error here; see [`Analyzed::read_optional`].
    pub fn read(path: &Path) -> Result<Self, Error> {
        io::read_toml(WHAT, path)
    }

    /// Read `path`, `Ok(None)` when it does not exist (Go then warns
    /// `No analyzed metadata found at path "<path>"` and uses empty data).
    pub fn read_optional(path: &Path) -> Result<Option<Self>, Error> {
        io::read_toml_optional(WHAT, path)
    }

    /// Write `path` byte-for-byte like Go (parent directories created).
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        io::write_toml(WHAT, path, self)
    }

    /// The TOML text Go would write.
    pub fn to_toml(&self) -> Result<String, super::gotoml::Error> {
        super::gotoml::to_string(self)
    }

    pub fn previous_image_ref(&self) -> &str {
        self.previous_image
            .as_ref()
            .map_or("", |i| i.reference.as_str())
    }

    pub fn run_image_image(&self) -> &str {
        self.run_image.as_ref().map_or("", |r| r.image.as_str())
    }

    pub fn run_image_ref(&self) -> &str {
        self.run_image.as_ref().map_or("", |r| r.reference.as_str())
    }

    /// What Go logs at debug level after "Run image info in analyzed metadata is: ":
    /// `encoding.ToJSONMaybe(RunImage)`, whose untagged fields keep their Go names
    /// (`{"Reference":…,"Image":…,"Extend":…,"target":{…}}`, or `null`).
    pub fn run_image_debug_json(&self) -> String {
        #[derive(Serialize)]
        struct GoRunImage<'a> {
            #[serde(rename = "Reference")]
            reference: &'a str,
            #[serde(rename = "Image")]
            image: &'a str,
            #[serde(rename = "Extend")]
            extend: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            target: &'a Option<TargetMetadata>,
        }
        let view = self.run_image.as_ref().map(|r| GoRunImage {
            reference: &r.reference,
            image: &r.image,
            extend: r.extend,
            target: &r.target,
        });
        super::gojson::to_string(&view).unwrap_or_default()
    }

    /// The run image target, or the empty target.
    pub fn run_image_target(&self) -> TargetMetadata {
        self.run_image
            .as_ref()
            .and_then(|r| r.target.clone())
            .unwrap_or_default()
    }
}
