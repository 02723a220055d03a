//! [`RemoteStore`]: the [`ImageStore`] of images in registries, over a [`Client`]. Names are
//! image references (`host/repo:tag`, `host/repo@sha256:…`).
//!
//! Blob uploads skip what the target repository has, and mount from another repository of the
//! same registry when the store knows one holding the blob: every repository it read a
//! manifest of (for that manifest's config and layers), every repository it stored a blob in,
//! and the ones given with [`RemoteStore::with_mount_sources`].
//!
//! Blob reads are async streams bridged to the synchronous [`BlobReader`] the trait hands out:
//! read it from blocking code (`spawn_blocking`, a plain thread), never on a runtime thread.

use super::blob::into_registry_error;
use super::client::Client;
use super::error::RegistryError;
use super::upload::{BlobSource as PushSource, PushOptions};
use crate::digest::Digest;
use crate::image::reference::{Reference, ReferenceError, Repository};
use crate::image::{
    BlobReader, BlobSource, Descriptor, Manifest, Platform, RawConfig, RawManifest, StoreError,
};
use crate::image::{ImageStore, Parsed};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

/// Chunks a bridge holds in flight between the async and the sync side.
const BRIDGE_DEPTH: usize = 4;
const CHUNK: usize = 256 * 1024;

/// Images in registries. Cheap to clone (clones share the client and what they learnt).
#[derive(Clone)]
pub struct RemoteStore {
    client: Client,
    mount_sources: Vec<Repository>,
    /// Repositories known to hold a blob.
    origins: Arc<Mutex<BTreeMap<Digest, BTreeSet<Repository>>>>,
}

impl RemoteStore {
    pub fn new(client: Client) -> RemoteStore {
        RemoteStore {
            client,
            mount_sources: Vec::new(),
            origins: Arc::default(),
        }
    }

