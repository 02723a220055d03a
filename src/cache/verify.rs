//! One-pass verification of a cached layer while it is read (the Go restorer reads every
//! volume-cache byte twice: `VerifyLayer`, then `RetrieveLayer`; a cache image's diffID is
//! never checked at all). The check happens at EOF, so whoever extracts must read to the end
//! ([`VerifyingReader::drain_and_check`] after the tar reader stops) and must treat a late
//! mismatch like a `Read` error found up front: warn and remove what was extracted.

use super::error::CacheError;
use crate::digest::{Digest, Hasher};
use std::io::{self, Read};

pub struct VerifyingReader<R> {
    inner: R,
    hasher: Hasher,
    expected: Digest,
    checked: bool,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, expected: Digest) -> VerifyingReader<R> {
        VerifyingReader {
            inner,
            hasher: Hasher::new(),
            expected,
            checked: false,
        }
    }

    /// Reads what is left and returns the verdict: `Ok`, a `Read` error on mismatch, or the
    /// read failure.
    pub fn drain_and_check(mut self) -> Result<(), CacheError> {
        match io::copy(&mut self, &mut io::sink()) {
            Ok(_) => Ok(()),
            Err(e) => match cache_error_of(&e) {
                Some(CacheError::Read { kind, message }) => Err(CacheError::Read {
                    kind: *kind,
                    message: message.clone(),
                }),
                _ => Err(CacheError::io("hashing layer", e)),
            },
        }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if n == 0 && !buf.is_empty() && !self.checked {
            self.checked = true;
            let (found, _) = self.hasher.clone().finish();
            if found != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    CacheError::verify_mismatch(&self.expected, &found),
                ));
            }
        }
        Ok(n)
    }
}

/// The [`CacheError`] carried by an `io::Error` from a [`VerifyingReader`], if any.
pub fn cache_error_of(e: &io::Error) -> Option<&CacheError> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<CacheError>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_at_eof() {
        let data = b"some layer bytes".to_vec();
        VerifyingReader::new(&data[..], Digest::of(&data))
            .drain_and_check()
            .unwrap();
        let mut out = Vec::new();
        let err = VerifyingReader::new(&data[..], Digest::of(b"x"))
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(out, data, "all bytes are delivered before the verdict");
        let ce = cache_error_of(&err).unwrap();
        assert!(ce.is_read_err());
        assert_eq!(
            ce.to_string(),
            format!(
                "expected layer contents to have SHA '{}'; found '{}'",
                Digest::of(b"x"),
                Digest::of(&data)
            )
        );
        let err = VerifyingReader::new(&data[..], Digest::of(b"x"))
            .drain_and_check()
            .unwrap_err();
        assert!(err.is_read_err());
    }
}
