//! Writing one layer tar into a directory under its diffID, safely: bytes go to a hidden
//! temporary file while being hashed; [`StagingWriter::finish`] checks the digest and only
//! then renames the file to `<dir>/<diffID>.tar`. A mismatch, an error or a drop without
//! `finish` leaves nothing behind.

use super::LayerWriter;
use super::error::{CacheError, op_path};
use crate::digest::{Digest, HashingWriter};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Prefix of temporary files in a staging directory; such files are never part of a cache.
pub(crate) const PARTIAL_PREFIX: &str = ".partial-";

/// `<dir>/<diffID>.tar` (the file name keeps the colon, as the Go lifecycle writes it).
pub fn layer_path(dir: &Path, diff_id: &Digest) -> PathBuf {
    dir.join(format!("{diff_id}.tar"))
}

/// A `Write` for an uncompressed layer tar that lands in `dir` as `<diffID>.tar` on
/// [`finish`](StagingWriter::finish). Owns its paths (no borrow of the cache), so it can be
/// moved to the thread that produces the tar.
pub struct StagingWriter {
    out: Option<HashingWriter<BufWriter<File>>>,
    tmp: PathBuf,
    dir: PathBuf,
}

impl StagingWriter {
    pub(crate) fn create(dir: &Path) -> Result<StagingWriter, CacheError> {
        loop {
            let tmp = dir.join(format!("{PARTIAL_PREFIX}{:016x}", rand::random::<u64>()));
            match File::create_new(&tmp) {
                Ok(f) => {
                    return Ok(StagingWriter {
                        out: Some(HashingWriter::new(BufWriter::with_capacity(256 * 1024, f))),
                        tmp,
                        dir: dir.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(CacheError::io(op_path("open", &tmp), e)),
            }
        }
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.out.as_ref().map_or(0, |o| o.bytes_written())
    }

    /// Checks the sha256 of everything written against `expected` and moves the file to
    /// `<dir>/<expected>.tar`. If that file already exists the new copy is discarded (same
    /// digest, same bytes). On mismatch the temporary file is removed and
    /// [`CacheError::DigestMismatch`] returned.
    pub fn finish(self, expected: &Digest) -> Result<(), CacheError> {
        self.finish_hashed(Some(expected)).map(|_| ())
    }

    /// [`finish`](Self::finish) under the diffID the bytes hash to, checked against
    /// `expected` if given; returns it.
    pub fn finish_hashed(mut self, expected: Option<&Digest>) -> Result<Digest, CacheError> {
        let out = self
            .out
            .take()
            .ok_or_else(|| CacheError::Backend("staging writer already finished".into()))?;
        let (buf, found, _) = out.finish();
        buf.into_inner()
            .map_err(|e| CacheError::io(op_path("write", &self.tmp), e.into_error()))?;
        super::check_expected(expected, &found)?;
        let target = layer_path(&self.dir, &found);
        if target.exists() {
            return Ok(found); // Drop removes the temporary copy.
        }
        fs::rename(&self.tmp, &target).map_err(|e| {
            CacheError::io(
                format!("rename {} {}", self.tmp.display(), target.display()),
                e,
            )
        })?;
        self.tmp = PathBuf::new();
        Ok(found)
    }
}

impl Write for StagingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.out.as_mut() {
            Some(o) => o.write(buf),
            None => Err(io::Error::other("staging writer already finished")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.out.as_mut() {
            Some(o) => o.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for StagingWriter {
    fn drop(&mut self) {
        self.out = None;
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl LayerWriter for StagingWriter {
    fn finish_hashed(self: Box<Self>, expected: Option<&Digest>) -> Result<Digest, CacheError> {
        StagingWriter::finish_hashed(*self, expected)
    }
}

/// Streams `src` through a [`StagingWriter`] in `dir` and finishes it against `diff_id`.
pub(crate) fn stage_from_reader(
    dir: &Path,
    diff_id: &Digest,
    src: &mut dyn io::Read,
) -> Result<(), CacheError> {
    let mut w = StagingWriter::create(dir)?;
    io::copy(src, &mut w).map_err(|e| CacheError::io(format!("caching layer ({diff_id})"), e))?;
    w.finish(diff_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn finish_renames_on_match_and_cleans_on_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = StagingWriter::create(dir.path()).unwrap();
        w.write_all(b"layer bytes").unwrap();
        assert_eq!(w.bytes_written(), 11);
        w.finish(&Digest::of(b"layer bytes")).unwrap();
        assert_eq!(
            entries(dir.path()),
            vec![format!("{}.tar", Digest::of(b"layer bytes"))]
        );

        let mut w = StagingWriter::create(dir.path()).unwrap();
        w.write_all(b"other").unwrap();
        let err = w.finish(&Digest::of(b"not other")).unwrap_err();
        assert!(matches!(err, CacheError::DigestMismatch { .. }));
        assert!(!err.is_read_err());
        assert_eq!(entries(dir.path()).len(), 1);

        let mut w = StagingWriter::create(dir.path()).unwrap();
        w.write_all(b"abandoned").unwrap();
        drop(w);
        assert_eq!(entries(dir.path()).len(), 1);

        // no diffID given: staged under the one the bytes hash to, which is returned
        let mut w = StagingWriter::create(dir.path()).unwrap();
        w.write_all(b"unhashed").unwrap();
        assert_eq!(w.finish_hashed(None).unwrap(), Digest::of(b"unhashed"));
        assert!(entries(dir.path()).contains(&format!("{}.tar", Digest::of(b"unhashed"))));
    }
}
