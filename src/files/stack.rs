//! `stack.toml` (Platform API < 0.12, deprecated): `[run-image] image, mirrors`.

use std::path::Path;

use super::io::{self, Error};
pub use super::layers_metadata::Stack;

impl Stack {
    /// Read `path`, `Ok(None)` when it does not exist (Go then logs at info level
    /// `No stack metadata found at path "<path>"` and uses empty data).
    pub fn read_optional(path: &Path) -> Result<Option<Self>, Error> {
        io::read_toml_optional("stack", path)
    }
}