    /// Repositories to try mounting any blob from (after those known to hold it).
    pub fn with_mount_sources(mut self, repos: Vec<Repository>) -> RemoteStore {
        self.mount_sources = repos;
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Records that `repo` holds `digest` (it becomes a mount source for other repositories).
    pub fn note_blob(&self, repo: &Repository, digest: &Digest) {
        self.origins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(digest.clone())
            .or_default()
            .insert(repo.clone());
    }

    fn mount_candidates(&self, digest: &Digest, target: &Repository) -> Vec<Repository> {
        let known = self
            .origins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(digest)
            .cloned()
            .unwrap_or_default();
        let mut out: Vec<Repository> = Vec::new();
        for r in known.into_iter().chain(self.mount_sources.iter().cloned()) {
            if r != *target && r.registry() == target.registry() && !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }

    fn note_manifest(&self, repo: &Repository, raw: &RawManifest) {
        if let Ok(m) = raw.manifest() {
            self.note_blob(repo, &m.config.digest);
            for l in &m.layers {
                self.note_blob(repo, &l.digest);
            }
        }
    }

    /// Stores `manifest` as `name` and under each of `tags`: a tag (`v2`) names `name`'s
    /// repository, a full reference (`host/other:v2`) may name another repository (whose
    /// missing blobs are mounted or copied over first). Returns each tag with its own outcome,
    /// like imgutil's save error per name; `name` itself failing is the error.
    pub async fn put_manifest_tagged(
        &self,
        name: &str,
        manifest: &RawManifest,
        tags: &[String],
    ) -> Result<Vec<(String, Result<(), StoreError>)>, StoreError> {
        self.put_manifest(name, manifest).await?;
        let main = reference(name)?;
        let mut out = Vec::new();
        for tag in tags {
            let res = self.put_other_tag(&main, manifest, tag).await;
            out.push((tag.clone(), res));
        }
        Ok(out)
    }

    async fn put_other_tag(
        &self,
        main: &Reference,
        manifest: &RawManifest,
        tag: &str,
    ) -> Result<(), StoreError> {
        let target = if tag.contains('/') || tag.contains('@') {
            reference(tag)?
        } else {
            main.context().tag(tag)
        };
        if target.context() != main.context() {
            let blobs = match manifest.parse()? {
                Parsed::Manifest(m) => std::iter::once(m.config).chain(m.layers).collect(),
                Parsed::Index(i) => i.manifests,
            };
            for d in blobs {
                if manifest.is_index() {
                    let child = self
                        .client
                        .get_manifest(&main.with_digest(d.digest.clone()))
                        .await?;
                    Box::pin(self.put_other_tag(
                        &main.with_digest(d.digest.clone()),
                        &child,
                        &target.context().digest(d.digest.clone()).name(),
                    ))
                    .await?;
                    continue;
                }
                if !d.media_type.is_distributable() {
                    continue;
                }
                self.client
                    .copy_blob(main.context(), target.context(), &d.digest, Some(d.size))
                    .await?;
                self.note_blob(target.context(), &d.digest);
            }
        }
        self.client.put_manifest(&target, manifest).await?;
        Ok(())
    }
}

fn reference(name: &str) -> Result<Reference, StoreError> {
    Reference::parse(name).map_err(|e: ReferenceError| StoreError::Other(Box::new(e)))
}

impl From<RegistryError> for StoreError {
    fn from(e: RegistryError) -> StoreError {
        match e {
            RegistryError::Image(i) => StoreError::Image(i),
            other => StoreError::Other(Box::new(other)),
        }
    }
}

/// The registry error inside a store error from a [`RemoteStore`], if it is one (e.g. to tell a
/// missing blob, `is_not_found()`, from a failing registry).
pub fn registry_error(e: &StoreError) -> Option<&RegistryError> {
    match e {
        StoreError::Other(b) => b.downcast_ref::<RegistryError>(),
        StoreError::Io { source, .. } => source
            .get_ref()
            .and_then(|i| i.downcast_ref::<RegistryError>()),
        _ => None,
    }
}

impl ImageStore for RemoteStore {
    fn kind(&self) -> &'static str {
        "remote"
    }

    /// `Ok(None)` on 404 and 401 (as imgutil treats a missing or unreadable image).
    async fn manifest(
        &self,
        name: &str,
        platform: &Platform,
    ) -> Result<Option<RawManifest>, StoreError> {
        let r = reference(name)?;
        match self.client.get_image_manifest(&r, platform).await {
            Ok((m, _)) => {
                self.note_manifest(r.context(), &m);
                Ok(Some(m))
            }
            Err(e) if e.is_not_found() || e.status() == Some(401) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn config(&self, name: &str, manifest: &Manifest) -> Result<RawConfig, StoreError> {
        let r = reference(name)?;
        let desc = &manifest.config;
        let bytes = self
            .client
            .get_blob(r.context(), &desc.digest, Some(desc.size))
            .await?
            .bytes()
            .await
            .map_err(into_registry_error)?;
        Ok(RawConfig::verified(bytes, &desc.digest)?)
    }

    async fn blob_exists(&self, name: &str, digest: &Digest) -> Result<bool, StoreError> {
        let r = reference(name)?;
        Ok(self.client.head_blob(r.context(), digest).await?.is_some())
    }

    /// Starts the download (so a missing blob fails here) and hands its verified bytes to a
    /// blocking reader; the reader fails unless the whole blob matched `desc`.
    async fn open_blob(&self, name: &str, desc: &Descriptor) -> Result<BlobReader, StoreError> {
        let r = reference(name)?;
        let mut stream = self
            .client
            .get_blob(r.context(), &desc.digest, Some(desc.size))
            .await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Option<Bytes>>>(BRIDGE_DEPTH);
        tokio::spawn(async move {
            while let Some(item) = stream.next().await {
                let failed = item.is_err();
                if tx.send(item.map(Some)).await.is_err() || failed {
                    return;
                }
            }
            let _ = tx.send(Ok(None)).await;
        });
        Ok(Box::new(SyncBlob {
            rx,
            buf: Bytes::new(),
            end: false,
            what: format!("blob {} of {}", desc.digest, r.context()),
        }))
    }

    /// Skips the upload when the repository has the blob and mounts it when a repository of the
    /// same registry is known to hold it (both need `expected`, or a re-readable source).
    async fn put_blob(
        &self,
        name: &str,
        source: BlobSource,
        expected: Option<&Descriptor>,
    ) -> Result<(Digest, u64), StoreError> {
        let r = reference(name)?;
        let repo = r.context();
        let digest = expected.map(|d| d.digest.clone());
        let mount_from = digest
            .as_ref()
            .map(|d| self.mount_candidates(d, repo))
            .unwrap_or_default();
        let source = match source {
            BlobSource::Path(p) => PushSource::File(p),
            BlobSource::Bytes(b) => PushSource::Bytes(b),
            BlobSource::Reader(rd) => PushSource::Stream(Box::pin(reader_stream(rd))),
        };
        let pushed = self
            .client
            .push_blob(repo, source, PushOptions { digest, mount_from })
            .await?;
        self.note_blob(repo, &pushed.digest);
        let size = match (pushed.size, expected) {
            (_, Some(d)) => d.size,
            (Some(n), None) => n,
            (None, None) => self
                .client
                .head_blob(repo, &pushed.digest)
                .await?
                .and_then(|i| i.size)
                .unwrap_or(0),
        };
        Ok((pushed.digest, size))
    }

    async fn put_manifest(&self, name: &str, manifest: &RawManifest) -> Result<(), StoreError> {
        let r = reference(name)?;
        self.client.put_manifest(&r, manifest).await?;
        self.note_manifest(r.context(), manifest);
        Ok(())
    }

    /// `<registry>/<repository>@<digest>`, like imgutil's remote identifier.
    fn identifier(&self, name: &str, digest: &Digest) -> Result<String, StoreError> {
        Ok(format!("{}@{digest}", reference(name)?.context()))
    }
}

/// The blocking side of a download: chunks from the task that reads the verifying stream.
/// `Ok(None)` from the task is the verified end; a closed channel without it is an error.
struct SyncBlob {
    rx: tokio::sync::mpsc::Receiver<io::Result<Option<Bytes>>>,
    buf: Bytes,
    end: bool,
    what: String,
}

impl Read for SyncBlob {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buf.is_empty() && !self.end && !out.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(Some(b))) => self.buf = b,
                Some(Ok(None)) => self.end = true,
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(io::Error::other(format!(
                        "reading {}: download ended early",
                        self.what
                    )));
                }
            }
        }
        let n = self.buf.len().min(out.len());
        out[..n].copy_from_slice(&self.buf.split_to(n));
        Ok(n)
    }
}

