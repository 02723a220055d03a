//! A buildpack's layers directory as the exporter sees it (Go `buildpack.ReadLayersDir`):
//! every sub-directory and every `<name>.toml` (but `launch`, `build`, `store`) is a layer,
//! sorted by identifier `<buildpack id>:<name>`; `store.toml` is kept for the label.

use cnb::buildpack::escape_id;
use cnb::files::layer_toml::{LayerToml, LayerTomlError};
use cnb::files::layers_metadata::StoreToml;
use std::path::{Path, PathBuf};

pub struct BuildpackDir {
    pub store: Option<StoreToml>,
    pub layers: Vec<Layer>,
}

pub struct Layer {
    /// `<buildpack id>:<name>`.
    pub identifier: String,
    pub name: String,
    /// `<layers>/<escaped id>/<name>`.
    pub path: PathBuf,
}

impl Layer {
    /// Go `HasLocalContents`: the layer directory can be listed (anything but "not exist").
    pub fn has_local_contents(&self) -> bool {
        match std::fs::read_dir(&self.path) {
            Ok(_) => true,
            Err(e) => e.kind() != std::io::ErrorKind::NotFound,
        }
    }

    /// The layer's `<name>.toml` (missing = empty).
    pub fn read(&self) -> Result<LayerToml, LayerTomlError> {
        LayerToml::read(&toml_path(&self.path))
    }
}

fn toml_path(layer: &Path) -> PathBuf {
    let mut s = layer.as_os_str().to_owned();
    s.push(".toml");
    PathBuf::from(s)
}

/// Reads `<layers_dir>/<escaped id>`; a missing directory has no layers. Logs at debug level
/// like Go.
pub fn read(layers_dir: &Path, id: &str) -> Result<BuildpackDir, String> {
    read_logged(layers_dir, id, true)
}

/// [`read`] without the debug lines (for the extra passes Go does not make).
pub fn read_quiet(layers_dir: &Path, id: &str) -> Result<BuildpackDir, String> {
    read_logged(layers_dir, id, false)
}

fn read_logged(layers_dir: &Path, id: &str, log: bool) -> Result<BuildpackDir, String> {
    let path = layers_dir.join(escape_id(id));
    if log {
        cnb::debug!("Reading buildpack directory: {}", path.display());
    }
    let mut out = BuildpackDir {
        store: None,
        layers: Vec::new(),
    };
    let entries = match std::fs::read_dir(&path) {
        Ok(rd) => {
            let mut v = Vec::new();
            for e in rd {
                v.push(e.map_err(|e| e.to_string())?);
            }
            v.sort_by_key(|e| e.file_name());
            v
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("open {}: {e}", path.display())),
    };
    let mut tomls = Vec::new();
    for e in &entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if log {
            cnb::debug!("Reading buildpack directory item: {name}");
        }
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            out.layers.push(layer(id, &path, &name));
        } else if let Some(stem) = name.strip_suffix(".toml") {
            tomls.push(stem.to_string());
        }
    }
    for stem in tomls {
        match stem.as_str() {
            "store" => {
                let p = path.join("store.toml");
                let text = std::fs::read_to_string(&p).map_err(|e| e.to_string())?;
                let store: StoreToml = toml::from_str(&text)
                    .map_err(|e| format!("failed decoding store.toml for buildpack {id:?}: {e}"))?;
                out.store = Some(store);
            }
            "launch" | "build" => {}
            _ => {
                if !out.layers.iter().any(|l| l.name == stem) {
                    out.layers.push(layer(id, &path, &stem));
                }
            }
        }
    }
    out.layers.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    Ok(out)
}

fn layer(id: &str, dir: &Path, name: &str) -> Layer {
    Layer {
        identifier: format!("{id}:{name}"),
        name: name.to_string(),
        path: dir.join(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_and_tomls_are_layers_sorted_by_identifier() {
        let t = tempfile::tempdir().unwrap();
        let bp = t.path().join("my_bp");
        std::fs::create_dir_all(bp.join("b")).unwrap();
        std::fs::write(bp.join("b.toml"), "[types]\nlaunch = true\n").unwrap();
        std::fs::write(bp.join("a.toml"), "[types]\nlaunch = true\n").unwrap();
        std::fs::write(bp.join("launch.toml"), "").unwrap();
        std::fs::write(bp.join("store.toml"), "[metadata]\nk = \"v\"\n").unwrap();
        let d = read(t.path(), "my/bp").unwrap();
        let ids: Vec<_> = d.layers.iter().map(|l| l.identifier.as_str()).collect();
        assert_eq!(ids, ["my/bp:a", "my/bp:b"]);
        assert!(d.store.is_some());
        assert!(!d.layers[0].has_local_contents());
        assert!(d.layers[1].has_local_contents());
        assert!(d.layers[1].read().unwrap().types.launch);
    }
}
