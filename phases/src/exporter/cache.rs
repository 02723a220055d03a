//! The cache export (Go `initCache` + `Exporter.Cache`): cache=true layers and the cache SBOM
//! layer into the volume cache or the cache image, each tarred from its files straight into
//! the cache (a launch+cache layer is read once for the image and once for the cache).

use super::Inputs;
use super::layers_dir;
use super::produce::{self, Produced};
use super::run::{Ctx, ProducedSet, SBOM_CACHE_ID};
use super::shared::SharedBlobs;
use cnb::cache::registry_backend::RegistryCacheBackend;
use cnb::cache::{
    Cache, CacheChoice, CacheCompression, CacheError, GzipBlob, ImageCache, VolumeCache,
};
use cnb::digest::Digest;
use cnb::exit::{ExitCode, LifecycleError};
use cnb::files::{BuildpackLayerMetadata, BuildpackLayersMetadata, CacheMetadata};
use cnb::registry::RemoteStore;
use std::collections::BTreeMap;

pub type DynCache = Box<dyn Cache + Send + Sync>;

/// Log lines of the cache export, kept while it runs beside the app image and printed after
/// the image's own lines: the output is then ordered as Go's (image first, then cache).
#[derive(Default)]
pub struct Log(Vec<(Level, String)>);

#[derive(Clone, Copy)]
enum Level {
    Debug,
    Info,
    Warn,
}

impl Log {
    fn debug(&mut self, s: String) {
        self.0.push((Level::Debug, s));
    }
    fn info(&mut self, s: String) {
        self.0.push((Level::Info, s));
    }
    pub fn warn(&mut self, s: String) {
        self.0.push((Level::Warn, s));
    }

    /// Adds `other`'s lines after these.
    fn append(&mut self, other: Log) {
        self.0.extend(other.0);
    }

    /// Prints the kept lines.
    pub fn replay(self) {
        for (level, line) in self.0 {
            match level {
                Level::Debug => cnb::debug!("{line}"),
                Level::Info => cnb::info!("{line}"),
                Level::Warn => cnb::warn!("{line}"),
            }
        }
    }
}

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
            let backend =
                RegistryCacheBackend::open_blocking(handle.clone(), remote.clone(), &name)
                    .map_err(|e| fail(&e))?;
            let compression = CacheCompression::from_flag_or_env(None).map_err(|e| fail(&e.0))?;
            let delete_previous = inputs.platform_api.less_than("0.13");
            let c = ImageCache::new(backend, compression, &std::env::temp_dir(), delete_previous)
                .map_err(|e| fail(&e))?;
            Ok(Some(Box::new(c)))
        }
        CacheChoice::Volume(dir) => {
            let c = VolumeCache::open(&dir)
                .map_err(|e| LifecycleError::failed(ExitCode::Failed, "create volume cache", e))?;
            Ok(Some(Box::new(c)))
        }
        CacheChoice::None => Ok(None),
    }
}

/// The previous cache's metadata as [`export`] will find it, read ahead and quietly:
/// `None` when it cannot be read.
pub fn peek_previous(cache: &dyn Cache) -> Option<CacheMetadata> {
    let bytes = cache.peek_metadata().ok()?;
    Some(
        bytes
            .and_then(|b| CacheMetadata::from_json(&b).ok())
            .unwrap_or_default(),
    )
}

/// Go `Exporter.Cache`.
pub fn export(
    ctx: &Ctx<'_>,
    produced: &ProducedSet,
    cache: &dyn Cache,
    log: &mut Log,
    gate: Option<std::sync::mpsc::Receiver<bool>>,
    shared: &SharedBlobs,
) -> Result<(), String> {
    let start = std::time::Instant::now();
    log.debug(format!("Timer: Cache started at {}", now()));
    let res = export_inner(ctx, produced, cache, log, gate, shared);
    log.debug(format!(
        "Timer: Cache ran for {} and ended at {}",
        crate::common::timer::go_duration(start.elapsed()),
        now()
    ));
    res
}

fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    cnb::image::config::rfc3339_utc(i64::try_from(secs).unwrap_or(0))
}

/// One step of the cache export, in Go order.
enum Step {
    /// A cache=true layer without contents: only a warning.
    NoContents(String),
    /// A buildpack's cache layer (index into the metadata's buildpacks).
    Layer {
        bp: usize,
        name: String,
        id: String,
        previous: String,
        md: BuildpackLayerMetadata,
    },
    /// The cache SBOM layer (its failure fails the cache export).
    Sbom { dir: String, previous: String },
}

