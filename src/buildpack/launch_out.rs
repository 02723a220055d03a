//! What a buildpack's `bin/build` leaves in `<layers>/<bp>/`, read through the platform-file
//! models of [`crate::files`] (`<layer>.toml` → [`LayerToml`], `launch.toml` →
//! [`LaunchToml`], `build.toml` → [`BuildToml`]) and validated as the Go lifecycle does
//! (`buildpack/build.go`, `buildpack/files.go`): layer types and `.ignore` renames, launch
//! processes as metadata.toml [`Process`]es, `[[unmet]]` checks, and the process merge across
//! buildpacks (`phase/builder.go` processMap).

use crate::api::Version;
use crate::files::launch::LaunchToml;
use crate::files::layer_toml::{LayerToml, LayerTomlError, LayerTypes};
use crate::files::metadata::{Process, RawCommand};
use crate::files::{BuildToml, Label, Slice, Table};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `<layer>.toml` found after `bin/build`.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildLayer {
    /// Layer name (file name without `.toml`).
    pub name: String,
    /// The layer directory `<layers>/<bp>/<name>` (it may not exist).
    pub dir: PathBuf,
    pub types: LayerTypes,
    pub metadata: Option<Table>,
}

/// `toml: line N: <message>` for a file that failed to parse (the models' errors carry no
/// text, so the file is read again for the line number).
fn parse_message(path: &Path, e: &toml::de::Error) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    format!(
        "failed to parse {}: {}",
        path.display(),
        super::toml_error(&text, e)
    )
}

/// One line for a platform-file error: parse errors as "failed to parse <path>: toml: line
/// N: …", others as their message.
fn file_error(e: &crate::files::Error) -> String {
    match e {
        crate::files::Error::Parse { path, source, .. } => parse_message(path, source),
        other => super::one_line(&other.to_string()),
    }
}

/// Reads every `*.toml` file (not directory) of a buildpack's layers dir in name order, as
/// the Go lifecycle does (launch.toml/build.toml/store.toml are read too and come out with
/// all types false), and renames the directory of each layer whose types are all false to
/// `<layer>.ignore`.
pub fn process_layers(bp_layers_dir: &Path) -> Result<Vec<BuildLayer>, String> {
    let fail = |m: String| format!("failed to process buildpack layer: {m}");
    let rd = match std::fs::read_dir(bp_layers_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(fail(e.to_string())),
    };
    let mut names: Vec<String> = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| fail(e.to_string()))?;
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
        let LayerToml { types, metadata } = LayerToml::read(&toml_path).map_err(|e| {
            fail(match e {
                LayerTomlError::File(f) => {
                    format!("failed to decode layer metadata file: {}", file_error(&f))
                }
                other => other.to_string(),
            })
        })?;
        let dir = bp_layers_dir.join(&name);
        if !types.build && !types.launch && !types.cache {
            let ignored = bp_layers_dir.join(format!("{name}.ignore"));
            match std::fs::rename(&dir, &ignored) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(fail(format!("failed to rename layer directory: {e}"))),
            }
        }
        out.push(BuildLayer {
            name,
            dir,
            types,
            metadata,
        });
    }
    Ok(out)
}

/// launch.toml after validation, processes converted for metadata.toml.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaunchOutputs {
    /// Deprecated `[[bom]]`.
    pub bom: Vec<super::sbom::RawBomEntry>,
    pub labels: Vec<Label>,
    pub processes: Vec<Process>,
    pub slices: Vec<Slice>,
}

/// Deprecated `[[bom]]` entries as the SBOM module reads them.
fn bom_entries(
    raw: Vec<toml::Value>,
    path: &Path,
) -> Result<Vec<super::sbom::RawBomEntry>, String> {
    raw.into_iter()
        .map(|v| {
            v.try_into()
                .map_err(|e: toml::de::Error| format!("{}: bom: {}", path.display(), e.message()))
        })
        .collect()
}

/// Go `ProcessEntry.ToLaunchProcess`: `direct` is the legacy flag or true (API ≥ 0.9);
/// launch.toml's absent `args` stays absent (an empty array is treated the same).
fn to_process(p: crate::files::ProcessEntry, bp_id: &str) -> Process {
    let direct = p.is_direct();
    Process {
        kind: p.kind,
        command: RawCommand::new(p.command),
        args: (!p.args.is_empty()).then_some(p.args),
        direct,
        default: p.default,
        buildpack_id: bp_id.to_string(),
        working_dir: p.working_dir,
        exec_env: p.exec_env,
    }
}

