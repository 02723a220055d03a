//! Extraction for the restorer: decode (media type or magic bytes decide), verify digest and
//! diffID while streaming, and write entries under a root with no way out.
//!
//! Entry names are absolute container paths (`/layers/bp/layer/...`). Those under
//! [`ExtractOptions::prefix`] are written below [`ExtractOptions::dest`]; ancestors of the
//! prefix (e.g. `/layers`) are skipped; anything else is refused. Safety rules:
//! - `..` components are refused; no path component on disk is ever followed if it is a
//!   symlink (every parent is opened with `openat(O_NOFOLLOW|O_DIRECTORY)` from the root fd);
//! - symlink targets must stay inside the prefix (lexically; `..` only as a leading run)
//!   unless [`ExtractOptions::allow_symlinks_out`]; hard-link targets must be inside;
//! - device nodes are refused unless [`ExtractOptions::allow_devices`]; fifos are created;
//! - whiteouts (`.wh.*` names) are refused: the lifecycle's own layers never contain them;
//! - files, links and fifos are created with an exclusive create (or, when the name is
//!   taken, under a temporary name renamed over it) and removed again if any step fails, so a
//!   failure leaves no half-written file (see `entries.rs`);
//! - mode (incl. setuid/setgid/sticky) and mtime are restored, ownership too when
//!   [`ExtractOptions::restore_owner`] (default: running as root). Directories that already
//!   exist are left as they are (as the Go lifecycle does); new ones get their mode, mtime
//!   and owner after all entries are written.
//!
//! The digest and diffID are known only at the end of the stream: on a mismatch the error
//! says so and the caller must discard what was extracted. A stream that ends exactly where
//! a header would start (no end-of-archive blocks, as some writers produce) is accepted, as
//! Go's `archive/tar` accepts it; one cut inside a header or inside file data is an error.

mod at;
mod entries;
mod pipe;

use crate::digest::Digest;
use entries::Extractor;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Where and how to extract.
#[derive(Clone, Debug)]
pub struct ExtractOptions {
    /// The directory entries under `prefix` are written to (created if missing).
    pub dest: PathBuf,
    /// The absolute archive path that maps to `dest` (e.g. `/layers`); `/` allows all.
    pub prefix: PathBuf,
    /// Name used in errors (e.g. `bp:layer`).
    pub layer: String,
    pub allow_devices: bool,
    pub allow_symlinks_out: bool,
    pub restore_owner: bool,
}

impl ExtractOptions {
    pub fn new(
        dest: impl Into<PathBuf>,
        prefix: impl Into<PathBuf>,
        layer: impl Into<String>,
    ) -> ExtractOptions {
        ExtractOptions {
            dest: dest.into(),
            prefix: prefix.into(),
            layer: layer.into(),
            allow_devices: false,
            allow_symlinks_out: false,
            // SAFETY: geteuid has no preconditions.
            restore_owner: unsafe { libc::geteuid() } == 0,
        }
    }
}

/// Digests the blob must have (checked at the end of the stream).
#[derive(Clone, Debug, Default)]
pub struct Expected {
    pub digest: Option<Digest>,
    pub diff_id: Option<Digest>,
}

/// What was extracted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    pub digest: Digest,
    pub size: u64,
    pub diff_id: Digest,
    pub entries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("failed to extract layer '{layer}': entry '{entry}': {reason}")]
    Entry {
        layer: String,
        entry: String,
        reason: String,
    },
    #[error("failed to read layer '{layer}' (after entry '{after}'): {source}")]
    Read {
        layer: String,
        after: String,
        source: io::Error,
    },
    #[error("layer '{layer}': expected {what} '{expected}'; found '{found}'")]
    Mismatch {
        layer: String,
        what: &'static str,
        expected: Digest,
        found: Digest,
    },
}

/// Decodes `blob` (gzip, zstd or plain tar: `media_type` if it says, else magic bytes),
/// extracts it per `opts`, and verifies the digests in `expect` once the stream ends.
///
/// Reading, hashing and decompressing run on a helper thread (`pipe.rs`) while this thread
/// writes the files.
pub fn extract<R: Read + Send>(
    blob: R,
    media_type: Option<&str>,
    expect: &Expected,
    opts: &ExtractOptions,
) -> Result<Extracted, ExtractError> {
    let layer = opts.layer.clone();
    let read_err = |after: &str, source: io::Error| ExtractError::Read {
        layer: layer.clone(),
        after: after.to_string(),
        source,
    };
    let mut ex = Extractor::new(opts).map_err(|e| ExtractError::Entry {
        layer: layer.clone(),
        entry: opts.dest.display().to_string(),
        reason: e.to_string(),
    })?;
    let (reader, ends) = pipe::channel();
    let (written, digests) = std::thread::scope(|s| {
        let producer = s.spawn(move || pipe::produce(blob, media_type, ends));
        // Dropping the reader (on return) stops the producer if we stop early.
        let written = write_entries(&mut ex, reader, &read_err);
        let digests = producer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("layer reader thread panicked")));
        (written, digests)
    });
    let (count, last) = written?;
    ex.finish_dirs()
        .map_err(|(entry, reason)| ExtractError::Entry {
            layer: layer.clone(),
            entry,
            reason,
        })?;
    let pipe::Digests {
        digest,
        size,
        diff_id,
    } = digests.map_err(|e| read_err(&last, e))?;
    for (what, want, got) in [
        ("digest", &expect.digest, &digest),
        ("diffID", &expect.diff_id, &diff_id),
    ] {
        if let Some(want) = want
            && want != got
        {
            return Err(ExtractError::Mismatch {
                layer,
                what,
                expected: want.clone(),
                found: got.clone(),
            });
        }
    }
    Ok(Extracted {
        digest,
        size,
        diff_id,
        entries: count,
    })
}

/// Parses the tar from `reader` and writes its entries; then reads the stream to its end
/// (whatever follows the end marker still counts for the digests). Returns the entry count
/// and the last entry's name.
fn write_entries(
    ex: &mut Extractor<'_>,
    reader: crate::pipe::PipeReader,
    read_err: &dyn Fn(&str, io::Error) -> ExtractError,
) -> Result<(u64, String), ExtractError> {
    let mut ar = tar::Archive::new(reader);
    let mut last = String::new();
    let mut count = 0u64;
    for entry in ar.entries().map_err(|e| read_err(&last, e))? {
        let mut entry = entry.map_err(|e| read_err(&last, e))?;
        last = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        ex.entry(&mut entry).map_err(|reason| ExtractError::Entry {
            layer: ex.layer().to_string(),
            entry: last.clone(),
            reason,
        })?;
        count += 1;
    }
    let mut rest = ar.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| read_err(&last, e))?;
    Ok((count, last))
}

/// Convenience: the archive path prefix and destination are the same directory (the Go
/// restorer's case: entries `/layers/...` written to `/layers/...`).
pub fn extract_in_place<R: Read + Send>(
    blob: R,
    media_type: Option<&str>,
    expect: &Expected,
    layers_dir: &Path,
    layer: &str,
) -> Result<Extracted, ExtractError> {
    extract(
        blob,
        media_type,
        expect,
        &ExtractOptions::new(layers_dir, layers_dir, layer),
    )
}
