//! An in-memory [`ImageStore`] for tests: blobs keyed by digest (shared by all names), image
//! names mapped to manifest digests. `name@sha256:…` resolves by digest.

use super::blob::VerifyingReader;
use super::descriptor::Descriptor;
use super::manifest::Manifest;
use super::platform::{Platform, select_manifest};
use super::raw::{ImageError, RawConfig, RawManifest};
use super::store::{BlobReader, BlobSource, ImageStore, StoreError};
use crate::digest::{Digest, HashingReader};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    blobs: BTreeMap<Digest, Bytes>,
    manifests: BTreeMap<Digest, RawManifest>,
    names: BTreeMap<String, Digest>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a blob; returns its digest.
    pub fn insert_blob(&self, data: impl Into<Bytes>) -> Digest {
        let data = data.into();
        let d = Digest::of(&data);
        self.lock().blobs.insert(d.clone(), data);
        d
    }

    pub fn blob(&self, digest: &Digest) -> Option<Bytes> {
        self.lock().blobs.get(digest).cloned()
    }

    /// Names an image `name` -> `manifest` (also stored as a blob).
    pub fn insert_manifest(&self, name: &str, manifest: RawManifest) {
        let mut inner = self.lock();
        inner
            .blobs
            .insert(manifest.digest().clone(), manifest.bytes().clone());
        inner
            .names
            .insert(name.to_string(), manifest.digest().clone());
        inner.manifests.insert(manifest.digest().clone(), manifest);
    }

    /// Names currently stored, sorted.
    pub fn names(&self) -> Vec<String> {
        self.lock().names.keys().cloned().collect()
    }

    fn lookup(&self, name: &str) -> Option<RawManifest> {
        let inner = self.lock();
        let digest = match name
            .rsplit_once('@')
            .and_then(|(_, d)| Digest::parse(d).ok())
        {
            Some(d) => d,
            None => inner.names.get(name)?.clone(),
        };
        inner.manifests.get(&digest).cloned()
    }

    fn need_blob(&self, digest: &Digest) -> Result<Bytes, StoreError> {
        self.blob(digest).ok_or_else(|| StoreError::NotFound {
            what: "blob",
            name: digest.to_string(),
        })
    }
}

/// `repo@digest` for a name with an optional `:tag` / `@digest`.
fn repository_of(name: &str) -> &str {
    let name = name.split('@').next().unwrap_or(name);
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => name,
    }
}

impl ImageStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn manifest(
        &self,
        name: &str,
        platform: &Platform,
    ) -> Result<Option<RawManifest>, StoreError> {
        let Some(mut raw) = self.lookup(name) else {
            return Ok(None);
        };
        for _ in 0..8 {
            if !raw.is_index() {
                return Ok(Some(raw));
            }
            let index = raw.index()?;
            let child = select_manifest(&index, platform).ok_or_else(|| {
                ImageError::NoMatchingPlatform {
                    index: raw.digest().clone(),
                    platform: platform.to_string(),
                }
            })?;
            let bytes = self.need_blob(&child.digest)?;
            raw = RawManifest::verified(bytes, Some(child.media_type.clone()), &child.digest)?;
        }
        Err(ImageError::TooDeep(8).into())
    }

    async fn config(&self, _name: &str, manifest: &Manifest) -> Result<RawConfig, StoreError> {
        let bytes = self.need_blob(&manifest.config.digest)?;
        Ok(RawConfig::verified(bytes, &manifest.config.digest)?)
    }

    async fn blob_exists(&self, _name: &str, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self.lock().blobs.contains_key(digest))
    }

    async fn open_blob(&self, _name: &str, desc: &Descriptor) -> Result<BlobReader, StoreError> {
        let bytes = self.need_blob(&desc.digest)?;
        Ok(Box::new(VerifyingReader::new(
            io::Cursor::new(bytes),
            desc.digest.clone(),
            Some(desc.size),
        )))
    }

    async fn put_blob(
        &self,
        name: &str,
        source: BlobSource,
        expected: Option<&Descriptor>,
    ) -> Result<(Digest, u64), StoreError> {
        let io_err = |source| StoreError::Io {
            context: format!("reading blob for {name}"),
            source,
        };
        let mut r = HashingReader::new(source.open().map_err(io_err)?);
        let mut data = Vec::new();
        r.read_to_end(&mut data).map_err(io_err)?;
        let (_, digest, size) = r.finish();
        if let Some(d) = expected
            && (d.digest != digest || d.size != size)
        {
            return Err(ImageError::DigestMismatch {
                what: format!("blob for {name}"),
                expected: d.digest.clone(),
                actual: digest,
            }
            .into());
        }
        self.lock().blobs.insert(digest.clone(), data.into());
        Ok((digest, size))
    }

    async fn put_manifest(&self, name: &str, manifest: &RawManifest) -> Result<(), StoreError> {
        self.insert_manifest(name, manifest.clone());
        Ok(())
    }

    fn identifier(&self, name: &str, digest: &Digest) -> Result<String, StoreError> {
        Ok(format!("{}@{digest}", repository_of(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        assert_eq!(repository_of("localhost:5000/app:v1"), "localhost:5000/app");
        assert_eq!(repository_of("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(repository_of("app@sha256:00"), "app");
    }
}