/// Reads `launch.toml` for a buildpack of API `bp_api` (`Ok(None)` when absent). API ≥ 0.9:
/// `command` is an array and `direct` is an error; below: a string, `direct` default false;
/// below 0.8 `working-dir` is dropped with a warning. More than one default is an error.
pub fn read_launch_toml(
    path: &Path,
    bp_api: Version,
    bp_id: &str,
) -> Result<Option<LaunchOutputs>, String> {
    let launch = match LaunchToml::read(path, bp_api) {
        Ok(l) => l,
        Err(crate::files::LaunchTomlError::File(e)) if e.is_not_found() => return Ok(None),
        Err(crate::files::LaunchTomlError::File(e)) => return Err(file_error(&e)),
        Err(e) => return Err(e.to_string()),
    };
    if launch.processes.iter().filter(|p| p.default).count() > 1 {
        return Err("multiple default process types aren't allowed".into());
    }
    let mut processes = Vec::with_capacity(launch.processes.len());
    for mut p in launch.processes {
        if bp_api.less_than("0.8") && !p.working_dir.is_empty() {
            crate::warn!(
                "Warning: process working directory isn't supported in this buildpack api version. Ignoring working directory for process '{}'",
                p.kind
            );
            p.working_dir.clear();
        }
        processes.push(to_process(p, bp_id));
    }
    Ok(Some(LaunchOutputs {
        bom: bom_entries(launch.bom, path)?,
        labels: launch.labels,
        processes,
        slices: launch.slices,
    }))
}

/// build.toml after validation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildOutputsToml {
    /// Deprecated `[[bom]]`.
    pub bom: Vec<super::sbom::RawBomEntry>,
    /// `[[unmet]]` names.
    pub unmet: Vec<String>,
}

/// Reads `build.toml` (empty when absent); each `[[unmet]]` name is checked against the
/// buildpack's plan entry names.
pub fn read_build_toml(path: &Path, plan_names: &[String]) -> Result<BuildOutputsToml, String> {
    let build = BuildToml::read_optional(path)
        .map_err(|e| file_error(&e))?
        .unwrap_or_default();
    let mut unmet = Vec::with_capacity(build.unmet.len());
    for u in build.unmet {
        if u.name.is_empty() {
            return Err("unmet.name is required".into());
        }
        if !plan_names.contains(&u.name) {
            return Err(format!(
                "unmet.name '{}' must match a requested dependency",
                u.name
            ));
        }
        unmet.push(u.name);
    }
    Ok(BuildOutputsToml {
        bom: bom_entries(build.bom, path)?,
        unmet,
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
                self.default_type = p.kind.clone();
                warning = None;
            } else if p.kind == self.default_type {
                self.default_type.clear();
                warning = Some(format!(
                    "Warning: redefining the following default process type with a process not marked as default: {}\n",
                    p.kind
                ));
            }
            self.by_type.insert(p.kind.clone(), p.clone());
        }
        warning
    }

    /// All processes sorted by type, `default` cleared (Go then applies the Platform API
    /// with [`Process::with_platform_api`]).
    pub fn list(&self) -> Vec<Process> {
        self.by_type
            .values()
            .cloned()
            .map(Process::no_default)
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

    fn proc(t: &str, default: bool) -> Process {
        Process {
            kind: t.into(),
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
            l.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>(),
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
        assert_eq!(old.processes[0].command.entries, ["run me"]);
        assert!(!old.processes[0].direct);
        assert_eq!(old.processes[0].buildpack_id, "bp");
        assert_eq!(old.processes[0].args, None);
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
        std::fs::write(&p, "[[processes]\n").unwrap();
        let e = read_launch_toml(&p, Version::new(0, 10), "bp").unwrap_err();
        assert!(
            e.starts_with(&format!("failed to parse {}: toml: line 1: ", p.display())),
            "{e}"
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
        assert_eq!(
            layers[0].metadata.as_ref().unwrap()["x"].as_integer(),
            Some(1)
        );
        assert!(layers[1].types.launch);
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
