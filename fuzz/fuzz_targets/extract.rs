//! Arbitrary bytes → `cnb::archive::extract` against a sandbox; whatever the bytes, no panic
//! and nothing outside the destination changes. See ../README.md.
//!
//! Byte 0 holds flags (bit 0: allow symlinks out, bit 1: allow devices, bit 2: plant
//! symlinks pointing outside in the destination first); the rest is the blob (plain tar,
//! or gzip/zstd by magic bytes).

#![no_main]

use cnb::archive::{Expected, ExtractOptions, extract};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

fn sandbox() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("cnb-fuzz-extract-{}", std::process::id()))
}

/// path → (kind and content or target, mode, mtime, nlink) for everything below `root`.
fn describe(root: &Path, out: &mut BTreeMap<Vec<u8>, (String, u32, i64, u64, u64)>) {
    let Ok(rd) = fs::read_dir(root) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = p.symlink_metadata() else { continue };
        let ft = m.file_type();
        let what = if ft.is_symlink() {
            format!("link {:?}", fs::read_link(&p).ok())
        } else if ft.is_file() {
            format!("file {:?}", fs::read(&p).ok())
        } else if ft.is_dir() {
            describe(&p, out);
            "dir".into()
        } else if ft.is_char_device() || ft.is_block_device() {
            format!("device {}", m.rdev())
        } else {
            "other".into()
        };
        out.insert(
            p.as_os_str().as_bytes().to_vec(),
            (what, m.mode(), m.mtime(), m.nlink(), m.ino()),
        );
    }
}

/// Lexically resolves a symlink at `rel` (below `/layers`): does it stay inside?
fn stays_inside(rel: &[u8], target: &[u8]) -> bool {
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

fuzz_target!(|data: &[u8]| {
    let Some((&flags, blob)) = data.split_first() else {
        return;
    };
    let root = sandbox();
    let _ = fs::remove_dir_all(&root);
    let dest = root.join("dest");
    let outside = root.join("outside");
    fs::create_dir_all(dest.join("bp")).expect("dest");
    fs::create_dir_all(outside.join("sub")).expect("outside");
    fs::write(outside.join("keep"), b"keep").expect("keep");
    let mut planted = Vec::new();
    if flags & 4 != 0 {
        for (at, to) in [
            (dest.join("esc"), PathBuf::from("../outside")),
            (dest.join("bp/a"), outside.clone()),
            (dest.join("bp/keep"), outside.join("keep")),
        ] {
            std::os::unix::fs::symlink(&to, &at).expect("plant");
            planted.push(at.symlink_metadata().expect("lstat").ino());
        }
    }
    let mut before = BTreeMap::new();
    describe(&outside, &mut before);

    let mut opts = ExtractOptions::new(&dest, "/layers", "fuzz:layer");
    opts.allow_symlinks_out = flags & 1 != 0;
    opts.allow_devices = flags & 2 != 0;
    let res = extract(blob, None, &Expected::default(), &opts);
    if let Err(e) = &res {
        assert!(e.to_string().contains("fuzz:layer"), "error names the layer: {e}");
    }

    let top: Vec<_> = fs::read_dir(&root)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(top.len(), 2, "only dest and outside next to each other: {top:?}");
    let mut after = BTreeMap::new();
    describe(&outside, &mut after);
    assert_eq!(before, after, "outside changed ({res:?})");

    let mut inside = BTreeMap::new();
    describe(&dest, &mut inside);
    for (path, (what, _, _, _, ino)) in &inside {
        let rel = &path[dest.as_os_str().len() + 1..];
        let base = rel.rsplit(|&b| b == b'/').next().unwrap_or_default();
        assert!(!base.starts_with(b".cnb-tmp"), "temporary left behind ({res:?})");
        if !opts.allow_devices {
            assert!(!what.starts_with("device"), "device node made ({res:?})");
        }
        if what.starts_with("link") && !opts.allow_symlinks_out && !planted.contains(ino) {
            let t = fs::read_link(Path::new(std::ffi::OsStr::from_bytes(path))).expect("readlink");
            assert!(
                stays_inside(rel, t.as_os_str().as_bytes()),
                "symlink {:?} -> {t:?} points outside ({res:?})",
                String::from_utf8_lossy(rel)
            );
        }
    }
    let _ = fs::remove_dir_all(&root);
});
