//! The exporter (`exporter [flags] <image> [<image>...]`): flags, input resolution,
//! privileges (registry credentials resolved before the drop) and the phase body (Go
//! `cmd/lifecycle/exporter.go`, `phase/exporter.go`, `phase/cache.go`): the app image on the
//! run image, `report.toml`, and the cache.

mod appimage;
mod cache;
mod candidates;
mod image_config;
mod layers_dir;
mod plan;
mod produce;
mod run;
mod sbom;
mod shared;

use crate::cli::flags::{self as f, Flag, Gated, all, since, until};
use crate::cli::{CommandLine, bad_args, bad_inputs, opt, resolve_paths, validate};
use crate::common::{self, KeychainSlot};
use cnb::api::Version;
use cnb::exit::{ExitCode, LifecycleError};
use serde::Serialize;
use std::path::PathBuf;

/// Go `exportCmd.DefineFlags`. `-run-image` and `-image` are registered only to be refused;
/// there is no `-tag` (extra positionals are the tags).
pub static TABLE: [Gated; 26] = [
    since(13, &f::INSECURE_REGISTRY),
    since(12, &f::EXTENDED),
    since(12, &f::LAYOUT_DIR),
    since(12, &f::RUN),
    since(12, &f::LAYOUT),
    since(11, &f::LAUNCHER_SBOM),
    all(&f::ANALYZED),
    all(&f::APP),
    all(&f::CACHE_DIR),
    all(&f::CACHE_IMAGE),
    all(&f::GID),
    all(&f::GROUP),
    all(&f::LAUNCH_CACHE),
    all(&f::LAUNCHER),
    all(&f::LAYERS),
    all(&f::LOG_LEVEL),
    all(&f::NO_COLOR),
    all(&f::PARALLEL),
    all(&f::PROCESS_TYPE),
    all(&f::PROJECT_METADATA),
    all(&f::REPORT),
    all(&f::RUN_IMAGE),
    all(&f::UID),
    all(&f::DAEMON),
    all(&f::IMAGE_DEPRECATED),
    until(12, &f::STACK),
];

pub fn flags(api: Version) -> Vec<&'static Flag> {
    f::select(&TABLE, api)
}

#[derive(Clone, Debug, Serialize)]
pub struct Inputs {
    #[serde(serialize_with = "crate::cli::ser_version")]
    pub platform_api: Version,
    /// The first positional.
    pub output_image: String,
    /// The other positionals.
    pub additional_tags: Vec<String>,
    /// `run-image.reference` of analyzed.toml.
    pub run_image: String,
    pub analyzed_path: PathBuf,
    pub app_dir: PathBuf,
    pub group_path: PathBuf,
    pub layers_dir: PathBuf,
    pub extended_dir: PathBuf,
    pub launcher_path: PathBuf,
    pub launcher_sbom_dir: PathBuf,
    pub project_metadata_path: PathBuf,
    pub report_path: PathBuf,
    pub run_path: PathBuf,
    pub stack_path: PathBuf,
    pub cache_dir: Option<PathBuf>,
    pub cache_image: Option<String>,
    pub launch_cache_dir: Option<PathBuf>,
    pub process_type: Option<String>,
    pub parallel_export: bool,
    pub use_daemon: bool,
    pub use_layout: bool,
    pub layout_dir: Option<PathBuf>,
    pub insecure_registries: Vec<String>,
    pub uid: i64,
    pub gid: i64,
    /// `CNB_EXEC_ENV` (default `production`): the `io.buildpacks.exec-env` label (≥ 0.15).
    pub exec_env: String,
    /// Registry credentials, resolved in [`privileges`] before the privilege drop.
    #[serde(skip)]
    pub keychain: KeychainSlot,
}

