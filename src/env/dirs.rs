//! Applying layer root dirs and env-file directories to an [`Env`] (Go `env/env.go`).

use super::{Env, EnvError, PATH_LIST_SEPARATOR, go_abs};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// What an env file does to its variable; chosen by the file-name suffix after the first `.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `.prepend`: value + delimiter + existing.
    Prepend,
    /// `.append`: existing + delimiter + value.
    Append,
    /// `.override`: set.
    Override,
    /// `.default`: set only when the current value is empty.
    Default,
    /// A trailing `.` (empty suffix): prepend with the `.delim` file or `:` as delimiter.
    PrependPath,
}

impl Action {
    /// The action named by a suffix; `None` for unknown suffixes (such files are ignored,
    /// including `.delim` files themselves).
    pub fn from_suffix(s: &str) -> Option<Action> {
        match s {
            "prepend" => Some(Action::Prepend),
            "append" => Some(Action::Append),
            "override" => Some(Action::Override),
            "default" => Some(Action::Default),
            "" => Some(Action::PrependPath),
            _ => None,
        }
    }
}

fn join(a: &[u8], b: &[u8], c: &[u8]) -> OsString {
    let mut v = Vec::with_capacity(a.len() + b.len() + c.len());
    v.extend_from_slice(a);
    v.extend_from_slice(b);
    v.extend_from_slice(c);
    OsString::from_vec(v)
}

/// `new + delim + old`, or just `new` when `old` is empty (Go `v + prefix(old, delim)`).
fn prepend(new: &[u8], delim: &[u8], old: &OsStr) -> OsString {
    if old.is_empty() {
        OsString::from_vec(new.to_vec())
    } else {
        join(new, delim, old.as_bytes())
    }
}

/// `old + delim + new`, or just `new` when `old` is empty.
fn append(old: &OsStr, delim: &[u8], new: &[u8]) -> OsString {
    if old.is_empty() {
        OsString::from_vec(new.to_vec())
    } else {
        join(old.as_bytes(), delim, new)
    }
}

/// Calls `f(file name, contents)` for every non-directory entry of `dir` in name order
/// (symlinks to directories are skipped, dangling symlinks are an error); a missing `dir`
/// yields nothing (Go `eachEnvFile`).
pub(super) fn each_env_file(
    dir: &Path,
    mut f: impl FnMut(&OsStr, Vec<u8>),
) -> Result<(), EnvError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(EnvError::Open {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut entries = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|source| EnvError::Open {
            path: dir.to_path_buf(),
            source,
        })?;
        let ft = entry.file_type().map_err(|source| EnvError::Open {
            path: entry.path(),
            source,
        })?;
        entries.push((entry.file_name(), ft));
    }
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (name, ft) in entries {
        if ft.is_dir() {
            continue;
        }
        let path = dir.join(&name);
        if ft.is_symlink() {
            let md = std::fs::metadata(&path).map_err(|source| EnvError::Stat {
                path: path.clone(),
                source,
            })?;
            if md.is_dir() {
                continue;
            }
        }
        let value = std::fs::read(&path).map_err(|source| EnvError::Open {
            path: path.clone(),
            source,
        })?;
        f(&name, value);
    }
    Ok(())
}

