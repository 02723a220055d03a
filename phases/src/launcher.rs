//! The launcher (Go lifecycle `cmd/launcher`, `launch/*.go`): the app image's entrypoint. It
//! picks the process (by the name it was invoked under, `/cnb/process/<type>`, or from the user
//! command), builds the launch environment from the buildpack layers, runs `exec.d`
//! helpers and then replaces itself with the process (`execve`), directly or through bash with
//! the `profile.d` scripts sourced.
//!
//! Uses std, toml and serde only: no async runtime, no network.

mod exec;
mod layers;
mod process;

pub use process::{LaunchProcess, select_process};

use cnb::api::{Mode, Version};
use cnb::env::Env;
use cnb::exit::{ExitCode, LifecycleError};
use cnb::files::metadata::{Metadata, metadata_path, read_metadata};
use std::convert::Infallible;
use std::ffi::OsString;
use std::path::PathBuf;

pub const CNB_DIR: &str = "/cnb";
pub const PROCESS_DIR: &str = "/cnb/process";
pub const LIFECYCLE_DIR: &str = "/cnb/lifecycle";
pub const DEFAULT_LAYERS_DIR: &str = "/layers";
pub const DEFAULT_APP_DIR: &str = "/workspace";
pub const DEFAULT_EXEC_ENV: &str = "production";
/// The app's own profile script, relative to the app dir.
pub const APP_PROFILE: &str = ".profile";

/// Everything the launcher reads from its invocation.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub platform_api: Version,
    pub layers_dir: PathBuf,
    pub app_dir: PathBuf,
    /// `CNB_EXEC_ENV` (default `production`), used from Platform API 0.15.
    pub exec_env: String,
    /// `argv[0]`, used to pick the process type and as `$0` of the profile scripts.
    pub argv0: OsString,
    /// The user command/arguments (`argv[1..]`).
    pub args: Vec<OsString>,
    /// The launcher's environment.
    pub environ: Vec<(OsString, OsString)>,
}

/// Go `cmd.EnvOrDefault`: the variable if set and non-empty, else the default.
fn env_or(key: &str, default: &str) -> String {
    match std::env::var(key) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

/// Go `strconv.ParseBool` truthiness (anything unparseable is false).
fn bool_env(key: &str) -> bool {
    matches!(
        std::env::var(key).as_deref(),
        Ok("1" | "t" | "T" | "true" | "TRUE" | "True")
    )
}

/// The launcher binary's whole life: gate, read metadata, launch. Only returns on error, with
/// the exit code to use (11, 12, 1 or 82).
pub fn main() -> ! {
    cnb::log::set_color(!bool_env("CNB_NO_COLOR"));
    let code = match run_from_env() {
        Ok(never) => match never {},
        Err(e) => {
            cnb::error!("{}", e.message);
            e.code.code()
        }
    };
    std::process::exit(code)
}

fn run_from_env() -> Result<Infallible, LifecycleError> {
    let gate = cnb::api::platform_gate_from_env()?;
    if let Some(w) = &gate.warning {
        cnb::warn!("{w}");
    }
    let mut argv = std::env::args_os();
    let argv0 = argv.next().unwrap_or_default();
    let inputs = Inputs {
        platform_api: gate.api,
        layers_dir: PathBuf::from(env_or("CNB_LAYERS_DIR", DEFAULT_LAYERS_DIR)),
        app_dir: PathBuf::from(env_or("CNB_APP_DIR", DEFAULT_APP_DIR)),
        exec_env: env_or("CNB_EXEC_ENV", DEFAULT_EXEC_ENV),
        argv0,
        args: argv.collect(),
        environ: std::env::vars_os().collect(),
    };
    if let Ok(t) = std::env::var("CNB_PROCESS_TYPE")
        && !t.is_empty()
    {
        cnb::warn!(
            "CNB_PROCESS_TYPE is not supported in Platform API {}",
            inputs.platform_api
        );
        cnb::warn!("Run with ENTRYPOINT '{t}' to invoke the '{t}' process type");
    }
    run(inputs)
}

/// Reads metadata.toml (exit 1 on failure, as Go's `read metadata`), checks every buildpack
/// API (exit 12), then launches (exit 82 on any error before the exec).
pub fn run(inputs: Inputs) -> Result<Infallible, LifecycleError> {
    let md = read_metadata(&metadata_path(&inputs.layers_dir))
        .map_err(|e| LifecycleError::failed(ExitCode::Failed, "read metadata", e))?;
    verify_buildpack_apis(&md)?;
    launch(&inputs, &md).map_err(|e| LifecycleError::failed(ExitCode::LaunchError, "launch", e))
}

/// Go `verifyBuildpackAPIs`.
fn verify_buildpack_apis(md: &Metadata) -> Result<(), LifecycleError> {
    for bp in &md.buildpacks {
        // The shared gate already words both failures as Go does.
        let gate = cnb::api::buildpack_gate(
            "buildpack",
            Some(&bp.api),
            &bp.id,
            Mode::deprecation_from_env(),
        )?;
        if let Some(w) = gate.warning {
            cnb::warn!("{w}");
        }
    }
    Ok(())
}

/// Go `Launcher.Launch`: select the process, then launch it. Errors are the text after
/// `failed to launch: `.
fn launch(inputs: &Inputs, md: &Metadata) -> Result<Infallible, String> {
    let default_type = process::default_process_type(&inputs.argv0, md);
    let proc = select_process(inputs, md, default_type.as_deref())
        .map_err(|e| format!("determine start command: {e}"))?;
    launch_process(inputs, md, proc)
}

/// Go `Launcher.LaunchProcess`.
fn launch_process(
    inputs: &Inputs,
    md: &Metadata,
    mut proc: LaunchProcess,
) -> Result<Infallible, String> {
    std::env::set_current_dir(&inputs.app_dir).map_err(|e| {
        format!(
            "change to app directory: chdir {}: {}",
            inputs.app_dir.display(),
            cnb::env::go_io_error(&e)
        )
    })?;
    let mut env = Env::new_launch(inputs.environ.iter().cloned(), PROCESS_DIR, LIFECYCLE_DIR);
    let walk = layers::Walk {
        layers_dir: &inputs.layers_dir,
        md,
    };
    walk.apply_env(&mut env, &proc.kind)
        .map_err(|e| format!("modify env: {e}"))?;
    walk.run_exec_d(&mut env, &proc.kind)
        .map_err(|e| format!("exec.d: {e}"))?;
    if proc.working_dir.is_empty() {
        proc.working_dir = inputs.app_dir.clone().into_os_string();
    }
    if proc.direct {
        exec::launch_direct(&proc, &env)
    } else {
        let profiles = walk.profiles(&proc.kind, &inputs.app_dir)?;
        exec::launch_with_shell(&inputs.argv0, &proc, md, &profiles, &env)
    }
}
