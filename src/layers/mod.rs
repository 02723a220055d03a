//! The layer engine: turns a layer directory (with its ancestors) or a set of app-dir slices
//! into a tar stream byte-identical to the Go lifecycle's, hashing (diffID), compressing and
//! hashing again (digest) in one streaming pass into any `io::Write` sink.
//!
//! ```text
//! walk → tar bytes → sha256 (diffID) → compressor → sha256 (digest) → sink
//! ```

pub mod glob;
pub mod parallel;
pub mod pipe;
pub mod slices;
#[doc(hidden)]
pub mod testtree;
pub mod walk;

use crate::archive::{Compression, Owner, TarWriter};
use crate::digest::{Digest, HashingWriter};
use std::fs::Metadata;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub use parallel::map_parallel;
pub use slices::{Slice, slice_layers};

const TAR_BUF: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("failed to add file {path} to archive: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("failed to write layer: {0}")]
    Write(#[source] io::Error),
    #[error("failed to check if '{path}' matches '{pattern}': syntax error in pattern")]
    Pattern { path: String, pattern: String },
    #[error("layer task failed: {0}")]
    Task(String),
}

impl LayerError {
    pub fn io(path: &Path, source: io::Error) -> LayerError {
        LayerError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One entry of an explicit entry list: the absolute path, the metadata to describe it
/// (lstat for walked files, stat for ancestors, as Go does), and the ownership to write
/// (`None` = the real uid/gid).
#[derive(Clone, Debug)]
pub struct FileEntry {
    pub path: PathBuf,
    pub meta: Metadata,
    pub owner: Option<Owner>,
}

/// What to put into a layer.
#[derive(Clone, Debug)]
pub enum LayerSpec {
    /// Go `Factory.DirLayer`: the ancestors of `dir` (excluding `/`, real ownership and
    /// mode via `stat`), then `dir` and everything below it in `filepath.Walk` order with
    /// uid/gid forced to `owner`.
    Dir { dir: PathBuf, owner: Owner },
    /// An explicit ordered list of entries (app slices, see [`slice_layers`]). An empty list
    /// is the 1024-byte empty tar.
    Files(Vec<FileEntry>),
}

impl LayerSpec {
    pub fn dir(dir: impl Into<PathBuf>, owner: Owner) -> LayerSpec {
        LayerSpec::Dir {
            dir: dir.into(),
            owner,
        }
    }
}

/// The result of writing a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// sha256 of the bytes written to the sink (equals `diff_id` when uncompressed).
    pub digest: Digest,
    /// Number of bytes written to the sink.
    pub size: u64,
    /// Size of the uncompressed tar.
    pub tar_size: u64,
    /// OCI media type matching the sink bytes.
    pub media_type: &'static str,
}

/// Writes the tar entries of `spec` (not the end marker) to `tw`.
pub fn append_spec<W: Write>(spec: &LayerSpec, tw: &mut TarWriter<W>) -> Result<(), LayerError> {
    match spec {
        LayerSpec::Dir { dir, owner } => {
            let dir = walk::go_abs(dir)?;
            for (p, meta) in walk::ancestors(&dir)? {
                tw.append_path(&p, &meta, None)
                    .map_err(|e| LayerError::io(&p, e))?;
            }
            walk::walk(&dir, &mut |p, meta| {
                tw.append_path(p, meta, Some(*owner))
                    .map_err(|e| LayerError::io(p, e))
            })
        }
        LayerSpec::Files(entries) => {
            for e in entries {
                tw.append_path(&e.path, &e.meta, e.owner)
                    .map_err(|err| LayerError::io(&e.path, err))?;
            }
            Ok(())
        }
    }
}

/// Writes the whole tar for `spec` (entries + end marker) to `w`. The files are walked, read
/// and tarred on a helper thread ([`pipe::pipe`]); `w` is written on the calling thread in
/// blocks of [`pipe::CHUNK`] bytes.
pub fn write_tar<W: Write>(spec: &LayerSpec, mut w: W) -> Result<W, LayerError> {
    pipe::pipe(
        |chunks| {
            let mut tw = TarWriter::new(chunks);
            append_spec(spec, &mut tw)?;
            tw.finish().map_err(LayerError::Write)?;
            Ok(())
        },
        |chunk| w.write_all(chunk),
    )?;
    w.flush().map_err(LayerError::Write)?;
    Ok(w)
}

/// Writes a tar whose entries `add` produces (e.g. the launcher layer) and ends it.
pub fn write_tar_with<W: Write>(
    w: W,
    add: impl FnOnce(&mut TarWriter<BufWriter<W>>) -> Result<(), LayerError>,
) -> Result<W, LayerError> {
    let mut tw = TarWriter::new(BufWriter::with_capacity(TAR_BUF, w));
    add(&mut tw)?;
    let buf = tw.finish().map_err(LayerError::Write)?;
    buf.into_inner()
        .map_err(|e| LayerError::Write(e.into_error()))
}

/// The diffID of `spec` without compressing (for reuse decisions): walked and read on a
/// helper thread, hashed on the calling one.
pub fn diff_id(spec: &LayerSpec) -> Result<Digest, LayerError> {
    let h = write_tar(spec, HashingWriter::new(io::sink()))?;
    Ok(h.finish().1)
}

/// Writes the layer for `spec` to `sink` in one streaming pass and reports both digests.
///
/// A helper thread walks, reads, tars and hashes (diffID); the calling thread compresses,
/// hashes again (digest) and writes `sink`. The bytes are the same as
/// [`write_layer_with`]'s for the same entries.
pub fn write_layer<W: Write>(
    spec: &LayerSpec,
    compression: Compression,
    sink: W,
) -> Result<LayerInfo, LayerError> {
    let blob = HashingWriter::new(sink);
    let mut enc = compression.encoder(blob).map_err(LayerError::Write)?;
    let (diff_id, tar_size) = pipe::pipe(
        |chunks| {
            let mut tw = TarWriter::new(HashingWriter::new(chunks));
            append_spec(spec, &mut tw)?;
            let (_, diff_id, tar_size) = tw.finish().map_err(LayerError::Write)?.finish();
            Ok((diff_id, tar_size))
        },
        |chunk| enc.write_all(chunk),
    )?;
    finish_layer(compression, enc, diff_id, tar_size)
}

fn finish_layer<W: Write>(
    compression: Compression,
    enc: crate::archive::Encoder<HashingWriter<W>>,
    diff_id: Digest,
    tar_size: u64,
) -> Result<LayerInfo, LayerError> {
    let blob = enc.finish().map_err(LayerError::Write)?;
    let (mut sink, digest, size) = blob.finish();
    sink.flush().map_err(LayerError::Write)?;
    Ok(LayerInfo {
        diff_id,
        digest,
        size,
        tar_size,
        media_type: compression.media_type(),
    })
}

/// The tar writer [`write_layer_with`] hands to its callback.
pub type LayerTarWriter<W> =
    TarWriter<HashingWriter<pipe::Blocks<crate::archive::Encoder<HashingWriter<W>>>>>;

/// [`write_layer`] for entries produced by `add` instead of a [`LayerSpec`] (e.g. the
/// launcher and process-types layers built from [`crate::archive::TarHeader`]s), on the
/// calling thread only. The encoder is fed the same blocks as in [`write_layer`].
pub fn write_layer_with<W: Write>(
    compression: Compression,
    sink: W,
    add: impl FnOnce(&mut LayerTarWriter<W>) -> Result<(), LayerError>,
) -> Result<LayerInfo, LayerError> {
    let blob = HashingWriter::new(sink);
    let enc = compression.encoder(blob).map_err(LayerError::Write)?;
    let mut tw = TarWriter::new(HashingWriter::new(pipe::Blocks::new(enc)));
    add(&mut tw)?;
    let (blocks, diff_id, tar_size) = tw.finish().map_err(LayerError::Write)?.finish();
    let enc = blocks.finish().map_err(LayerError::Write)?;
    finish_layer(compression, enc, diff_id, tar_size)
}
