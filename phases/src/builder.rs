//! The builder (`builder [flags]`): flags, input resolution, and the phase body slot.

use crate::cli::flags::{self as f, Flag, Gated, all, since};
use crate::cli::{CommandLine, bad_args, is_root, not_implemented, resolve_paths};
use cnb::api::Version;
use cnb::exit::{ExitCode, LifecycleError};
use serde::Serialize;
use std::path::PathBuf;

/// Go `buildCmd.DefineFlags`.
pub static TABLE: [Gated; 10] = [
    since(12, &f::ANALYZED),
    since(11, &f::BUILD_CONFIG),
    all(&f::APP),
    all(&f::BUILDPACKS),
    all(&f::GROUP),
    all(&f::LAYERS),
    all(&f::LOG_LEVEL),
    all(&f::NO_COLOR),
    all(&f::PLAN),
    all(&f::PLATFORM),
];

pub fn flags(api: Version) -> Vec<&'static Flag> {
    f::select(&TABLE, api)
}

#[derive(Clone, Debug, Serialize)]
pub struct Inputs {
    #[serde(serialize_with = "crate::cli::ser_version")]
    pub platform_api: Version,
    pub app_dir: PathBuf,
    pub build_config_dir: PathBuf,
    pub buildpacks_dir: PathBuf,
    pub layers_dir: PathBuf,
    pub platform_dir: PathBuf,
    pub analyzed_path: PathBuf,
    pub group_path: PathBuf,
    pub plan_path: PathBuf,
    /// `CNB_EXEC_ENV` (default `production`).
    pub exec_env: String,
}

/// Go `buildCmd.Args` + `ResolveInputs(Build)`.
pub fn resolve(parsed: CommandLine, api: Version) -> Result<Inputs, LifecycleError> {
    let CommandLine { mut inputs, args } = parsed;
    if !args.is_empty() {
        return Err(bad_args("received unexpected arguments"));
    }
    resolve_paths(&mut inputs)?;
    let i = inputs;
    Ok(Inputs {
        platform_api: api,
        app_dir: i.app_dir.into(),
        build_config_dir: i.build_config_dir.into(),
        buildpacks_dir: i.buildpacks_dir.into(),
        layers_dir: i.layers_dir.into(),
        platform_dir: i.platform_dir.into(),
        analyzed_path: i.analyzed_path.into(),
        group_path: i.group_path.into(),
        plan_path: i.plan_path.into(),
        exec_env: i.exec_env,
    })
}

/// Go `buildCmd.Privileges`: the builder never runs as root.
pub fn privileges(_inputs: &Inputs) -> Result<(), LifecycleError> {
    if is_root() {
        return Err(LifecycleError::failed(
            ExitCode::Failed,
            "build",
            "refusing to run as root",
        ));
    }
    Ok(())
}

/// The builder body: runs `bin/build`, writes `<layers>/config/metadata.toml`. Exit 51/52.
pub fn run(_inputs: &Inputs) -> Result<(), LifecycleError> {
    Err(not_implemented(ExitCode::BuildError, "build", "builder"))
}
