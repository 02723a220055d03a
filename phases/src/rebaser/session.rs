//! Registry plumbing private to the rebaser: its store, reading an image (manifest + config)
//! by name, and choosing the run image from the app image's label. The process-wide runtime
//! it runs on is `common::shared_runtime`.

use super::rebase::{LABEL_LIFECYCLE_METADATA, Read};
use cnb::files::LayersMetadata;
use cnb::files::run_image::{best_run_image_mirror, run_image_from_metadata};
use cnb::image::reference::Reference;
use cnb::image::{ImageStore, Platform, StoreError};
use cnb::registry::{Keychain, RemoteStore};

pub fn store(keychain: Keychain, insecure: &[String]) -> RemoteStore {
    RemoteStore::new(crate::common::client(&keychain, insecure))
}

/// The platform images are read for (imgutil's default: linux and this machine's GOARCH).
pub fn platform() -> Platform {
    Platform::new("linux", cnb::files::target::go_arch())
}

/// Reads `name`; `Ok(None)` when it does not exist (or is not readable, as imgutil treats 401).
pub async fn read(store: &RemoteStore, name: &str) -> Result<Option<Read>, StoreError> {
    let Some((raw, manifest, config)) =
        cnb::image::store::read_image(store, name, &platform()).await?
    else {
        return Ok(None);
    };
    let config = config.parse()?;
    let identifier = store.identifier(name, raw.digest())?;
    Ok(Some(Read {
        name: name.to_owned(),
        manifest,
        config,
        identifier,
    }))
}

/// Go `phase.OpenRemoteImage` (the new run image): a missing image, one without layers and
/// transient failures are retried after 100ms, 200ms, 500ms, 1s and 2s with Go's warnings;
/// HTTP 400, 401, 403, 405 and 429 fail at once. The error is the last cause.
pub async fn open_with_retries(store: &RemoteStore, name: &str) -> Result<Read, String> {
    const DELAYS_MS: [u64; 5] = [100, 200, 500, 1000, 2000];
    let attempts = DELAYS_MS.len() + 1;
    let mut last = String::new();
    for attempt in 0..attempts {
        let (cause, retryable) = match read(store, name).await {
            Ok(Some(img)) if !img.manifest.layers.is_empty() => {
                if attempt > 0 {
                    cnb::info!("Successfully opened remote image after {attempt} retries");
                }
                return Ok(img);
            }
            Ok(_) => ("image has no layers".to_owned(), true),
            Err(e) => {
                let status = cnb::registry::registry_error(&e).and_then(|r| r.status());
                let fatal = matches!(status, Some(400 | 401 | 403 | 405 | 429));
                (e.to_string(), !fatal)
            }
        };
        if !retryable {
            return Err(cause);
        }
        if let Some(ms) = DELAYS_MS.get(attempt) {
            let delay = std::time::Duration::from_millis(*ms);
            cnb::warn!(
                "Failed to open remote image (attempt {}/{attempts}): {cause}, retrying in {}",
                attempt + 1,
                crate::common::timer::go_duration(delay)
            );
            tokio::time::sleep(delay).await;
        }
        last = cause;
    }
    Err(last)
}

/// The lifecycle label as Go `setAppImage` decodes it (`files.LayersMetadata`).
pub fn app_metadata(app: &Read) -> Result<LayersMetadata, String> {
    match app.config.config.labels.get(LABEL_LIFECYCLE_METADATA) {
        None => Ok(LayersMetadata::default()),
        Some(v) if v.is_empty() => Ok(LayersMetadata::default()),
        Some(v) => LayersMetadata::from_label(v).map_err(|e| {
            format!("failed to unmarshal context of label '{LABEL_LIFECYCLE_METADATA}': {e}")
        }),
    }
}

pub enum RunImageChoice {
    Chosen(String),
    /// No run image metadata: Go's "-run-image is required …" (wrapped, exit 72).
    NoMetadata,
    Failed(String),
}

/// Go `BestRunImageMirrorFor(<app image registry>, GetRunImageFromMetadata(md))`.
///
/// The read check is Go's `LifecycleInputs.AccessChecker`: a keychain for the candidates and
/// a plain `remote.NewImage`, i.e. *without* the `-insecure-registry` settings, so a candidate
/// on a registry that is only reachable insecurely (self-signed TLS, plain HTTP beyond
/// loopback/private addresses) counts as unreadable, as in the Go rebaser.
pub async fn run_image_from_label(app_registry: &str, md: &LayersMetadata) -> RunImageChoice {
    let Ok(candidates) = run_image_from_metadata(true, md) else {
        return RunImageChoice::NoMetadata;
    };
    let names: Vec<&str> = candidates.candidates().collect();
    let keychain = match Keychain::from_environment(&names) {
        Ok(k) => k,
        Err(e) => return RunImageChoice::Failed(format!("unable to create keychain: {e}")),
    };
    let checker = self::store(keychain, &[]);
    let mut readable = std::collections::BTreeMap::new();
    for c in candidates.candidates() {
        let ok = match Reference::parse(c) {
            Ok(r) => checker.client().check_read_access(&r).await.is_ok(),
            Err(_) => false,
        };
        readable.insert(c.to_owned(), ok);
    }
    match best_run_image_mirror(
        app_registry,
        &candidates,
        |r| Reference::parse(r).ok().map(|r| r.registry().to_owned()),
        |c| readable.get(c).copied().unwrap_or(false),
    ) {
        Ok(c) => RunImageChoice::Chosen(c),
        Err(e) => RunImageChoice::Failed(e.to_string()),
    }
}
