//! The volume cache: a directory with the Go lifecycle's layout (lifecycle-spec §6.2), so a
//! cache written by either implementation is read by the other.
//!
//! ```text
//! <dir>/committed/io.buildpacks.lifecycle.cache.metadata   JSON + "\n"
//! <dir>/committed/sha256:<hex>.tar                          uncompressed layer tar per diffID
//! <dir>/staging/                                            the next cache, built during export
//! <dir>/committed-backup/                                   only while committing
//! ```
//!
//! Files are created by the current process (the phases drop privileges before opening the
//! cache), with the process umask, as Go does.

use super::error::{CacheError, op_path};
use super::staging::{PARTIAL_PREFIX, StagingWriter, layer_path, stage_from_reader};
use super::{Cache, LayerWriter, METADATA_LABEL, first_json_object};
use crate::digest::{Digest, HashingReader};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub struct VolumeCache {
    dir: PathBuf,
    name: String,
    committed_dir: PathBuf,
    staging_dir: PathBuf,
    backup_dir: PathBuf,
    committed: AtomicBool,
}

impl VolumeCache {
    /// Opens the cache in `dir`, which must exist ([`CacheError::VolumeDir`] otherwise; the
    /// phases print "failed to create volume cache: stat <dir>: …" and exit 1).
    ///
    /// Wipes and recreates `staging/`, creates `committed/`, and deals with an interrupted
    /// commit: if `committed-backup/` exists without `committed/` (crash between the two
    /// renames) the backup is restored as `committed/`; otherwise the backup is deleted.
    /// (Go always deletes the backup, losing the previous cache in the first case.)
    pub fn open(dir: impl AsRef<Path>) -> Result<VolumeCache, CacheError> {
        let dir = dir.as_ref();
        fs::metadata(dir).map_err(|source| CacheError::VolumeDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let c = VolumeCache {
            dir: dir.to_path_buf(),
            name: dir.display().to_string(),
            committed_dir: dir.join("committed"),
            staging_dir: dir.join("staging"),
            backup_dir: dir.join("committed-backup"),
            committed: AtomicBool::new(false),
        };
        remove_dir_all_if_exists(&c.staging_dir).map_err(|e| {
            CacheError::io(
                format!(
                    "initializing staging directory '{}'",
                    c.staging_dir.display()
                ),
                e,
            )
        })?;
        fs::create_dir_all(&c.staging_dir).map_err(|e| {
            let dir = c.staging_dir.display();
            CacheError::io(
                format!("initializing staging directory '{dir}': mkdir {dir}"),
                e,
            )
        })?;
        if c.backup_dir.exists() && !c.committed_dir.exists() {
            fs::rename(&c.backup_dir, &c.committed_dir).map_err(|e| {
                CacheError::io(
                    format!("restoring backup directory '{}'", c.backup_dir.display()),
                    e,
                )
            })?;
        }
        remove_dir_all_if_exists(&c.backup_dir).map_err(|e| {
            CacheError::io(
                format!("removing backup directory '{}'", c.backup_dir.display()),
                e,
            )
        })?;
        fs::create_dir_all(&c.committed_dir).map_err(|e| {
            let dir = c.committed_dir.display();
            CacheError::io(
                format!("creating committed directory '{dir}': mkdir {dir}"),
                e,
            )
        })?;
        Ok(c)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/committed/<diffID>.tar`, whether or not it exists.
    pub fn committed_layer_path(&self, diff_id: &Digest) -> PathBuf {
        layer_path(&self.committed_dir, diff_id)
    }

    /// Whether the previous cache holds layer `diff_id` (Go `HasLayer`).
    pub fn has_layer(&self, diff_id: &Digest) -> Result<bool, CacheError> {
        let p = self.committed_layer_path(diff_id);
        match fs::metadata(&p) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(CacheError::io(
                format!("retrieving layer with SHA '{diff_id}'"),
                e,
            )),
        }
    }

    fn check_open(&self) -> Result<(), CacheError> {
        if self.committed.load(Ordering::SeqCst) {
            Err(CacheError::Committed)
        } else {
            Ok(())
        }
    }

    fn is_staged(&self, diff_id: &Digest) -> bool {
        layer_path(&self.staging_dir, diff_id).exists()
    }

    fn open_committed_layer(&self, diff_id: &Digest) -> Result<File, CacheError> {
        let p = self.committed_layer_path(diff_id);
        File::open(&p).map_err(|e| {
            CacheError::from_layer_io(
                e,
                diff_id,
                format!("failed to get cache layer with SHA '{diff_id}'"),
            )
        })
    }

    /// Copies a committed layer into staging through a temporary file (hard link fallback).
    fn copy_into_staging(&self, diff_id: &Digest) -> Result<(), CacheError> {
        let mut src = self.open_committed_layer(diff_id)?;
        let mut w = StagingWriter::create(&self.staging_dir)?;
        io::copy(&mut src, &mut w)
            .map_err(|e| CacheError::io(format!("reusing layer ({diff_id})"), e))?;
        w.finish(diff_id).map_err(|e| match e {
            CacheError::DigestMismatch { expected, found } => {
                CacheError::verify_mismatch(&expected, &found)
            }
            other => other,
        })
    }

    /// Removes temporary files of writers that were never finished, so they are not committed.
    fn clean_staging_partials(&self) -> Result<(), CacheError> {
        let rd = fs::read_dir(&self.staging_dir)
            .map_err(|e| CacheError::io(op_path("open", &self.staging_dir), e))?;
        for entry in rd.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(PARTIAL_PREFIX)
            {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }
}

impl Cache for VolumeCache {
    fn exists(&self) -> bool {
        self.committed_dir.is_dir()
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn metadata_bytes(&self) -> Result<Option<Vec<u8>>, CacheError> {
        let p = self.committed_dir.join(METADATA_LABEL);
        match fs::read(&p) {
            Ok(bytes) => Ok(first_json_object(&bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CacheError::io(
                format!("opening metadata file '{}'", p.display()),
                e,
            )),
        }
    }

    /// Writes `staging/io.buildpacks.lifecycle.cache.metadata`: `json` plus a newline (Go's
    /// `json.Encoder` output) unless `json` already ends with one.
    fn set_metadata(&self, json: &[u8]) -> Result<(), CacheError> {
        self.check_open()?;
        let p = self.staging_dir.join(METADATA_LABEL);
        let mut bytes = json.to_vec();
        if bytes.last() != Some(&b'\n') {
            bytes.push(b'\n');
        }
        fs::write(&p, bytes)
            .map_err(|e| CacheError::io(format!("creating metadata file '{}'", p.display()), e))
    }

    fn add_layer(&self, diff_id: &Digest, tar: &mut dyn Read) -> Result<(), CacheError> {
        self.check_open()?;
        if self.is_staged(diff_id) {
            return Ok(());
        }
        stage_from_reader(&self.staging_dir, diff_id, tar)
    }

    fn layer_writer(&self) -> Result<Box<dyn LayerWriter>, CacheError> {
        self.check_open()?;
        Ok(Box::new(StagingWriter::create(&self.staging_dir)?))
    }

    /// Hard-links `committed/<diffID>.tar` into staging; falls back to a verified copy when
    /// the link is impossible (another device, no hard-link support).
    fn reuse_layer(&self, diff_id: &Digest) -> Result<(), CacheError> {
        self.check_open()?;
        let src = self.committed_layer_path(diff_id);
        if let Err(e) = fs::metadata(&src) {
            return Err(match CacheError::from_layer_io(e, diff_id, "") {
                CacheError::Io { source, .. } => CacheError::Io {
                    context: format!("failed to re-use cache layer with SHA '{diff_id}'"),
                    source,
                },
                read => read,
            });
        }
        let dst = layer_path(&self.staging_dir, diff_id);
        match fs::hard_link(&src, &dst) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) if link_unsupported(&e) => self.copy_into_staging(diff_id),
            Err(e) => Err(CacheError::io(format!("reusing layer ({diff_id})"), e)),
        }
    }

    fn retrieve_layer(&self, diff_id: &Digest) -> Result<Box<dyn Read + Send>, CacheError> {
        Ok(Box::new(io::BufReader::with_capacity(
            256 * 1024,
            self.open_committed_layer(diff_id)?,
        )))
    }

    fn verify_layer(&self, diff_id: &Digest) -> Result<(), CacheError> {
        let f = self.open_committed_layer(diff_id)?;
        let mut r = HashingReader::new(io::BufReader::with_capacity(256 * 1024, f));
        io::copy(&mut r, &mut io::sink()).map_err(|e| CacheError::io("hashing layer", e))?;
        let (_, found, _) = r.finish();
        if &found != diff_id {
            return Err(CacheError::verify_mismatch(diff_id, &found));
        }
        Ok(())
    }

    /// `committed` → `committed-backup`, `staging` → `committed`, delete the backup. If the
    /// second rename fails the backup is renamed back. A missing `committed/` (deleted behind
    /// our back) is not an error: there is nothing to back up.
    fn commit(&self) -> Result<(), CacheError> {
        if self.committed.swap(true, Ordering::SeqCst) {
            return Err(CacheError::Committed);
        }
        self.clean_staging_partials()?;
        let backed_up = match fs::rename(&self.committed_dir, &self.backup_dir) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(CacheError::io("backing up cache", e)),
        };
        if let Err(e) = fs::rename(&self.staging_dir, &self.committed_dir) {
            if backed_up && let Err(e2) = fs::rename(&self.backup_dir, &self.committed_dir) {
                return Err(CacheError::io("rolling back cache", e2));
            }
            return Err(CacheError::io("committing cache", e));
        }
        if backed_up {
            // The new cache is in place; a leftover backup is removed on the next open.
            let _ = fs::remove_dir_all(&self.backup_dir);
        }
        Ok(())
    }
}

fn remove_dir_all_if_exists(p: &Path) -> io::Result<()> {
    match fs::remove_dir_all(p) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Errors of `link(2)` after which copying is the right answer.
fn link_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EXDEV) | Some(libc::EPERM) | Some(libc::EMLINK) | Some(libc::EOPNOTSUPP)
    ) || e.kind() == io::ErrorKind::CrossesDevices
}
