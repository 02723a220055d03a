//! The cache export (Go `initCache` + `Exporter.Cache`): cache=true layers and the cache SBOM
//! layer into the volume cache or the cache image, from the layer tars already produced for
//! the app image (a launch+cache layer is written once).

use super::Inputs;
use super::layers_dir;
use super::run::{Ctx, ProducedSet, SBOM_CACHE_ID};
use crate::common::timer::Measurement;
use cnb::cache::registry_backend::RegistryCacheBackend;
use cnb::cache::{Cache, CacheChoice, CacheCompression, CacheError, ImageCache, VolumeCache};
use cnb::digest::Digest;
use cnb::exit::{ExitCode, LifecycleError};
use cnb::files::{BuildpackLayerMetadata, BuildpackLayersMetadata, CacheMetadata};
use cnb::registry::RemoteStore;
use std::collections::BTreeMap;

pub type DynCache = Box<dyn Cache + Send + Sync>;

/// Go `initCache`: the cache image wins over the cache dir; none → `None`.
pub fn open(
    inputs: &Inputs,
    remote: &RemoteStore,
    handle: &tokio::runtime::Handle,
) -> Result<Option<DynCache>, LifecycleError> {
    match CacheChoice::from_flags(inputs.cache_image.as_deref(), inputs.cache_dir.as_deref()) {
        CacheChoice::Image(name) => {
            let fail = |e: &dyn std::fmt::Display| {
                LifecycleError::failed(ExitCode::Failed, "create image cache", e)
            };
            let backend = RegistryCacheBackend::open_blocking(handle.clone(), remote.clone(), &name)
                .map_err(|e| fail(&e))?;
            let compression = CacheCompression::from_flag_or_env(None).map_err(|e| fail(&e.0))?;
            let delete_previous = inputs.platform_api.less_than("0.13");
            let c = ImageCache::new(backend, compression, &std::env::temp_dir(), delete_previous)
                .map_err(|e| fail(&e))?;
            Ok(Some(Box::new(c)))
        }
        CacheChoice::Volume(dir) => {
            let c = VolumeCache::open(&dir).map_err(|e| {
                LifecycleError::failed(ExitCode::Failed, "create volume cache", e)
            })?;
            Ok(Some(Box::new(c)))
        }
        CacheChoice::None => Ok(None),
    }
}

/// Go `Exporter.Cache`.
pub fn export(ctx: &Ctx<'_>, produced: &ProducedSet, cache: &dyn Cache) -> Result<(), String> {
    let _m = Measurement::start("Cache");
    if !cache.exists() {
        cnb::info!("Layer cache not found");
    }
    let orig = cache
        .metadata_bytes()
        .map_err(|e| format!("metadata for previous cache: {e}"))?
        .and_then(|b| CacheMetadata::from_json(&b).ok())
        .unwrap_or_default();
    let mut meta = CacheMetadata::default();
    for bp in ctx.group {
        let dir = layers_dir::read(&ctx.layers_dir, &bp.id)
            .map_err(|e| format!("reading layers for buildpack '{}': {e}", bp.id))?;
        let mut bp_md = BuildpackLayersMetadata {
            id: bp.id.clone(),
            version: bp.version.clone(),
            layers: BTreeMap::new(),
            store: None,
        };
        for l in &dir.layers {
            let Ok(t) = l.read() else { continue };
            if !t.types.cache {
                continue;
            }
            if !l.has_local_contents() {
                cnb::warn!(
                    "Failed to cache layer '{}' because it has no contents",
                    l.identifier
                );
                continue;
            }
            let prev = orig
                .for_buildpack(&bp.id)
                .and_then(|b| b.layers.get(&l.name))
                .map_or("", |m| m.sha.as_str());
            match add_or_reuse(cache, produced, &l.identifier, prev) {
                Ok(sha) => {
                    bp_md.layers.insert(
                        l.name.clone(),
                        BuildpackLayerMetadata {
                            sha,
                            data: t.metadata.clone(),
                            build: t.types.build,
                            launch: t.types.launch,
                            cache: t.types.cache,
                        },
                    );
                }
                Err(e) => cnb::warn!("Failed to cache layer '{}': {e}", l.identifier),
            }
        }
        meta.buildpacks.push(bp_md);
    }
    if ctx.api.at_least("0.8") && produced.contains_key(SBOM_CACHE_ID) {
        meta.sbom.sha = add_or_reuse(cache, produced, SBOM_CACHE_ID, &orig.sbom.sha)?;
    }
    let label = meta
        .to_label()
        .map_err(|e| format!("setting cache metadata: {e}"))?;
    cache
        .set_metadata(label.as_bytes())
        .map_err(|e| format!("setting cache metadata: {e}"))?;
    cache
        .commit()
        .map_err(|e| format!("committing cache: {e}"))?;
    Ok(())
}

/// Go `addOrReuseCacheLayer` (which, after reusing, still "adds": a no-op for a staged layer).
fn add_or_reuse(
    cache: &dyn Cache,
    produced: &ProducedSet,
    id: &str,
    previous_sha: &str,
) -> Result<String, String> {
    let p = produced
        .get(id)
        .ok_or_else(|| format!("creating layer '{id}': not produced"))?;
    let sha = p.diff_id.to_string();
    if sha == previous_sha {
        match cache.verify_layer(&p.diff_id) {
            Ok(()) => {
                cnb::info!("Reusing cache layer '{id}'\n");
                cnb::debug!("Layer '{id}' SHA: {sha}\n");
                if let Err(e) = cache.reuse_layer(&p.diff_id) {
                    if e.is_read_err() {
                        cnb::warn!("Skipping re-use for layer {id}: {e}");
                    } else {
                        return Err(format!("reusing layer {id}: {e}"));
                    }
                }
            }
            Err(e) if e.is_read_err() => cnb::warn!("Skipping reuse for layer {id}: {e}"),
            Err(e) => return Err(format!("verifying layer '{id}': {e}")),
        }
    }
    cnb::info!("Adding cache layer '{id}'\n");
    cnb::debug!("Layer '{id}' SHA: {sha}\n");
    add_file(cache, &p.diff_id, &p.tar).map_err(|e| e.to_string())?;
    Ok(sha)
}

fn add_file(cache: &dyn Cache, diff_id: &Digest, tar: &std::path::Path) -> Result<(), CacheError> {
    cache.add_layer_file(diff_id, tar)
}