impl Step {
    /// The layer to add or reuse: its id and its sha in the previous cache.
    fn layer(&self) -> Option<(&str, &str)> {
        match self {
            Step::NoContents(_) => None,
            Step::Layer { id, previous, .. } => Some((id, previous)),
            Step::Sbom { previous, .. } => Some((SBOM_CACHE_ID, previous)),
        }
    }
}

/// Go `Exporter.Cache`'s steps over the layers dir, in Go order (buildpacks in group order,
/// each one's layers by name, then the cache SBOM), and the metadata they fill in.
fn steps(
    ctx: &Ctx<'_>,
    produced: &ProducedSet,
    orig: &CacheMetadata,
) -> Result<(Vec<Step>, CacheMetadata), String> {
    let mut steps = Vec::new();
    let mut meta = CacheMetadata::default();
    for (n, bp) in ctx.group.iter().enumerate() {
        let dir = layers_dir::read_quiet(&ctx.layers_dir, &bp.id)
            .map_err(|e| format!("reading layers for buildpack '{}': {e}", bp.id))?;
        meta.buildpacks.push(BuildpackLayersMetadata {
            id: bp.id.clone(),
            version: bp.version.clone(),
            layers: BTreeMap::new(),
            store: None,
        });
        for l in &dir.layers {
            let Ok(t) = l.read() else { continue };
            if !t.types.cache {
                continue;
            }
            if !l.has_local_contents() {
                steps.push(Step::NoContents(l.identifier.clone()));
                continue;
            }
            let previous = orig
                .for_buildpack(&bp.id)
                .and_then(|b| b.layers.get(&l.name))
                .map_or_else(String::new, |m| m.sha.clone());
            steps.push(Step::Layer {
                bp: n,
                name: l.name.clone(),
                id: l.identifier.clone(),
                previous,
                md: BuildpackLayerMetadata {
                    sha: String::new(),
                    data: t.metadata.clone(),
                    build: t.types.build,
                    launch: t.types.launch,
                    cache: t.types.cache,
                },
            });
        }
    }
    if ctx.api.at_least("0.8") && produced.contains_key(SBOM_CACHE_ID) {
        steps.push(Step::Sbom {
            dir: ctx.layers_dir.join("sbom/cache").display().to_string(),
            previous: orig.sbom.sha.clone(),
        });
    }
    Ok((steps, meta))
}

