//! Blob plumbing shared by the stores: a reader that checks a digest at EOF, and atomic
//! content-addressed file writes (temp file in the target dir, hash while copying, rename).

use crate::digest::{Digest, Hasher, HashingWriter};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Reads `inner` and fails with `InvalidData` at EOF (or as soon as too many bytes arrive)
/// when the content does not match the expected digest/size. Nothing unverified is reported as
/// a clean EOF.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Hasher,
    expected: Digest,
    expected_size: Option<u64>,
    verified: bool,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, expected: Digest, expected_size: Option<u64>) -> Self {
        VerifyingReader {
            inner,
            hasher: Hasher::new(),
            expected,
            expected_size,
            verified: false,
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.hasher.len()
    }

    pub fn expected(&self) -> &Digest {
        &self.expected
    }

    fn fail(&self, msg: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, msg)
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if let Some(size) = self.expected_size
            && self.hasher.len() > size
        {
            return Err(self.fail(format!(
                "blob {} is larger than its expected size {size}",
                self.expected
            )));
        }
        if n == 0 && !buf.is_empty() && !self.verified {
            let (actual, len) = self.hasher.clone().finish();
            if actual != self.expected {
                return Err(self.fail(format!(
                    "digest mismatch: expected {}, got {actual}",
                    self.expected
                )));
            }
            if let Some(size) = self.expected_size
                && size != len
            {
                return Err(self.fail(format!(
                    "blob {} has size {len}, expected {size}",
                    self.expected
                )));
            }
            self.verified = true;
        }
        Ok(n)
    }
}

/// A temp file that is removed unless persisted.
pub(crate) struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    /// Creates `<dir>/.tmp-<random>` exclusively.
    pub(crate) fn new_in(dir: &Path) -> io::Result<TempFile> {
        loop {
            let path = dir.join(format!(".tmp-{:016x}", rand::random::<u64>()));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .expect("temp file is open until persisted")
    }

    /// Renames onto `dest` (atomic within one filesystem).
    pub(crate) fn persist(mut self, dest: &Path) -> io::Result<()> {
        if let Some(f) = self.file.take() {
            drop(f);
        }
        fs::rename(&self.path, dest)?;
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Streams `src` into a temp file in `dir`, hashing while copying. Returns the temp file
/// (not yet renamed), digest and size.
pub(crate) fn copy_to_temp<R: Read>(
    dir: &Path,
    src: &mut R,
) -> io::Result<(TempFile, Digest, u64)> {
    let mut tmp = TempFile::new_in(dir)?;
    let mut w = HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, tmp.file()));
    io::copy(src, &mut w)?;
    let (mut inner, digest, size) = w.finish();
    inner.flush()?;
    drop(inner);
    Ok((tmp, digest, size))
}

/// Writes `data` to `dest` through a temp file in the same directory and a rename.
pub(crate) fn write_atomic(dest: &Path, data: &[u8]) -> io::Result<()> {
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = TempFile::new_in(dir)?;
    tmp.file().write_all(data)?;
    tmp.persist(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifying_reader() {
        let good = Digest::of(b"hello");
        let mut out = Vec::new();
        VerifyingReader::new(&b"hello"[..], good.clone(), Some(5))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"hello");
        let err = VerifyingReader::new(&b"hellO"[..], good.clone(), None)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = VerifyingReader::new(&b"hello!"[..], good, Some(5))
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("larger"), "{err}");
    }

    #[test]
    fn temp_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, d, n) = copy_to_temp(dir.path(), &mut &b"abc"[..]).unwrap();
        assert_eq!((d, n), (Digest::of(b"abc"), 3));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(tmp);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
