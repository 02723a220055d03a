//! The multi-call entry (Go `cmd/lifecycle/main.go` and `cli.Run`): pick the phase from the
//! basename of argv[0] (extension stripped) or from `lifecycle <phase>`, pass the Platform API
//! gate, parse flags, configure logging, resolve inputs, then privileges and the phase body.

use super::env::Env;
use super::flags::Flag;
use super::goflag::{self, FlagError};
use super::inputs::LifecycleInputs;
use super::{CommandLine, PRINT_INPUTS_ENV};
use crate::{analyzer, builder, creator, detector, exporter, rebaser, restorer};
use cnb::api::{Gate, Mode, Version};
use cnb::exit::{ExitCode, LifecycleError};
use serde::Serialize;
use std::ffi::OsString;

/// The phases, in Go's "Valid phases" order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Detect,
    Analyze,
    Restore,
    Build,
    Export,
    Rebase,
    Create,
    Extend,
}

const PHASES: [(Phase, &str, &str); 8] = [
    (Phase::Detect, "detector", "detect"),
    (Phase::Analyze, "analyzer", "analyze"),
    (Phase::Restore, "restorer", "restore"),
    (Phase::Build, "builder", "build"),
    (Phase::Export, "exporter", "export"),
    (Phase::Rebase, "rebaser", "rebase"),
    (Phase::Create, "creator", "create"),
    (Phase::Extend, "extender", "extend"),
];

impl Phase {
    /// The phase a symlink name (`analyzer`, …) stands for.
    pub fn from_binary(name: &str) -> Option<Phase> {
        PHASES.iter().find(|p| p.1 == name).map(|p| p.0)
    }

    /// The phase a `lifecycle <subcommand>` name (`analyze`, …) stands for.
    pub fn from_subcommand(name: &str) -> Option<Phase> {
        PHASES.iter().find(|p| p.2 == name).map(|p| p.0)
    }
}

/// What `main` must do to finish the process.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Exit 0.
    Done,
    /// Log `ERROR: <message>` and exit with its code.
    Failed(LifecycleError),
    /// Write this text to stderr and exit (Go `flag` usage: 0 for `-help`, 2 for bad flags).
    Usage { stderr: String, code: ExitCode },
    /// The `CNB_RS_PRINT_INPUTS=1` aid: write this JSON to stdout and exit 0.
    PrintInputs(String),
}

impl From<LifecycleError> for Outcome {
    fn from(e: LifecycleError) -> Self {
        Outcome::Failed(e)
    }
}

/// `<version>` or `<version>+<commit>` when the build set `LIFECYCLE_SCM_COMMIT`.
pub fn version() -> String {
    let v = env!("CARGO_PKG_VERSION");
    match option_env!("LIFECYCLE_SCM_COMMIT") {
        Some(c) if !c.is_empty() && !v.contains(c) => format!("{v}+{c}"),
        _ => v.to_string(),
    }
}

/// Go `filepath.Base`.
fn go_base(p: &str) -> &str {
    if p.is_empty() {
        return ".";
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/";
    }
    t.rsplit('/').next().unwrap_or(t)
}

/// The phase name of argv[0]: basename with its extension removed.
pub fn invoked_name(argv0: &str) -> String {
    // Go: strings.TrimSuffix(filepath.Base(arg0), filepath.Ext(arg0)).
    let ext = match argv0.rfind(['.', '/']) {
        Some(p) if argv0.as_bytes()[p] == b'.' => &argv0[p..],
        _ => "",
    };
    let base = go_base(argv0);
    base.strip_suffix(ext).unwrap_or(base).to_string()
}

fn gate(env: &Env) -> Result<Gate, LifecycleError> {
    let deprecation = Mode::from_value(env.raw("CNB_DEPRECATION_MODE").as_deref(), Mode::Warn);
    let gate = cnb::api::platform_gate(env.raw("CNB_PLATFORM_API").as_deref(), deprecation)?;
    if let Some(w) = &gate.warning {
        cnb::warn!("{w}");
    }
    Ok(gate)
}

/// The whole command line in, what to do at exit out.
pub fn dispatch(argv: &[OsString], env: &Env) -> Outcome {
    let args: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let name = invoked_name(args.first().map(String::as_str).unwrap_or("lifecycle"));
    if let Some(phase) = Phase::from_binary(&name) {
        let api = match gate(env) {
            Ok(g) => g.api,
            Err(e) => return e.into(),
        };
        return run_phase(phase, &name, api, &args[1..], env);
    }
    let Some(first) = args.get(1) else {
        return LifecycleError::new(ExitCode::InvalidArgs, "failed to parse arguments").into();
    };
    if first == "-version" {
        cnb::info!("{}", version());
        return Outcome::Done;
    }
    let api = match gate(env) {
        Ok(g) => g.api,
        Err(e) => return e.into(),
    };
    let name = go_base(first);
    match Phase::from_subcommand(name) {
        Some(phase) => run_phase(phase, name, api, &args[2..], env),
        None => LifecycleError::new(
            ExitCode::InvalidArgs,
            format!(
                "failed to recognize phase: {name} \nValid phases: detect, analyze, restore, build, export, rebase, create, extend"
            ),
        )
        .into(),
    }
}

