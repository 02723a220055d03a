//! Arbitrary bytes → `cnb::archive::extract` against a sandbox; whatever the bytes, no panic
//! and nothing outside the destination changes. See ../README.md.
//!
//! Byte 0 holds flags (bit 0: allow symlinks out, bit 1: allow devices, bit 2: plant
//! symlinks pointing outside in the destination first); the rest is the blob (plain tar,
//! or gzip/zstd by magic bytes).

#![no_main]

// The tree description and the symlink check the extraction tests use; the file needs
// only std and `cnb`.
#[path = "../../tests/common/tree.rs"]
#[allow(dead_code)]
mod tree;

use cnb::archive::{Expected, ExtractOptions, extract};
use libfuzzer_sys::fuzz_target;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tree::{describe, stays_inside};

fn sandbox() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("cnb-fuzz-extract-{}", std::process::id()))
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
    let before = describe(&outside);

    let mut opts = ExtractOptions::new(&dest, "/layers", "fuzz:layer");
    opts.allow_symlinks_out = flags & 1 != 0;
    opts.allow_devices = flags & 2 != 0;
    let res = extract(blob, None, &Expected::default(), &opts);
    if let Err(e) = &res {
        assert!(
            e.to_string().contains("fuzz:layer"),
            "error names the layer: {e}"
        );
    }

    let top: Vec<_> = fs::read_dir(&root)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        top.len(),
        2,
        "only dest and outside next to each other: {top:?}"
    );
    let after = describe(&outside);
    assert_eq!(before, after, "outside changed ({res:?})");

    for (rel, node) in &describe(&dest) {
        let base = rel.rsplit(|&b| b == b'/').next().unwrap_or_default();
        assert!(
            !base.starts_with(b".cnb-tmp"),
            "temporary left behind ({res:?})"
        );
        if !opts.allow_devices {
            assert!(
                !node.what.starts_with("device"),
                "device node made ({res:?})"
            );
        }
        if node.what.starts_with("link->")
            && !opts.allow_symlinks_out
            && !planted.contains(&node.ino)
        {
            let t = fs::read_link(dest.join(OsStr::from_bytes(rel))).expect("readlink");
            assert!(
                stays_inside(rel, t.as_os_str().as_bytes()),
                "symlink {:?} -> {t:?} points outside ({res:?})",
                String::from_utf8_lossy(rel)
            );
        }
    }
    let _ = fs::remove_dir_all(&root);
});
