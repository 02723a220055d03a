//! Replacing the launcher with the process (Go `launchDirect`, `launch/bash.go`).

use super::LaunchProcess;
use cnb::env::{Env, go_io_error};
use cnb::files::metadata::Metadata;
use std::convert::Infallible;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// Go `exec.LookPath` on unix, with `PATH` from the launch env (Go sets it in the launcher's
/// own environment first, which only serves this lookup).
pub(super) fn look_path(file: &OsStr, path_var: &OsStr) -> Result<PathBuf, String> {
    let name = file.to_string_lossy();
    let executable = |p: &Path| -> Result<(), std::io::Error> {
        let m = std::fs::metadata(p)?;
        if !m.is_dir() && m.permissions().mode() & 0o111 != 0 {
            Ok(())
        } else {
            Err(std::io::Error::from_raw_os_error(libc::EACCES))
        }
    };
    if file.as_bytes().contains(&b'/') {
        let p = PathBuf::from(file);
        return match executable(&p) {
            Ok(()) => Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
                "exec: \"{name}\": stat {name}: {}",
                go_io_error(&e)
            )),
            Err(e) => Err(format!("exec: \"{name}\": {}", go_io_error(&e))),
        };
    }
    for dir in path_var.as_bytes().split(|b| *b == b':') {
        let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
        let candidate = cnb::env::go_clean(&Path::new(OsStr::from_bytes(dir)).join(file));
        if executable(&candidate).is_ok() {
            if !candidate.is_absolute() {
                return Err(format!(
                    "exec: \"{name}\": cannot run executable found relative to current directory"
                ));
            }
            return Ok(candidate);
        }
    }
    Err(format!(
        "exec: \"{name}\": executable file not found in $PATH"
    ))
}

/// Go `launchDirect`: look the command up, chdir to the working dir and `execve`
/// `command + args` with the launch env.
pub(super) fn launch_direct(proc: &LaunchProcess, env: &Env) -> Result<Infallible, String> {
    let Some(cmd0) = proc.command.first() else {
        return Err(format!(
            "no command provided for process type \"{}\"",
            proc.kind
        ));
    };
    let binary = look_path(cmd0, env.get("PATH")).map_err(|e| format!("path lookup: {e}"))?;
    std::env::set_current_dir(&proc.working_dir).map_err(|e| {
        format!(
            "change directory: chdir {}: {}",
            Path::new(&proc.working_dir).display(),
            go_io_error(&e)
        )
    })?;
    let err = std::process::Command::new(&binary)
        .arg0(cmd0)
        .args(&proc.command[1..])
        .args(&proc.args)
        .env_clear()
        .envs(env.vars())
        .exec();
    Err(format!("direct exec: {}", go_io_error(&err)))
}

/// The script Go's `BashShell` runs: `source` lines, `cd`, then the nested `exec bash -c`.
/// With no args the command is itself the script; otherwise each of the `n_tokens` positional
/// parameters is expanded with `eval echo` and quoted.
pub fn bash_script(
    profiles: &[OsString],
    working_dir: &OsStr,
    script: bool,
    n_tokens: usize,
) -> OsString {
    let mut s: Vec<u8> = Vec::new();
    for p in profiles {
        s.extend_from_slice(b"source \"");
        s.extend_from_slice(p.as_bytes());
        s.extend_from_slice(b"\"\n");
    }
    s.extend_from_slice(b"cd \"");
    s.extend_from_slice(working_dir.as_bytes());
    s.extend_from_slice(b"\"\n");
    if script {
        s.extend_from_slice(br#"exec bash -c "$@""#);
    } else {
        let mut tokens = String::from(r#""$(eval echo \"$0\")""#);
        for i in 1..n_tokens {
            tokens.push_str(&format!(r#" "$(eval echo \"${{{i}}}\")""#));
        }
        s.extend_from_slice(format!(r#"exec bash -c '{tokens}' "${{@:1}}""#).as_bytes());
    }
    OsString::from_vec(s)
}

/// Go `launchWithShell` + `BashShell.Launch`: execs `/bin/bash -c <script> <argv0> <command>
/// <args…>`; multi-entry commands are joined with spaces.
pub(super) fn launch_with_shell(
    argv0: &OsStr,
    proc: &LaunchProcess,
    md: &Metadata,
    profiles: &[OsString],
    env: &Env,
) -> Result<Infallible, String> {
    let script = if proc.args.is_empty() {
        true
    } else {
        if !proc.buildpack_id.is_empty() && !md.buildpacks.iter().any(|b| b.id == proc.buildpack_id)
        {
            return Err(format!(
                "process type '{}' provided by unknown buildpack '{}'",
                proc.kind, proc.buildpack_id
            ));
        }
        false
    };
    let command = OsString::from_vec(
        proc.command
            .iter()
            .map(|c| c.as_bytes())
            .collect::<Vec<_>>()
            .join(&b' '),
    );
    let body = bash_script(profiles, &proc.working_dir, script, proc.args.len() + 1);
    let err = std::process::Command::new("/bin/bash")
        .arg0("bash")
        .arg("-c")
        .arg(body)
        .arg(argv0)
        .arg(command)
        .args(&proc.args)
        .env_clear()
        .envs(env.vars())
        .exec();
    Err(format!("bash exec: {}", go_io_error(&err)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_shapes_match_go() {
        let p = vec![
            OsString::from("/l/a/profile.d/x.sh"),
            OsString::from(".profile"),
        ];
        assert_eq!(
            bash_script(&p, OsStr::new("/workspace"), true, 1),
            "source \"/l/a/profile.d/x.sh\"\nsource \".profile\"\ncd \"/workspace\"\nexec bash -c \"$@\""
        );
        assert_eq!(
            bash_script(&[], OsStr::new("/w"), false, 3),
            "cd \"/w\"\nexec bash -c '\"$(eval echo \\\"$0\\\")\" \"$(eval echo \\\"${1}\\\")\" \"$(eval echo \\\"${2}\\\")\"' \"${@:1}\""
        );
    }

    #[test]
    fn look_path_like_go() {
        let t = tempfile::tempdir().unwrap();
        let exe = t.path().join("tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(t.path().join("plain"), "").unwrap();
        let path = OsString::from(format!("/nonexistent:{}", t.path().display()));
        assert_eq!(look_path(OsStr::new("tool"), &path).unwrap(), exe);
        assert_eq!(
            look_path(OsStr::new("plain"), &path).unwrap_err(),
            "exec: \"plain\": executable file not found in $PATH"
        );
        assert_eq!(
            look_path(OsStr::new("/nope/x"), &path).unwrap_err(),
            "exec: \"/nope/x\": stat /nope/x: no such file or directory"
        );
        let plain = t.path().join("plain");
        assert_eq!(
            look_path(plain.as_os_str(), &path).unwrap_err(),
            format!("exec: \"{}\": permission denied", plain.display())
        );
    }
}
