//! The rebaser (`rebaser [flags] <image> [<image>...]`): flags, input resolution, and the
//! phase body slot.

use crate::cli::flags::{self as f, Flag, Gated, all, since};
use crate::cli::{
    CommandLine, bad_args, bad_inputs, not_implemented, opt, resolve_paths, validate,
};
use cnb::api::Version;
use cnb::exit::{ExitCode, LifecycleError};
use serde::Serialize;
use std::path::PathBuf;

/// Go `rebaseCmd.DefineFlags`.
pub static TABLE: [Gated; 11] = [
    since(13, &f::INSECURE_REGISTRY),
    since(12, &f::FORCE),
    since(11, &f::PREVIOUS_IMAGE),
    all(&f::IMAGE_DEPRECATED),
    all(&f::GID),
    all(&f::LOG_LEVEL),
    all(&f::NO_COLOR),
    all(&f::REPORT),
    all(&f::RUN_IMAGE),
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
    /// The first positional: the app image to rebase (and the name it is saved as).
    pub output_image: String,
    /// The other positionals.
    pub additional_tags: Vec<String>,
    /// `-run-image` (or deprecated `-image`); `None` = take it from the app image metadata.
    pub run_image: Option<String>,
    /// `-previous-image` (≥0.11): the image to rebase when it differs from `output_image`.
    pub previous_image: Option<String>,
    /// `<layers>/report.toml` with the layers dir from `CNB_LAYERS_DIR` (no `-layers` flag).
    pub report_path: PathBuf,
    pub force_rebase: bool,
    pub use_daemon: bool,
    pub insecure_registries: Vec<String>,
    pub uid: i64,
    pub gid: i64,
}

/// Go `rebaseCmd.Args` + `ResolveInputs(Rebase)`. Reading the app image (Go `setAppImage`)
/// needs the registry and belongs to the body.
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
    validate::take_deprecated_run_image(i).map_err(bad_inputs)?;
    validate::validate_image_refs(i).map_err(bad_inputs)?;
    validate::validate_targets_same_registry(i).map_err(bad_inputs)?;
    let i = inputs;
    Ok(Inputs {
        platform_api: api,
        output_image: i.output_image_ref,
        additional_tags: i.additional_tags,
        run_image: opt(&i.run_image_ref),
        previous_image: opt(&i.previous_image_ref),
        report_path: i.report_path.into(),
        force_rebase: i.force_rebase,
        use_daemon: i.use_daemon,
        insecure_registries: i.insecure_registries,
        uid: i.uid,
        gid: i.gid,
    })
}

/// Go `rebaseCmd.Privileges`: keychain, docker client, drop to uid/gid (no chown;
/// "failed to exec as user <uid>:<gid>: …", exit 1).
pub fn privileges(inputs: &Inputs) -> Result<(), LifecycleError> {
    // KEYCHAIN HOOK: resolve registry credentials (lifecycle-spec §11.1) and, with `-daemon`,
    // the docker client HERE, first, while still the invoking user (usually root): helpers,
    // config files and the docker socket may not be readable after the drop below.
    cnb::privileges::run_as_user(inputs.uid, inputs.gid)
}

/// The rebaser body. Errors carry exit 72.
pub fn run(_inputs: &Inputs) -> Result<(), LifecycleError> {
    Err(not_implemented(ExitCode::RebaseError, "rebase", "rebaser"))
}
