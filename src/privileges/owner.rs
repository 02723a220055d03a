//! Go `priv.EnsureOwner`: hand the shared volumes to the build user when it cannot write them.

use super::PrivilegeError;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, lchown};
use std::path::Path;

const WORLD_WRITE: u32 = 0o002;
const GROUP_WRITE: u32 = 0o020;

/// Go's `canWrite`: the owner is assumed to have write permission; otherwise group-write with
/// a matching gid, or world-write.
pub fn can_write(uid: u32, gid: u32, owner: u32, group: u32, mode: u32) -> bool {
    owner == uid || (group == gid && mode & GROUP_WRITE != 0) || mode & WORLD_WRITE != 0
}

/// For each dir that exists and that `uid`/`gid` cannot write (see [`can_write`]), give it and
/// everything below it to `uid:gid`. A writable dir is assumed to have writable children and
/// is left alone, as in Go. Missing (or empty) paths are skipped.
///
/// The given dir itself is followed when it is a symlink (Go `os.Stat`/`os.Chown`); below it
/// nothing is followed: symlinks and other non-directories get `lchown`, and directories are
/// changed with `lchown` too so an entry swapped for a symlink is never followed.
/// Errors read like Go's: "stat <dir>: …", "chown <path>: …", "open <dir>: …",
/// "lchown <path>: …".
pub fn ensure_owner(uid: u32, gid: u32, dirs: &[&Path]) -> Result<(), PrivilegeError> {
    for dir in dirs {
        if dir.as_os_str().is_empty() {
            continue;
        }
        let meta = match fs::metadata(dir) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(PrivilegeError::path("stat", dir, e)),
        };
        if can_write(uid, gid, meta.uid(), meta.gid(), meta.mode()) {
            continue;
        }
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .map_err(|e| PrivilegeError::path("chown", dir, e))?;
        chown_children(dir, uid, gid)?;
    }
    Ok(())
}

/// Gives every entry below `dir` to `uid:gid`, depth first, in name order (Go `os.ReadDir`).
fn chown_children(dir: &Path, uid: u32, gid: u32) -> Result<(), PrivilegeError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| PrivilegeError::path("open", dir, e))? {
        entries.push(entry.map_err(|e| PrivilegeError::path("readdirent", dir, e))?);
    }
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| PrivilegeError::path("lstat", &path, e))?;
        if kind.is_dir() {
            // Go says "chown" here; lchown is the same call on a directory and never follows.
            lchown(&path, Some(uid), Some(gid))
                .map_err(|e| PrivilegeError::path("chown", &path, e))?;
            chown_children(&path, uid, gid)?;
        } else {
            lchown(&path, Some(uid), Some(gid))
                .map_err(|e| PrivilegeError::path("lchown", &path, e))?;
        }
    }
    Ok(())
}
