//! What a buildpack's `bin/build` leaves in `<layers>/<bp>/`: `<layer>.toml` types,
//! `launch.toml` (processes, labels, slices), `build.toml` (unmet) — read and validated as
//! the Go lifecycle does (`buildpack/build.go`, `buildpack/files.go`,
//! `buildpack/layermetadata.go`), and the process merge across buildpacks
//! (`phase/builder.go` processMap).
//!
//! NOTE for the lead: these are small private readers; the canonical models of launch.toml,
//! `<layer>.toml` and metadata.toml processes live in `cnb::files` and should replace them.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[types]` of a `<layer>.toml`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct LayerTypes {
    #[serde(default)]
    pub build: bool,
    #[serde(default)]
    pub launch: bool,
    #[serde(default)]
    pub cache: bool,
}

/// One `<layer>.toml` found after `bin/build`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerToml {
    /// Layer name (file name without `.toml`).
    pub name: String,
    /// The layer directory `<layers>/<bp>/<name>` (it may not exist).
    pub dir: PathBuf,
    pub types: LayerTypes,
    pub metadata: Option<toml::Table>,
}

#[derive(Deserialize)]
struct RawLayerToml {
    #[serde(default)]
    types: LayerTypes,
    #[serde(default)]
    metadata: Option<toml::Table>,
    // Only to detect the flags at top level (an error).
    build: Option<toml::Value>,
    launch: Option<toml::Value>,
    cache: Option<toml::Value>,
}

fn parse_err(path: &Path, text: &str, e: &toml::de::Error) -> String {
    format!(
        "failed to parse {}: {}",
        path.display(),
        super::toml_error(text, e)
    )
}

/// Reads every `*.toml` file (not directory) of a buildpack's layers dir in name order, as
/// the Go lifecycle does (launch.toml/build.toml/store.toml are read too and come out with
/// all types false), and renames the directory of each layer whose types are all false to
/// `<layer>.ignore`.
pub fn process_layers(bp_layers_dir: &Path) -> Result<Vec<LayerToml>, String> {
    let rd = match std::fs::read_dir(bp_layers_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("failed to process buildpack layer: {e}")),
    };
    let mut names: Vec<String> = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| format!("failed to process buildpack layer: {e}"))?;
        let is_dir = ent.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let name = ent.file_name().to_string_lossy().into_owned();
        if !is_dir && let Some(stem) = name.strip_suffix(".toml") {
            names.push(stem.to_string());
        }
    }
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let toml_path = bp_layers_dir.join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&toml_path).map_err(|e| {
            format!(
                "failed to process buildpack layer: failed to decode layer metadata file {}: {e}",
                toml_path.display()
            )
        })?;
        let raw: RawLayerToml = toml::from_str(&text).map_err(|e| {
            format!(
                "failed to process buildpack layer: failed to decode layer metadata file: {}",
                parse_err(&toml_path, &text, &e)
            )
        })?;
        if raw.build.is_some() || raw.launch.is_some() || raw.cache.is_some() {
            return Err(format!(
                "failed to process buildpack layer: the launch, cache and build flags should be in the types table of {}",
                toml_path.display()
            ));
        }
        let dir = bp_layers_dir.join(&name);
        let t = raw.types;
        if !t.build && !t.launch && !t.cache {
            let ignored = bp_layers_dir.join(format!("{name}.ignore"));
            match std::fs::rename(&dir, &ignored) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(format!(
                        "failed to process buildpack layer: failed to rename layer directory: {e}"
                    ));
                }
            }
        }
        out.push(LayerToml {
            name,
            dir,
            types: t,
            metadata: raw.metadata,
        });
    }
    Ok(out)
}

/// One process declared in launch.toml, normalized across Buildpack APIs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Process {
    pub r#type: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    /// Always true for Buildpack API ≥ 0.9; `direct` (default false) below.
    pub direct: bool,
    pub default: bool,
    pub working_dir: String,
    pub exec_env: Vec<String>,
    pub buildpack_id: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Label {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Slice {
    #[serde(default)]
    pub paths: Vec<String>,
}

/// launch.toml after validation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaunchToml {
    /// Deprecated `[[bom]]`.
    pub bom: Vec<super::sbom::RawBomEntry>,
    pub labels: Vec<Label>,
    pub processes: Vec<Process>,
    pub slices: Vec<Slice>,
}

#[derive(Deserialize)]
struct RawLaunch {
    #[serde(default)]
    bom: Vec<super::sbom::RawBomEntry>,
    #[serde(default)]
    labels: Vec<Label>,
    #[serde(default)]
    processes: Vec<RawProcess>,
    #[serde(default)]
    slices: Vec<Slice>,
}

