//! Errors of the cache. The one distinction the phases need is [`CacheError::Read`] (Go's
//! `cache.ReadErr`): the cached data is missing, unreadable or corrupt, so the phase warns
//! ("Skipping restore for layer …", "Skipping reuse for layer …") and rebuilds. Every other
//! variant is a real failure of the operation.

use crate::digest::Digest;
use std::io;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Missing, unreadable or corrupt cached data (Go `ReadErr`): warn and carry on without it.
    #[error("{message}")]
    Read { kind: ReadErrKind, message: String },

    /// Any change after `commit()` (Go `errCacheCommitted`).
    #[error("cache cannot be modified after commit")]
    Committed,

    /// The `-cache-dir` given does not exist or cannot be stat'ed. The phases report it as
    /// "failed to create volume cache: stat <dir>: <cause>" with exit code 1.
    #[error("stat {}: {}", .dir.display(), go_io_text(.source))]
    VolumeDir {
        dir: std::path::PathBuf,
        source: io::Error,
    },

    /// A layer stream handed to the cache did not hash to the diffID the caller announced.
    /// Nothing is left in staging. Not a `Read` error: the producer is at fault.
    #[error(
        "caching layer ({expected}): expected layer contents to have SHA '{expected}'; found '{found}'"
    )]
    DigestMismatch { expected: Digest, found: Digest },

    /// A filesystem operation failed; `context` says which (Go-style "verb 'path'" wording).
    #[error("{context}: {}", go_io_text(.source))]
    Io { context: String, source: io::Error },

    /// A failure reported by a cache image backend (registry client), already worded.
    #[error("{0}")]
    Backend(String),
}

/// Why a [`CacheError::Read`] happened (the message is Go's either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadErrKind {
    /// The layer is not in the previous cache.
    NotFound,
    /// The layer file exists but may not be read.
    Permission,
    /// The bytes do not hash to the diffID.
    Corrupt,
}

impl CacheError {
    /// True for Go's `ReadErr` class: the phase should warn and rebuild instead of failing.
    pub fn is_read_err(&self) -> bool {
        matches!(self, CacheError::Read { .. })
    }

    /// The kind of a `Read` error, `None` for other errors.
    pub fn read_err_kind(&self) -> Option<ReadErrKind> {
        match self {
            CacheError::Read { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> CacheError {
        CacheError::Io {
            context: context.into(),
            source,
        }
    }

    /// "failed to find cache layer with SHA '…'" (Go `handleFileError` for a missing file);
    /// what a [`super::CacheImageBackend`] returns for an unknown diffID or missing blob.
    pub fn layer_not_found(diff_id: &Digest) -> CacheError {
        CacheError::Read {
            kind: ReadErrKind::NotFound,
            message: format!("failed to find cache layer with SHA '{diff_id}'"),
        }
    }

    /// Go `handleFileError`: not-found and permission errors on a cached layer are `ReadErr`s.
    pub(crate) fn from_layer_io(
        err: io::Error,
        diff_id: &Digest,
        context: impl Into<String>,
    ) -> CacheError {
        match err.kind() {
            io::ErrorKind::NotFound => CacheError::layer_not_found(diff_id),
            io::ErrorKind::PermissionDenied => CacheError::Read {
                kind: ReadErrKind::Permission,
                message: format!(
                    "failed to read cache layer with SHA '{diff_id}' due to insufficient permissions"
                ),
            },
            _ => CacheError::io(context, err),
        }
    }

    /// The verify mismatch, as a `ReadErr`.
    pub fn verify_mismatch(expected: &Digest, found: &Digest) -> CacheError {
        CacheError::Read {
            kind: ReadErrKind::Corrupt,
            message: format!("expected layer contents to have SHA '{expected}'; found '{found}'"),
        }
    }
}

/// Context string "op path" as Go's `*PathError` prints it (`open /x/y`).
pub(crate) fn op_path(op: &str, path: &Path) -> String {
    format!("{op} {}", path.display())
}

/// An `io::Error` worded as Go's syscall errors are (`no such file or directory`): the C
/// library's message with a lower-case first letter, without Rust's "(os error N)" suffix.
pub fn go_io_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            // SAFETY: strerror returns a pointer to a static (or thread-local) NUL-terminated
            // string that stays valid until the next strerror call on this thread; we copy it
            // out immediately.
            let msg = unsafe {
                let p = libc::strerror(code);
                if p.is_null() {
                    String::new()
                } else {
                    std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
                }
            };
            let mut chars = msg.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => err.to_string(),
            }
        }
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_wording_of_os_errors() {
        let e = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(go_io_text(&e), "no such file or directory");
        let e = io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(go_io_text(&e), "permission denied");
        let err = CacheError::VolumeDir {
            dir: "/nope".into(),
            source: io::Error::from_raw_os_error(libc::ENOENT),
        };
        assert_eq!(err.to_string(), "stat /nope: no such file or directory");
        assert!(!err.is_read_err());
    }

    #[test]
    fn read_errors_are_classified() {
        let d = Digest::of(b"x");
        let nf = CacheError::from_layer_io(io::Error::from(io::ErrorKind::NotFound), &d, "ctx");
        assert!(nf.is_read_err());
        assert_eq!(nf.read_err_kind(), Some(ReadErrKind::NotFound));
        assert_eq!(
            nf.to_string(),
            format!("failed to find cache layer with SHA '{d}'")
        );
        let perm =
            CacheError::from_layer_io(io::Error::from(io::ErrorKind::PermissionDenied), &d, "ctx");
        assert_eq!(perm.read_err_kind(), Some(ReadErrKind::Permission));
        assert!(
            perm.to_string()
                .ends_with("due to insufficient permissions")
        );
        let other = CacheError::from_layer_io(io::Error::from_raw_os_error(libc::EIO), &d, "ctx");
        assert!(!other.is_read_err());
        assert_eq!(other.read_err_kind(), None);
        assert_eq!(other.to_string(), "ctx: input/output error");
    }
}
