//! The image-store abstraction phases use to read and write images, whatever holds them:
//! a registry ("remote"), an OCI layout directory ("layout") or memory (tests).
//!
//! [`ImageStore`] is an async trait used generically (`fn f<S: ImageStore>(s: &S)`), so the
//! registry-backed store (async, on tokio) plugs in beside [`LayoutStore`] and
//! [`MemoryStore`](super::memory::MemoryStore). Names are what the store understands: an image
//! reference for remote, a reference mapped into `-layout-dir` or a `<path>@sha256:…`
//! identifier for layout, any string for memory.
//!
//! A remote implementation must provide, per method: `manifest` = GET manifest by tag/digest
//! with OCI+Docker Accept types, descend an index with [`select_manifest`](super::platform::select_manifest),
//! `Ok(None)` on 404 (and 401, like the Go lifecycle); `config` = GET config blob, verified;
//! `blob_exists` = HEAD blob; `open_blob` = GET blob as a sync reader verified at EOF (bridge
//! the async body; callers read it from blocking code such as `spawn_blocking`);
//! `put_blob` = HEAD then (mount or) POST/PATCH/PUT upload, retrying from a `Path`/`Bytes`
//! source; `put_manifest` = PUT manifest to the name's tag/digest; `identifier` =
//! `<repository>@<digest>`. Blobs are per repository there, hence the `name` on blob calls.

use super::blob::VerifyingReader;
use super::descriptor::Descriptor;
use super::layout::{Layout, LayoutError};
use super::layout_path::{identifier, parse_identifier, resolve_in};
use super::manifest::Manifest;
use super::platform::Platform;
use super::raw::{ImageError, RawConfig, RawManifest};
use crate::digest::Digest;
use bytes::Bytes;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// A blob being read. Readers from stores verify the digest at EOF.
pub type BlobReader = Box<dyn Read + Send>;

/// Where a blob to store comes from. `Path` and `Bytes` can be re-read (uploads can retry).
pub enum BlobSource {
    Path(PathBuf),
    Bytes(Bytes),
    Reader(BlobReader),
}

