//! `run.toml` (Platform API ≥ 0.12): `[[images]] image, mirrors`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::io::{self, Error};
pub use super::layers_metadata::RunImageForExport;

/// The run images a platform offers; only `images[0]` is used for selection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    #[serde(default)]
    pub images: Vec<RunImageForExport>,
}

impl Run {
    /// Read `path`, `Ok(None)` when it does not exist (Go then logs at info level
    /// `No run metadata found at path "<path>"` and uses an empty list).
    pub fn read_optional(path: &Path) -> Result<Option<Self>, Error> {
        io::read_toml_optional("run", path)
    }

    /// Read `path`; a missing file is an error.
    pub fn read(path: &Path) -> Result<Self, Error> {
        io::read_toml("run", path)
    }

    /// True when any entry names `image` (see [`RunImageForExport::contains`]).
    pub fn contains(&self, image: &str, normalize: impl Fn(&str) -> String) -> bool {
        self.find_by_ref(image, normalize).is_some()
    }

    /// The first entry whose image or a mirror names `image`.
    pub fn find_by_ref(
        &self,
        image: &str,
        normalize: impl Fn(&str) -> String,
    ) -> Option<&RunImageForExport> {
        self.images.iter().find(|i| i.contains(image, &normalize))
    }
}
