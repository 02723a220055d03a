//! Copying a blob between repositories, possibly on different registries: skip if present,
//! mount on the same registry, else stream it from the source (verified as it arrives) straight
//! into an upload to the target — no temp file, no buffering of the whole blob.

use super::blob::into_registry_error;
use super::client::Client;
use super::error::RegistryError;
use super::upload::{PushOutcome, PushedBlob};
use crate::digest::Digest;
use crate::image::reference::Repository;
use futures_util::TryStreamExt;
use std::sync::{Arc, Mutex};

impl Client {
    /// Makes `digest` (of `size` bytes, when known) from `from` available in `to`.
    pub async fn copy_blob(
        &self,
        from: &Repository,
        to: &Repository,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<PushedBlob, RegistryError> {
        let session = match self
            .existing_or_mounted(to, digest, size, std::slice::from_ref(from))
            .await?
        {
            Ok(done) => return Ok(done),
            Err(session) => session,
        };
        // Keep the source's own error (e.g. its digest mismatch) to report it instead of the
        // upload failure it causes.
        let source_error: Arc<Mutex<Option<std::io::Error>>> = Arc::default();
        let seen = source_error.clone();
        let source = self.get_blob(from, digest, size).await?.map_err(move |e| {
            let copy = std::io::Error::new(e.kind(), e.to_string());
            *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            copy
        });
        let patched = self
            .patch_stream(to, session, Box::pin(source), Some(digest.clone()))
            .await;
        let taken = source_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(e) = taken {
            return Err(into_registry_error(e));
        }
        let (location, actual, n) = patched?;
        if actual != *digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob copied from {from} to {to}"),
                expected: digest.clone(),
                actual,
            });
        }
        self.finish_upload(to, &location, digest, super::client::ReqBody::Empty)
            .await?;
        Ok(PushedBlob {
            digest: digest.clone(),
            size: Some(n),
            outcome: PushOutcome::Uploaded,
        })
    }
}
