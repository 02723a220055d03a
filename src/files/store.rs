//! `<layers>/<bp>/store.toml`: `[metadata]` free-form, persisted in the app image label.

use std::path::Path;

use super::io::{self, Error};
pub use super::layers_metadata::StoreToml;

impl StoreToml {
    /// Read `path`, `Ok(None)` when it does not exist.
    pub fn read_optional(path: &Path) -> Result<Option<Self>, Error> {
        io::read_toml_optional("store", path)
    }

    /// Write `path` like the restorer does (parent directories created).
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        io::write_toml("store", path, self)
    }
}
