//! [`RegistryCacheBackend`]: the [`CacheImageBackend`] of a cache image in a registry, over
//! the registry client's [`RemoteStore`], so that [`ImageCache`](super::ImageCache) works
//! against a real registry (lifecycle-spec §6.3).
//!
//! Opening reads the previous cache image once, as Go's `origImage` (default platform
//! `{os: <runtime OS>}`, no architecture): not there (404/401) → `NotFound`; manifest found but
//! config unreadable, diffIDs not matching the layers, or a layer blob missing (ggcr's fast
//! validation HEADs every layer) → `Corrupt`; other registry failures are errors ("accessing
//! cache image …"), as in Go.
//!
//! Pushing builds the new image as Go does (from scratch, OCI media types, `os` = runtime OS,
//! `architecture` = "", `created` and one history entry per layer at 1980-01-01T00:00:01Z,
//! the metadata label), uploads only new blobs the repository lacks, references reused layers
//! by the previous manifest's descriptors (no request at all for them), then config and
//! manifest. For the same label and layer blobs the bytes, and so the manifest digest, are
//! Go's (`testdata/cache/go-image/`).
//!
//! The trait is synchronous: its calls block on the runtime the backend was opened on. Call
//! them from a blocking thread (`spawn_blocking`, a plain thread) or a multi-thread runtime
//! worker, never from a current-thread runtime.

use super::METADATA_LABEL;
use super::error::CacheError;
use super::image::{
    BlobUpload, CacheImageBackend, CacheImageState, EMPTY_LAYER_DIFF_ID, EMPTY_LAYER_SIZE,
    PushLayer, PushRequest, empty_layer_tar,
};
use crate::digest::Digest;
use crate::image::config::DEFAULT_CREATED;
use crate::image::platform::go_os;
use crate::image::reference::Reference;
use crate::image::{BlobSource, Descriptor, History, Image, ImageStore, MediaType, Platform};
use crate::registry::{RemoteStore, registry_error};
use std::collections::BTreeMap;
use std::future::Future;
use std::io::{self, Read, Write};
use tokio::runtime::Handle;

/// Blob uploads of one push running at the same time.
const UPLOAD_CONCURRENCY: usize = 4;

pub struct RegistryCacheBackend {
    name: String,
    store: RemoteStore,
    handle: Handle,
    state: CacheImageState,
    /// Layer descriptors of the previous cache image by diffID.
    previous: BTreeMap<Digest, Descriptor>,
}

/// The platform Go opens cache images with: the runtime OS, no architecture.
pub fn cache_image_platform() -> Platform {
    Platform::new(go_os(std::env::consts::OS), "")
}

impl RegistryCacheBackend {
    /// Opens the cache image `name` (`-cache-image`, a tag or `repo@sha256:…`) and reads the
    /// previous image. Later calls block on the current runtime.
    pub async fn open(store: RemoteStore, name: &str) -> Result<RegistryCacheBackend, CacheError> {
        let (state, previous) = read_previous(&store, name).await?;
        Ok(RegistryCacheBackend {
            name: name.to_string(),
            store,
            handle: Handle::current(),
            state,
            previous,
        })
    }

    /// [`open`](Self::open) from synchronous code, on the runtime of `handle`.
    pub fn open_blocking(
        handle: Handle,
        store: RemoteStore,
        name: &str,
    ) -> Result<RegistryCacheBackend, CacheError> {
        let (state, previous) = block_on(&handle, read_previous(&store, name))?;
        Ok(RegistryCacheBackend {
            name: name.to_string(),
            store,
            handle,
            state,
            previous,
        })
    }

    pub fn store(&self) -> &RemoteStore {
        &self.store
    }

