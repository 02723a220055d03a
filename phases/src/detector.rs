//! The detector (`detector [flags]`): flags, input resolution, and the phase body.

pub mod analyzed;

use crate::common::timer::Measurement;

use crate::cli::flags::{self as f, Flag, Gated, all, since};
use crate::cli::{CommandLine, bad_args, is_root, resolve_paths};
use cnb::api::Version;
use cnb::buildpack::BuildpackStore;
use cnb::buildpack::detect::{DetectConfig, Detector, load_order};
use cnb::buildpack::env_source::LayeredEnv;
use cnb::buildpack::group::write_group;
use cnb::buildpack::plan::write_plan;
use cnb::exit::{ExitCode, LifecycleError};
use serde::Serialize;
use std::path::PathBuf;

/// Go `detectCmd.DefineFlags`.
pub static TABLE: [Gated; 15] = [
    since(15, &f::SYSTEM),
    since(12, &f::RUN),
    since(11, &f::BUILD_CONFIG),
    since(10, &f::ANALYZED),
    since(10, &f::EXTENSIONS),
    since(10, &f::GENERATED),
    all(&f::APP),
    all(&f::BUILDPACKS),
    all(&f::GROUP),
    all(&f::LAYERS),
    all(&f::LOG_LEVEL),
    all(&f::NO_COLOR),
    all(&f::ORDER),
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
    pub extensions_dir: PathBuf,
    pub generated_dir: PathBuf,
    pub layers_dir: PathBuf,
    pub platform_dir: PathBuf,
    pub analyzed_path: PathBuf,
    pub group_path: PathBuf,
    /// `<layers>/order.toml`, or `/cnb/order.toml` when that default does not exist.
    pub order_path: PathBuf,
    pub plan_path: PathBuf,
    pub run_path: PathBuf,
    pub system_path: PathBuf,
    /// `CNB_EXEC_ENV` (default `production`).
    pub exec_env: String,
}

/// Go `detectCmd.Args` + `ResolveInputs(Detect)`.
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
        extensions_dir: i.extensions_dir.into(),
        generated_dir: i.generated_dir.into(),
        layers_dir: i.layers_dir.into(),
        platform_dir: i.platform_dir.into(),
        analyzed_path: i.analyzed_path.into(),
        group_path: i.group_path.into(),
        order_path: i.order_path.into(),
        plan_path: i.plan_path.into(),
        run_path: i.run_path.into(),
        system_path: i.system_path.into(),
        exec_env: i.exec_env,
    })
}

/// Go `detectCmd.Privileges`: the detector never runs as root.
pub fn privileges(_inputs: &Inputs) -> Result<(), LifecycleError> {
    if is_root() {
        return Err(LifecycleError::failed(
            ExitCode::Failed,
            "detect",
            "refusing to run as root",
        ));
    }
    Ok(())
}

/// The detector body (Go `detectCmd.Exec` without extensions): reads analyzed.toml (for the
/// run-image target), order.toml (+ system.toml at Platform ≥ 0.15) and the buildpack store,
/// detects, and writes group.toml and plan.toml. Exit 20/21/22 (12 for a Buildpack API, 1
/// for initialization errors).
pub fn run(inputs: &Inputs) -> Result<(), LifecycleError> {
    let store = BuildpackStore::new(&inputs.buildpacks_dir);
    let analyzed = analyzed::read(&inputs.analyzed_path)
        .map_err(|e| LifecycleError::failed(ExitCode::Failed, "initialize detector", e))?;
    let (order, has_extensions) = load_order(
        &inputs.order_path,
        Some(&inputs.system_path),
        inputs.platform_api,
        &store,
    )?;
    if has_extensions {
        return Err(LifecycleError::failed(
            ExitCode::DetectError,
            "detect",
            "image extensions ([[order-extensions]]) are not supported by cnb-lifecycle-rs",
        ));
    }
    let mut cfg = DetectConfig::new(
        &inputs.app_dir,
        &inputs.platform_dir,
        store,
        inputs.platform_api,
    );
    cfg.exec_env = inputs.exec_env.clone();
    cfg.run_target = analyzed.run_target;
    let env = LayeredEnv::new(
        std::env::vars_os(),
        &inputs.platform_dir,
        &inputs.build_config_dir,
    )
    .into_provider();
    let outcome = {
        let _timer = Measurement::start("Detector");
        Detector::new(cfg, env.as_ref()).detect(&order)
    };
    let outcome = outcome.map_err(|e| e.into_lifecycle_error())?;
    write_group(&inputs.group_path, &outcome.group).map_err(plain)?;
    write_plan(&inputs.plan_path, &outcome.plan).map_err(plain)?;
    Ok(())
}

/// A file error returned as is (Go returns these without a "failed to <action>" wrapper; exit 1).
fn plain(e: impl std::fmt::Display) -> LifecycleError {
    LifecycleError::new(ExitCode::Failed, e.to_string())
}