/// A blocking reader as a byte stream, read on a blocking thread started at the first poll (so
/// a source that is never needed, e.g. when the blob turns out to exist, is never read). A
/// reader that stops without EOF (its thread died) makes the stream fail instead of ending.
fn reader_stream(
    rd: BlobReader,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static {
    enum State {
        Idle(BlobReader),
        Running(tokio::sync::mpsc::Receiver<io::Result<Option<Bytes>>>),
        Done,
    }
    futures_util::stream::unfold(State::Idle(rd), |state| async move {
        let mut rx = match state {
            State::Idle(rd) => spawn_reader(rd),
            State::Running(rx) => rx,
            State::Done => return None,
        };
        match rx.recv().await {
            Some(Ok(Some(b))) => Some((Ok(b), State::Running(rx))),
            Some(Ok(None)) => None,
            Some(Err(e)) => Some((Err(e), State::Done)),
            None => Some((
                Err(io::Error::other("blob source stopped before its end")),
                State::Done,
            )),
        }
    })
}

/// Reads `rd` to its end on a blocking thread; `Ok(None)` marks the end.
fn spawn_reader(mut rd: BlobReader) -> tokio::sync::mpsc::Receiver<io::Result<Option<Bytes>>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Option<Bytes>>>(BRIDGE_DEPTH);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut buf = BytesMut::zeroed(CHUNK);
            let item = match rd.read(&mut buf) {
                Ok(0) => Ok(None),
                Ok(n) => {
                    buf.truncate(n);
                    Ok(Some(buf.freeze()))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let last = !matches!(item, Ok(Some(_)));
            if tx.blocking_send(item).is_err() || last {
                return;
            }
        }
    });
    rx
}
