//! Reading and writing platform files, with errors that name the file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Failure reading or writing one platform file. `what` is the Go name of the file kind
/// ("analyzed", "report", "run", …), so messages read like the Go lifecycle's
/// ("failed to read analyzed file: …") and also name the path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to read {what} file: {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("failed to read {what} file: {path}: {source}")]
    Parse {
        what: &'static str,
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("failed to write {what} file: {path}: {source}")]
    Write {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("failed to write {what} file: {path}: {source}")]
    Encode {
        what: &'static str,
        path: PathBuf,
        source: crate::files::gotoml::Error,
    },
    #[error("failed to read {what} file: {path}: {source}")]
    ParseJson {
        what: &'static str,
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("failed to write {what} file: {path}: {source}")]
    EncodeJson {
        what: &'static str,
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl Error {
    /// True when reading failed only because the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Read { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            Error::Read { path, .. }
            | Error::Parse { path, .. }
            | Error::Write { path, .. }
            | Error::Encode { path, .. }
            | Error::ParseJson { path, .. }
            | Error::EncodeJson { path, .. } => path,
        }
    }
}

/// Parse TOML text like BurntSushi: unknown keys ignored (by the models), keys matched to
/// fields case-insensitively when there is no exact match.
pub fn parse_toml<T: DeserializeOwned>(
    what: &'static str,
    path: &Path,
    text: &str,
) -> Result<T, Error> {
    crate::files::fold::from_str(text).map_err(|source| Error::Parse {
        source: Box::new(source),
        what,
        path: path.to_owned(),
    })
}

/// Read and parse a TOML file.
pub fn read_toml<T: DeserializeOwned>(what: &'static str, path: &Path) -> Result<T, Error> {
    let text = fs::read_to_string(path).map_err(|source| Error::Read {
        what,
        path: path.to_owned(),
        source,
    })?;
    parse_toml(what, path, &text)
}

/// Like [`read_toml`], but `Ok(None)` when the file does not exist.
pub fn read_toml_optional<T: DeserializeOwned>(
    what: &'static str,
    path: &Path,
) -> Result<Option<T>, Error> {
    match read_toml(what, path) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Create `path`'s parent directories (mode 0777 before umask, like Go's `os.MkdirAll`).
fn create_parent(what: &'static str, path: &Path) -> Result<(), Error> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            fs::create_dir_all(dir).map_err(|source| Error::Write {
                what,
                path: path.to_owned(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Write `bytes` to `path`, creating parent directories (Go's `encoding.WriteTOML` shape).
pub fn write_bytes(what: &'static str, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    create_parent(what, path)?;
    fs::write(path, bytes).map_err(|source| Error::Write {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Encode `value` like BurntSushi and write it, creating parent directories.
pub fn write_toml<T: Serialize + ?Sized>(
    what: &'static str,
    path: &Path,
    value: &T,
) -> Result<(), Error> {
    let text = crate::files::gotoml::to_string(value).map_err(|source| Error::Encode {
        what,
        path: path.to_owned(),
        source,
    })?;
    write_bytes(what, path, text.as_bytes())
}

/// Read and parse a JSON file with Go semantics ([`crate::files::gojson::from_slice`]).
pub fn read_json<T: DeserializeOwned>(what: &'static str, path: &Path) -> Result<T, Error> {
    let data = fs::read(path).map_err(|source| Error::Read {
        what,
        path: path.to_owned(),
        source,
    })?;
    crate::files::gojson::from_slice(&data).map_err(|source| Error::ParseJson {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Write `value` as Go's `json.NewEncoder(f).Encode(v)` does (compact + trailing newline),
/// creating parent directories.
pub fn write_json_line<T: Serialize + ?Sized>(
    what: &'static str,
    path: &Path,
    value: &T,
) -> Result<(), Error> {
    let mut data = crate::files::gojson::to_vec(value).map_err(|source| Error::EncodeJson {
        what,
        path: path.to_owned(),
        source,
    })?;
    data.push(b'\n');
    write_bytes(what, path, &data)
}
