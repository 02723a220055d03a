//! Opening the cache the flags select (Go `initCache`) and reading its metadata (Go
//! `retrieveCacheMetadata`).

use cnb::cache::registry_backend::RegistryCacheBackend;
use cnb::cache::{
    Cache, CacheChoice, CacheError, CacheImageBackend, CacheImageState, LayerWriter, VolumeCache,
    decompressing_reader,
};
use cnb::digest::Digest;
use cnb::exit::{ExitCode, LifecycleError};
use cnb::files::CacheMetadata;
use cnb::registry::{Client, RemoteStore};
use std::io::{self, Read};
use tokio::runtime::Runtime;

/// `-cache-image` wins over `-cache-dir`; neither → `None` (the CLI already warned
/// "No cached data will be used, no cache specified."). Failures exit 1 like Go:
/// "failed to create image cache: …" / "failed to create volume cache: …".
pub fn open(
    choice: &CacheChoice,
    rt: &Runtime,
    client: &Client,
) -> Result<Option<Box<dyn Cache>>, LifecycleError> {
    match choice {
        CacheChoice::None => Ok(None),
        CacheChoice::Volume(dir) => {
            let c = VolumeCache::open(dir)
                .map_err(|e| LifecycleError::failed(ExitCode::Failed, "create volume cache", e))?;
            Ok(Some(Box::new(c)))
        }
        CacheChoice::Image(name) => {
            let fail = |e: &dyn std::fmt::Display| {
                LifecycleError::failed(ExitCode::Failed, "create image cache", e)
            };
            let store = RemoteStore::new(client.clone());
            let backend = rt
                .block_on(RegistryCacheBackend::open(store, name))
                .map_err(|e| fail(&e))?;
            Ok(Some(Box::new(ReadOnlyImageCache(backend))))
        }
    }
}

/// Go `retrieveCacheMetadata`: "Layer cache not found" when the cache does not exist; an
/// absent or undecodable metadata document is empty metadata.
pub fn metadata(cache: Option<&dyn Cache>) -> Result<CacheMetadata, String> {
    let Some(cache) = cache else {
        cnb::debug!("Usable cache not provided, using empty cache metadata");
        return Ok(CacheMetadata::default());
    };
    if !cache.exists() {
        cnb::info!("Layer cache not found");
    }
    let bytes = cache
        .metadata_bytes()
        .map_err(|e| format!("retrieving cache metadata: {e}"))?;
    Ok(bytes
        .and_then(|b| CacheMetadata::from_json(&b).ok())
        .unwrap_or_default())
}

/// The previous cache image, read only. `cnb::cache::ImageCache` would need a writable spool
/// directory for a commit the restorer never makes (and a non-root user may not be able to
/// write the temp dir); reading needs none of it. Metadata and layer semantics are
/// `ImageCache`'s.
struct ReadOnlyImageCache(RegistryCacheBackend);

fn read_only() -> CacheError {
    CacheError::Backend("the restorer does not modify the cache".into())
}

impl Cache for ReadOnlyImageCache {
    fn exists(&self) -> bool {
        !matches!(self.0.state(), CacheImageState::NotFound)
    }

    fn name(&self) -> &str {
        self.0.name()
    }

    fn metadata_bytes(&self) -> Result<Option<Vec<u8>>, CacheError> {
        match self.0.state() {
            CacheImageState::NotFound => Ok(None),
            CacheImageState::Corrupt => {
                cnb::info!(
                    "Ignoring cache image {:?} because it was corrupt",
                    self.0.name()
                );
                Ok(None)
            }
            CacheImageState::Found { label, .. } => Ok(label.as_deref().and_then(|l| {
                match serde_json::from_str::<serde_json::Value>(l) {
                    Ok(serde_json::Value::Object(_)) => Some(l.as_bytes().to_vec()),
                    _ => None,
                }
            })),
        }
    }

    fn set_metadata(&self, _json: &[u8]) -> Result<(), CacheError> {
        Err(read_only())
    }

    fn add_layer(&self, _diff_id: &Digest, _tar: &mut dyn Read) -> Result<(), CacheError> {
        Err(read_only())
    }

    fn layer_writer(&self) -> Result<Box<dyn LayerWriter>, CacheError> {
        Err(read_only())
    }

    fn reuse_layer(&self, _diff_id: &Digest) -> Result<(), CacheError> {
        Err(read_only())
    }

    /// The blob (digest checked by the registry client as it streams), decompressed.
    fn retrieve_layer(&self, diff_id: &Digest) -> Result<Box<dyn Read + Send>, CacheError> {
        let blob = self.0.blob_reader(diff_id)?;
        decompressing_reader(blob).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => CacheError::layer_not_found(diff_id),
            _ => CacheError::Backend(format!(
                "failed to get cache layer with SHA '{diff_id}': {e}"
            )),
        })
    }

    /// No-op, as in Go: registry digests are trusted (and checked while streaming).
    fn verify_layer(&self, _diff_id: &Digest) -> Result<(), CacheError> {
        Ok(())
    }

    fn commit(&self) -> Result<(), CacheError> {
        Err(read_only())
    }
}
