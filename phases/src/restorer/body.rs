//! The restorer phase body (Go `restoreCmd.Exec` + `Restorer.Restore`).

use super::{Inputs, cache, data, metadata, sbom};
use crate::common::{self, keychain};
use cnb::archive::writer::Owner;
use cnb::buildpack::group::read_group;
use cnb::cache::{Cache, CacheChoice};
use cnb::exit::{ExitCode, LifecycleError};
use cnb::files::run_image::resolve_run_image_from_analyzed;
use cnb::files::{Analyzed, ImageIdentifier, LayersMetadata, Run};
use cnb::image::reference::Reference;
use cnb::image::{ImageStore, Platform};
use cnb::registry::Client;
use cnb::registry::RemoteStore;
use std::path::Path;
use tokio::runtime::Runtime;

/// Go `LifecycleInputs.RegistryImages` for the restorer: the cache image and (without the
/// daemon) the build image and the run image analyzed.toml names (checked for ≥ 0.14).
pub fn registry_images(i: &Inputs) -> Vec<String> {
    let run_image = Analyzed::read_optional(&i.analyzed_path)
        .ok()
        .flatten()
        .map(|a| a.run_image_image().to_string())
        .unwrap_or_default();
    let others = [i.build_image.as_deref().unwrap_or(""), run_image.as_str()];
    keychain::registry_images(i.cache_image.as_deref(), i.use_daemon, others)
}

fn failed(message: impl Into<String>) -> LifecycleError {
    LifecycleError::new(ExitCode::Failed, message)
}

pub fn run(inputs: &Inputs) -> Result<(), LifecycleError> {
    let group = read_group(&inputs.group_path).map_err(|e| failed(e.to_string()))?;
    cnb::buildpack::build::verify_group(&group)?;
    let keychain = inputs.keychain.resolve(&registry_images(inputs))?.clone();
    let client = common::client(&keychain, &inputs.insecure_registries);
    let rt = common::runtime()?;

    let app_meta = match Analyzed::read_optional(&inputs.analyzed_path) {
        Ok(found) => {
            let mut analyzed = found.unwrap_or_else(|| {
                cnb::warn!(
                    "No analyzed metadata found at path {:?}",
                    inputs.analyzed_path.display().to_string()
                );
                Analyzed::default()
            });
            update_analyzed(inputs, &rt, &client, &mut analyzed)?;
            cnb::debug!("Run image info in analyzed metadata is: ");
            cnb::debug!("{}", analyzed.run_image_debug_json());
            analyzed.write(&inputs.analyzed_path).map_err(|e| {
                LifecycleError::failed(
                    ExitCode::Failed,
                    "write analyzed metadata",
                    go_write_error(e),
                )
            })?;
            analyzed.layers_metadata
        }
        Err(e) => {
            cnb::warn!("Not using analyzed data, usable file not found: {e}");
            LayersMetadata::default()
        }
    };

    let choice =
        CacheChoice::from_flags(inputs.cache_image.as_deref(), inputs.cache_dir.as_deref());
    let cache = cache::open(&choice, &rt, &client)?;
    // Cache calls block on `rt` from plain threads; keep it alive (and not entered) meanwhile.
    restore(inputs, &group.group, &app_meta, cache.as_deref())
        .map_err(|e| LifecycleError::failed(ExitCode::RestoreError, "restore", e))?;
    drop(cache);
    drop(rt);
    Ok(())
}

