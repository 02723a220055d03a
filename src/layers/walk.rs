//! Go `filepath` behaviours the layer writer depends on: `Abs` (lexical clean, no symlink
//! resolution), the lifecycle's `parents` (ancestors via `stat`, `/` excluded) and
//! `filepath.Walk` (lstat, depth-first pre-order, children sorted byte-wise, symlinks not
//! followed, the first error aborts).

use super::LayerError;
use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Go's `filepath.Abs`: joins with the working directory if relative, then cleans lexically.
pub fn go_abs(p: &Path) -> Result<PathBuf, LayerError> {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_err(|e| LayerError::io(p, e))?.join(p)
    };
    Ok(PathBuf::from(OsString::from_vec(go_clean(joined.as_os_str().as_bytes()))))
}

/// Go's `filepath.Clean` on Unix paths.
pub fn go_clean(p: &[u8]) -> Vec<u8> {
    if p.is_empty() {
        return b".".to_vec();
    }
    let rooted = p[0] == b'/';
    let mut parts: Vec<&[u8]> = Vec::new();
    for comp in p.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if parts.last().is_some_and(|l| *l != b"..") {
                    parts.pop();
                } else if !rooted {
                    parts.push(comp);
                }
            }
            _ => parts.push(comp),
        }
    }
    let mut out = Vec::new();
    if rooted {
        out.push(b'/');
    }
    out.extend_from_slice(&parts.join(&b'/'));
    if out.is_empty() {
        out.push(b'.');
    }
    out
}

/// The ancestors of `path` (absolute, clean), outermost first, excluding `/`, each with its
/// `stat` (symlinks followed) metadata.
pub fn ancestors(path: &Path) -> Result<Vec<(PathBuf, Metadata)>, LayerError> {
    let mut out = Vec::new();
    let mut cur = path.parent();
    while let Some(p) = cur {
        if p.as_os_str().as_bytes() == b"/" || p.as_os_str().is_empty() {
            break;
        }
        let meta = fs::metadata(p).map_err(|e| LayerError::io(p, e))?;
        out.push((p.to_path_buf(), meta));
        cur = p.parent();
    }
    out.reverse();
    Ok(out)
}

/// Go's `filepath.Walk(root, fn)`: calls `visit` for `root` and, if it is a directory (not
/// a symlink to one), for every descendant in depth-first pre-order with each directory's
/// entries sorted by name bytes. Stops at the first error.
pub fn walk(root: &Path, visit: &mut dyn FnMut(&Path, &Metadata) -> Result<(), LayerError>) -> Result<(), LayerError> {
    let meta = fs::symlink_metadata(root).map_err(|e| LayerError::io(root, e))?;
    walk_inner(root, &meta, visit)
}

fn walk_inner(
    path: &Path,
    meta: &Metadata,
    visit: &mut dyn FnMut(&Path, &Metadata) -> Result<(), LayerError>,
) -> Result<(), LayerError> {
    if !meta.is_dir() {
        return visit(path, meta);
    }
    let names = read_dir_sorted(path)?;
    visit(path, meta)?;
    for name in names {
        let child = join(path, &name);
        let cmeta = fs::symlink_metadata(&child).map_err(|e| LayerError::io(&child, e))?;
        walk_inner(&child, &cmeta, visit)?;
    }
    Ok(())
}

/// Directory entry names sorted byte-wise (Go's `readDirNames` + `sort.Strings`).
pub fn read_dir_sorted(path: &Path) -> Result<Vec<OsString>, LayerError> {
    let rd = fs::read_dir(path).map_err(|e| LayerError::io(path, e))?;
    let mut names = Vec::new();
    for ent in rd {
        names.push(ent.map_err(|e| LayerError::io(path, e))?.file_name());
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// Go's `filepath.Join(dir, name)` for a clean absolute `dir` and a plain entry name.
pub fn join(dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    let mut v = dir.as_os_str().as_bytes().to_vec();
    if v.last() != Some(&b'/') {
        v.push(b'/');
    }
    v.extend_from_slice(name.as_bytes());
    PathBuf::from(OsString::from_vec(v))
}