#[derive(Deserialize)]
struct RawProcess {
    #[serde(default, rename = "type")]
    kind: String,
    command: Option<toml::Value>,
    #[serde(default)]
    args: Vec<String>,
    direct: Option<bool>,
    #[serde(default)]
    default: bool,
    #[serde(default, rename = "working-dir")]
    working_dir: String,
    #[serde(default, rename = "exec-env")]
    exec_env: Vec<String>,
}

/// Reads `launch.toml` for a buildpack of API `bp_api` (`Ok(None)` when absent). API ≥ 0.9:
/// `command` is an array and `direct` is an error; below: a string, `direct` default false;
/// below 0.8 `working-dir` is dropped with a warning. More than one default is an error.
pub fn read_launch_toml(
    path: &Path,
    bp_api: crate::api::Version,
    bp_id: &str,
) -> Result<Option<LaunchToml>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("failed to read {}: {e}", path.display())),
    };
    let raw: RawLaunch = toml::from_str(&text).map_err(|e| parse_err(path, &text, &e))?;
    let strings = bp_api.less_than("0.9");
    let mut processes = Vec::with_capacity(raw.processes.len());
    let mut default_seen = false;
    for p in raw.processes {
        if p.default {
            if default_seen {
                return Err("multiple default process types aren't allowed".into());
            }
            default_seen = true;
        }
        let (command, direct) = if strings {
            let c = match p.command {
                None => Vec::new(),
                Some(toml::Value::String(s)) => vec![s],
                Some(other) => {
                    return Err(format!(
                        "{}: process '{}': command must be a string, got {}",
                        path.display(),
                        p.kind,
                        other.type_str()
                    ));
                }
            };
            (c, p.direct.unwrap_or(false))
        } else {
            if p.direct.is_some() {
                return Err("process.direct is not supported on this buildpack version".into());
            }
            let c = match p.command {
                None => Vec::new(),
                Some(toml::Value::Array(items)) => items
                    .into_iter()
                    .map(|v| match v {
                        toml::Value::String(s) => Ok(s),
                        other => Err(format!(
                            "{}: process '{}': command entries must be strings, got {}",
                            path.display(),
                            p.kind,
                            other.type_str()
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(other) => {
                    return Err(format!(
                        "{}: process '{}': command must be an array of strings, got {}",
                        path.display(),
                        p.kind,
                        other.type_str()
                    ));
                }
            };
            (c, true)
        };
        let mut working_dir = p.working_dir;
        if bp_api.less_than("0.8") && !working_dir.is_empty() {
            crate::warn!(
                "Warning: process working directory isn't supported in this buildpack api version. Ignoring working directory for process '{}'",
                p.kind
            );
            working_dir.clear();
        }
        processes.push(Process {
            r#type: p.kind,
            command,
            args: p.args,
            direct,
            default: p.default,
            working_dir,
            exec_env: p.exec_env,
            buildpack_id: bp_id.to_string(),
        });
    }
    Ok(Some(LaunchToml {
        bom: raw.bom,
        labels: raw.labels,
        processes,
        slices: raw.slices,
    }))
}

#[derive(Deserialize)]
struct RawBuild {
    #[serde(default)]
    bom: Vec<super::sbom::RawBomEntry>,
    #[serde(default)]
    unmet: Vec<RawUnmet>,
}

/// build.toml after validation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildToml {
    /// Deprecated `[[bom]]`.
    pub bom: Vec<super::sbom::RawBomEntry>,
    /// `[[unmet]]` names.
    pub unmet: Vec<String>,
}

#[derive(Deserialize)]
struct RawUnmet {
    #[serde(default)]
    name: String,
}

/// Reads `build.toml` (empty when absent); each `[[unmet]]` name is checked against the
/// buildpack's plan entry names.
pub fn read_build_toml(path: &Path, plan_names: &[String]) -> Result<BuildToml, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BuildToml::default()),
        Err(e) => return Err(format!("failed to read {}: {e}", path.display())),
    };
    let raw: RawBuild = toml::from_str(&text).map_err(|e| parse_err(path, &text, &e))?;
    let mut out = Vec::new();
    for u in raw.unmet {
        if u.name.is_empty() {
            return Err("unmet.name is required".into());
        }
        if !plan_names.contains(&u.name) {
            return Err(format!(
                "unmet.name '{}' must match a requested dependency",
                u.name
            ));
        }
        out.push(u.name);
    }
    Ok(BuildToml {
        bom: raw.bom,
        unmet: out,
    })
}

