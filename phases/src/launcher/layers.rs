//! Walking the buildpack layers at launch (Go `launch/launcher.go` `eachBuildpack`,
//! `eachLayer`, `doEnv`, `doExecD`, and `launch/shell.go` `getProfiles`).
//!
//! Buildpacks in metadata.toml order (those without a `<layers>/<bp>` dir are skipped); within a
//! buildpack every sub-directory in name order. As in Go, the layer's `<layer>.toml` types are
//! not consulted: an app image only contains launch layers.

use cnb::env::{Env, go_io_error};
use cnb::files::metadata::Metadata;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};

pub(super) struct Walk<'a> {
    pub layers_dir: &'a Path,
    pub md: &'a Metadata,
}

/// Go `launch.EscapeID`.
fn escape_id(id: &str) -> String {
    id.replace('/', "_")
}

/// Entries of `dir` in name order passing `keep`; a missing dir yields none (Go `eachInDir`).
fn entries(dir: &Path, keep: impl Fn(&std::fs::FileType) -> bool) -> Result<Vec<PathBuf>, String> {
    let list_err = |e: &std::io::Error| {
        format!(
            "failed to list files in dir '{0}': open {0}: {1}",
            dir.display(),
            go_io_error(e)
        )
    };
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(list_err(&e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| list_err(&e))?;
        let ft = entry.file_type().map_err(|e| list_err(&e))?;
        if keep(&ft) {
            out.push(entry.file_name());
        }
    }
    out.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(out.into_iter().map(|n| dir.join(n)).collect())
}

fn layer_dirs(bp_dir: &Path) -> Result<Vec<PathBuf>, String> {
    entries(bp_dir, |t| t.is_dir())
}

fn files_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    entries(dir, |t| !t.is_dir())
}

