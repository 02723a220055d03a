//! `cnb`: the engine of cnb-lifecycle-rs. It knows nothing of phases: images, registries,
//! OCI layouts, archives and layers, caches, platform files, buildpack environments, logging
//! and exit codes. The phases in the `lifecycle` package are built from these parts.

pub mod api;
pub mod archive;
pub mod buildpack;
pub mod cache;
pub mod digest;
pub mod env;
pub mod exit;
pub mod files;
pub mod image;
pub mod layers;
pub mod log;
pub mod pipe;
pub mod privileges;
pub mod registry;
pub mod testing;
