//! Platform files: the TOML and JSON models the phases read and write, written byte for
//! byte like the Go lifecycle v0.21.17 writes them ([`gotoml`] for BurntSushi TOML,
//! [`gojson`] for Go `encoding/json` labels). Readers are tolerant (unknown keys ignored).
//! The buildpack-side models of buildpack.toml, order.toml, group.toml, plan.toml and
//! system.toml live in [`crate::buildpack`]; `<layers>/config/metadata.toml` in [`metadata`].

pub mod analyzed;
pub mod build_toml;
pub mod cache_metadata;
mod fold;
pub mod freeform;
pub mod gojson;
pub mod gotoml;
pub mod io;
pub mod launch;
pub mod layer_toml;
pub mod layers_metadata;
pub mod layers_metadata_compat;
pub mod metadata;
pub mod project_metadata;
pub mod report;
pub mod run;
pub mod run_image;
pub mod stack;
pub mod store;
pub mod target;

pub use analyzed::{Analyzed, ImageIdentifier, RunImage};
pub use build_toml::{BuildToml, Unmet};
pub use cache_metadata::{CACHE_METADATA_LABEL, CacheMetadata};
pub use freeform::Table;
pub use io::Error;
pub use launch::{Label, LaunchToml, LaunchTomlError, ProcessEntry, Slice};
pub use layer_toml::{LayerToml, LayerTomlError, LayerTypes};
pub use layers_metadata::{
    BuildpackLayerMetadata, BuildpackLayersMetadata, LayerMetadata, LayersMetadata,
    RunImageForExport, RunImageForRebase, Stack, StoreToml,
};
pub use layers_metadata_compat::LayersMetadataCompat;
pub use project_metadata::{ProjectMetadata, ProjectSource};
pub use report::{BuildReport, ImageReport, RebaseReport, Report};
pub use run::Run;
pub use run_image::RunImageError;
pub use target::{MissingOs, OsDistro, TargetMetadata};

/// Label holding [`LayersMetadata`] on app images.
pub const LIFECYCLE_METADATA_LABEL: &str = "io.buildpacks.lifecycle.metadata";
/// Label holding [`ProjectMetadata`] on app images.
pub const PROJECT_METADATA_LABEL: &str = "io.buildpacks.project.metadata";