/// Go `exportCmd.Args` + `ResolveInputs(Export)`.
pub fn resolve(parsed: CommandLine, api: Version) -> Result<Inputs, LifecycleError> {
    let CommandLine { mut inputs, args } = parsed;
    let Some((first, rest)) = args.split_first() else {
        return Err(bad_args("at least one image argument is required"));
    };
    inputs.output_image_ref = first.clone();
    inputs.additional_tags = rest.to_vec();
    let i = &mut inputs;
    resolve_paths(i)?;
    validate::validate_output_image(i).map_err(bad_inputs)?;
    if !i.run_image_ref.is_empty() && i.run_image_ref != i.env_run_image {
        return Err(bad_inputs("-run-image is unsupported"));
    }
    if !i.deprecated_run_image_ref.is_empty() {
        return Err(bad_inputs("-image is unsupported"));
    }
    let reference = match cnb::files::Analyzed::read_optional(i.analyzed_path.as_ref()) {
        Ok(Some(a)) => a.run_image_ref().to_string(),
        Ok(None) => {
            cnb::warn!("No analyzed metadata found at path {:?}", i.analyzed_path);
            String::new()
        }
        Err(e) => return Err(bad_inputs(e)),
    };
    if reference.is_empty() {
        return Err(bad_inputs("run image not found in analyzed metadata"));
    }
    i.run_image_ref = reference;
    validate::check_cache(i);
    validate::check_launch_cache(i);
    validate::validate_image_refs(i).map_err(bad_inputs)?;
    validate::validate_targets_same_registry(i).map_err(bad_inputs)?;
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
        run_image: i.run_image_ref,
        analyzed_path: i.analyzed_path.into(),
        app_dir: i.app_dir.into(),
        group_path: i.group_path.into(),
        layers_dir: i.layers_dir.into(),
        extended_dir: i.extended_dir.into(),
        launcher_path: i.launcher_path.into(),
        launcher_sbom_dir: i.launcher_sbom_dir.into(),
        project_metadata_path: i.project_metadata_path.into(),
        report_path: i.report_path.into(),
        run_path: i.run_path.into(),
        stack_path: i.stack_path.into(),
        cache_dir: opt(&i.cache_dir).map(PathBuf::from),
        cache_image: opt(&i.cache_image_ref),
        launch_cache_dir: opt(&i.launch_cache_dir).map(PathBuf::from),
        process_type: opt(&i.default_process_type),
        parallel_export: i.parallel_export,
        use_daemon: i.use_daemon,
        use_layout: i.use_layout,
        layout_dir: opt(&i.layout_dir).map(PathBuf::from),
        insecure_registries: i.insecure_registries,
        uid: i.uid,
        gid: i.gid,
        exec_env: i.exec_env,
        keychain: KeychainSlot::default(),
    })
}

/// Go `exportCmd.Privileges`: keychain, docker client, `EnsureOwner(cache, launch cache)`,
/// drop to uid/gid ("failed to chown volumes: …" / "failed to exec as user <uid>:<gid>: …",
/// exit 1). The layers dir is not chowned: the builder wrote it as the build user.
pub fn privileges(inputs: &Inputs) -> Result<(), LifecycleError> {
    // Credentials first, while still the invoking user (usually root): credential helpers
    // and docker config files may not be readable after the drop below.
    inputs.keychain.resolve(&registry_images(inputs))?;
    let dirs = [
        inputs.cache_dir.as_deref(),
        inputs.launch_cache_dir.as_deref(),
    ];
    cnb::privileges::chown_volumes_and_run_as(inputs.uid, inputs.gid, &dirs)
}

/// Go `exportCmd.registryImages`: `RegistryImages()` plus the previous image of analyzed.toml.
fn registry_images(i: &Inputs) -> Vec<String> {
    let previous = cnb::files::Analyzed::read_optional(&i.analyzed_path)
        .ok()
        .flatten()
        .map(|a| a.previous_image_ref().to_string())
        .unwrap_or_default();
    let others = [i.output_image.as_str()]
        .into_iter()
        .chain(i.additional_tags.iter().map(String::as_str))
        .chain([i.run_image.as_str(), previous.as_str()]);
    common::keychain::registry_images(i.cache_image.as_deref(), i.use_daemon, others)
}

/// The exporter body. Errors carry exit 62.
pub fn run(inputs: &Inputs) -> Result<(), LifecycleError> {
    if inputs.use_daemon {
        return Err(LifecycleError::failed(
            ExitCode::ExportError,
            "export",
            "-daemon is not supported by cnb-lifecycle-rs (images go to a registry or an OCI layout)",
        ));
    }
    let keychain = inputs.keychain.resolve(&registry_images(inputs))?.clone();
    run::run(inputs, &keychain)
}
