//! The restorer (`restorer [flags]`): flags, input resolution, and the phase body slot.

use crate::cli::flags::{self as f, Flag, Gated, all, since};
use crate::cli::{CommandLine, bad_args, opt, resolve_paths, validate};
use crate::common::KeychainSlot;
use cnb::api::Version;
use cnb::exit::LifecycleError;
use serde::Serialize;
use std::path::PathBuf;

mod body;
mod cache;
mod data;
mod metadata;
mod sbom;

/// Go `restoreCmd.DefineFlags`.
pub static TABLE: [Gated; 17] = [
    since(13, &f::INSECURE_REGISTRY),
    since(12, &f::DAEMON),
    since(12, &f::GENERATED),
    since(12, &f::LAYOUT),
    since(12, &f::LAYOUT_DIR),
    since(10, &f::BUILD_IMAGE),
    all(&f::ANALYZED),
    since(14, &f::RUN),
    all(&f::CACHE_DIR),
    all(&f::CACHE_IMAGE),
    all(&f::GID),
    all(&f::GROUP),
    all(&f::LAYERS),
    all(&f::LOG_LEVEL),
    all(&f::NO_COLOR),
    all(&f::SKIP_LAYERS),
    all(&f::UID),
];

pub fn flags(api: Version) -> Vec<&'static Flag> {
    f::select(&TABLE, api)
}

#[derive(Clone, Debug, Serialize)]
pub struct Inputs {
    #[serde(serialize_with = "crate::cli::ser_version")]
    pub platform_api: Version,
    pub analyzed_path: PathBuf,
    pub group_path: PathBuf,
    pub layers_dir: PathBuf,
    pub generated_dir: PathBuf,
    pub run_path: PathBuf,
    pub cache_dir: Option<PathBuf>,
    pub cache_image: Option<String>,
    pub build_image: Option<String>,
    pub skip_layers: bool,
    pub use_daemon: bool,
    pub use_layout: bool,
    pub layout_dir: Option<PathBuf>,
    pub insecure_registries: Vec<String>,
    /// Fixed `/kaniko` (extension support; chowned by the privilege step).
    pub kaniko_dir: PathBuf,
    pub uid: i64,
    pub gid: i64,
    /// Registry credentials, resolved in [`privileges`] before the privilege drop.
    #[serde(skip)]
    pub keychain: KeychainSlot,
}

/// Go `restoreCmd.Args` + `ResolveInputs(Restore)`.
pub fn resolve(parsed: CommandLine, api: Version) -> Result<Inputs, LifecycleError> {
    let CommandLine { mut inputs, args } = parsed;
    if !args.is_empty() {
        return Err(bad_args("received unexpected Args"));
    }
    resolve_paths(&mut inputs)?;
    validate::check_cache(&inputs);
    let i = inputs;
    Ok(Inputs {
        platform_api: api,
        analyzed_path: i.analyzed_path.into(),
        group_path: i.group_path.into(),
        layers_dir: i.layers_dir.into(),
        generated_dir: i.generated_dir.into(),
        run_path: i.run_path.into(),
        cache_dir: opt(&i.cache_dir).map(PathBuf::from),
        cache_image: opt(&i.cache_image_ref),
        build_image: opt(&i.build_image_ref),
        skip_layers: i.skip_layers,
        use_daemon: i.use_daemon,
        use_layout: i.use_layout,
        layout_dir: opt(&i.layout_dir).map(PathBuf::from),
        insecure_registries: i.insecure_registries,
        kaniko_dir: i.kaniko_dir.into(),
        uid: i.uid,
        gid: i.gid,
        keychain: KeychainSlot::default(),
    })
}

/// Go `restoreCmd.Privileges`: keychain, docker client, `EnsureOwner(layers, cache,
/// /kaniko)`, drop to uid/gid ("failed to chown volumes: …" / "failed to exec as user
/// <uid>:<gid>: …", exit 1).
pub fn privileges(inputs: &Inputs) -> Result<(), LifecycleError> {
    // Registry credentials first, while still the invoking user (lifecycle-spec §11.1).
    inputs.keychain.resolve(&body::registry_images(inputs))?;
    let dirs = [
        Some(inputs.layers_dir.as_path()),
        inputs.cache_dir.as_deref(),
        Some(inputs.kaniko_dir.as_path()),
    ];
    cnb::privileges::chown_volumes_and_run_as(inputs.uid, inputs.gid, &dirs)
}

/// The restorer body (see `restorer/body.rs`). Restore errors carry exit 42.
pub fn run(inputs: &Inputs) -> Result<(), LifecycleError> {
    body::run(inputs)
}