/// The analyzed.toml updates before restoring: Platform ≥ 0.14, the selected run image must
/// still be readable when run.toml lists it. (Build-image and run-image extension metadata
/// are not supported: cnb-lifecycle-rs has no extensions.)
fn update_analyzed(
    inputs: &Inputs,
    rt: &Runtime,
    client: &Client,
    analyzed: &mut Analyzed,
) -> Result<(), LifecycleError> {
    if let Some(b) = &inputs.build_image {
        let reference = build_image_reference(rt, client, b).map_err(|e| {
            LifecycleError::failed(ExitCode::Failed, &format!("pull builder image {b}"), e)
        })?;
        analyzed.build_image = Some(ImageIdentifier::new(reference));
        cnb::debug!("Adding build image info to analyzed metadata: ");
        cnb::debug!(
            "{{\"reference\":{:?}}}",
            analyzed
                .build_image
                .as_ref()
                .map_or("", |i| i.reference.as_str())
        );
    }
    if inputs.platform_api.less_than("0.14") {
        return Ok(());
    }
    let run = match Run::read_optional(&inputs.run_path).map_err(|e| failed(e.to_string()))? {
        Some(r) => r,
        None => {
            cnb::info!(
                "No run metadata found at path {:?}",
                inputs.run_path.display().to_string()
            );
            Run::default()
        }
    };
    let name = analyzed.run_image_image().to_string();
    let normalize = |s: &str| {
        let trimmed = if s.contains("@sha256:") {
            s.split('@').next().unwrap_or(s)
        } else {
            s
        };
        Reference::parse(trimmed).map_or_else(|_| s.to_string(), |r| r.name())
    };
    // Go `AccessChecker`: with the daemon or a layout every image counts as readable.
    let nop = inputs.use_daemon || inputs.use_layout;
    let readable = |r: &str| nop || rt.block_on(common::access::can_read(client, r));
    resolve_run_image_from_analyzed(&name, &run, normalize, readable)
        .map_err(|e| failed(e.to_string()))?;
    Ok(())
}

/// Go `pullSparse` + `Identifier()` for `-build-image` (Platform ≥ 0.10): the digest
/// reference of the build image. (Go also saves its manifest and config under
/// `/kaniko/cache/base` for image extensions, which cnb-lifecycle-rs does not support.)
fn build_image_reference(rt: &Runtime, client: &Client, name: &str) -> Result<String, String> {
    cnb::debug!("Pulling builder image metadata for {name}...");
    let store = RemoteStore::new(client.clone());
    let manifest = rt
        .block_on(store.manifest(name, &Platform::current()))
        .map_err(|e| format!("failed to initialize remote image: {e}"))?
        .ok_or("failed to get remote image")?;
    store
        .identifier(name, manifest.digest())
        .map_err(|e| e.to_string())
}

/// Go `Restorer.Restore`.
fn restore(
    inputs: &Inputs,
    buildpacks: &[cnb::buildpack::GroupElement],
    app_meta: &LayersMetadata,
    cache: Option<&dyn Cache>,
) -> Result<(), String> {
    let _timer = common::timer::Measurement::start("Restorer");
    let layers_dir = std::path::absolute(&inputs.layers_dir).map_err(|e| e.to_string())?;
    let layers_dir: &Path = &layers_dir;
    let cache_meta = cache::metadata(cache)?;
    cnb::debug!("Restoring Layer Metadata");
    let shas = metadata::restore(
        layers_dir,
        buildpacks,
        app_meta,
        &cache_meta,
        inputs.skip_layers,
        inputs.platform_api,
    )?;
    let owner = Owner::new(
        u64::try_from(inputs.uid).unwrap_or(0),
        u64::try_from(inputs.gid).unwrap_or(0),
    );
    data::restore(layers_dir, buildpacks, &cache_meta, &shas, cache, owner)
        .map_err(|e| format!("restoring data: {e}"))?;
    if !inputs.skip_layers {
        sbom::restore(layers_dir, buildpacks, &cache_meta.sbom.sha, cache)
            .map_err(|e| format!("restoring data: {e}"))?;
    }
    Ok(())
}

/// Go's wording of a failed file write: "failed to write analyzed file: open <path>: <cause>".
fn go_write_error(e: cnb::files::Error) -> String {
    match e {
        cnb::files::Error::Write { what, path, source } => format!(
            "failed to write {what} file: open {}: {}",
            path.display(),
            cnb::cache::go_io_text(&source)
        ),
        other => other.to_string(),
    }
}