fn run_phase(phase: Phase, name: &str, api: Version, args: &[String], env: &Env) -> Outcome {
    match phase {
        Phase::Analyze => drive(name, api, args, env, analyzer::flags, analyzer::resolve, analyzer::privileges, analyzer::run),
        Phase::Detect => drive(name, api, args, env, detector::flags, detector::resolve, detector::privileges, detector::run),
        Phase::Restore => drive(name, api, args, env, restorer::flags, restorer::resolve, restorer::privileges, restorer::run),
        Phase::Build => drive(name, api, args, env, builder::flags, builder::resolve, builder::privileges, builder::run),
        Phase::Export => drive(name, api, args, env, exporter::flags, exporter::resolve, exporter::privileges, exporter::run),
        Phase::Rebase => drive(name, api, args, env, rebaser::flags, rebaser::resolve, rebaser::privileges, rebaser::run),
        Phase::Create => drive(name, api, args, env, creator::flags, creator::resolve, creator::privileges, creator::run),
        Phase::Extend => LifecycleError::new(
            ExitCode::ExtendError,
            "failed to extend: the extender phase (image extensions with kaniko) is not supported by cnb-lifecycle-rs",
        )
        .into(),
    }
}

type Step<I> = fn(&I) -> Result<(), LifecycleError>;

/// Go `cli.Run` for one phase.
#[allow(clippy::too_many_arguments)]
fn drive<I: Serialize>(
    name: &str,
    api: Version,
    args: &[String],
    env: &Env,
    flags: fn(Version) -> Vec<&'static Flag>,
    resolve: fn(CommandLine, Version) -> Result<I, LifecycleError>,
    privileges: Step<I>,
    run: Step<I>,
) -> Outcome {
    let flags = flags(api);
    let mut inputs = LifecycleInputs::from_env(api, env);
    let usage = || goflag::usage(&flags, &|f: &Flag| inputs.display(f.field));
    let parsed = match goflag::parse(&flags, args) {
        Ok(p) => p,
        Err(FlagError::Help) => {
            return Outcome::Usage {
                stderr: usage(),
                code: ExitCode::Success,
            };
        }
        Err(FlagError::Invalid(msg)) => {
            return Outcome::Usage {
                stderr: format!("{msg}\n{}", usage()),
                code: ExitCode::FlagParse,
            };
        }
    };
    for (flag, value) in parsed.assignments {
        inputs.set(flag.field, value);
    }
    if inputs.print_version {
        cnb::info!("{}", version());
        return Outcome::Done;
    }
    cnb::log::set_color(!inputs.no_color);
    match cnb::log::Level::parse(&inputs.log_level) {
        Ok(level) => cnb::log::set_level(level),
        // apex/log's error text, without the value (Go: "failed to parse log level: invalid level").
        Err(_) => {
            return LifecycleError::new(
                ExitCode::Failed,
                "failed to parse log level: invalid level",
            )
            .into();
        }
    }
    for arg in parsed.args.iter().filter(|a| a.starts_with('-')) {
        cnb::warn!(
            "Warning: unconsumed flag-like positional arg: \n\t{arg}\n\t This will not be interpreted as a flag.\n\t Did you mean to put this before the first positional argument?"
        );
    }
    cnb::debug!("Starting {name}...");
    cnb::debug!("Parsing inputs...");
    let resolved = match resolve(
        CommandLine {
            inputs,
            args: parsed.args,
        },
        api,
    ) {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    if env.raw(PRINT_INPUTS_ENV).as_deref() == Some("1") {
        return match serde_json::to_value(&resolved).and_then(|v| serde_json::to_string_pretty(&v))
        {
            Ok(json) => Outcome::PrintInputs(json),
            Err(e) => {
                LifecycleError::new(ExitCode::Failed, format!("failed to print inputs: {e}")).into()
            }
        };
    }
    cnb::debug!("Ensuring privileges...");
    if let Err(e) = privileges(&resolved) {
        return e.into();
    }
    cnb::debug!("Executing command...");
    match run(&resolved) {
        Ok(()) => Outcome::Done,
        Err(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let table = [
            ("/cnb/lifecycle/analyzer", "analyzer"),
            ("detector.exe", "detector"),
            ("/a.b/lifecycle", "lifecycle"),
            ("creator/", "creator"),
            ("", "."),
        ];
        for (argv0, want) in table {
            assert_eq!(invoked_name(argv0), want, "{argv0}");
        }
        assert_eq!(Phase::from_binary("rebaser"), Some(Phase::Rebase));
        assert_eq!(Phase::from_subcommand("rebase"), Some(Phase::Rebase));
        assert_eq!(Phase::from_subcommand("rebaser"), None);
    }

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn top_level_outcomes() {
        let api = Env::from_pairs(&[("CNB_PLATFORM_API", "0.13")]);
        let no_api = Env::from_pairs(&[]);
        assert_eq!(
            dispatch(&os(&["lifecycle", "-version"]), &no_api),
            Outcome::Done
        );
        let Outcome::Failed(e) = dispatch(&os(&["lifecycle"]), &api) else {
            panic!()
        };
        assert_eq!(
            (e.code, e.message.as_str()),
            (ExitCode::InvalidArgs, "failed to parse arguments")
        );
        let Outcome::Failed(e) = dispatch(&os(&["lifecycle", "nope"]), &api) else {
            panic!()
        };
        assert_eq!(e.code, ExitCode::InvalidArgs);
        assert!(
            e.message
                .starts_with("failed to recognize phase: nope \nValid phases: detect,")
        );
        let Outcome::Failed(e) = dispatch(&os(&["analyzer", "-version"]), &no_api) else {
            panic!()
        };
        assert_eq!(e.code, ExitCode::IncompatiblePlatformApi);
        let Outcome::Usage { code, stderr } = dispatch(&os(&["lifecycle", "build", "-x"]), &api)
        else {
            panic!()
        };
        assert_eq!(code, ExitCode::FlagParse);
        assert!(stderr.starts_with("flag provided but not defined: -x\nUsage of lifecycle:\n"));
        let Outcome::Failed(e) = dispatch(&os(&["extender"]), &api) else {
            panic!()
        };
        assert_eq!(e.code, ExitCode::ExtendError);
    }
}
