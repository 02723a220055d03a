//! The creator (`creator [flags] <image>`): analyze, detect, restore, build and export in one
//! process. Flags, input resolution, and the phase body slot.

use crate::cli::flags::{self as f, Flag, Gated, all, since};
use crate::cli::{CommandLine, bad_args, bad_inputs, opt, resolve_paths, validate};
use crate::common::KeychainSlot;
use cnb::api::Version;
use cnb::exit::LifecycleError;
use serde::Serialize;
use std::path::PathBuf;

mod phases;
mod sequence;

/// Go `createCmd.DefineFlags`. `-stack` is registered at every API; there is no `-image`, and
/// no `-analyzed/-group/-plan/-extensions/-extended/-generated` (env or defaults only).
pub static TABLE: [Gated; 30] = [
    since(15, &f::SYSTEM),
    since(13, &f::INSECURE_REGISTRY),
    since(12, &f::LAYOUT_DIR),
    since(12, &f::LAYOUT),
    since(12, &f::RUN),
    since(11, &f::BUILD_CONFIG),
    since(11, &f::LAUNCHER_SBOM),
    all(&f::APP),
    all(&f::BUILDPACKS),
    all(&f::CACHE_DIR),
    all(&f::CACHE_IMAGE),
    all(&f::GID),
    all(&f::LAUNCH_CACHE),
    all(&f::LAUNCHER),
    all(&f::LAYERS),
    all(&f::LOG_LEVEL),
    all(&f::NO_COLOR),
    all(&f::ORDER),
    all(&f::PARALLEL),
    all(&f::PLATFORM),
    all(&f::PREVIOUS_IMAGE),
    all(&f::PROCESS_TYPE),
    all(&f::PROJECT_METADATA),
    all(&f::REPORT),
    all(&f::RUN_IMAGE),
    all(&f::SKIP_RESTORE),
    all(&f::STACK),
    all(&f::TAG),
    all(&f::UID),
    all(&f::DAEMON),
];

pub fn flags(api: Version) -> Vec<&'static Flag> {
    f::select(&TABLE, api)
}

#[derive(Clone, Debug, Serialize)]
pub struct Inputs {
    #[serde(serialize_with = "crate::cli::ser_version")]
    pub platform_api: Version,
    /// The positional `<image>`.
    pub output_image: String,
    pub additional_tags: Vec<String>,
    /// Defaults to `output_image`.
    pub previous_image: String,
    /// The run image when given or selectable without a registry (daemon/layout).
    pub run_image: Option<String>,
    /// When `run_image` is `None`: run.toml (or stack.toml) candidates in Go's preference order;
    /// the body must take the first one it can read.
    pub run_image_candidates: Vec<String>,
    pub app_dir: PathBuf,
    pub build_config_dir: PathBuf,
    pub buildpacks_dir: PathBuf,
    pub extensions_dir: PathBuf,
    pub layers_dir: PathBuf,
    pub platform_dir: PathBuf,
    pub generated_dir: PathBuf,
    pub analyzed_path: PathBuf,
    pub group_path: PathBuf,
    pub order_path: PathBuf,
    pub plan_path: PathBuf,
    pub project_metadata_path: PathBuf,
    pub report_path: PathBuf,
    pub run_path: PathBuf,
    pub stack_path: PathBuf,
    pub system_path: PathBuf,
    pub launcher_path: PathBuf,
    pub launcher_sbom_dir: PathBuf,
    pub cache_dir: Option<PathBuf>,
    pub cache_image: Option<String>,
    pub launch_cache_dir: Option<PathBuf>,
    pub process_type: Option<String>,
    /// `-skip-restore` / `CNB_SKIP_RESTORE` / `CNB_SKIP_LAYERS`.
    pub skip_restore: bool,
    pub parallel_export: bool,
    pub use_daemon: bool,
    pub use_layout: bool,
    pub layout_dir: Option<PathBuf>,
    pub insecure_registries: Vec<String>,
    /// `CNB_EXEC_ENV` (default `production`).
    pub exec_env: String,
    pub uid: i64,
    pub gid: i64,
    /// `CNB_EXTENDED_DIR` (handed to the exporter; the creator never extends).
    pub extended_dir: PathBuf,
    /// Registry credentials, resolved in [`privileges`] before the privilege drop and shared
    /// by every in-process phase.
    #[serde(skip)]
    pub keychain: KeychainSlot,
}