impl BlobSource {
    pub fn open(self) -> io::Result<BlobReader> {
        Ok(match self {
            BlobSource::Path(p) => Box::new(File::open(p)?),
            BlobSource::Bytes(b) => Box::new(io::Cursor::new(b)),
            BlobSource::Reader(r) => r,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{what} {name} not found")]
    NotFound { what: &'static str, name: String },
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    /// Errors of other implementations (e.g. the registry client).
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

pub trait ImageStore: Send + Sync {
    /// "remote", "layout" or "memory".
    fn kind(&self) -> &'static str;

    /// The image manifest `name` points at; indexes are resolved for `platform`.
    /// `Ok(None)` when the image does not exist.
    fn manifest(
        &self,
        name: &str,
        platform: &Platform,
    ) -> impl Future<Output = Result<Option<RawManifest>, StoreError>> + Send;

    /// The config blob of `manifest` (an image of `name`), digest verified.
    fn config(
        &self,
        name: &str,
        manifest: &Manifest,
    ) -> impl Future<Output = Result<RawConfig, StoreError>> + Send;

    fn blob_exists(
        &self,
        name: &str,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A reader over the blob `desc`, failing at EOF unless digest and size match.
    fn open_blob(
        &self,
        name: &str,
        desc: &Descriptor,
    ) -> impl Future<Output = Result<BlobReader, StoreError>> + Send;

    /// Stores a blob next to the image `name`; with `expected`, fails (storing nothing) unless
    /// the content matches it. Returns digest and size.
    fn put_blob(
        &self,
        name: &str,
        source: BlobSource,
        expected: Option<&Descriptor>,
    ) -> impl Future<Output = Result<(Digest, u64), StoreError>> + Send;

    /// Stores `manifest` as the image `name` (its blobs must already be stored for `name`).
    fn put_manifest(
        &self,
        name: &str,
        manifest: &RawManifest,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// How the lifecycle names the stored image `name` with manifest `digest`
    /// (`repo@sha256:…`, `<path>@sha256:…`).
    fn identifier(&self, name: &str, digest: &Digest) -> Result<String, StoreError>;
}

/// Reads manifest and config of `name` together. `Ok(None)` when the image does not exist.
pub async fn read_image<S: ImageStore>(
    store: &S,
    name: &str,
    platform: &Platform,
) -> Result<Option<(RawManifest, Manifest, RawConfig)>, StoreError> {
    let Some(raw) = store.manifest(name, platform).await? else {
        return Ok(None);
    };
    let manifest = raw.manifest()?;
    let config = store.config(name, &manifest).await?;
    Ok(Some((raw, manifest, config)))
}

/// Makes the blob `desc` of image `from_name` in `from` available to image `to_name` in `to`:
/// nothing when already there, else streamed across (verified on both ends). Returns whether
/// bytes were copied.
pub async fn copy_blob<A: ImageStore, B: ImageStore>(
    from: &A,
    from_name: &str,
    to: &B,
    to_name: &str,
    desc: &Descriptor,
) -> Result<bool, StoreError> {
    if to.blob_exists(to_name, &desc.digest).await? {
        return Ok(false);
    }
    let reader = from.open_blob(from_name, desc).await?;
    to.put_blob(to_name, BlobSource::Reader(reader), Some(desc))
        .await?;
    Ok(true)
}

/// Images as OCI layouts under the lifecycle's `-layout-dir`.
#[derive(Clone, Debug)]
pub struct LayoutStore {
    layout_dir: PathBuf,
}

impl LayoutStore {
    pub fn new(layout_dir: impl Into<PathBuf>) -> LayoutStore {
        LayoutStore {
            layout_dir: layout_dir.into(),
        }
    }

    pub fn layout_dir(&self) -> &Path {
        &self.layout_dir
    }

    /// The layout directory of `name`: a `<path>@sha256:…` identifier's path, a path already
    /// inside the layout dir, or the Go mapping of an image reference.
    pub fn path_for(&self, name: &str) -> Result<PathBuf, LayoutError> {
        if let Ok((path, _)) = parse_identifier(name)
            && (path.is_absolute() || name.starts_with(&*self.layout_dir.to_string_lossy()))
        {
            return Ok(path);
        }
        resolve_in(&self.layout_dir, name)
    }

    fn existing(&self, name: &str) -> Result<Option<Layout>, LayoutError> {
        let path = self.path_for(name)?;
        if !Layout::exists(&path) {
            return Ok(None);
        }
        Layout::open(path).map(Some)
    }

    fn layout_for_write(&self, name: &str) -> Result<Layout, LayoutError> {
        let path = self.path_for(name)?;
        if Layout::exists(&path) {
            Layout::open(path)
        } else {
            Layout::create(path)
        }
    }

    fn require(&self, name: &str) -> Result<Layout, StoreError> {
        self.existing(name)?.ok_or_else(|| StoreError::NotFound {
            what: "layout image",
            name: name.to_string(),
        })
    }
}

impl ImageStore for LayoutStore {
    fn kind(&self) -> &'static str {
        "layout"
    }

    /// For a `<path>@sha256:…` identifier the manifest with that digest when the layout holds
    /// it, else (like imgutil, which ignores the digest) the layout's `index.json` entry.
    async fn manifest(
        &self,
        name: &str,
        platform: &Platform,
    ) -> Result<Option<RawManifest>, StoreError> {
        let Some(layout) = self.existing(name)? else {
            return Ok(None);
        };
        if let Ok((_, digest)) = parse_identifier(name)
            && let Some(raw) = layout.manifest_by_digest(&digest, platform)?
        {
            return Ok(Some(raw));
        }
        Ok(layout.image_manifest(None, platform)?)
    }

    async fn config(&self, name: &str, manifest: &Manifest) -> Result<RawConfig, StoreError> {
        Ok(self.require(name)?.read_config(&manifest.config)?)
    }

    async fn blob_exists(&self, name: &str, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self.existing(name)?.is_some_and(|l| l.has_blob(digest)))
    }

    async fn open_blob(&self, name: &str, desc: &Descriptor) -> Result<BlobReader, StoreError> {
        let reader: VerifyingReader<File> = self
            .require(name)?
            .open_blob(&desc.digest, Some(desc.size))?;
        Ok(Box::new(reader))
    }

    async fn put_blob(
        &self,
        name: &str,
        source: BlobSource,
        expected: Option<&Descriptor>,
    ) -> Result<(Digest, u64), StoreError> {
        let layout = self.layout_for_write(name)?;
        if let Some(d) = expected
            && layout.has_blob(&d.digest)
        {
            return Ok((d.digest.clone(), d.size));
        }
        let reader = source.open().map_err(|source| StoreError::Io {
            context: format!("opening blob for {name}"),
            source,
        })?;
        Ok(match expected {
            Some(d) => (
                d.digest.clone(),
                layout.write_blob_verified(reader, &d.digest, Some(d.size))?,
            ),
            None => layout.write_blob(reader)?,
        })
    }

    async fn put_manifest(&self, name: &str, manifest: &RawManifest) -> Result<(), StoreError> {
        let layout = self.layout_for_write(name)?;
        // imgutil copies the manifest's ref-name annotation into index.json.
        let ref_name = if manifest.is_index() {
            None
        } else {
            manifest
                .manifest()?
                .annotations
                .get(super::ANNOTATION_REF_NAME)
                .cloned()
        };
        layout.set_image(manifest, ref_name.as_deref())?;
        Ok(())
    }

    fn identifier(&self, name: &str, digest: &Digest) -> Result<String, StoreError> {
        Ok(identifier(&self.path_for(name)?, digest))
    }
}
