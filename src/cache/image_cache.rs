//! [`ImageCache`]: the cache image as a [`Cache`], over any [`CacheImageBackend`]. Added layers
//! are compressed once, while their diffID and blob digest are computed in the same pass,
//! straight into the backend's upload when it streams blobs ([`CacheImageBackend::blob_upload`],
//! the registry), else into a spool directory; `commit` hands the backend the finished plan.

use super::compression::{CacheCompression, LayerEncoder, decompressing_reader};
use super::error::{CacheError, op_path};
use super::image::{
    BlobUpload, CacheImageBackend, CacheImagePlan, CacheImageState, PlannedLayer, PushLayer,
    PushRequest, SpooledBlob,
};
use super::{Cache, LayerWriter};
use crate::digest::{Digest, HashingWriter};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

struct Inner {
    plan: CacheImagePlan,
    blobs: BTreeMap<Digest, SpooledBlob>,
    label: Option<String>,
    committed: bool,
}

pub struct ImageCache<B: CacheImageBackend> {
    backend: B,
    compression: CacheCompression,
    spool: PathBuf,
    delete_previous: bool,
    /// See [`Cache::set_alone`].
    alone: AtomicBool,
    inner: Arc<Mutex<Inner>>,
}

impl<B: CacheImageBackend> ImageCache<B> {
    /// `spool_parent`: a writable directory for compressed layer blobs until commit, when the
    /// backend does not stream them (a unique subdirectory is created on first use and removed
    /// on drop). `delete_previous`: Platform API < 0.13,
    /// delete the previous cache manifest after pushing a different one.
    pub fn new(
        backend: B,
        compression: CacheCompression,
        spool_parent: &Path,
        delete_previous: bool,
    ) -> Result<ImageCache<B>, CacheError> {
        // Created on first use: a backend that streams blobs never needs it.
        let spool = spool_parent.join(format!("cnb-cache-spool-{:016x}", rand::random::<u64>()));
        let previous = match backend.state() {
            CacheImageState::Found { diff_ids, .. } => diff_ids.clone(),
            _ => Vec::new(),
        };
        let inner = Inner {
            plan: CacheImagePlan::new(previous),
            blobs: BTreeMap::new(),
            label: None,
            committed: false,
        };
        Ok(ImageCache {
            backend,
            compression,
            spool,
            delete_previous,
            alone: AtomicBool::new(false),
            inner: Arc::new(Mutex::new(inner)),
        })
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    fn lock_open(&self) -> Result<MutexGuard<'_, Inner>, CacheError> {
        let g = lock(&self.inner);
        if g.committed {
            Err(CacheError::Committed)
        } else {
            Ok(g)
        }
    }
}

/// A layer writer's chain: diffID hash → compressor → digest hash → `S` (spool or upload),
/// until it is taken to be finished; `what` names the writer in errors after that.
struct Chain<S: Write> {
    out: Option<HashingWriter<LayerEncoder<HashingWriter<S>>>>,
    what: &'static str,
}

impl<S: Write> Chain<S> {
    fn new(enc: LayerEncoder<HashingWriter<S>>, what: &'static str) -> Chain<S> {
        Chain {
            out: Some(HashingWriter::new(enc)),
            what,
        }
    }

    /// The chain, to finish it (once).
    fn take(&mut self) -> Result<HashingWriter<LayerEncoder<HashingWriter<S>>>, CacheError> {
        self.out
            .take()
            .ok_or_else(|| CacheError::Backend(format!("{} already finished", self.what)))
    }
}

impl<S: Write> Write for Chain<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out
            .as_mut()
            .ok_or_else(|| io::Error::other(format!("{} finished", self.what)))?
            .write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().map_or(Ok(()), |o| o.flush())
    }
}

/// Puts a finished new layer into the plan (a no-op when its diffID is there already).
fn add_blob(g: &mut Inner, blob: SpooledBlob) -> Result<(), CacheError> {
    if g.plan.contains(&blob.diff_id) {
        return Ok(());
    }
    g.plan.add(blob.diff_id.clone());
    g.blobs.insert(blob.diff_id.clone(), blob);
    Ok(())
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<B: CacheImageBackend> Drop for ImageCache<B> {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.spool);
    }
}

impl<B: CacheImageBackend> Cache for ImageCache<B> {
    fn exists(&self) -> bool {
        !matches!(self.backend.state(), CacheImageState::NotFound)
    }

    fn name(&self) -> &str {
        self.backend.name()
    }

    fn metadata_bytes(&self) -> Result<Option<Vec<u8>>, CacheError> {
        if matches!(self.backend.state(), CacheImageState::Corrupt) {
            crate::info!(
                "Ignoring cache image {:?} because it was corrupt",
                self.backend.name()
            );
        }
        self.peek_metadata()
    }

