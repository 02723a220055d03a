//! Environment construction shared by the builder (buildpack `/bin/detect` and `/bin/build`)
//! and the launcher (Go lifecycle `env/*.go`).
//!
//! An [`Env`] is a sorted map of variables plus the table of layer root directories that feed
//! path-like variables (`bin` → `PATH`, …). Values are [`OsString`]s because env files are
//! used verbatim (any bytes, trailing newline kept).
//!
//! Build:  `Env::new_build(std::env::vars_os())`, then per earlier buildpack layer with
//! `build = true`: [`Env::add_root_dir`], [`Env::add_env_dir`] for `env/` and `env.build/` with
//! [`Action::Override`]; per buildpack run [`Env::with_overrides`] (platform `env/` then
//! build-config `env/`), then the lifecycle's own `CNB_*` variables.
//! Launch: `Env::new_launch(std::env::vars_os(), "/cnb/process", "/cnb/lifecycle")`, then per
//! buildpack layer `add_root_dir`, then `env/`, `env.launch/`, `env.launch/<type>/`.

mod dirs;
mod gopath;
#[cfg(test)]
mod tests;

pub use dirs::Action;
pub use gopath::{go_abs, go_clean, go_io_error};

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

/// Variables passed from the lifecycle's own environment to buildpacks (besides the path
/// variables of [`POSIX_BUILD_ENV`]); everything else is dropped (Go `BuildEnvIncludelist`).
pub const BUILD_ENV_INCLUDE_LIST: &[&str] = &[
    "CNB_STACK_ID",
    "HOSTNAME",
    "HOME",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Variables removed from the launcher's environment before the app sees it.
pub const LAUNCH_ENV_EXCLUDE_LIST: &[&str] = &[
    "CNB_LAYERS_DIR",
    "CNB_APP_DIR",
    "CNB_PROCESS_TYPE",
    "CNB_PLATFORM_API",
    "CNB_DEPRECATION_MODE",
];

/// A layer root directory name and the variables it is prepended to.
pub type RootDirMap = &'static [(&'static str, &'static [&'static str])];

/// Build-time layer roots (Go `POSIXBuildEnv`).
pub const POSIX_BUILD_ENV: RootDirMap = &[
    ("bin", &["PATH"]),
    ("lib", &["LD_LIBRARY_PATH", "LIBRARY_PATH"]),
    ("include", &["CPATH"]),
    ("pkgconfig", &["PKG_CONFIG_PATH"]),
];

/// Launch-time layer roots (Go `POSIXLaunchEnv`).
pub const POSIX_LAUNCH_ENV: RootDirMap = &[("bin", &["PATH"]), ("lib", &["LD_LIBRARY_PATH"])];

/// Go `os.PathListSeparator` on unix.
pub const PATH_LIST_SEPARATOR: u8 = b':';

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("open {}: {}", path.display(), go_io_error(source))]
    Open {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("stat {}: {}", path.display(), go_io_error(source))]
    Stat {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("apply env files from dir '{}': {source}", dir.display())]
    ApplyDir {
        dir: std::path::PathBuf,
        source: Box<EnvError>,
    },
}

/// An environment under construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    root_dirs: RootDirMap,
    vars: BTreeMap<OsString, OsString>,
}

impl Env {
    /// An environment with the given variables and layer-root table.
    pub fn from_vars<K: Into<OsString>, V: Into<OsString>>(
        vars: impl IntoIterator<Item = (K, V)>,
        root_dirs: RootDirMap,
    ) -> Self {
        Env {
            root_dirs,
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Go `NewBuildEnv`: keeps only [`BUILD_ENV_INCLUDE_LIST`] and the build path variables.
    pub fn new_build(environ: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let keep = |k: &OsStr| {
            BUILD_ENV_INCLUDE_LIST.iter().any(|w| OsStr::new(w) == k)
                || POSIX_BUILD_ENV
                    .iter()
                    .any(|(_, vs)| vs.iter().any(|w| OsStr::new(w) == k))
        };
        let vars = environ.into_iter().filter(|(k, _)| keep(k));
        Env::from_vars(vars, POSIX_BUILD_ENV)
    }

    /// Go `NewLaunchEnv`: drops [`LAUNCH_ENV_EXCLUDE_LIST`] and removes `process_dir` and
    /// `lifecycle_dir` entries from `PATH`.
    pub fn new_launch(
        environ: impl IntoIterator<Item = (OsString, OsString)>,
        process_dir: &str,
        lifecycle_dir: &str,
    ) -> Self {
        let vars = environ
            .into_iter()
            .filter(|(k, _)| !LAUNCH_ENV_EXCLUDE_LIST.iter().any(|w| OsStr::new(w) == k));
        let mut env = Env::from_vars(vars, POSIX_LAUNCH_ENV);
        if let Some(path) = env.vars.get_mut(OsStr::new("PATH")) {
            use std::os::unix::ffi::{OsStrExt, OsStringExt};
            let kept: Vec<&[u8]> = path
                .as_bytes()
                .split(|b| *b == PATH_LIST_SEPARATOR)
                .filter(|p| *p != process_dir.as_bytes() && *p != lifecycle_dir.as_bytes())
                .collect();
            *path = OsString::from_vec(kept.join(&PATH_LIST_SEPARATOR));
        }
        env
    }

    /// The value of `key`, empty when unset (Go `Get`).
    pub fn get(&self, key: impl AsRef<OsStr>) -> &OsStr {
        self.vars
            .get(key.as_ref())
            .map(OsString::as_os_str)
            .unwrap_or(OsStr::new(""))
    }

    /// The value of `key`, `None` when unset.
    pub fn lookup(&self, key: impl AsRef<OsStr>) -> Option<&OsStr> {
        self.vars.get(key.as_ref()).map(OsString::as_os_str)
    }

    pub fn set(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) {
        self.vars.insert(key.into(), value.into());
    }

    pub fn remove(&mut self, key: impl AsRef<OsStr>) -> Option<OsString> {
        self.vars.remove(key.as_ref())
    }

    /// All variables, sorted by name.
    pub fn vars(&self) -> &BTreeMap<OsString, OsString> {
        &self.vars
    }

    pub fn root_dirs(&self) -> RootDirMap {
        self.root_dirs
    }

    /// `KEY=VALUE` entries sorted by name (Go `List`, in a stable order).
    pub fn list(&self) -> Vec<OsString> {
        self.vars
            .iter()
            .map(|(k, v)| {
                let mut e = k.clone();
                e.push("=");
                e.push(v);
                e
            })
            .collect()
    }

    /// Whether `name` is one of the path variables fed by a layer root (Go `isRootEnv`).
    pub fn is_root_env(&self, name: &OsStr) -> bool {
        self.root_dirs
            .iter()
            .any(|(_, vs)| vs.iter().any(|v| OsStr::new(v) == name))
    }
}
