//! A comparable description of a directory tree, for the extraction tests and the extract
//! fuzz target (which includes this file by `#[path]`, so it uses only std and `cnb`).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// What stands at one path: kind with content hash, link target or device number, the
/// permission bits (0 for symlinks), owner, mtime, and the inode identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// `dir`, `file <sha256>`, `link-><target>`, `fifo`, `device <rdev>` or `other`.
    pub what: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub ino: u64,
    pub nlink: u64,
}

/// Every entry below `root` (not `root` itself), keyed by its path relative to `root` as
/// bytes. Symlinks are described, never followed.
pub fn describe(root: &Path) -> BTreeMap<Vec<u8>, Node> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// [`describe`] without the inode identity (number and link count), for comparing two
/// separate trees.
pub fn describe_portable(root: &Path) -> BTreeMap<Vec<u8>, Node> {
    let mut out = describe(root);
    for n in out.values_mut() {
        n.ino = 0;
        n.nlink = 0;
    }
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Node>) {
    let rd = fs::read_dir(dir).unwrap_or_else(|e| panic!("ls {}: {e}", dir.display()));
    for e in rd {
        let p = e
            .unwrap_or_else(|e| panic!("ls {}: {e}", dir.display()))
            .path();
        let m = p
            .symlink_metadata()
            .unwrap_or_else(|e| panic!("lstat {}: {e}", p.display()));
        let ft = m.file_type();
        let what = if ft.is_symlink() {
            let t = fs::read_link(&p).unwrap_or_else(|e| panic!("readlink {}: {e}", p.display()));
            format!("link->{:?}", t.as_os_str())
        } else if ft.is_file() {
            let data = fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            format!("file {}", cnb::digest::Digest::of(&data))
        } else if ft.is_dir() {
            walk(root, &p, out);
            "dir".into()
        } else if ft.is_fifo() {
            "fifo".into()
        } else if ft.is_char_device() || ft.is_block_device() {
            format!("device {}", m.rdev())
        } else {
            "other".into()
        };
        let rel = p.strip_prefix(root).expect("below root");
        out.insert(
            rel.as_os_str().as_bytes().to_vec(),
            Node {
                what,
                mode: if ft.is_symlink() {
                    0
                } else {
                    m.mode() & 0o7777
                },
                uid: m.uid(),
                gid: m.gid(),
                mtime: m.mtime(),
                ino: m.ino(),
                nlink: m.nlink(),
            },
        );
    }
}

/// Lexically resolves `target` of a symlink at `rel` (a path below `/layers`): does it stay
/// inside `/layers`?
pub fn stays_inside(rel: &[u8], target: &[u8]) -> bool {
    let mut stack: Vec<&[u8]> = if target.first() == Some(&b'/') {
        Vec::new()
    } else {
        let mut s: Vec<&[u8]> = vec![b"layers"];
        s.extend(rel.split(|&b| b == b'/').filter(|c| !c.is_empty()));
        s.pop();
        s
    };
    for c in target.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                stack.pop();
            }
            c => stack.push(c),
        }
    }
    stack.first() == Some(&&b"layers"[..])
}
