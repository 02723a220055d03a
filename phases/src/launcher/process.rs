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
        proc.args.extend(if user.is_empty() {
            overridable
        } else {
            user.clone()
        });
    } else if !user.is_empty() {
        let bp = md
            .buildpacks
            .iter()
            .find(|b| b.id == proc.buildpack_id)
            .ok_or_else(|| {
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
        [dd, c, rest @ ..] if dd == "--" => Ok(LaunchProcess {
            command: vec![c.clone()],
            args: rest.to_vec(),
            direct: true,
            ..Default::default()
        }),
        [c, rest @ ..] => Ok(LaunchProcess {
            command: vec![c.clone()],
            args: rest.to_vec(),
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cnb::files::metadata::{GroupElement, RawCommand};

    fn inputs(api: &str, args: &[&str]) -> Inputs {
        Inputs {
            platform_api: Version::parse(api).unwrap(),
            layers_dir: "/layers".into(),
            app_dir: "/workspace".into(),
            exec_env: "production".into(),
            argv0: "/cnb/process/web".into(),
            args: args.iter().map(OsString::from).collect(),
            environ: Vec::new(),
        }
    }

    fn md(bp_api: &str, command: &[&str], args: Option<&[&str]>) -> Metadata {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Metadata {
            buildpacks: vec![GroupElement {
                id: "bp".into(),
                version: "1".into(),
                api: bp_api.into(),
                ..Default::default()
            }],
            processes: vec![Process {
                kind: "web".into(),
                command: RawCommand::new(s(command)),
                args: args.map(s),
                direct: true,
                buildpack_id: "bp".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn args_of(p: &LaunchProcess) -> Vec<&str> {
        p.args.iter().map(|a| a.to_str().unwrap()).collect()
    }

    #[test]
    fn argv0_basename_names_the_default_process() {
        let m = md("0.9", &["x"], None);
        assert_eq!(
            default_process_type(OsStr::new("/cnb/process/web"), &m).as_deref(),
            Some("web")
        );
        assert_eq!(
            default_process_type(OsStr::new("web"), &m).as_deref(),
            Some("web")
        );
        assert_eq!(
            default_process_type(OsStr::new("/cnb/lifecycle/launcher"), &m),
            None
        );
    }

    #[test]
    fn user_args_rules() {
        // Single-entry command, bp API >= 0.9: replace; < 0.9: append.
        let p = select_process(
            &inputs("0.12", &["u"]),
            &md("0.9", &["c"], Some(&["d"])),
            Some("web"),
        )
        .unwrap();
        assert_eq!(
            (p.command.clone(), args_of(&p)),
            (vec![OsString::from("c")], vec!["u"])
        );
        let p = select_process(
            &inputs("0.12", &["u"]),
            &md("0.8", &["c"], Some(&["d"])),
            Some("web"),
        )
        .unwrap();
        assert_eq!(args_of(&p), ["d", "u"]);
        // No user args: unchanged.
        let p = select_process(
            &inputs("0.12", &[]),
            &md("0.9", &["c"], Some(&["d"])),
            Some("web"),
        )
        .unwrap();
        assert_eq!(args_of(&p), ["d"]);
        // Multi-entry command: fixed args first, then user args or the defaults.
        let p = select_process(
            &inputs("0.12", &["u"]),
            &md("0.9", &["c", "f1", "f2"], Some(&["d"])),
            Some("web"),
        )
        .unwrap();
        assert_eq!((p.command.len(), args_of(&p)), (1, vec!["f1", "f2", "u"]));
        let p = select_process(
            &inputs("0.12", &[]),
            &md("0.9", &["c", "f1"], Some(&["d"])),
            Some("web"),
        )
        .unwrap();
        assert_eq!(args_of(&p), ["f1", "d"]);
        // Platform < 0.10: always appended.
        let p = select_process(
            &inputs("0.9", &["u"]),
            &md("0.9", &["c"], Some(&["d"])),
            Some("web"),
        )
        .unwrap();
        assert_eq!(args_of(&p), ["d", "u"]);
    }

    #[test]
    fn unknown_buildpack_of_a_process_is_an_error() {
        let mut m = md("0.9", &["c"], None);
        m.processes[0].buildpack_id = "other".into();
        assert_eq!(
            select_process(&inputs("0.12", &["u"]), &m, Some("web")).unwrap_err(),
            "failed to find buildpack for process web with buildpack ID other"
        );
    }

    #[test]
    fn user_provided_commands() {
        let m = Metadata::default();
        let p = select_process(&inputs("0.12", &["--", "ls", "-l"]), &m, None).unwrap();
        assert!(p.direct);
        assert_eq!(
            (p.command, args_of_owned(&p.args)),
            (vec![OsString::from("ls")], vec!["-l".to_string()])
        );
        let p = select_process(&inputs("0.12", &["echo", "$X"]), &m, None).unwrap();
        assert!(!p.direct);
        // A lone `--` is a shell command named `--`, as in Go.
        let p = select_process(&inputs("0.12", &["--"]), &m, None).unwrap();
        assert!(!p.direct && p.command == [OsString::from("--")]);
        assert_eq!(
            select_process(&inputs("0.12", &[]), &m, None).unwrap_err(),
            "when there is no default process a command is required"
        );
    }

    fn args_of_owned(a: &[OsString]) -> Vec<String> {
        a.iter().map(|x| x.to_string_lossy().into_owned()).collect()
    }
}
