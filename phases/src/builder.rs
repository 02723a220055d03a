//! The builder (`builder [flags]`): flags, input resolution, and the phase body.

pub mod metadata;

use crate::cli::flags::{self as f, Flag, Gated, all, since};
use crate::cli::{CommandLine, bad_args, is_root, resolve_paths};
use crate::common::timer::Measurement;
use cnb::api::Version;
use cnb::buildpack::BuildpackStore;
use cnb::buildpack::build::{build_group, verify_group};
use cnb::buildpack::build_run::{BuildInputs, BuildOutput};
use cnb::buildpack::env_source::LayeredEnv;
use cnb::buildpack::group::read_group;
use cnb::buildpack::plan::read_plan;
use cnb::buildpack::target::{OS_RELEASE, target_env_for_build};
use cnb::exit::{ExitCode, LifecycleError};
use cnb::files::metadata::{metadata_path, write_metadata};
use serde::Serialize;
use std::path::Path;
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

/// The builder body (Go `buildCmd.Exec`): reads group.toml, plan.toml and analyzed.toml,
/// checks the group's Buildpack APIs (12), runs every `bin/build` in order (output live on
/// stdout) and writes `<layers>/config/metadata.toml`. Exit 51 when a buildpack fails, 52 for
/// any other build error, 1 for unreadable inputs.
pub fn run(inputs: &Inputs) -> Result<(), LifecycleError> {
    let plain = |e: &dyn std::fmt::Display| LifecycleError::new(ExitCode::Failed, e.to_string());
    let group = read_group(&inputs.group_path).map_err(|e| plain(&e))?;
    let plan = read_plan(&inputs.plan_path).map_err(|e| plain(&e))?;
    verify_group(&group)?;
    let analyzed = crate::detector::analyzed::read(&inputs.analyzed_path)
        .map_err(|e| LifecycleError::failed(ExitCode::Failed, "reading analyzed.toml", e))?;
    let result = {
        let _timer = Measurement::start("Builder");
        let build_inputs = BuildInputs {
            app_dir: inputs.app_dir.clone(),
            layers_dir: inputs.layers_dir.clone(),
            platform_dir: inputs.platform_dir.clone(),
            target_env: target_env_for_build(analyzed.run_target.as_ref(), Path::new(OS_RELEASE)),
            exec_env: inputs.exec_env.clone(),
            output: BuildOutput::Inherit,
        };
        let mut env = LayeredEnv::new(
            std::env::vars_os(),
            &inputs.platform_dir,
            &inputs.build_config_dir,
        );
        build_group(
            &group,
            &plan,
            &BuildpackStore::new(&inputs.buildpacks_dir),
            &build_inputs,
            &mut env,
        )
    };
    let result = result.map_err(|e| e.into_lifecycle_error())?;
    let md = metadata::from_result(&result, inputs.platform_api);
    write_metadata(&metadata_path(&inputs.layers_dir), &md).map_err(|e| {
        LifecycleError::new(
            ExitCode::Failed,
            format!("failed to write build metadata file: {e}"),
        )
    })
}