    fn peek_metadata(&self) -> Result<Option<Vec<u8>>, CacheError> {
        match self.backend.state() {
            CacheImageState::NotFound | CacheImageState::Corrupt => Ok(None),
            CacheImageState::Found { label, .. } => Ok(label.as_deref().and_then(|l| {
                match serde_json::from_str::<serde_json::Value>(l) {
                    Ok(serde_json::Value::Object(_)) => Some(l.as_bytes().to_vec()),
                    _ => None,
                }
            })),
        }
    }

    fn set_metadata(&self, json: &[u8]) -> Result<(), CacheError> {
        let mut g = self.lock_open()?;
        let s = std::str::from_utf8(json)
            .map_err(|e| CacheError::Backend(format!("serializing metadata: {e}")))?;
        g.label = Some(s.trim_end_matches('\n').to_string());
        Ok(())
    }

    fn add_layer(&self, diff_id: &Digest, tar: &mut dyn Read) -> Result<(), CacheError> {
        if self.lock_open()?.plan.contains(diff_id) {
            return Ok(());
        }
        let mut w = self.layer_writer()?;
        io::copy(tar, &mut w)
            .map_err(|e| CacheError::io(format!("caching layer ({diff_id})"), e))?;
        w.finish(diff_id)
    }

    fn layer_writer(&self) -> Result<Box<dyn LayerWriter>, CacheError> {
        drop(self.lock_open()?);
        let alone = self.alone.load(Ordering::Relaxed);
        if let Some(upload) = self.backend.blob_upload() {
            return Ok(Box::new(UploadWriter::create(
                upload?,
                self.compression,
                alone,
                Arc::clone(&self.inner),
            )?));
        }
        Ok(Box::new(SpoolWriter::create(
            &self.spool,
            self.compression,
            alone,
            Arc::clone(&self.inner),
        )?))
    }

    /// Only when the cache's own compression is gzip (the blob must be what `add_layer` would
    /// have made of the same tar, up to gzip framing) and the backend can mount from `image`.
    fn can_add_blob_from(&self, image: &str) -> bool {
        self.compression == CacheCompression::Gzip && self.backend.can_adopt_from(image)
    }

    fn add_layer_blob(&self, diff_id: &Digest, blob: &super::GzipBlob) -> Result<bool, CacheError> {
        if !self.can_add_blob_from(&blob.image) {
            return Ok(false);
        }
        if self.lock_open()?.plan.contains(diff_id) {
            return Ok(true);
        }
        match self
            .backend
            .adopt_blob(&blob.image, &blob.digest, blob.size)
        {
            None => return Ok(false),
            Some(r) => r?,
        }
        add_blob(
            &mut *self.lock_open()?,
            SpooledBlob {
                diff_id: diff_id.clone(),
                digest: blob.digest.clone(),
                size: blob.size,
                media_type: self.compression.media_type(),
                path: None,
            },
        )?;
        Ok(true)
    }

    fn reuse_layer(&self, diff_id: &Digest) -> Result<(), CacheError> {
        self.lock_open()?.plan.reuse(diff_id).map(|_| ())
    }

    fn set_alone(&self, alone: bool) {
        self.alone.store(alone, Ordering::Relaxed);
    }

    fn order_layers(&self, diff_ids: &[Digest]) -> Result<(), CacheError> {
        self.lock_open()?.plan.order(diff_ids);
        Ok(())
    }

    fn retrieve_layer(&self, diff_id: &Digest) -> Result<Box<dyn Read + Send>, CacheError> {
        let blob = self.backend.blob_reader(diff_id)?;
        decompressing_reader(blob).map_err(|e| {
            CacheError::from_layer_io(
                e,
                diff_id,
                format!("failed to get cache layer with SHA '{diff_id}'"),
            )
        })
    }

    /// No-op, as in Go: the registry client verifies blob digests.
    fn verify_layer(&self, _diff_id: &Digest) -> Result<(), CacheError> {
        Ok(())
    }

    /// Pushes the new cache image. As in Go, a failed push leaves the cache open (commit may
    /// be retried); only a successful one makes further changes fail with `Committed`. The
    /// cache stays locked during the push.
    fn commit(&self) -> Result<(), CacheError> {
        let mut g = self.lock_open()?;
        let (planned, _dropped) = g.plan.clone().finish();
        let mut layers = Vec::with_capacity(planned.len());
        for p in planned {
            layers.push(match p {
                PlannedLayer::New(d) => match g.blobs.get(&d) {
                    Some(b) => PushLayer::New(b.clone()),
                    None => {
                        return Err(CacheError::Backend(format!(
                            "layer {d} was planned but not spooled"
                        )));
                    }
                },
                PlannedLayer::Reused(d) => PushLayer::Reused { diff_id: d },
                PlannedLayer::Empty => PushLayer::Empty,
            });
        }
        let request = PushRequest {
            layers,
            label: g.label.clone().unwrap_or_else(|| "{}".to_string()),
        };
        let new_digest = self.backend.push(&request).map_err(|e| {
            CacheError::Backend(format!("saving image '{}': {e}", self.backend.name()))
        })?;
        g.committed = true;
        drop(g);
        if self.delete_previous
            && let CacheImageState::Found {
                manifest_digest, ..
            } = self.backend.state()
            && *manifest_digest != new_digest
            && let Err(e) = self.backend.delete_manifest(manifest_digest)
        {
            crate::warn!("Unable to delete cache image: {e}");
        }
        Ok(())
    }
}

