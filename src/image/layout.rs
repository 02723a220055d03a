//! OCI image layout directories (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) and the
//! layout-backed [`ImageStore`](super::store::ImageStore).
//!
//! Files are written in the Go lifecycle's byte format: `oci-layout` as ggcr writes it and
//! `index.json` as `json.MarshalIndent(index, "", "   ")`. Blob writes are atomic: a temp file in
//! `blobs/sha256/`, hashed while copying, verified, then renamed; nothing partial is left behind.

use super::blob::{TempFile, VerifyingReader, copy_to_temp, write_atomic};
use super::descriptor::{ANNOTATION_REF_NAME, Descriptor};
use super::index::Index;
use super::json::to_go_json_indent;
use super::platform::{Platform, select_manifest};
use super::raw::{ImageError, RawConfig, RawManifest};
use crate::digest::Digest;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub use super::layout_path::{identifier, parse_identifier, ref_to_path, resolve_in};
pub use super::store::LayoutStore;

/// `oci-layout` exactly as go-containerregistry writes it.
pub const OCI_LAYOUT_FILE: &[u8] = b"{\n    \"imageLayoutVersion\": \"1.0.0\"\n}";
const MAX_INDEX_DEPTH: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{action} '{}': {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("'{}' is not an OCI image layout: {reason}", path.display())]
    NotALayout { path: PathBuf, reason: String },
    #[error("failed to parse '{}': {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("blob {digest} in '{}': expected {expected}, got {actual}", root.display())]
    Mismatch {
        root: PathBuf,
        digest: Digest,
        expected: String,
        actual: String,
    },
    #[error("blob {digest} not found in layout '{}'", root.display())]
    BlobNotFound { root: PathBuf, digest: Digest },
    #[error("no image named '{name}' in layout '{}'", root.display())]
    NoSuchImage { root: PathBuf, name: String },
    #[error("{0}")]
    BadReference(String),
    #[error("{0}")]
    BadIdentifier(String),
    #[error("layout '{}': {source}", root.display())]
    Image { root: PathBuf, source: ImageError },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> LayoutError + 'a {
    move |source| LayoutError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// One OCI image layout directory.
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Whether `root` holds an image (has `index.json`), imgutil's test for "image exists".
    pub fn exists(root: &Path) -> bool {
        root.join("index.json").is_file()
    }

    /// Opens an existing layout: `oci-layout` must exist and name version 1.x.
    pub fn open(root: impl Into<PathBuf>) -> Result<Layout, LayoutError> {
        let root = root.into();
        let path = root.join("oci-layout");
        let bytes = fs::read(&path).map_err(|e| LayoutError::NotALayout {
            path: root.clone(),
            reason: format!("reading oci-layout: {e}"),
        })?;
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|source| LayoutError::Json {
                path: path.clone(),
                source,
            })?;
        match v.get("imageLayoutVersion").and_then(|v| v.as_str()) {
            Some(ver) if ver.starts_with("1.") => Ok(Layout { root }),
            other => Err(LayoutError::NotALayout {
                path: root,
                reason: format!("unsupported imageLayoutVersion {other:?}"),
            }),
        }
    }

    /// Creates (or reuses) a layout at `root`: writes `oci-layout`, and an empty `index.json`
    /// when there is none.
    pub fn create(root: impl Into<PathBuf>) -> Result<Layout, LayoutError> {
        let root = root.into();
        let blobs = root.join("blobs").join("sha256");
        fs::create_dir_all(&blobs).map_err(io_err("creating", &blobs))?;
        let oci = root.join("oci-layout");
        write_atomic(&oci, OCI_LAYOUT_FILE).map_err(io_err("writing", &oci))?;
        let layout = Layout { root };
        if !Layout::exists(&layout.root) {
            layout.write_index(&Index::empty_oci())?;
        }
        Ok(layout)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>@<digest>`: the lifecycle's identifier for the image with manifest `digest`.
    pub fn identifier(&self, digest: &Digest) -> String {
        identifier(&self.root, digest)
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    fn blob_dir(&self) -> Result<PathBuf, LayoutError> {
        let dir = self.root.join("blobs").join("sha256");
        fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        Ok(dir)
    }

    /// Streams a blob in, hashing while copying; returns its digest and size.
    pub fn write_blob<R: Read>(&self, mut src: R) -> Result<(Digest, u64), LayoutError> {
        let dir = self.blob_dir()?;
        let (tmp, digest, size) =
            copy_to_temp(&dir, &mut src).map_err(io_err("writing blob into", &dir))?;
        self.persist(tmp, &digest)?;
        Ok((digest, size))
    }

    /// Streams a blob whose digest (and optionally size) is known; fails, leaving nothing
    /// behind, when the content does not match. An existing blob is kept without reading `src`.
    pub fn write_blob_verified<R: Read>(
        &self,
        mut src: R,
        expected: &Digest,
        size: Option<u64>,
    ) -> Result<u64, LayoutError> {
        let path = self.blob_path(expected);
        if let Ok(meta) = fs::metadata(&path)
            && meta.is_file()
            && size.is_none_or(|s| s == meta.len())
        {
            return Ok(meta.len());
        }
        let dir = self.blob_dir()?;
        let (tmp, digest, n) =
            copy_to_temp(&dir, &mut src).map_err(io_err("writing blob into", &dir))?;
        if digest != *expected {
            return Err(self.mismatch(expected, expected.as_str(), digest.as_str()));
        }
        if let Some(s) = size
            && s != n
        {
            return Err(self.mismatch(expected, &format!("size {s}"), &format!("size {n}")));
        }
        self.persist(tmp, &digest)?;
        Ok(n)
    }

    /// Writes a small blob from memory.
    pub fn write_blob_bytes(&self, data: &[u8]) -> Result<Digest, LayoutError> {
        let digest = Digest::of(data);
        self.write_blob_verified(data, &digest, Some(data.len() as u64))?;
        Ok(digest)
    }

    fn persist(&self, tmp: TempFile, digest: &Digest) -> Result<(), LayoutError> {
        let dest = self.blob_path(digest);
        if dest.is_file() {
            return Ok(()); // same content already there; `tmp` is removed on drop
        }
        tmp.persist(&dest)
            .map_err(io_err("renaming blob to", &dest))
    }

    fn mismatch(&self, digest: &Digest, expected: &str, actual: &str) -> LayoutError {
        LayoutError::Mismatch {
            root: self.root.clone(),
            digest: digest.clone(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// Opens a blob; the reader fails at EOF if the content does not hash to `digest`.
    pub fn open_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<VerifyingReader<File>, LayoutError> {
        let path = self.blob_path(digest);
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => LayoutError::BlobNotFound {
                root: self.root.clone(),
                digest: digest.clone(),
            },
            _ => LayoutError::Io {
                action: "opening",
                path: path.clone(),
                source: e,
            },
        })?;
        Ok(VerifyingReader::new(file, digest.clone(), size))
    }

    /// Reads a whole (small) blob, verified.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, LayoutError> {
        let mut out = Vec::new();
        self.open_blob(digest, None)?
            .read_to_end(&mut out)
            .map_err(|e| match e.kind() {
                io::ErrorKind::InvalidData => {
                    self.mismatch(digest, digest.as_str(), &e.to_string())
                }
                _ => LayoutError::Io {
                    action: "reading",
                    path: self.blob_path(digest),
                    source: e,
                },
            })?;
        Ok(out)
    }

    /// `index.json`.
    pub fn read_index(&self) -> Result<Index, LayoutError> {
        let path = self.root.join("index.json");
        let bytes = fs::read(&path).map_err(io_err("reading", &path))?;
        serde_json::from_slice(&bytes).map_err(|source| LayoutError::Json { path, source })
    }

    /// Replaces `index.json` atomically, formatted like ggcr's layout writes.
    pub fn write_index(&self, index: &Index) -> Result<(), LayoutError> {
        let path = self.root.join("index.json");
        let bytes = to_go_json_indent(index, "   ").map_err(|source| LayoutError::Json {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &bytes).map_err(io_err("writing", &path))
    }

    /// Reads the manifest or index `desc` points at (digest verified).
    pub fn read_manifest(&self, desc: &Descriptor) -> Result<RawManifest, LayoutError> {
        let bytes = self.read_blob(&desc.digest)?;
        RawManifest::verified(bytes, Some(desc.media_type.clone()), &desc.digest)
            .map_err(|e| self.image_err(e))
    }

    /// Reads the config blob `desc` points at (digest verified).
    pub fn read_config(&self, desc: &Descriptor) -> Result<RawConfig, LayoutError> {
        let bytes = self.read_blob(&desc.digest)?;
        RawConfig::verified(bytes, &desc.digest).map_err(|e| self.image_err(e))
    }

    fn image_err(&self, source: ImageError) -> LayoutError {
        LayoutError::Image {
            root: self.root.clone(),
            source,
        }
    }

    /// The image manifest for `ref_name` (its `org.opencontainers.image.ref.name`; `None` =
    /// any entry) and `platform`. A single candidate entry is taken as is; among several, the
    /// first whose platform matches. Indexes are descended by platform. `Ok(None)` when there
    /// is no `index.json` or no entry with that name.
    pub fn image_manifest(
        &self,
        ref_name: Option<&str>,
        platform: &Platform,
    ) -> Result<Option<RawManifest>, LayoutError> {
        if !Layout::exists(&self.root) {
            return Ok(None);
        }
        let index = self.read_index()?;
        let mut candidates = index.clone();
        candidates
            .manifests
            .retain(|d| ref_name.is_none_or(|n| d.ref_name() == Some(n)));
        let desc = match candidates.manifests.as_slice() {
            [] => return Ok(None),
            [only] => only.clone(),
            _ => match select_manifest(&candidates, platform) {
                Some(d) => d.clone(),
                None => {
                    let index_digest =
                        Digest::of(&fs::read(self.root.join("index.json")).unwrap_or_default());
                    return Err(self.image_err(ImageError::NoMatchingPlatform {
                        index: index_digest,
                        platform: platform.to_string(),
                    }));
                }
            },
        };
        let raw = self.read_manifest(&desc)?;
        self.resolve_platform(raw, platform).map(Some)
    }

    /// The manifest with digest `digest` stored in this layout (index.json not consulted), an
    /// index resolved for `platform`. `Ok(None)` when there is no such blob.
    pub fn manifest_by_digest(
        &self,
        digest: &Digest,
        platform: &Platform,
    ) -> Result<Option<RawManifest>, LayoutError> {
        if !self.has_blob(digest) {
            return Ok(None);
        }
        let raw = RawManifest::verified(self.read_blob(digest)?, None, digest)
            .map_err(|e| self.image_err(e))?;
        self.resolve_platform(raw, platform).map(Some)
    }

    /// Descends indexes for `platform` until an image manifest.
    fn resolve_platform(
        &self,
        mut raw: RawManifest,
        platform: &Platform,
    ) -> Result<RawManifest, LayoutError> {
        for _ in 0..MAX_INDEX_DEPTH {
            if !raw.is_index() {
                return Ok(raw);
            }
            let child_index = raw.index().map_err(|e| self.image_err(e))?;
            let child = select_manifest(&child_index, platform).ok_or_else(|| {
                self.image_err(ImageError::NoMatchingPlatform {
                    index: raw.digest().clone(),
                    platform: platform.to_string(),
                })
            })?;
            raw = self.read_manifest(child)?;
        }
        Err(self.image_err(ImageError::TooDeep(MAX_INDEX_DEPTH)))
    }

    /// Writes the manifest blob and makes it the only entry of `index.json` (what imgutil's
    /// layout save does), annotated with `ref_name` when given.
    pub fn set_image(
        &self,
        manifest: &RawManifest,
        ref_name: Option<&str>,
    ) -> Result<(), LayoutError> {
        self.write_blob_bytes(manifest.bytes())?;
        let mut index = Index::empty_oci();
        index.manifests.push(index_entry(manifest, ref_name));
        self.write_index(&index)
    }

    /// Writes the manifest blob and adds it to `index.json`, replacing an entry with the same
    /// `ref_name` (skopeo/umoci behaviour for tags).
    pub fn add_image(
        &self,
        manifest: &RawManifest,
        ref_name: Option<&str>,
    ) -> Result<(), LayoutError> {
        self.write_blob_bytes(manifest.bytes())?;
        let mut index = if Layout::exists(&self.root) {
            self.read_index()?
        } else {
            Index::empty_oci()
        };
        if let Some(name) = ref_name {
            index.manifests.retain(|d| d.ref_name() != Some(name));
        }
        index.manifests.push(index_entry(manifest, ref_name));
        self.write_index(&index)
    }
}

fn index_entry(manifest: &RawManifest, ref_name: Option<&str>) -> Descriptor {
    let mut desc = manifest.descriptor();
    if let Some(name) = ref_name.filter(|n| !n.is_empty()) {
        desc.annotations
            .insert(ANNOTATION_REF_NAME.to_string(), name.to_string());
    }
    desc
}
