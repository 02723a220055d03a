//! Layer data restore (Go `Restorer.Restore`, data part): every layer found in
//! `<layers>/<bp>` (directory or `.toml`) that the cache metadata marks `cache=true` is either
//! removed (remembered sha ≠ cache sha: "wrong sha") or restored from the cache, layers in
//! parallel. Each restore streams the cached tar (registry blob: download → digest check →
//! decompress) through the extractor, which verifies the diffID at the end of the stream.
//! Missing or corrupt cached data is a warning: the layer directory is removed (never left
//! half-restored) and the buildpack rebuilds it.

use super::metadata::ShaStore;
use cnb::archive::extract::{Expected, ExtractError, ExtractOptions, extract};
use cnb::archive::writer::Owner;
use cnb::buildpack::{GroupElement, escape_id};
use cnb::cache::{Cache, CacheError, cache_error_of};
use cnb::digest::Digest;
use cnb::files::CacheMetadata;
use cnb::layers::{LayerSpec, diff_id};
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// Media type handed to the extractor: the cache yields uncompressed tar streams.
const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// Layers restored at the same time.
const JOBS: usize = 4;

/// One layer whose data is to be restored.
struct Job {
    id: String,
    dir: PathBuf,
    sha: Digest,
}

pub fn restore(
    layers_dir: &Path,
    buildpacks: &[GroupElement],
    cache_meta: &CacheMetadata,
    shas: &ShaStore,
    cache: Option<&dyn Cache>,
    owner: Owner,
) -> Result<(), String> {
    let mut jobs = Vec::new();
    for bp in buildpacks {
        let Some(cached) = cache_meta.for_buildpack(&bp.id).map(|b| &b.layers) else {
            continue;
        };
        let bp_dir = layers_dir.join(escape_id(&bp.id));
        cnb::debug!(
            "Reading Buildpack Layers directory {}",
            layers_dir.display()
        );
        for name in layer_names(&bp_dir).map_err(|e| {
            format!(
                "reading buildpack layer directory: open {}: {}",
                bp_dir.display(),
                cnb::cache::go_io_text(&e)
            )
        })? {
            let Some(layer) = cached.get(&name).filter(|l| l.cache) else {
                continue;
            };
            let id = format!("{}:{name}", bp.id);
            let remembered = shas
                .get(&(bp.id.clone(), name.clone()))
                .map_or("", String::as_str);
            let dir = bp_dir.join(&name);
            if remembered != layer.sha {
                cnb::info!("Removing {id:?}, wrong sha");
                cnb::debug!("Layer sha: {remembered:?}, cache sha: {:?}", layer.sha);
                remove_layer(&dir).map_err(|e| format!("removing layer: {e}"))?;
                continue;
            }
            cnb::info!("Restoring data for {id:?} from cache");
            let sha =
                Digest::parse(&layer.sha).map_err(|e| format!("restoring layer {id}: {e}"))?;
            jobs.push(Job { id, dir, sha });
        }
    }
    if jobs.is_empty() {
        return Ok(());
    }
    let Some(cache) = cache else {
        return Err("restoring layer: cache not provided".into());
    };
    let results = cnb::layers::parallel::map_parallel(jobs, JOBS, |job| {
        restore_one(cache, &job, owner).map_err(|e| format!("restoring layer {}: {e}", job.id))
    });
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    Ok(())
}

/// Go `ReadLayersDir`: directories and `*.toml` files (except store/launch/build) name
/// layers; a missing buildpack directory has none.
pub fn layer_names(bp_dir: &Path) -> io::Result<BTreeSet<String>> {
    cnb::debug!("Reading buildpack directory: {}", bp_dir.display());
    let mut names = BTreeSet::new();
    let rd = match std::fs::read_dir(bp_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(e),
    };
    for entry in rd {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        cnb::debug!("Reading buildpack directory item: {name}");
        if entry.file_type()?.is_dir() {
            names.insert(name);
        } else if let Some(stem) = name.strip_suffix(".toml")
            && !matches!(stem, "store" | "launch" | "build")
        {
            names.insert(stem.to_string());
        }
    }
    Ok(names)
}

