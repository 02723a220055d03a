//! Image model (manifests, indexes, configs, descriptors, digests), references and the
//! image stores (remote registry, OCI layout, in-memory for tests).
//!
//! Everything serialized here uses our own serde types (`BTreeMap` maps, unknown fields kept in
//! `extra`) written in go-containerregistry's byte format, so the same content gives the same
//! bytes and digests on every run and as the Go lifecycle.

pub mod blob;
pub mod builder;
pub mod config;
pub mod descriptor;
pub mod index;
pub mod json;
pub mod layout;
pub mod layout_path;
pub mod manifest;
pub mod media_type;
pub mod memory;
pub mod platform;
pub mod raw;
pub mod reference;
pub mod store;

pub use builder::{Built, Image};
pub use config::{ContainerConfig, HealthConfig, History, ImageConfig, RootFs};
pub use descriptor::{ANNOTATION_REF_NAME, Descriptor};
pub use index::Index;
pub use layout::{Layout, LayoutError, LayoutStore};
pub use manifest::Manifest;
pub use media_type::{Compression, MediaType};
pub use memory::MemoryStore;
pub use platform::{Platform, select_manifest};
pub use raw::{ImageError, Parsed, RawConfig, RawManifest};
pub use store::{BlobReader, BlobSource, ImageStore, StoreError};
