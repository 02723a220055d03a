//! The rebaser (`rebaser [flags] <image> [<image>...]`): flags, input resolution, and the
//! phase body (Go `rebaseCmd` + `phase.Rebaser`), registry only (no `-daemon`).

mod rebase;
mod save;
mod session;

use crate::cli::flags::{self as f, Flag, Gated, all, since};
use crate::cli::{CommandLine, bad_args, bad_inputs, opt, resolve_paths, validate};
use cnb::api::Version;
use cnb::exit::{ExitCode, LifecycleError};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Mutex;

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

/// What Go's `setAppImage` + `Privileges` prepare before the drop: the app image (read with
/// the invoking user's credentials), the chosen run image and the keychain for every image.
struct Prepared {
    app: rebase::Read,
    run_image: String,
    store: cnb::registry::RemoteStore,
}

static PREPARED: Mutex<Option<Prepared>> = Mutex::new(None);

fn rebase_error(message: String) -> LifecycleError {
    LifecycleError::new(ExitCode::RebaseError, message)
}

/// Go `setAppImage`: reads the app image (`-previous-image` or `<image>`) and, without
/// `-run-image`, picks the run image from its label (the mirror on the app image's registry
/// first). Errors: "failed to set app image: …", exit 72.
fn set_app_image(inputs: &Inputs) -> Result<(rebase::Read, String), LifecycleError> {
    let fail = |cause: String| rebase_error(format!("failed to set app image: {cause}"));
    let target = inputs
        .previous_image
        .clone()
        .unwrap_or_else(|| inputs.output_image.clone());
    let reference =
        cnb::image::reference::Reference::parse(&target).map_err(|e| fail(e.to_string()))?;
    let keychain =
        cnb::registry::Keychain::from_environment(&[&target]).map_err(|e| fail(e.to_string()))?;
    let store = session::store(keychain, &inputs.insecure_registries);
    let rt = crate::common::shared_runtime()?;
    let app = match rt.block_on(session::read(&store, &target)) {
        Ok(Some(app)) => app,
        Ok(None) => return Err(fail("failed to access image to rebase".into())),
        Err(e) => return Err(fail(format!("failed to access image to rebase: {e}"))),
    };
    let md = session::app_metadata(&app).map_err(fail)?;
    let run_image = match &inputs.run_image {
        Some(r) => r.clone(),
        None => match rt.block_on(session::run_image_from_label(reference.registry(), &md)) {
            session::RunImageChoice::Chosen(r) => r,
            session::RunImageChoice::NoMetadata => {
                return Err(fail(
                    "failed to parse arguments: -run-image is required when there is no run image metadata available"
                        .into(),
                ));
            }
            session::RunImageChoice::Failed(e) => return Err(fail(e)),
        },
    };
    Ok((app, run_image))
}

/// Go `rebaseCmd.Args` (the app image part) + `Privileges`: read the app image, resolve the
/// keychain for every image while still the invoking user, then drop to uid/gid
/// ("failed to exec as user <uid>:<gid>: …", exit 1).
pub fn privileges(inputs: &Inputs) -> Result<(), LifecycleError> {
    if inputs.use_daemon {
        return Err(rebase_error(
            "failed to rebase: -daemon is not supported by cnb-lifecycle-rs (images are read from and written to registries)"
                .into(),
        ));
    }
    let (app, run_image) = set_app_image(inputs)?;
    let mut images = vec![inputs.output_image.clone()];
    images.extend(inputs.additional_tags.iter().cloned());
    images.extend(inputs.previous_image.iter().cloned());
    images.push(run_image.clone());
    let keychain = cnb::registry::Keychain::from_environment(&images)
        .map_err(|e| LifecycleError::failed(ExitCode::Failed, "resolve keychain", e))?;
    let store = session::store(keychain, &inputs.insecure_registries);
    *PREPARED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Prepared {
        app,
        run_image,
        store,
    });
    cnb::privileges::run_as_user(inputs.uid, inputs.gid)
}

/// The rebaser body. Errors carry exit 72 (a run image that cannot be read: exit 1).
pub fn run(inputs: &Inputs) -> Result<(), LifecycleError> {
    let prepared = PREPARED.lock().unwrap_or_else(|e| e.into_inner()).take();
    let Prepared {
        app,
        run_image,
        store,
    } = match prepared {
        Some(p) => p,
        None => {
            let (app, run_image) = set_app_image(inputs)?;
            let keychain = cnb::registry::Keychain::from_environment(&[&run_image])
                .map_err(|e| LifecycleError::failed(ExitCode::Failed, "resolve keychain", e))?;
            let store = session::store(keychain, &inputs.insecure_registries);
            Prepared {
                app,
                run_image,
                store,
            }
        }
    };
    let failed = |cause: String| rebase_error(format!("failed to rebase: {cause}"));
    let rt = crate::common::shared_runtime()?;
    let new_base = rt
        .block_on(session::open_with_retries(&store, &run_image))
        .map_err(|e| LifecycleError::failed(ExitCode::Failed, "access run image", e))?;
    let _measure = crate::common::timer::Measurement::start("Rebaser");
    let rebased = rebase::rebase(inputs.platform_api, inputs.force_rebase, &app, &new_base)
        .map_err(failed)?;
    for w in &rebased.warnings {
        cnb::warn!("{w}");
    }
    let built = rebased.image.build().map_err(|e| failed(e.to_string()))?;
    let sources = blob_sources(&app, &new_base, rebased.image.layers()).map_err(failed)?;

    let mut names = vec![inputs.output_image.clone()];
    names.extend(inputs.additional_tags.iter().cloned());
    let saving = format!("Saving {}...", inputs.output_image);
    let measure_save = crate::common::timer::Measurement::start(saving.as_str());
    cnb::info!("{saving}");
    let saved = rt.block_on(save::save_all(&store, &built, &sources, &names));
    cnb::info!("*** Images ({}):", saved.digest);
    for (name, err) in &saved.results {
        match err {
            None => cnb::info!("      {name}"),
            Some(e) => cnb::info!("      {name} - {e}"),
        }
    }
    cnb::debug!("\n*** Digest: {}", saved.digest);
    cnb::debug!("\n*** Manifest Size: {}", saved.manifest_size);
    drop(measure_save);
    if !saved.all_saved() {
        return Err(failed(saved.error()));
    }
    saved
        .report()
        .write(&inputs.report_path)
        .map_err(|e| rebase_error(format!("failed to write rebase report: {e}")))?;
    Ok(())
}

/// Where each layer of the rebased image can be copied or mounted from: the new base's
/// repository for its layers, the app image's for the rest.
fn blob_sources(
    app: &rebase::Read,
    new_base: &rebase::Read,
    layers: &[cnb::image::Descriptor],
) -> Result<Vec<save::Source>, String> {
    let repo = |name: &str| {
        cnb::image::reference::Reference::parse(name)
            .map(|r| r.context().clone())
            .map_err(|e| e.to_string())
    };
    let base_repo = repo(&new_base.name)?;
    let app_repo = repo(&app.name)?;
    let n_base = new_base.manifest.layers.len();
    Ok(layers
        .iter()
        .enumerate()
        .map(|(i, d)| save::Source {
            desc: d.clone(),
            from: if i < n_base {
                base_repo.clone()
            } else {
                app_repo.clone()
            },
        })
        .collect())
}
