//! Deterministic file trees for the layer engine's golden tests and benchmarks. Not part of
//! the lifecycle's behaviour; public so integration tests and benches can share it.

use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

/// Deterministic pseudo-random bytes (xorshift64*), so fixtures need no stored blobs.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.max(1);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn write(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(data)?;
    drop(f);
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
    fs::create_dir_all(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)
}

/// `mkfifo(path, mode)`.
pub fn mkfifo(path: &Path, mode: u32) -> io::Result<()> {
    let c = cpath(path)?;
    // SAFETY: c is a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), mode as libc::mode_t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// `mknod(path, S_IFCHR|mode, makedev(major, minor))` (needs CAP_MKNOD).
pub fn mkchardev(path: &Path, mode: u32, major: u32, minor: u32) -> io::Result<()> {
    let c = cpath(path)?;
    // SAFETY: c is a valid NUL-terminated path.
    if unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | mode as libc::mode_t, libc::makedev(major, minor)) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `lchown(path, uid, gid)`.
pub fn lchown(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    let c = cpath(path)?;
    // SAFETY: c is a valid NUL-terminated path.
    if unsafe { libc::lchown(c.as_ptr(), uid, gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Builds the "every case" layer tree in `dir` (which must not exist yet): nested dirs,
/// empty dir, empty file, file sizes around the 512-byte block, a 1 MiB file, setuid/
/// setgid/sticky modes, relative/absolute/dangling/long symlinks, hard links, a fifo,
/// a socket (skipped by the writer), a character device (when permitted), names longer
/// than 100 bytes (splittable and not), a path longer than 256 bytes, non-ASCII names,
/// and names whose byte order differs from component order (`a-b` vs `a/x`).
/// Returns whether the device node could be created.
pub fn build_every_case(dir: &Path) -> io::Result<bool> {
    mkdir(dir, 0o755)?;
    mkdir(&dir.join("empty-dir"), 0o755)?;
    write(&dir.join("file.txt"), b"hello\n", 0o644)?;
    write(&dir.join("empty-file"), b"", 0o600)?;
    write(&dir.join("exec.sh"), b"#!/bin/sh\necho hi\n", 0o755)?;
    write(&dir.join("block-512"), &pseudo_random(1, 512), 0o644)?;
    write(&dir.join("block-513"), &pseudo_random(2, 513), 0o644)?;
    write(&dir.join("big.bin"), &pseudo_random(3, 1 << 20), 0o644)?;
    write(&dir.join("setuid"), b"u", 0o4755)?;
    write(&dir.join("setgid"), b"g", 0o2755)?;
    write(&dir.join("read-only"), b"r", 0o400)?;
    mkdir(&dir.join("sticky-dir"), 0o1777)?;
    write(&dir.join("sticky-dir/inside"), b"i", 0o644)?;
    symlink("file.txt", dir.join("symlink-rel"))?;
    symlink("/etc/passwd", dir.join("symlink-abs"))?;
    symlink("does/not/exist", dir.join("symlink-dangling"))?;
    symlink(format!("../{}", "t".repeat(150)), dir.join("symlink-long"))?;
    symlink("empty-dir", dir.join("symlink-to-dir"))?;
    write(&dir.join("hardlink-a"), b"shared contents\n", 0o644)?;
    fs::hard_link(dir.join("hardlink-a"), dir.join("hardlink-b"))?;
    mkfifo(&dir.join("fifo"), 0o644)?;
    {
        let sock = dir.join("socket");
        let l = std::os::unix::net::UnixListener::bind(&sock)?;
        drop(l);
    }
    let dev = mkchardev(&dir.join("chardev"), 0o644, 1, 3).is_ok();
    write(&dir.join("ünïcødé-名前.txt"), b"unicode\n", 0o644)?;
    mkdir(&dir.join("目录"), 0o755)?;
    write(&dir.join("目录/файл"), b"x", 0o644)?;
    let long_dir = dir.join("d".repeat(60));
    mkdir(&long_dir, 0o755)?;
    write(&long_dir.join("f".repeat(60)), b"split into prefix and name\n", 0o644)?;
    write(&dir.join("x".repeat(150)), b"unsplittable name\n", 0o644)?;
    let mut deep = dir.to_path_buf();
    for i in 0..5 {
        deep = deep.join(format!("{}{i}", "p".repeat(50)));
    }
    mkdir(&deep, 0o755)?;
    write(&deep.join("leaf"), b"path longer than 256 bytes\n", 0o644)?;
    mkdir(&dir.join("a"), 0o755)?;
    write(&dir.join("a/x"), b"a/x", 0o644)?;
    write(&dir.join("a-b"), b"a-b", 0o644)?;
    write(&dir.join("a.c"), b"a.c", 0o644)?;
    write(&dir.join("B-upper"), b"B", 0o644)?;
    Ok(dev)
}

/// Builds an app dir for slice tests in `dir` (which must not exist yet).
pub fn build_app(dir: &Path) -> io::Result<()> {
    mkdir(dir, 0o755)?;
    for (p, data) in [
        ("README.md", &b"readme"[..]),
        ("a-b", b"a-b"),
        ("a/x", b"a/x"),
        ("a/y.txt", b"a/y.txt"),
        ("a/sub/z.txt", b"z"),
        ("b/c/d.txt", b"d"),
        ("b/c/e.bin", b"e"),
        ("b/f.txt", b"f"),
        ("static/css/site.css", b"css"),
        ("static/js/app.js", b"js"),
        ("[weird]name", b"w"),
        ("star*file", b"s"),
        ("bin/app", b"\x7fELF"),
    ] {
        let path = dir.join(p);
        if let Some(parent) = path.parent() {
            mkdir(parent, 0o755)?;
        }
        write(&path, data, 0o644)?;
    }
    fs::set_permissions(dir.join("bin/app"), fs::Permissions::from_mode(0o755))?;
    mkdir(&dir.join("empty"), 0o755)?;
    symlink("a/x", dir.join("link-to-a-x"))?;
    Ok(())
}

/// The slices used with [`build_app`] by the golden test (launch.toml `[[slices]] paths`).
pub fn app_slices() -> Vec<Vec<&'static str>> {
    vec![
        vec!["a/*"],
        vec!["*.txt", "b/c"],
        vec!["static", "static/js/app.js"],
        vec!["nothing-matches-this"],
        vec!["\\[weird]name", "star\\*file", "bin/[a-c]pp"],
    ]
}

/// A tree of roughly `total` bytes for benchmarks: a few large incompressible-ish binaries
/// (half the bytes) and many small text-like files (the other half).
pub fn build_bench_tree(dir: &Path, total: u64) -> io::Result<()> {
    mkdir(dir, 0o755)?;
    let big = total / 2;
    let nbig = 4u64;
    for i in 0..nbig {
        let mut data = pseudo_random(100 + i, (big / nbig) as usize);
        // Make half of each binary repetitive so compressors have something to do.
        let half = data.len() / 2;
        for (j, b) in data[half..].iter_mut().enumerate() {
            *b = b"\x00\x00\x00\x00mov rax, rbx; call foo\n"[j % 26];
        }
        write(&dir.join(format!("lib{i}.so")), &data, 0o755)?;
    }
    let small = total - big;
    let file_size = 4096u64;
    let nsmall = (small / file_size).max(1);
    let words = ["function", "return", "const", "import", "module", "export", "value", "=>", "{", "}", ";\n"];
    for i in 0..nsmall {
        let sub = dir.join(format!("node_modules/pkg{:03}/lib", i / 100));
        if i % 100 == 0 {
            mkdir(&sub, 0o755)?;
        }
        let mut text = Vec::with_capacity(file_size as usize);
        let rnd = pseudo_random(1000 + i, file_size as usize);
        let mut k = 0;
        while text.len() < file_size as usize {
            text.extend_from_slice(words[rnd[k % rnd.len()] as usize % words.len()].as_bytes());
            text.push(b' ');
            k += 1;
        }
        text.truncate(file_size as usize);
        write(&sub.join(format!("file{i}.js")), &text, 0o644)?;
    }
    Ok(())
}
