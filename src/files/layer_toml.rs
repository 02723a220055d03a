//! `<layers>/<bp>/<layer>.toml`: `[types] launch, build, cache` and free-form `[metadata]`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::freeform::{self, Table};
use super::io;

const WHAT: &str = "layer metadata";

/// What a buildpack declares for a layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerToml {
    #[serde(default)]
    pub types: LayerTypes,
    #[serde(default, with = "freeform::opt")]
    pub metadata: Option<Table>,
}

/// `[types]` flags, all defaulting to false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerTypes {
    #[serde(default)]
    pub launch: bool,
    #[serde(default)]
    pub build: bool,
    #[serde(default)]
    pub cache: bool,
}

/// Errors reading a layer toml.
#[derive(Debug, thiserror::Error)]
pub enum LayerTomlError {
    #[error(transparent)]
    File(#[from] io::Error),
    /// Flags at top level instead of in `[types]` (Go's exact message).
    #[error("the launch, cache and build flags should be in the types table of {}", .0.display())]
    TypesAtTopLevel(PathBuf),
}

/// `[metadata]` only, as the restorer writes it back (Go `EncodeLayerMetadataFile`).
#[derive(Serialize)]
struct MetadataOnly<'a> {
    #[serde(serialize_with = "ser_ref")]
    metadata: &'a Option<Table>,
}

fn ser_ref<S: serde::Serializer>(t: &&Option<Table>, s: S) -> Result<S::Ok, S::Error> {
    freeform::opt::serialize(t, s)
}

impl LayerToml {
    /// Read `path`; a missing file gives the empty value (as Go does).
    pub fn read(path: &Path) -> Result<Self, LayerTomlError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LayerToml::default()),
            Err(source) => {
                return Err(io::Error::Read {
                    what: WHAT,
                    path: path.to_owned(),
                    source,
                }
                .into());
            }
        };
        let table: Table = io::parse_toml(WHAT, path, &text)?;
        if ["build", "launch", "cache"]
            .iter()
            .any(|k| table.contains_key(*k))
        {
            return Err(LayerTomlError::TypesAtTopLevel(path.to_owned()));
        }
        super::fold::from_table(table).map_err(|source| {
            io::Error::Parse {
                what: WHAT,
                path: path.to_owned(),
                source: Box::new(source),
            }
            .into()
        })
    }

    /// The TOML the restorer writes for restored layer metadata: only `[metadata]`
    /// (an empty file when there is none). Buildpacks must re-declare `[types]`.
    pub fn metadata_only_toml(metadata: &Option<Table>) -> Result<String, super::gotoml::Error> {
        super::gotoml::to_string(&MetadataOnly { metadata })
    }

    /// Write `path` with only `[metadata]`, like the restorer.
    pub fn write_metadata_only(path: &Path, metadata: &Option<Table>) -> Result<(), io::Error> {
        io::write_toml(WHAT, path, &MetadataOnly { metadata })
    }
}
