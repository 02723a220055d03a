//! Saving the rebased image under `<image>` and every extra tag (Go `saveImageAs` over imgutil
//! remote `SaveAs`: one independent write per name, each failure kept for that name).
//!
//! A name that already holds the manifest is left alone (ggcr's `manifestExists`). Blobs are
//! never re-uploaded from this machine when the registry can avoid it: a layer the
//! target repository already has is skipped (HEAD), one from another repository of the same
//! registry is mounted, and only a layer on another registry is streamed across.

use cnb::digest::Digest;
use cnb::files::{ImageReport, RebaseReport};
use cnb::image::reference::{Reference, Repository};
use cnb::image::{Built, Descriptor};
use cnb::registry::{BlobSource, PushOptions, RemoteStore, for_each_concurrent};

/// Go's 4 concurrent blob uploads.
const CONCURRENCY: usize = 4;

/// A blob of the rebased image and the repository it can be taken from.
pub struct Source {
    pub desc: Descriptor,
    pub from: Repository,
}

/// The outcome of saving under every name.
pub struct Saved {
    pub digest: Digest,
    pub manifest_size: u64,
    /// Each name with `None` (saved) or its error.
    pub results: Vec<(String, Option<String>)>,
}

impl Saved {
    pub fn all_saved(&self) -> bool {
        self.results.iter().all(|(_, e)| e.is_none())
    }

    /// Go `imgutil.SaveError` text.
    pub fn error(&self) -> String {
        let parts: Vec<String> = self
            .results
            .iter()
            .filter_map(|(n, e)| e.as_ref().map(|e| format!("[{n}: {e}]")))
            .collect();
        format!(
            "failed to write image to the following tags: {}",
            parts.join(",")
        )
    }

    pub fn report(&self) -> RebaseReport {
        RebaseReport {
            image: ImageReport {
                tags: Some(
                    self.results
                        .iter()
                        .filter(|(_, e)| e.is_none())
                        .map(|(n, _)| n.clone())
                        .collect(),
                ),
                image_id: String::new(),
                digest: self.digest.to_string(),
                manifest_size: self.manifest_size as i64,
            },
        }
    }
}

pub async fn save_all(
    store: &RemoteStore,
    built: &Built,
    layers: &[Source],
    names: &[String],
) -> Saved {
    let mut results = Vec::new();
    for name in names {
        let res = save_one(store, built, layers, name).await.err();
        results.push((name.clone(), res));
    }
    Saved {
        digest: built.manifest.digest().clone(),
        manifest_size: built.manifest.size(),
        results,
    }
}

async fn save_one(
    store: &RemoteStore,
    built: &Built,
    layers: &[Source],
    name: &str,
) -> Result<(), String> {
    let target = Reference::parse(name).map_err(|e| e.to_string())?;
    let to = target.context().clone();
    let client = store.client();
    // ggcr checks a tag first: nothing to write when it already names this manifest (so a
    // repeated rebase works against a read-only registry or an immutable tag, as in Go).
    match client.head_manifest(&target).await {
        Ok(Some(info)) if info.digest.as_ref() == Some(built.manifest.digest()) => return Ok(()),
        Ok(_) => {}
        Err(e) if e.status() == Some(403) => {}
        Err(e) => return Err(e.to_string()),
    }
    let distributable: Vec<&Source> = layers
        .iter()
        .filter(|s| s.desc.media_type.is_distributable())
        .collect();
    for_each_concurrent(distributable, CONCURRENCY, |s| {
        let to = to.clone();
        async move {
            client
                .copy_blob(&s.from, &to, &s.desc.digest, Some(s.desc.size))
                .await
                .map(|_| ())
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    let config = &built.config;
    client
        .push_blob(
            &to,
            BlobSource::Bytes(config.bytes().clone()),
            PushOptions {
                digest: Some(config.digest().clone()),
                mount_from: Vec::new(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    client
        .put_manifest(&target, &built.manifest)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