/// Compresses into the spool while hashing both sides; registers the blob on `finish`.
struct SpoolWriter {
    out: Chain<BufWriter<File>>,
    tmp: PathBuf,
    dir: PathBuf,
    media_type: &'static str,
    inner: Arc<Mutex<Inner>>,
}

impl SpoolWriter {
    fn create(
        dir: &Path,
        c: CacheCompression,
        alone: bool,
        inner: Arc<Mutex<Inner>>,
    ) -> Result<SpoolWriter, CacheError> {
        fs::create_dir_all(dir).map_err(|e| CacheError::io(op_path("mkdir", dir), e))?;
        let tmp = dir.join(format!(".partial-{:016x}", rand::random::<u64>()));
        let f = File::create_new(&tmp).map_err(|e| CacheError::io(op_path("open", &tmp), e))?;
        let enc = c
            .encoder_on(
                HashingWriter::new(BufWriter::with_capacity(256 * 1024, f)),
                alone,
            )
            .map_err(|e| CacheError::io("creating layer compressor", e))?;
        Ok(SpoolWriter {
            out: Chain::new(enc, "spool writer"),
            tmp,
            dir: dir.to_path_buf(),
            media_type: c.media_type(),
            inner,
        })
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        self.out.out = None;
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl LayerWriter for SpoolWriter {
    fn finish_hashed(mut self: Box<Self>, expected: Option<&Digest>) -> Result<Digest, CacheError> {
        let out = self.out.take()?;
        let (enc, diff_id, _) = out.finish();
        let hashed = enc
            .finish()
            .map_err(|e| CacheError::io(op_path("write", &self.tmp), e))?;
        let (buf, digest, size) = hashed.finish();
        buf.into_inner()
            .map_err(|e| CacheError::io(op_path("write", &self.tmp), e.into_error()))?;
        super::check_expected(expected, &diff_id)?;
        let mut g = lock(&self.inner);
        if g.committed {
            return Err(CacheError::Committed);
        }
        if g.plan.contains(&diff_id) {
            return Ok(diff_id);
        }
        let path = self.dir.join(format!("{}.blob", digest.hex()));
        fs::rename(&self.tmp, &path).map_err(|e| {
            CacheError::io(
                format!("rename {} {}", self.tmp.display(), path.display()),
                e,
            )
        })?;
        self.tmp = PathBuf::new();
        add_blob(
            &mut g,
            SpooledBlob {
                diff_id: diff_id.clone(),
                digest,
                size,
                media_type: self.media_type,
                path: Some(path),
            },
        )?;
        Ok(diff_id)
    }
}

/// Compresses straight into a backend upload while hashing both sides; registers the blob
/// once the backend has stored it.
struct UploadWriter {
    out: Chain<Box<dyn BlobUpload>>,
    media_type: &'static str,
    inner: Arc<Mutex<Inner>>,
}

impl UploadWriter {
    fn create(
        upload: Box<dyn BlobUpload>,
        c: CacheCompression,
        alone: bool,
        inner: Arc<Mutex<Inner>>,
    ) -> Result<UploadWriter, CacheError> {
        let enc = c
            .encoder_on(HashingWriter::new(upload), alone)
            .map_err(|e| CacheError::io("creating layer compressor", e))?;
        Ok(UploadWriter {
            out: Chain::new(enc, "layer upload"),
            media_type: c.media_type(),
            inner,
        })
    }
}

impl Write for UploadWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl LayerWriter for UploadWriter {
    fn finish_hashed(mut self: Box<Self>, expected: Option<&Digest>) -> Result<Digest, CacheError> {
        let out = self.out.take()?;
        let (enc, diff_id, _) = out.finish();
        // On a mismatch, dropping the upload abandons it: nothing is committed for it.
        super::check_expected(expected, &diff_id)?;
        let hashed = enc
            .finish()
            .map_err(|e| CacheError::io(format!("caching layer ({diff_id})"), e))?;
        let (upload, digest, size) = hashed.finish();
        upload.finish(&digest, size)?;
        let mut g = lock(&self.inner);
        if g.committed {
            return Err(CacheError::Committed);
        }
        add_blob(
            &mut g,
            SpooledBlob {
                diff_id: diff_id.clone(),
                digest,
                size,
                media_type: self.media_type,
                path: None,
            },
        )?;
        Ok(diff_id)
    }
}
