//! The analyzer (`analyzer [flags] <image>`): flags, input resolution, privileges (registry
//! credentials resolved before the drop) and the phase body (Go `cmd/lifecycle/analyzer.go`,
//! `phase/analyzer.go`, `phase/connected_factory.go`): run image selection from run.toml,
//! registry access checks, previous image metadata, SBOM restore, run image identifier and
//! target, `analyzed.toml`.

mod analyze;
mod sbom;

pub use analyze::{Failure, Request, analyze};

use crate::cli::flags::{self as f, Flag, Gated, all, since, until};
use crate::cli::{CommandLine, bad_args, bad_inputs, opt, resolve_paths, validate};
use crate::common::{self, KeychainSlot, StoreKind};
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
    /// Registry credentials, resolved in [`privileges`] before the privilege drop.
    #[serde(skip)]
    pub keychain: KeychainSlot,
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
        keychain: KeychainSlot::default(),
    })
}

/// Go `analyzeCmd.Privileges`: keychain, `EnsureOwner(layers, cache, launch cache)`, then
/// drop to uid/gid ("failed to resolve keychain: …" / "failed to chown volumes: …" /
/// "failed to exec as user <uid>:<gid>: …", exit 1).
pub fn privileges(inputs: &Inputs) -> Result<(), LifecycleError> {
    // Credentials first, while still the invoking user (usually root): credential helpers
    // and docker config files may not be readable after the drop below.
    inputs.keychain.resolve(&registry_images(inputs))?;
    let dirs = [
        Some(inputs.layers_dir.as_path()),
        inputs.cache_dir.as_deref(),
        inputs.launch_cache_dir.as_deref(),
    ];
    cnb::privileges::chown_volumes_and_run_as(inputs.uid, inputs.gid, &dirs)
}

/// Go `RegistryImages()`; the run.toml candidates stand in for the run image when it is
/// still to be chosen.
fn registry_images(i: &Inputs) -> Vec<String> {
    let others = [i.output_image.as_str()]
        .into_iter()
        .chain(i.additional_tags.iter().map(String::as_str))
        .chain([i.previous_image.as_str()])
        .chain(i.run_image.as_deref())
        .chain(i.run_image_candidates.iter().map(String::as_str));
    common::keychain::registry_images(i.cache_image.as_deref(), i.use_daemon, others)
}

fn analyze_error(action: &str, cause: impl std::fmt::Display) -> LifecycleError {
    LifecycleError::failed(ExitCode::AnalyzeError, action, cause)
}

/// The analyzer body: writes `analyzed_path`. Errors carry exit 32 (run image selection: 3,
/// like Go, where it is part of input resolution).
pub fn run(inputs: &Inputs) -> Result<(), LifecycleError> {
    if inputs.use_daemon {
        return Err(analyze_error(
            "initialize analyzer",
            "-daemon is not supported by cnb-lifecycle-rs (images go to a registry or an OCI layout)",
        ));
    }
    let keychain = inputs.keychain.resolve(&registry_images(inputs))?.clone();
    let client = common::client(&keychain, &inputs.insecure_registries);
    let kind = common::store_kind(inputs.use_layout, inputs.layout_dir.as_deref());
    let analyzed = common::block_on(async {
        let run_image = match &inputs.run_image {
            Some(r) => r.clone(),
            None => select_run_image(&client, &inputs.run_image_candidates).await?,
        };
        ensure_registry_access(inputs, &client, &kind, &run_image)
            .await
            .map_err(|e| analyze_error("initialize analyzer", e))?;
        let name = |r: &str| -> Result<Option<String>, LifecycleError> {
            opt(r)
                .map(|n| kind.store_name(&n))
                .transpose()
                .map_err(|e| analyze_error("initialize analyzer", e))
        };
        let req = Request {
            platform_api: inputs.platform_api,
            previous_image: name(&inputs.previous_image)?,
            run_image: name(&run_image)?,
            platform: kind.platform(),
            restore_sbom: inputs.platform_api.at_least("0.8") && !inputs.skip_layers,
        };
        let result = match &kind {
            StoreKind::Layout(store) => analyze(store, &req).await,
            StoreKind::Remote => {
                analyze(&cnb::registry::RemoteStore::new(client.clone()), &req).await
            }
        };
        result.map_err(|f| match f {
            Failure::Init(e) => analyze_error("initialize analyzer", e),
            Failure::Analyze(e) => analyze_error("analyze", e),
        })
    })??;
    cnb::debug!("Run image info in analyzed metadata is: ");
    cnb::debug!("{}", analyzed.run_image_debug_json());
    analyzed
        .write(&inputs.analyzed_path)
        .map_err(|e| LifecycleError::new(ExitCode::Failed, e.to_string()))
}

/// Go `BestRunImageMirrorFor` with the candidates in preference order (output registry
/// first): the first readable one.
async fn select_run_image(
    client: &cnb::registry::Client,
    candidates: &[String],
) -> Result<String, LifecycleError> {
    for c in candidates {
        if common::access::can_read(client, c).await {
            return Ok(c.clone());
        }
    }
    Err(bad_inputs("failed to find accessible run image"))
}

/// Go `ConnectedFactory.ensureRegistryAccess`: the cache image always needs read/write
/// access; with a registry store the previous and run images need read access and the
/// output image and tags read/write access.
async fn ensure_registry_access(
    i: &Inputs,
    client: &cnb::registry::Client,
    kind: &StoreKind,
    run_image: &str,
) -> Result<(), String> {
    let mut read = Vec::new();
    let mut write: Vec<&str> = i.cache_image.as_deref().into_iter().collect();
    if kind.is_remote() {
        read.extend([i.previous_image.as_str(), run_image]);
        write.push(&i.output_image);
        write.extend(i.additional_tags.iter().map(String::as_str));
    }
    common::ensure_read_access(client, &read)
        .await
        .map_err(|e| format!("validating registry read access: {e}"))?;
    common::ensure_write_access(client, &write)
        .await
        .map_err(|e| format!("validating registry write access: {e}"))
}
