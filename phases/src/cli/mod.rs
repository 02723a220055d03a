//! The command-line contract shared by every phase: a Go-`flag`-compatible parser
//! ([`goflag`]), the flag definitions and per-API gating ([`flags`]), the pre-resolution
//! inputs with env fallbacks ([`inputs`], [`env`]), path resolution ([`paths`]), the
//! registry-free validations ([`validate`]) and the multi-call entry ([`dispatch`]).
//!
//! A phase module plugs in with four functions, all driven by [`dispatch::dispatch`]:
//! `flags(api)`, `resolve(CommandLine, api) -> Inputs`, `privileges(&Inputs)`, `run(&Inputs)`.

pub mod dispatch;
pub mod env;
pub mod flags;
pub mod goflag;
pub mod goparse;
pub mod inputs;
pub mod paths;
pub mod validate;

use cnb::api::Version;
use cnb::exit::{ExitCode, LifecycleError};
use inputs::LifecycleInputs;

/// Test/diagnostic aid: when this variable is `1`, the binary prints the resolved `Inputs` of
/// the phase as JSON (keys sorted) to stdout and exits 0 instead of ensuring privileges and
/// running the phase. It lets black-box tests observe flag/env/default resolution.
pub const PRINT_INPUTS_ENV: &str = "CNB_RS_PRINT_INPUTS";

/// The command line after flag parsing: every input (flag > env > default, placeholders not yet
/// resolved) and the positional arguments.
#[derive(Clone, Debug)]
pub struct CommandLine {
    pub inputs: LifecycleInputs,
    pub args: Vec<String>,
}

/// "failed to parse arguments: <cause>" (exit 3).
pub fn bad_args(cause: &str) -> LifecycleError {
    LifecycleError::failed(ExitCode::InvalidArgs, "parse arguments", cause)
}

/// "failed to resolve inputs: <cause>" (exit 3).
pub fn bad_inputs(cause: impl std::fmt::Display) -> LifecycleError {
    LifecycleError::failed(ExitCode::InvalidArgs, "resolve inputs", cause)
}

/// The first step of every phase's resolution: `<layers>` placeholders, the order fallback,
/// absolute directories.
pub fn resolve_paths(i: &mut LifecycleInputs) -> Result<(), LifecycleError> {
    paths::update_placeholder_paths(i);
    paths::resolve_absolute_dirs(i).map_err(bad_inputs)
}

/// Go's "empty means unset".
pub fn opt(s: &str) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s.to_string())
    }
}

/// The "not implemented yet" error a phase body returns until it is written.
pub fn not_implemented(code: ExitCode, action: &str, phase: &str) -> LifecycleError {
    LifecycleError::failed(
        code,
        action,
        format!("{phase} is not implemented yet in cnb-lifecycle-rs"),
    )
}

/// Serializes a [`Version`] as `"0.12"` in the printed inputs.
pub fn ser_version<S: serde::Serializer>(v: &Version, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Go `priv.IsPrivileged`: the real uid is 0 (detector and builder refuse to run then).
pub fn is_root() -> bool {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() == 0 }
}
