//! The analyzer (`analyzer [flags] <image>`): flags, input resolution, and the phase body slot.

use crate::cli::flags::{self as f, Flag, Gated, all, since, until};
use crate::cli::{
    CommandLine, bad_args, bad_inputs, not_implemented, opt, resolve_paths, validate,
};
use cnb::api::Version;
use cnb::exit::{ExitCode, LifecycleError};
use serde::Serialize;
use std::path::PathBuf;

/// Go `analyzeCmd.DefineFlags`.
pub static TABLE: [Gated; 18] = [
    all(&f::ANALYZED),
    all(&f::CACHE_IMAGE),
    all(&f::GID),
    all(&f::LAYERS),
    all(&f::LOG_LEVEL),
    all(&f::NO_COLOR),
    all(&f::PREVIOUS_IMAGE),
    all(&f::RUN_IMAGE),
    all(&f::TAG),
    all(&f::UID),
    all(&f::DAEMON),
    since(9, &f::LAUNCH_CACHE),
    since(9, &f::SKIP_LAYERS),
    since(12, &f::LAYOUT_DIR),
    since(12, &f::RUN),
    since(12, &f::LAYOUT),
    since(13, &f::INSECURE_REGISTRY),
    until(12, &f::STACK),
];

pub fn flags(api: Version) -> Vec<&'static Flag> {
    f::select(&TABLE, api)
}

/// Everything the analyzer needs, resolved. `None` = not given.
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
    /// When `run_image` is `None`: run.toml (or stack.toml) candidates in Go's preference order
    /// (output registry first); the body must take the first one it can read.
    pub run_image_candidates: Vec<String>,
    pub cache_image: Option<String>,
    /// From `CNB_CACHE_DIR` only (no flag); chowned before dropping privileges.
    pub cache_dir: Option<PathBuf>,
    pub launch_cache_dir: Option<PathBuf>,
    pub analyzed_path: PathBuf,
    pub layers_dir: PathBuf,
    pub run_path: PathBuf,
    pub stack_path: PathBuf,
    pub use_daemon: bool,
    pub use_layout: bool,
    pub layout_dir: Option<PathBuf>,
    pub skip_layers: bool,
    pub insecure_registries: Vec<String>,
    pub uid: i64,
    pub gid: i64,
}

/// Go `analyzeCmd.Args` + `ResolveInputs(Analyze)`.
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
    let candidates = validate::fill_run_image(i, api.less_than("0.12")).map_err(bad_inputs)?;
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
        cache_image: opt(&i.cache_image_ref),
        cache_dir: opt(&i.cache_dir).map(PathBuf::from),
        launch_cache_dir: opt(&i.launch_cache_dir).map(PathBuf::from),
        analyzed_path: i.analyzed_path.into(),
        layers_dir: i.layers_dir.into(),
        run_path: i.run_path.into(),
        stack_path: i.stack_path.into(),
        use_daemon: i.use_daemon,
        use_layout: i.use_layout,
        layout_dir: opt(&i.layout_dir).map(PathBuf::from),
        skip_layers: i.skip_layers,
        insecure_registries: i.insecure_registries,
        uid: i.uid,
        gid: i.gid,
    })
}

/// Go `analyzeCmd.Privileges`: keychain, docker client, `EnsureOwner(layers, cache, launch
/// cache)`, then drop to uid/gid ("failed to chown volumes: …" / "failed to exec as user
/// <uid>:<gid>: …", exit 1).
pub fn privileges(inputs: &Inputs) -> Result<(), LifecycleError> {
    // KEYCHAIN HOOK: resolve registry credentials (lifecycle-spec §11.1) and, with `-daemon`,
    // the docker client HERE, first, while still the invoking user (usually root): helpers,
    // config files and the docker socket may not be readable after the drop below.
    let dirs = [
        Some(inputs.layers_dir.as_path()),
        inputs.cache_dir.as_deref(),
        inputs.launch_cache_dir.as_deref(),
    ];
    cnb::privileges::chown_volumes_and_run_as(inputs.uid, inputs.gid, &dirs)
}

/// The analyzer body: writes `analyzed_path`. Errors carry exit 32.
pub fn run(_inputs: &Inputs) -> Result<(), LifecycleError> {
    Err(not_implemented(
        ExitCode::AnalyzeError,
        "analyze",
        "analyzer",
    ))
}