/// Go `createCmd.Args` + `ResolveInputs(Create)`.
pub fn resolve(parsed: CommandLine, api: Version) -> Result<Inputs, LifecycleError> {
    let CommandLine { mut inputs, args } = parsed;
    if args.len() != 1 {
        return Err(bad_args(&format!(
            "received {} arguments, but expected 1",
            args.len()
        )));
    }
    inputs.output_image_ref = args[0].clone();
    let i = &mut inputs;
    resolve_paths(i)?;
    validate::validate_output_image(i).map_err(bad_inputs)?;
    if i.previous_image_ref.is_empty() {
        i.previous_image_ref = i.output_image_ref.clone();
    }
    let candidates = if validate::take_deprecated_run_image(i).map_err(bad_inputs)? {
        Vec::new()
    } else {
        validate::fill_run_image(i, api.less_than("0.12")).map_err(bad_inputs)?
    };
    validate::check_cache(i);
    validate::check_launch_cache(i);
    validate::validate_image_refs(i).map_err(bad_inputs)?;
    validate::validate_targets_same_registry(i).map_err(bad_inputs)?;
    validate::check_parallel_export(i);
    if i.use_layout {
        validate::guard_experimental(
            validate::LAYOUT_FORMAT,
            i.experimental_mode.unwrap_or(cnb::api::Mode::Error),
        )?;
    }
    let i = inputs;
    Ok(Inputs {
        platform_api: api,
        output_image: i.output_image_ref,
        additional_tags: i.additional_tags,
        previous_image: i.previous_image_ref,
        run_image: opt(&i.run_image_ref),
        run_image_candidates: candidates,
        app_dir: i.app_dir.into(),
        build_config_dir: i.build_config_dir.into(),
        buildpacks_dir: i.buildpacks_dir.into(),
        extensions_dir: i.extensions_dir.into(),
        layers_dir: i.layers_dir.into(),
        platform_dir: i.platform_dir.into(),
        generated_dir: i.generated_dir.into(),
        analyzed_path: i.analyzed_path.into(),
        group_path: i.group_path.into(),
        order_path: i.order_path.into(),
        plan_path: i.plan_path.into(),
        project_metadata_path: i.project_metadata_path.into(),
        report_path: i.report_path.into(),
        run_path: i.run_path.into(),
        stack_path: i.stack_path.into(),
        system_path: i.system_path.into(),
        launcher_path: i.launcher_path.into(),
        launcher_sbom_dir: i.launcher_sbom_dir.into(),
        cache_dir: opt(&i.cache_dir).map(PathBuf::from),
        cache_image: opt(&i.cache_image_ref),
        launch_cache_dir: opt(&i.launch_cache_dir).map(PathBuf::from),
        process_type: opt(&i.default_process_type),
        skip_restore: i.skip_layers,
        parallel_export: i.parallel_export,
        use_daemon: i.use_daemon,
        use_layout: i.use_layout,
        layout_dir: opt(&i.layout_dir).map(PathBuf::from),
        insecure_registries: i.insecure_registries,
        exec_env: i.exec_env,
        uid: i.uid,
        gid: i.gid,
        extended_dir: i.extended_dir.into(),
        keychain: KeychainSlot::default(),
    })
}

/// Go `createCmd.Privileges`: keychain, docker client, `EnsureOwner(cache, launch cache,
/// layers)`, drop to uid/gid, then `HOME`/`USER` from the uid's `/etc/passwd` line
/// ("failed to chown volumes: …" / "failed to exec as user <uid>:<gid>: …" /
/// "failed to set environment for user <uid>: …", exit 1).
pub fn privileges(inputs: &Inputs) -> Result<(), LifecycleError> {
    // Credentials first, while still the invoking user (usually root): credential helpers
    // and docker config files may not be readable after the drop below (lifecycle-spec §11.1).
    // `-daemon` is refused by the analyzer, so no docker client is opened here.
    inputs.keychain.resolve(&phases::registry_images(inputs))?;
    let dirs = [
        inputs.cache_dir.as_deref(),
        inputs.launch_cache_dir.as_deref(),
        Some(inputs.layers_dir.as_path()),
    ];
    cnb::privileges::chown_volumes_and_run_as(inputs.uid, inputs.gid, &dirs)?;
    // SAFETY: `privileges` runs on the main thread before the phase body, and nothing before
    // it (flag parsing, input resolution, the keychain hook above) leaves threads running
    // that could read the environment concurrently.
    unsafe { cnb::privileges::set_environment_for_user(inputs.uid) }
}

/// The creator body: analyze, detect, restore, build and export in-process, in Go's order,
/// each behind its `===> PHASE` banner (see `creator/sequence.rs`). Sub-phase errors keep
/// their own codes.
pub fn run(inputs: &Inputs) -> Result<(), LifecycleError> {
    sequence::run(inputs)
}