/// Processes merged across buildpacks by type (later wins), tracking the default type.
#[derive(Clone, Debug, Default)]
pub struct ProcessMap {
    by_type: BTreeMap<String, Process>,
    default_type: String,
}

impl ProcessMap {
    /// Adds one buildpack's processes. The last `default = true` sets the default type; a
    /// later non-default process of the current default type clears it and gives the
    /// warning the Go lifecycle logs (its text starts with "Warning: ", printed after the
    /// logger's own prefix).
    pub fn add(&mut self, procs: &[Process]) -> Option<String> {
        let mut warning = None;
        for p in procs {
            if p.default {
                self.default_type = p.r#type.clone();
                warning = None;
            } else if p.r#type == self.default_type {
                self.default_type.clear();
                warning = Some(format!(
                    "Warning: redefining the following default process type with a process not marked as default: {}\n",
                    p.r#type
                ));
            }
            self.by_type.insert(p.r#type.clone(), p.clone());
        }
        warning
    }

    /// All processes sorted by type, `default` cleared.
    pub fn list(&self) -> Vec<Process> {
        self.by_type
            .values()
            .map(|p| Process {
                default: false,
                ..p.clone()
            })
            .collect()
    }

    /// `buildpack-default-process-type` ("" when none).
    pub fn default_type(&self) -> &str {
        &self.default_type
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Version;

    fn proc(t: &str, default: bool) -> Process {
        Process {
            r#type: t.into(),
            default,
            ..Default::default()
        }
    }

    #[test]
    fn default_tracking_like_go() {
        let mut m = ProcessMap::default();
        assert!(m.add(&[proc("web", true), proc("worker", false)]).is_none());
        assert_eq!(m.default_type(), "web");
        let w = m.add(&[proc("web", false)]).unwrap();
        assert!(w.contains("not marked as default: web"));
        assert_eq!(m.default_type(), "");
        m.add(&[proc("a", true)]);
        let l = m.list();
        assert_eq!(
            l.iter().map(|p| p.r#type.as_str()).collect::<Vec<_>>(),
            ["a", "web", "worker"]
        );
        assert!(l.iter().all(|p| !p.default));
    }

    #[test]
    fn launch_toml_by_api() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("launch.toml");
        std::fs::write(&p, "[[processes]]\ntype = \"web\"\ncommand = \"run me\"\n").unwrap();
        let old = read_launch_toml(&p, Version::new(0, 8), "bp")
            .unwrap()
            .unwrap();
        assert_eq!(old.processes[0].command, ["run me"]);
        assert!(!old.processes[0].direct);
        assert!(read_launch_toml(&p, Version::new(0, 9), "bp").is_err());
        std::fs::write(
            &p,
            "[[processes]]\ntype = \"web\"\ncommand = [\"a\"]\ndirect = true\n",
        )
        .unwrap();
        let e = read_launch_toml(&p, Version::new(0, 10), "bp").unwrap_err();
        assert_eq!(
            e,
            "process.direct is not supported on this buildpack version"
        );
        std::fs::write(&p, "[[processes]]\ntype = \"a\"\ndefault = true\n[[processes]]\ntype = \"b\"\ndefault = true\n").unwrap();
        let e = read_launch_toml(&p, Version::new(0, 10), "bp").unwrap_err();
        assert_eq!(e, "multiple default process types aren't allowed");
        assert!(
            read_launch_toml(&dir.path().join("none.toml"), Version::new(0, 10), "bp")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn layer_tomls_and_unmet() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("keep")).unwrap();
        std::fs::write(d.join("keep.toml"), "[types]\nlaunch = true\n").unwrap();
        std::fs::create_dir(d.join("drop")).unwrap();
        std::fs::write(d.join("drop.toml"), "[metadata]\nx = 1\n").unwrap();
        let layers = process_layers(d).unwrap();
        assert_eq!(
            layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["drop", "keep"]
        );
        assert!(d.join("drop.ignore").is_dir() && !d.join("drop").exists());
        std::fs::write(d.join("bad.toml"), "launch = true\n").unwrap();
        let e = process_layers(d).unwrap_err();
        assert!(e.contains("should be in the types table of"), "{e}");

        let b = d.join("build.toml");
        std::fs::write(&b, "[[unmet]]\nname = \"x\"\n").unwrap();
        assert_eq!(read_build_toml(&b, &["x".into()]).unwrap().unmet, ["x"]);
        let e = read_build_toml(&b, &[]).unwrap_err();
        assert_eq!(e, "unmet.name 'x' must match a requested dependency");
    }
}