impl Env {
    /// Go `AddRootDir`: for each root of the table (`bin`, `lib`, …) that exists under `dir`,
    /// prepends its absolute path to the associated variables with `:`.
    pub fn add_root_dir(&mut self, dir: &Path) -> Result<(), EnvError> {
        let abs = go_abs(dir).map_err(|source| EnvError::Stat {
            path: dir.to_path_buf(),
            source,
        })?;
        for (child, keys) in self.root_dirs {
            let child_dir = abs.join(child);
            match std::fs::metadata(&child_dir) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(EnvError::Stat {
                        path: child_dir,
                        source,
                    });
                }
            }
            for key in *keys {
                let v = prepend(
                    child_dir.as_os_str().as_bytes(),
                    &[PATH_LIST_SEPARATOR],
                    self.get(key),
                );
                self.set(*key, v);
            }
        }
        Ok(())
    }

    /// Go `AddEnvDir`: applies every env file of `env_dir`; a file without a suffix gets
    /// `default_action` ([`Action::Override`] for layer env dirs).
    pub fn add_env_dir(&mut self, env_dir: &Path, default_action: Action) -> Result<(), EnvError> {
        let mut files = Vec::new();
        each_env_file(env_dir, |name, value| {
            files.push((name.to_os_string(), value))
        })
        .map_err(|e| EnvError::ApplyDir {
            dir: env_dir.to_path_buf(),
            source: Box::new(e),
        })?;
        for (file, value) in files {
            let bytes = file.as_bytes();
            let (name, action) = match bytes.iter().position(|b| *b == b'.') {
                Some(i) => (
                    &bytes[..i],
                    std::str::from_utf8(&bytes[i + 1..])
                        .ok()
                        .and_then(Action::from_suffix),
                ),
                None => (bytes, Some(default_action)),
            };
            let Some(action) = action else { continue };
            let name = OsStr::from_bytes(name);
            let delim = |def: &[u8]| -> Vec<u8> {
                let mut d = name.to_os_string();
                d.push(".delim");
                std::fs::read(env_dir.join(d)).unwrap_or_else(|_| def.to_vec())
            };
            let new = match action {
                Action::Prepend => prepend(&value, &delim(b""), self.get(name)),
                Action::Append => append(self.get(name), &delim(b""), &value),
                Action::Override => OsString::from_vec(value),
                Action::Default => {
                    if !self.get(name).is_empty() {
                        continue;
                    }
                    OsString::from_vec(value)
                }
                Action::PrependPath => {
                    prepend(&value, &delim(&[PATH_LIST_SEPARATOR]), self.get(name))
                }
            };
            self.set(name, new);
        }
        Ok(())
    }

    /// Go `WithOverrides`: a copy with the platform's `<platform>/env/*` applied (whole file
    /// name is the variable; path variables of the root table get the value prepended with
    /// `:`, others are overridden) and then `<build-config>/env/*` (suffix rules, no suffix =
    /// [`Action::Default`]). Either directory may be `None`.
    pub fn with_overrides(
        &self,
        platform_dir: Option<&Path>,
        build_config_dir: Option<&Path>,
    ) -> Result<Env, EnvError> {
        let mut out = self.clone();
        if let Some(p) = platform_dir {
            let mut files = Vec::new();
            each_env_file(&p.join("env"), |k, v| files.push((k.to_os_string(), v)))?;
            for (k, v) in files {
                let nv = if out.is_root_env(&k) {
                    prepend(&v, &[PATH_LIST_SEPARATOR], out.get(&k))
                } else {
                    OsString::from_vec(v)
                };
                out.set(k, nv);
            }
        }
        if let Some(b) = build_config_dir {
            out.add_env_dir(&b.join("env"), Action::Default)?;
        }
        Ok(out)
    }
}

impl Env {
    /// Go `setupEnv` for one layer of a finished buildpack whose `<layer>.toml` has
    /// `build = true` (the caller checks that): its roots, then `env/`, then `env.build/`, all
    /// with no suffix meaning override. Layers are visited in `<layer>.toml` name order.
    pub fn add_build_layer(&mut self, layer_dir: &Path) -> Result<(), EnvError> {
        self.add_root_dir(layer_dir)?;
        self.add_env_dir(&layer_dir.join("env"), Action::Override)?;
        self.add_env_dir(&layer_dir.join("env.build"), Action::Override)
    }

    /// The env-file part of Go `doLayerEnvFiles` for one layer at launch: `env/`,
    /// `env.launch/` and, when a process type is selected, `env.launch/<type>/`. (At launch all
    /// layers' roots of a buildpack are added before any layer's env files.)
    pub fn add_launch_env_dirs(
        &mut self,
        layer_dir: &Path,
        process_type: &str,
    ) -> Result<(), EnvError> {
        self.add_env_dir(&layer_dir.join("env"), Action::Override)?;
        self.add_env_dir(&layer_dir.join("env.launch"), Action::Override)?;
        if process_type.is_empty() {
            return Ok(());
        }
        self.add_env_dir(
            &layer_dir.join("env.launch").join(process_type),
            Action::Override,
        )
    }
}