fn export_inner(
    ctx: &Ctx<'_>,
    produced: &ProducedSet,
    cache: &dyn Cache,
    log: &mut Log,
    gate: Option<std::sync::mpsc::Receiver<bool>>,
    shared: &SharedBlobs,
) -> Result<(), String> {
    if !cache.exists() {
        log.info("Layer cache not found".into());
    }
    let orig = cache
        .metadata_bytes()
        .map_err(|e| format!("metadata for previous cache: {e}"))?
        .and_then(|b| CacheMetadata::from_json(&b).ok())
        .unwrap_or_default();
    let (steps, mut meta) = steps(ctx, produced, &orig)?;
    // The layers the cache writes itself go first, those waiting for the app image's blob
    // last: a cache-only layer is then compressed beside the app image's layers rather than
    // alone once they are done. Their log lines and the cache image's layers keep Go's order.
    let mut outcomes: Vec<Option<(Log, Result<String, String>)>> =
        steps.iter().map(|_| None).collect();
    for waits in [false, true] {
        for (n, step) in steps.iter().enumerate() {
            let Some((id, previous)) = step.layer() else {
                continue;
            };
            if shared.expects(id) == waits {
                let mut own = Log::default();
                let res = add_or_reuse(cache, produced, id, previous, &mut own, shared);
                outcomes[n] = Some((own, res));
            }
        }
    }
    let done = |o: Option<(Log, Result<String, String>)>, id: &str| {
        o.ok_or_else(|| format!("cache layer '{id}' was not exported"))
    };
    let mut order = Vec::new();
    for (step, outcome) in steps.into_iter().zip(outcomes) {
        match step {
            Step::NoContents(id) => log.warn(format!(
                "Failed to cache layer '{id}' because it has no contents"
            )),
            Step::Layer {
                bp,
                name,
                id,
                mut md,
                ..
            } => {
                let (own, res) = done(outcome, &id)?;
                log.append(own);
                match res {
                    Ok(sha) => {
                        order.extend(Digest::parse(&sha).ok());
                        md.sha = sha;
                        if let Some(b) = meta.buildpacks.get_mut(bp) {
                            b.layers.insert(name, md);
                        }
                    }
                    Err(e) => log.warn(format!("Failed to cache layer '{id}': {e}")),
                }
            }
            Step::Sbom { dir, .. } => {
                log.debug(format!("Found SBOM of type cache for at {dir}"));
                let (own, res) = done(outcome, SBOM_CACHE_ID)?;
                log.append(own);
                let sha = res?;
                order.extend(Digest::parse(&sha).ok());
                meta.sbom.sha = sha;
            }
        }
    }
    cache
        .order_layers(&order)
        .map_err(|e| format!("ordering cache layers: {e}"))?;
    // Without -parallel Go exports the cache only once the image is saved: nothing is
    // committed when the image export failed.
    if let Some(gate) = gate
        && !gate.recv().unwrap_or(false)
    {
        return Ok(());
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
    log: &mut Log,
    shared: &SharedBlobs,
) -> Result<String, String> {
    let p = produced
        .get(id)
        .ok_or_else(|| format!("creating layer '{id}': not produced"))?;
    // Not hashed first: nothing of that name was in the previous cache, nothing to reuse.
    let Some(diff_id) = &p.diff_id else {
        log.info(format!("Adding cache layer '{id}'\n"));
        let diff_id = add_shared(cache, p, shared)?;
        log.debug(format!("Layer '{id}' SHA: {diff_id}\n"));
        return Ok(diff_id.to_string());
    };
    let sha = diff_id.to_string();
    let mut reused = false;
    if sha == previous_sha {
        match cache.verify_layer(diff_id) {
            Ok(()) => {
                log.info(format!("Reusing cache layer '{id}'\n"));
                log.debug(format!("Layer '{id}' SHA: {sha}\n"));
                match cache.reuse_layer(diff_id) {
                    Ok(()) => reused = true,
                    Err(e) if e.is_read_err() => {
                        log.warn(format!("Skipping re-use for layer {id}: {e}"));
                    }
                    Err(e) => return Err(format!("reusing layer {id}: {e}")),
                }
            }
            Err(e) if e.is_read_err() => log.warn(format!("Skipping reuse for layer {id}: {e}")),
            Err(e) => return Err(format!("verifying layer '{id}': {e}")),
        }
    }
    log.info(format!("Adding cache layer '{id}'\n"));
    log.debug(format!("Layer '{id}' SHA: {sha}\n"));
    // Go adds the layer even after reusing it (a no-op then): the line is kept, the work not.
    if !reused {
        add_shared(cache, p, shared)?;
    }
    Ok(sha)
}

/// Adds `p` from the app image's blob when the app side is storing one the cache can mount
/// (waiting for it, in place: the cache image's layers keep Go's order); otherwise streams
/// it as usual. Returns its diffID.
fn add_shared(cache: &dyn Cache, p: &Produced, shared: &SharedBlobs) -> Result<Digest, String> {
    if let Some(b) = shared.wait(&p.id) {
        let blob = GzipBlob {
            image: shared.image().to_string(),
            digest: b.digest,
            size: b.size,
        };
        match cache.add_layer_blob(&b.diff_id, &blob) {
            Ok(true) => return Ok(b.diff_id),
            Ok(false) => {}
            Err(e) => cnb::debug!(
                "Mounting the image's blob for cache layer '{}' failed, writing it: {e}",
                p.id
            ),
        }
    }
    add(cache, p)
}

/// Streams the tar of `p` straight into the cache (no temp file); the cache hashes and
/// compresses it and, for a cache image, uploads it as it goes. Returns its diffID.
fn add(cache: &dyn Cache, p: &Produced) -> Result<Digest, String> {
    let w = cache.layer_writer().map_err(|e| e.to_string())?;
    let w = produce::write_source(&p.source, w)
        .map_err(|e| format!("creating layer '{}': {e}", p.id))?;
    match w.finish_hashed(p.diff_id.as_ref()) {
        Ok(diff_id) => Ok(diff_id),
        Err(CacheError::DigestMismatch { found, .. }) => Err(produce::check_same(p, &found)
            .err()
            .unwrap_or_else(|| format!("creating layer '{}': diffID {found}", p.id))),
        Err(e) => Err(e.to_string()),
    }
}