impl Walk<'_> {
    /// The existing buildpack directories, in metadata order (Go `eachBuildpack`).
    fn buildpack_dirs(&self) -> Result<Vec<PathBuf>, String> {
        let mut out = Vec::new();
        for bp in &self.md.buildpacks {
            let dir = cnb::env::go_clean(&self.layers_dir.join(escape_id(&bp.id)));
            match std::fs::metadata(&dir) {
                Ok(_) => out.push(dir),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(format!(
                        "find buildpack directory: stat {}: {}",
                        dir.display(),
                        go_io_error(&e)
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Go `doEnv`: per buildpack, every layer's `bin`/`lib` first, then every layer's `env/`,
    /// `env.launch/` and (with a process type) `env.launch/<type>/`.
    pub fn apply_env(&self, env: &mut Env, kind: &str) -> Result<(), String> {
        for bp_dir in self.buildpack_dirs()? {
            let layers = layer_dirs(&bp_dir).map_err(|e| format!("add layer root: {e}"))?;
            for layer in &layers {
                env.add_root_dir(layer)
                    .map_err(|e| format!("add layer root: {e}"))?;
            }
            for layer in &layers {
                env.add_launch_env_dirs(layer, kind)
                    .map_err(|e| format!("add layer env: {e}"))?;
            }
        }
        Ok(())
    }

    /// Go `doExecD`: per layer, every file of `exec.d/` then of `exec.d/<type>/`.
    pub fn run_exec_d(&self, env: &mut Env, kind: &str) -> Result<(), String> {
        for bp_dir in self.buildpack_dirs()? {
            for layer in layer_dirs(&bp_dir)? {
                let mut helpers = files_in(&layer.join("exec.d"))?;
                if !kind.is_empty() {
                    helpers.extend(files_in(&layer.join("exec.d").join(kind))?);
                }
                for h in helpers {
                    run_one_exec_d(&h, env)?;
                }
            }
        }
        Ok(())
    }

    /// Go `getProfiles`: per layer `profile.d/*` then `profile.d/<type>/*`, then the app's
    /// `.profile` (relative) when it exists and is not a directory.
    pub fn profiles(&self, kind: &str, app_dir: &Path) -> Result<Vec<OsString>, String> {
        let mut out = Vec::new();
        for bp_dir in self
            .buildpack_dirs()
            .map_err(|e| format!("find profiles: {e}"))?
        {
            for layer in layer_dirs(&bp_dir).map_err(|e| format!("find profiles: {e}"))? {
                let mut files = files_in(&layer.join("profile.d"))
                    .map_err(|e| format!("find profiles: {e}"))?;
                if !kind.is_empty() {
                    files.extend(
                        files_in(&layer.join("profile.d").join(kind))
                            .map_err(|e| format!("find profiles: {e}"))?,
                    );
                }
                out.extend(files.into_iter().map(PathBuf::into_os_string));
            }
        }
        let app_profile = app_dir.join(super::APP_PROFILE);
        match std::fs::metadata(&app_profile) {
            Ok(m) if !m.is_dir() => out.push(OsString::from(super::APP_PROFILE)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(format!(
                    "find profiles: failed to determine if app profile script exists at path '{0}': stat {0}: {1}",
                    app_profile.display(),
                    go_io_error(&e)
                ));
            }
        }
        Ok(out)
    }
}

/// Go `ExecDRunner.ExecD`: runs `path` with the current env, stdout/stderr inherited and fd 3 a
/// pipe; the TOML table it writes there (`NAME = "value"` lines) is merged into `env`.
fn run_one_exec_d(path: &Path, env: &mut Env) -> Result<(), String> {
    let (mut reader, writer) =
        std::io::pipe().map_err(|e| format!("failed to create pipe: {e}"))?;
    let mut cmd = std::process::Command::new(path);
    cmd.env_clear().envs(env.vars());
    {
        use std::os::fd::AsRawFd;
        let wfd = writer.as_raw_fd();
        // SAFETY: only async-signal-safe libc calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if wfd == 3 {
                    let flags = libc::fcntl(3, libc::F_GETFD);
                    if flags < 0 || libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(wfd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let spawned = cmd.spawn();
    drop(writer);
    let mut child = spawned.map_err(|e| {
        format!(
            "failed to execute exec.d file at path '{0}': fork/exec {0}: {1}",
            path.display(),
            go_io_error(&e)
        )
    })?;
    let mut out = Vec::new();
    let read = reader.read_to_end(&mut out);
    let status = child.wait().map_err(|e| {
        format!(
            "failed to execute exec.d file at path '{}': {}",
            path.display(),
            go_io_error(&e)
        )
    })?;
    if !status.success() {
        let how = match (status.code(), status.signal()) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(s)) => format!("signal: {}", signal_name(s)),
            _ => status.to_string(),
        };
        return Err(format!(
            "failed to execute exec.d file at path '{}': {how}",
            path.display()
        ));
    }
    read.map_err(|e| {
        format!(
            "failed to read output from exec.d file at path '{}': {e}",
            path.display()
        )
    })?;
    let text = String::from_utf8_lossy(&out);
    let vars: std::collections::BTreeMap<String, String> = toml::from_str(&text).map_err(|e| {
        format!(
            "failed to decode output from exec.d file at path '{}': toml: {}",
            path.display(),
            cnb::files::metadata::toml_error_text(&text, &e)
        )
    })?;
    for (k, v) in vars {
        env.set(k, v);
    }
    Ok(())
}

/// Go's `syscall.Signal.String` for the common signals.
fn signal_name(s: i32) -> String {
    match s {
        libc::SIGHUP => "hangup".into(),
        libc::SIGINT => "interrupt".into(),
        libc::SIGQUIT => "quit".into(),
        libc::SIGABRT => "aborted".into(),
        libc::SIGKILL => "killed".into(),
        libc::SIGSEGV => "segmentation fault".into(),
        libc::SIGPIPE => "broken pipe".into(),
        libc::SIGTERM => "terminated".into(),
        n => format!("signal {n}"),
    }
}