    /// Builds, uploads and tags the new cache image (see the module docs).
    pub async fn push_async(&self, request: &PushRequest) -> Result<Digest, CacheError> {
        let name = &self.name;
        let mut image = Image::new(&cache_image_platform(), MediaType::OCI_MANIFEST);
        let mut uploads: Vec<(BlobSource, Descriptor)> = Vec::new();
        for layer in &request.layers {
            let (desc, diff_id) = match layer {
                PushLayer::New(b) => {
                    let desc =
                        Descriptor::new(MediaType::new(b.media_type), b.digest.clone(), b.size);
                    // A blob streamed through `blob_upload` is in the repository already.
                    if let Some(path) = &b.path {
                        uploads.push((BlobSource::Path(path.clone()), desc.clone()));
                    }
                    (desc, b.diff_id.clone())
                }
                PushLayer::Reused { diff_id } => {
                    let desc = self
                        .previous
                        .get(diff_id)
                        .cloned()
                        .ok_or_else(|| CacheError::layer_not_found(diff_id))?;
                    (desc, diff_id.clone())
                }
                PushLayer::Empty => {
                    // Go (ggcr `static` layer) pushes the zeros uncompressed under the gzip type.
                    let d = digest(EMPTY_LAYER_DIFF_ID)?;
                    let desc =
                        Descriptor::new(MediaType::OCI_LAYER_GZIP, d.clone(), EMPTY_LAYER_SIZE);
                    uploads.push((BlobSource::Bytes(empty_layer_tar().into()), desc.clone()));
                    (desc, d)
                }
            };
            let history = History {
                created: Some(DEFAULT_CREATED.to_string()),
                ..History::default()
            };
            image.append_layer(desc, diff_id, history);
        }
        image.set_label(METADATA_LABEL, &request.label);
        image.set_created(DEFAULT_CREATED);
        let config_type = image.manifest().config.media_type.clone();
        let built = image
            .build()
            .map_err(|e| CacheError::Backend(format!("building cache image {name}: {e}")))?;
        uploads.push((
            BlobSource::Bytes(built.config.bytes().clone()),
            built.config.descriptor(config_type),
        ));
        crate::registry::for_each_concurrent(
            uploads,
            UPLOAD_CONCURRENCY,
            |(src, desc)| async move {
                self.store
                    .put_blob(name, src, Some(&desc))
                    .await
                    .map(|_| ())
                    .map_err(|e| CacheError::Backend(format!("uploading {}: {e}", desc.digest)))
            },
        )
        .await?;
        self.store
            .put_manifest(name, &built.manifest)
            .await
            .map_err(|e| CacheError::Backend(e.to_string()))?;
        Ok(built.manifest.digest().clone())
    }
}

type PutTask = tokio::task::JoinHandle<Result<(Digest, u64), crate::image::StoreError>>;

/// A cache layer blob on its way to the registry.
struct StreamedBlob {
    pipe: Option<crate::pipe::PipeWriter>,
    task: Option<PutTask>,
    handle: Handle,
    name: String,
}

impl Write for StreamedBlob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.pipe {
            Some(p) => p.write(buf),
            None => Err(io::Error::other("blob upload already finished")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.pipe.as_mut().map_or(Ok(()), |p| p.flush())
    }
}

impl BlobUpload for StreamedBlob {
    fn finish(mut self: Box<Self>, digest: &Digest, size: u64) -> Result<(), CacheError> {
        let (Some(pipe), Some(task)) = (self.pipe.take(), self.task.take()) else {
            return Err(CacheError::Backend("blob upload already finished".into()));
        };
        let name = self.name.clone();
        let fail = |e: &dyn std::fmt::Display| {
            CacheError::Backend(format!("uploading layer {digest} of {name}: {e}"))
        };
        let closed = pipe.close();
        let put = block_on(&self.handle, task).map_err(|e| fail(&e))?;
        closed.map_err(|e| fail(&e))?;
        let (got, got_size) = put.map_err(|e| fail(&e))?;
        if &got != digest || got_size != size {
            return Err(fail(&format!(
                "the registry stored {got} ({got_size} bytes) for {digest} ({size} bytes)"
            )));
        }
        Ok(())
    }
}

impl Drop for StreamedBlob {
    fn drop(&mut self) {
        // An unfinished upload is abandoned: the reader errors, the registry never commits it.
        if let Some(p) = self.pipe.take() {
            p.fail(io::Error::other("cache layer not finished"));
        }
    }
}

fn block_on<F: Future>(handle: &Handle, f: F) -> F::Output {
    tokio::task::block_in_place(|| handle.block_on(f))
}

fn digest(s: &str) -> Result<Digest, CacheError> {
    Digest::parse(s).map_err(|e| CacheError::Backend(format!("{s}: {e}")))
}

