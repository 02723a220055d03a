//! `<layers>/<bp>/launch.toml` written by a buildpack: `[[labels]]`, `[[processes]]`,
//! `[[slices]]`, deprecated `[[bom]]`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::io;
use crate::api::Version;

/// A parsed launch.toml, with `command` normalized to a list for every buildpack API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaunchToml {
    pub labels: Vec<Label>,
    pub processes: Vec<ProcessEntry>,
    pub slices: Vec<Slice>,
    /// Deprecated BOM entries (raw; the buildpack module interprets them).
    pub bom: Vec<toml::Value>,
}

/// `[[labels]] key, value`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// `[[slices]] paths`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    #[serde(default)]
    pub paths: Vec<String>,
}

/// A `[[processes]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessEntry {
    pub kind: String,
    /// Buildpack API < 0.9: one element (the string `command`); ≥ 0.9: the array.
    pub command: Vec<String>,
    pub args: Vec<String>,
    /// `Some` only for buildpack API < 0.9 (defaults to `Some(false)` there); `None`
    /// means "always direct" (≥ 0.9).
    pub direct: Option<bool>,
    pub default: bool,
    pub working_dir: String,
    pub exec_env: Vec<String>,
}

impl ProcessEntry {
    /// Whether the process runs without a shell (`None` → direct, as for bp API ≥ 0.9).
    pub fn is_direct(&self) -> bool {
        self.direct.unwrap_or(true)
    }
}

/// Errors reading a launch.toml.
#[derive(Debug, thiserror::Error)]
pub enum LaunchTomlError {
    #[error(transparent)]
    File(#[from] io::Error),
    /// `direct` used with buildpack API ≥ 0.9 (Go's exact message).
    #[error("process.direct is not supported on this buildpack version")]
    DirectNotSupported,
    /// `command` has the wrong TOML type for the buildpack API.
    #[error("{path}: process {kind:?}: command must be {want} for buildpack API {api}")]
    CommandType {
        path: String,
        kind: String,
        want: &'static str,
        api: Version,
    },
}

#[derive(Deserialize)]
struct RawLaunch {
    #[serde(default)]
    labels: Vec<Label>,
    #[serde(default)]
    processes: Vec<RawProcess>,
    #[serde(default)]
    slices: Vec<Slice>,
    #[serde(default)]
    bom: Vec<toml::Value>,
}

#[derive(Deserialize)]
struct RawProcess {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    command: Option<toml::Value>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    direct: Option<bool>,
    #[serde(default)]
    default: bool,
    #[serde(rename = "working-dir", default)]
    working_dir: String,
    #[serde(rename = "exec-env", default)]
    exec_env: Vec<String>,
}

impl LaunchToml {
    /// Read `path` (a missing file is an error; callers check existence) for a buildpack
    /// of API `bp_api`.
    pub fn read(path: &Path, bp_api: Version) -> Result<Self, LaunchTomlError> {
        let raw: RawLaunch = io::read_toml("launch", path)?;
        Self::from_raw(raw, path, bp_api)
    }

    /// Parse launch.toml text.
    pub fn parse(text: &str, path: &Path, bp_api: Version) -> Result<Self, LaunchTomlError> {
        let raw: RawLaunch = io::parse_toml("launch", path, text)?;
        Self::from_raw(raw, path, bp_api)
    }

    fn from_raw(raw: RawLaunch, path: &Path, bp_api: Version) -> Result<Self, LaunchTomlError> {
        let strings = bp_api.less_than("0.9");
        let mut processes = Vec::with_capacity(raw.processes.len());
        for p in raw.processes {
            let bad = |want| LaunchTomlError::CommandType {
                path: path.display().to_string(),
                kind: p.kind.clone(),
                want,
                api: bp_api,
            };
            let (command, direct) = if strings {
                let command = match &p.command {
                    None => vec![String::new()],
                    Some(toml::Value::String(s)) => vec![s.clone()],
                    Some(_) => return Err(bad("a string")),
                };
                (command, Some(p.direct.unwrap_or(false)))
            } else {
                if p.direct.is_some() {
                    return Err(LaunchTomlError::DirectNotSupported);
                }
                let command = match &p.command {
                    None => Vec::new(),
                    Some(toml::Value::Array(items)) => items
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| bad("an array of strings"))?,
                    Some(_) => return Err(bad("an array of strings")),
                };
                (command, None)
            };
            processes.push(ProcessEntry {
                kind: p.kind,
                command,
                args: p.args,
                direct,
                default: p.default,
                working_dir: p.working_dir,
                exec_env: p.exec_env,
            });
        }
        Ok(LaunchToml {
            labels: raw.labels,
            processes,
            slices: raw.slices,
            bom: raw.bom,
        })
    }
}
