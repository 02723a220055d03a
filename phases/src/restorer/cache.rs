//! Opening the cache the flags select (Go `initCache`) and reading its metadata (Go
//! `retrieveCacheMetadata`).

use cnb::cache::registry_backend::RegistryCacheBackend;
use cnb::cache::{Cache, CacheChoice, CacheCompression, ImageCache, VolumeCache};
use cnb::exit::{ExitCode, LifecycleError};
use cnb::files::CacheMetadata;
use cnb::registry::{Client, RemoteStore};
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
            // The restorer never commits: the compression and spool directory are unused
            // beyond an empty directory created and removed by the cache.
            let c = ImageCache::new(
                backend,
                CacheCompression::Gzip,
                &std::env::temp_dir(),
                false,
            )
            .map_err(|e| fail(&e))?;
            Ok(Some(Box::new(c)))
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
