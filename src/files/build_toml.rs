//! `<layers>/<bp>/build.toml` written by a buildpack: `[[unmet]] name`, deprecated `[[bom]]`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::io::{self, Error};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildToml {
    /// Deprecated BOM entries (raw; the buildpack module interprets them).
    #[serde(default)]
    pub bom: Vec<toml::Value>,
    #[serde(default)]
    pub unmet: Vec<Unmet>,
}

/// A Buildpack Plan entry the buildpack did not meet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmet {
    #[serde(default)]
    pub name: String,
}

impl BuildToml {
    /// Read `path`, `Ok(None)` when the buildpack wrote none.
    pub fn read_optional(path: &Path) -> Result<Option<Self>, Error> {
        io::read_toml_optional("build", path)
    }
}
