//! Process selection (Go `launch/process.go`, `cmd/launcher/cli.defaultProcessType`).

use super::Inputs;
use cnb::api::Version;
use cnb::files::metadata::{Metadata, Process};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// The process about to be launched.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LaunchProcess {
    /// Process type; empty for a user-provided command.
    pub kind: String,
    /// The command; one entry after selection (extra entries moved to `args`).
    pub command: Vec<OsString>,
    pub args: Vec<OsString>,
    pub direct: bool,
    pub buildpack_id: String,
    /// Empty means the app dir.
    pub working_dir: OsString,
}

impl From<&Process> for LaunchProcess {
    fn from(p: &Process) -> Self {
        LaunchProcess {
            kind: p.kind.clone(),
            command: p.command.entries.iter().map(OsString::from).collect(),
            args: p.args.iter().flatten().map(OsString::from).collect(),
            direct: p.direct,
            buildpack_id: p.buildpack_id.clone(),
            working_dir: OsString::from(&p.working_dir),
        }
    }
}

/// Go `defaultProcessType`: the basename of argv0 when a process of that type exists.
pub(super) fn default_process_type(argv0: &OsStr, md: &Metadata) -> Option<String> {
    let bytes = argv0.as_bytes();
    let base = match bytes.iter().rposition(|b| *b == b'/') {
        Some(i) => &bytes[i + 1..],
        None => bytes,
    };
    let name = std::str::from_utf8(base).ok()?;
    md.find_process(name).map(|_| name.to_string())
}

/// Go `isProcessEligibleForExecEnv` (Platform API ≥ 0.15 only).
fn eligible(inputs: &Inputs, p: &Process) -> bool {
    if inputs.platform_api.less_than("0.15") || p.exec_env.is_empty() {
        return true;
    }
    p.exec_env.iter().any(|e| e == "*" || *e == inputs.exec_env)
}

/// Go `Launcher.ProcessFor`: the process type chosen by argv0 with the user's arguments, or
/// the user's command when there is none.
pub fn select_process(
    inputs: &Inputs,
    md: &Metadata,
    default_type: Option<&str>,
) -> Result<LaunchProcess, String> {
    let user = &inputs.args;
    let Some(kind) = default_type else {
        return user_provided(user);
    };
    let process = md
        .processes
        .iter()
        .find(|p| p.kind == kind && eligible(inputs, p))
        .ok_or_else(|| format!("process type {kind} was not found"))?;
    let mut proc = LaunchProcess::from(process);
    if inputs.platform_api.less_than("0.10") {
        proc.args.extend(user.iter().cloned());
        return Ok(proc);
    }
    if proc.command.len() > 1 {
        let overridable = std::mem::take(&mut proc.args);
        proc.args = proc.command.split_off(1);
        proc.args.extend(if user.is_empty() { overridable } else { user.clone() });
    } else if !user.is_empty() {
        let bp = md.buildpacks.iter().find(|b| b.id == proc.buildpack_id).ok_or_else(|| {
            format!(
                "failed to find buildpack for process {} with buildpack ID {}",
                proc.kind, proc.buildpack_id
            )
        })?;
        let api = Version::parse(&bp.api).map_err(|e| e.to_string())?;
        if api.less_than("0.9") {
            proc.args.extend(user.iter().cloned());
        } else {
            proc.args = user.clone();
        }
    }
    Ok(proc)
}

/// Go `userProvidedProcess`: `-- cmd args…` is direct, `cmd args…` goes through the shell.
fn user_provided(cmd: &[OsString]) -> Result<LaunchProcess, String> {
    match cmd {
        [] => Err("when there is no default process a command is required".to_string()),
        [dd, c, rest @ ..] if dd == "--" => {
            Ok(LaunchProcess { command: vec![c.clone()], args: rest.to_vec(), direct: true, ..Default::default() })
        }
        [c, rest @ ..] => Ok(LaunchProcess { command: vec![c.clone()], args: rest.to_vec(), ..Default::default() }),
    }
}