async fn read_previous(
    store: &RemoteStore,
    name: &str,
) -> Result<(CacheImageState, BTreeMap<Digest, Descriptor>), CacheError> {
    let accessing = |e: &dyn std::fmt::Display| {
        CacheError::Backend(format!("accessing cache image {name:?}: {e}"))
    };
    let platform = cache_image_platform();
    let Some(raw) = store
        .manifest(name, &platform)
        .await
        .map_err(|e| accessing(&e))?
    else {
        return Ok((CacheImageState::NotFound, BTreeMap::new()));
    };
    let corrupt = |why: String| {
        crate::debug!("Cache image {name:?} is not valid: {why}");
        Ok((CacheImageState::Corrupt, BTreeMap::new()))
    };
    let manifest = match raw.manifest() {
        Ok(m) => m,
        Err(e) => return corrupt(e.to_string()),
    };
    let config = match store
        .config(name, &manifest)
        .await
        .and_then(|c| Ok(c.parse()?))
    {
        Ok(c) => c,
        Err(e) => return corrupt(e.to_string()),
    };
    let diff_ids = config.rootfs.diff_ids.clone().unwrap_or_default();
    if diff_ids.len() != manifest.layers.len() {
        return corrupt(format!(
            "{} layers but {} diffIDs",
            manifest.layers.len(),
            diff_ids.len()
        ));
    }
    for layer in &manifest.layers {
        match store.blob_exists(name, &layer.digest).await {
            Ok(true) => {}
            Ok(false) => return corrupt(format!("layer {} does not exist", layer.digest)),
            Err(e) => return corrupt(e.to_string()),
        }
    }
    let previous = diff_ids
        .iter()
        .cloned()
        .zip(manifest.layers.iter().cloned())
        .collect();
    let label = config.config.labels.get(METADATA_LABEL).cloned();
    Ok((
        CacheImageState::Found {
            manifest_digest: raw.digest().clone(),
            label,
            diff_ids,
        },
        previous,
    ))
}

impl CacheImageBackend for RegistryCacheBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn state(&self) -> &CacheImageState {
        &self.state
    }

    /// Unknown diffID or a blob the registry no longer has → `ReadErr` "failed to find cache
    /// layer with SHA …"; other failures → "failed to get cache layer with SHA …: `<cause>`".
    fn blob_reader(&self, diff_id: &Digest) -> Result<Box<dyn Read + Send>, CacheError> {
        let desc = self
            .previous
            .get(diff_id)
            .ok_or_else(|| CacheError::layer_not_found(diff_id))?;
        match block_on(&self.handle, self.store.open_blob(&self.name, desc)) {
            Ok(r) => Ok(r),
            Err(e) if registry_error(&e).is_some_and(|r| r.is_not_found()) => {
                Err(CacheError::layer_not_found(diff_id))
            }
            Err(e) => Err(CacheError::Backend(format!(
                "failed to get cache layer with SHA '{diff_id}': {e}"
            ))),
        }
    }

    fn push(&self, request: &PushRequest) -> Result<Digest, CacheError> {
        block_on(&self.handle, self.push_async(request))
    }

    fn can_adopt_from(&self, from: &str) -> bool {
        match (Reference::parse(from), Reference::parse(&self.name)) {
            (Ok(f), Ok(t)) => f.registry() == t.registry(),
            _ => false,
        }
    }

    /// Mounts the blob from `from`'s repository (same registry only).
    fn adopt_blob(&self, from: &str, digest: &Digest, size: u64) -> Option<Result<(), CacheError>> {
        if !self.can_adopt_from(from) {
            return None;
        }
        let (f, t) = (
            Reference::parse(from).ok()?,
            Reference::parse(&self.name).ok()?,
        );
        let copied = block_on(
            &self.handle,
            self.store
                .client()
                .copy_blob(f.context(), t.context(), digest, Some(size)),
        );
        Some(match copied {
            Ok(_) => {
                self.store.note_blob(t.context(), digest);
                Ok(())
            }
            Err(e) => Err(CacheError::Backend(format!(
                "mounting {digest} from {from} into {}: {e}",
                self.name
            ))),
        })
    }

    /// Streams the blob to the cache image's repository while it is written: `POST`, one
    /// streamed `PATCH`, `PUT ?digest=` (the registry keeps it unreferenced until the manifest
    /// is pushed, and garbage-collects it if that never happens).
    fn blob_upload(&self) -> Option<Result<Box<dyn BlobUpload>, CacheError>> {
        let (w, r) = crate::pipe::pipe();
        let store = self.store.clone();
        let name = self.name.clone();
        let task = self.handle.spawn(async move {
            store
                .put_blob(&name, BlobSource::Reader(Box::new(r)), None)
                .await
        });
        Some(Ok(Box::new(StreamedBlob {
            pipe: Some(w),
            task: Some(task),
            handle: self.handle.clone(),
            name: self.name.clone(),
        })))
    }

    fn delete_manifest(&self, digest: &Digest) -> Result<(), CacheError> {
        let r = Reference::parse(&self.name)
            .map_err(|e| CacheError::Backend(format!("{}: {e}", self.name)))?;
        block_on(
            &self.handle,
            self.store.client().delete_manifest(r.context(), digest),
        )
        .map_err(|e| CacheError::Backend(e.to_string()))
    }
}
