//! Finding a buildpack on disk: `<buildpacks>/<id with / → _>/<version>/buildpack.toml`
//! (Go `platform/dir_store.go`, `launch.EscapeID`).

use super::FileError;
use super::descriptor::{BuildpackDescriptor, read_descriptor};
use std::path::{Path, PathBuf};

/// A buildpack id made safe for one path segment: every `/` becomes `_`.
pub fn escape_id(id: &str) -> String {
    id.replace('/', "_")
}

/// The buildpacks directory (`CNB_BUILDPACKS_DIR`, default `/cnb/buildpacks`).
#[derive(Clone, Debug)]
pub struct BuildpackStore {
    pub dir: PathBuf,
}

impl BuildpackStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn descriptor_path(&self, id: &str, version: &str) -> PathBuf {
        self.dir
            .join(escape_id(id))
            .join(version)
            .join("buildpack.toml")
    }

    /// Reads the descriptor of `id@version`.
    pub fn lookup(&self, id: &str, version: &str) -> Result<BuildpackDescriptor, FileError> {
        read_descriptor(&self.descriptor_path(id, version))
    }

    pub fn root(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_builds_paths() {
        assert_eq!(escape_id("some/escaped/bp/id"), "some_escaped_bp_id");
        let s = BuildpackStore::new("/cnb/buildpacks");
        assert_eq!(
            s.descriptor_path("samples/hello-world", "0.0.2"),
            PathBuf::from("/cnb/buildpacks/samples_hello-world/0.0.2/buildpack.toml")
        );
    }
}