/// Go `Layer.Remove`: the directory, `<layer>.sha` and `<layer>.toml`.
fn remove_layer(dir: &Path) -> io::Result<()> {
    remove_dir(dir)?;
    for ext in ["sha", "toml"] {
        let mut p = dir.as_os_str().to_owned();
        p.push(format!(".{ext}"));
        match std::fs::remove_file(PathBuf::from(p)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Restores one layer; a cache read error (missing, unreadable, corrupt) becomes the Go
/// warning "Skipping restore for layer <bp>:<layer>: <msg>" with the layer directory removed.
fn restore_one(cache: &dyn Cache, job: &Job, owner: Owner) -> Result<(), String> {
    if already_present(job, owner) {
        cnb::info!(
            "Layer data for {:?} already present with SHA {}, not downloading it",
            job.id,
            job.sha
        );
        return Ok(());
    }
    remove_dir(&job.dir).map_err(|e| format!("removing stale layer directory: {e}"))?;
    cnb::debug!("Retrieving data for {:?}", job.sha.to_string());
    let result = cache
        .retrieve_layer(&job.sha)
        .map_err(Failure::Cache)
        .and_then(|reader| {
            let mut opts = ExtractOptions::new(&job.dir, &job.dir, job.id.clone());
            // Layers may link anywhere (e.g. `/etc/ssl/certs`); the extractor never follows links.
            opts.allow_symlinks_out = true;
            let expected = Expected {
                digest: None,
                diff_id: Some(job.sha.clone()),
            };
            extract(reader, Some(TAR), &expected, &opts).map_err(|e| classify(e, &job.sha))
        });
    match result {
        Ok(_) => Ok(()),
        Err(f) => {
            // Never leave a half-restored layer behind.
            let _ = remove_dir(&job.dir);
            match f {
                Failure::Cache(e) if e.is_read_err() => {
                    cnb::warn!("Skipping restore for layer {}: {e}", job.id);
                    Ok(())
                }
                Failure::Cache(e) => Err(e.to_string()),
                Failure::Extract(e) => Err(e.to_string()),
            }
        }
    }
}

enum Failure {
    Cache(CacheError),
    Extract(ExtractError),
}

/// Cache read errors surfacing through the stream, and a diffID mismatch (corrupt cached
/// data), are cache read errors; anything else (refused entries, disk errors) is real.
fn classify(e: ExtractError, sha: &Digest) -> Failure {
    match e {
        ExtractError::Mismatch { found, .. } => {
            Failure::Cache(CacheError::verify_mismatch(sha, &found))
        }
        ExtractError::Read { ref source, .. } => match cache_error_of(source) {
            Some(CacheError::Read { kind, message }) => Failure::Cache(CacheError::Read {
                kind: *kind,
                message: message.clone(),
            }),
            _ if is_stream_failure(source) => Failure::Cache(CacheError::Read {
                kind: cnb::cache::ReadErrKind::Corrupt,
                message: format!("failed to read cache layer with SHA '{sha}': {source}"),
            }),
            _ => Failure::Extract(e),
        },
        // Entries naming paths outside `<layers>/<bp>/<layer>`: a cache written with another
        // layers directory. Go would write them there; we do not, and rebuild the layer.
        ExtractError::Entry { ref reason, .. } if reason.starts_with("outside of '") => {
            Failure::Cache(CacheError::Read {
                kind: cnb::cache::ReadErrKind::Corrupt,
                message: e.to_string(),
            })
        }
        other => Failure::Extract(other),
    }
}

/// Errors of the cached byte stream itself (truncated or undecodable data, a download cut
/// off) rather than of our own disk.
fn is_stream_failure(e: &io::Error) -> bool {
    e.raw_os_error().is_none()
}

/// A layer directory left on a reused volume whose contents already hash to the cached
/// diffID needs no download.
fn already_present(job: &Job, owner: Owner) -> bool {
    if !job.dir.is_dir() {
        return false;
    }
    match diff_id(&LayerSpec::dir(&job.dir, owner)) {
        Ok(d) => d == job.sha,
        Err(e) => {
            cnb::debug!("Not reusing layer directory {}: {e}", job.dir.display());
            false
        }
    }
}
