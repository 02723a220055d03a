//! Extraction for the restorer: decode (media type or magic bytes decide), verify digest and
//! diffID while streaming, and write entries under a root with no way out.
//!
//! Entry names are absolute container paths (`/layers/bp/layer/...`). Those under
//! [`ExtractOptions::prefix`] are written below [`ExtractOptions::dest`]; ancestors of the
//! prefix (e.g. `/layers`) are skipped; anything else is refused. Safety rules:
//! - `..` components are refused; no path component on disk is ever followed if it is a
//!   symlink (every parent is opened with `openat(O_NOFOLLOW|O_DIRECTORY)` from the root fd);
//! - symlink targets must stay inside the prefix (lexically; `..` only as a leading run)
//!   unless [`ExtractOptions::allow_symlinks_out`]; hard-link targets must be inside;
//! - device nodes are refused unless [`ExtractOptions::allow_devices`]; fifos are created;
//! - whiteouts (`.wh.*` names) are refused: the lifecycle's own layers never contain them;
//! - files, links and fifos are created under a temporary name in the same directory and
//!   renamed into place, so a failure leaves no half-written file;
//! - mode (incl. setuid/setgid/sticky) and mtime are restored, ownership too when
//!   [`ExtractOptions::restore_owner`] (default: running as root). Directories that already
//!   exist are left as they are (as the Go lifecycle does); new ones get their mode, mtime
//!   and owner after all entries are written.
//!
//! The digest and diffID are known only at the end of the stream: on a mismatch the error
//! says so and the caller must discard what was extracted.

use super::compress::Decoder;
use crate::digest::{Digest, HashingReader};
use std::ffi::CString;
use std::io::{self, BufReader, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where and how to extract.
#[derive(Clone, Debug)]
pub struct ExtractOptions {
    /// The directory entries under `prefix` are written to (created if missing).
    pub dest: PathBuf,
    /// The absolute archive path that maps to `dest` (e.g. `/layers`); `/` allows all.
    pub prefix: PathBuf,
    /// Name used in errors (e.g. `bp:layer`).
    pub layer: String,
    pub allow_devices: bool,
    pub allow_symlinks_out: bool,
    pub restore_owner: bool,
}

impl ExtractOptions {
    pub fn new(
        dest: impl Into<PathBuf>,
        prefix: impl Into<PathBuf>,
        layer: impl Into<String>,
    ) -> ExtractOptions {
        ExtractOptions {
            dest: dest.into(),
            prefix: prefix.into(),
            layer: layer.into(),
            allow_devices: false,
            allow_symlinks_out: false,
            // SAFETY: geteuid has no preconditions.
            restore_owner: unsafe { libc::geteuid() } == 0,
        }
    }
}

/// Digests the blob must have (checked at the end of the stream).
#[derive(Clone, Debug, Default)]
pub struct Expected {
    pub digest: Option<Digest>,
    pub diff_id: Option<Digest>,
}

/// What was extracted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    pub digest: Digest,
    pub size: u64,
    pub diff_id: Digest,
    pub entries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("failed to extract layer '{layer}': entry '{entry}': {reason}")]
    Entry {
        layer: String,
        entry: String,
        reason: String,
    },
    #[error("failed to read layer '{layer}' (after entry '{after}'): {source}")]
    Read {
        layer: String,
        after: String,
        source: io::Error,
    },
    #[error("layer '{layer}': expected {what} '{expected}'; found '{found}'")]
    Mismatch {
        layer: String,
        what: &'static str,
        expected: Digest,
        found: Digest,
    },
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in name"))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn open_dir_at(parent: RawFd, name: &[u8]) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: valid fd and NUL-terminated name; the returned fd is owned below.
    let fd = unsafe {
        libc::openat(
            parent,
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => io::Error::other(format!(
                "'{}' is a symlink or not a directory; refusing to follow it",
                String::from_utf8_lossy(name)
            )),
            _ => e,
        });
    }
    // SAFETY: fd is a fresh, valid descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstatat(AT_SYMLINK_NOFOLLOW)`; `None` if absent.
fn lstat_at(parent: RawFd, name: &[u8]) -> io::Result<Option<libc::stat>> {
    let c = cstr(name)?;
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd, name and out pointer.
    let rc = unsafe { libc::fstatat(parent, c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::ENOENT) {
            Ok(None)
        } else {
            Err(e)
        };
    }
    Ok(Some(st))
}

struct Meta {
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: i64,
}

fn times(mtime: i64) -> [libc::timespec; 2] {
    [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: mtime as libc::time_t,
            tv_nsec: 0,
        },
    ]
}

struct Extractor<'o> {
    opts: &'o ExtractOptions,
    root: OwnedFd,
    prefix: Vec<Vec<u8>>,
    cache: Option<(Vec<Vec<u8>>, OwnedFd)>,
    new_dirs: Vec<(Vec<Vec<u8>>, Meta)>,
}

fn components(p: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for c in p.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err("path contains '..'".into()),
            _ => out.push(c.to_vec()),
        }
    }
    Ok(out)
}

impl<'o> Extractor<'o> {
    fn new(opts: &'o ExtractOptions) -> io::Result<Extractor<'o>> {
        std::fs::create_dir_all(&opts.dest)?;
        let c = cstr(opts.dest.as_os_str().as_bytes())?;
        // SAFETY: NUL-terminated path; the fd is owned below.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        check(fd)?;
        let prefix = components(opts.prefix.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: fresh descriptor.
        Ok(Extractor {
            opts,
            root: unsafe { OwnedFd::from_raw_fd(fd) },
            prefix,
            cache: None,
            new_dirs: Vec::new(),
        })
    }

    /// Opens (creating missing ones with mode 0777 & ~umask) the directories `dirs` below
    /// the root without following symlinks.
    fn open_dirs(&mut self, dirs: &[Vec<u8>], create: bool) -> io::Result<RawFd> {
        if let Some((k, fd)) = &self.cache
            && k.as_slice() == dirs
        {
            return Ok(fd.as_raw_fd());
        }
        let mut cur: Option<OwnedFd> = None;
        for d in dirs {
            let parent = cur
                .as_ref()
                .map_or(self.root.as_raw_fd(), |f| f.as_raw_fd());
            let next = match open_dir_at(parent, d) {
                Ok(fd) => fd,
                Err(e) if create && e.raw_os_error() == Some(libc::ENOENT) => {
                    let c = cstr(d)?;
                    // SAFETY: valid fd and name.
                    let rc = unsafe { libc::mkdirat(parent, c.as_ptr(), 0o777) };
                    if rc < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
                        return Err(io::Error::last_os_error());
                    }
                    open_dir_at(parent, d)?
                }
                Err(e) => return Err(e),
            };
            cur = Some(next);
        }
        let fd = match cur {
            Some(fd) => fd,
            // SAFETY: dup of a valid fd.
            None => unsafe {
                OwnedFd::from_raw_fd(check_fd(libc::fcntl(
                    self.root.as_raw_fd(),
                    libc::F_DUPFD_CLOEXEC,
                    0,
                ))?)
            },
        };
        let raw = fd.as_raw_fd();
        self.cache = Some((dirs.to_vec(), fd));
        Ok(raw)
    }

    /// Maps an archive path to components below `dest`; `Ok(None)` = skip (ancestor of prefix).
    fn map(&self, name: &[u8]) -> Result<Option<Vec<Vec<u8>>>, String> {
        let comps = components(name)?;
        if comps.len() <= self.prefix.len() && self.prefix.starts_with(&comps) {
            return Ok(None);
        }
        if !comps.starts_with(&self.prefix) {
            return Err(format!("outside of '{}'", self.opts.prefix.display()));
        }
        let rel = comps[self.prefix.len()..].to_vec();
        if rel.iter().any(|c| c.starts_with(b".wh.")) {
            return Err("whiteout entries are not supported".into());
        }
        Ok(Some(rel))
    }

    /// Checks a symlink target stays inside the prefix (see module docs).
    fn check_symlink(&self, entry: &[u8], target: &[u8]) -> Result<(), String> {
        if self.opts.allow_symlinks_out {
            return Ok(());
        }
        let mut stack: Vec<Vec<u8>> = if target.first() == Some(&b'/') {
            Vec::new()
        } else {
            let mut c = components(entry).map_err(|e| e.to_string())?;
            c.pop();
            c
        };
        let mut seen_normal = false;
        for c in target.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    if seen_normal || stack.pop().is_none() {
                        return Err(format!(
                            "symlink target '{}' leaves the layer",
                            String::from_utf8_lossy(target)
                        ));
                    }
                }
                _ => {
                    seen_normal = true;
                    stack.push(c.to_vec());
                }
            }
        }
        if !stack.starts_with(&self.prefix) {
            return Err(format!(
                "symlink target '{}' points outside of '{}'",
                String::from_utf8_lossy(target),
                self.opts.prefix.display()
            ));
        }
        Ok(())
    }

    fn tmp_name(name: &[u8]) -> Vec<u8> {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut v = format!(".cnb-tmp-{}-{n}-", std::process::id()).into_bytes();
        v.extend_from_slice(&name[..name.len().min(64)]);
        v
    }

    fn set_meta_at(&self, dir: RawFd, name: &CString, meta: &Meta, chmod: bool) -> io::Result<()> {
        if self.opts.restore_owner {
            // SAFETY: valid fd and name.
            check(unsafe {
                libc::fchownat(
                    dir,
                    name.as_ptr(),
                    meta.uid as u32,
                    meta.gid as u32,
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            })?;
        }
        if chmod {
            // SAFETY: valid fd and name (never a symlink here).
            check(unsafe { libc::fchmodat(dir, name.as_ptr(), meta.mode as libc::mode_t, 0) })?;
        }
        let ts = times(meta.mtime);
        // SAFETY: valid fd, name and times array.
        check(unsafe {
            libc::utimensat(dir, name.as_ptr(), ts.as_ptr(), libc::AT_SYMLINK_NOFOLLOW)
        })
    }

    fn set_meta_fd(&self, fd: RawFd, meta: &Meta) -> io::Result<()> {
        if self.opts.restore_owner {
            // SAFETY: valid fd.
            check(unsafe { libc::fchown(fd, meta.uid as u32, meta.gid as u32) })?;
        }
        // SAFETY: valid fd.
        check(unsafe { libc::fchmod(fd, meta.mode as libc::mode_t) })?;
        let ts = times(meta.mtime);
        // SAFETY: valid fd and times array.
        check(unsafe { libc::futimens(fd, ts.as_ptr()) })
    }

    /// Creates something under a temporary name with `make`, sets metadata, renames it over
    /// `name`; removes the temporary on failure.
    fn place(
        &self,
        dir: RawFd,
        name: &[u8],
        make: impl FnOnce(RawFd, &CString) -> io::Result<()>,
    ) -> io::Result<()> {
        let tmp = cstr(&Self::tmp_name(name))?;
        let final_name = cstr(name)?;
        // rename(2) itself refuses to replace a directory with a non-directory (EISDIR).
        let res = make(dir, &tmp).and_then(|_| {
            // SAFETY: valid fds and names.
            check(unsafe { libc::renameat(dir, tmp.as_ptr(), dir, final_name.as_ptr()) })
        });
        if res.is_err() {
            // SAFETY: valid fd and name; failure to remove is ignored (nothing was created).
            unsafe { libc::unlinkat(dir, tmp.as_ptr(), 0) };
        }
        res
    }

    fn entry<R: Read>(&mut self, e: &mut tar::Entry<'_, R>) -> Result<(), String> {
        check_pax(e)?;
        let name = e.path_bytes().into_owned();
        let Some(rel) = self.map(&name)? else {
            return Ok(());
        };
        let Some((file, dirs)) = rel.split_last() else {
            return Ok(());
        };
        let h = e.header();
        let meta = Meta {
            mode: h.mode().map_err(|x| x.to_string())? & 0o7777,
            uid: h.uid().map_err(|x| x.to_string())?,
            gid: h.gid().map_err(|x| x.to_string())?,
            mtime: h.mtime().map_err(|x| x.to_string())? as i64,
        };
        let kind = h.entry_type();
        let dir = self.open_dirs(dirs, true).map_err(|x| x.to_string())?;
        let io = |r: io::Result<()>| r.map_err(|x| x.to_string());
        match kind {
            tar::EntryType::Directory => {
                match lstat_at(dir, file).map_err(|x| x.to_string())? {
                    Some(st) if (st.st_mode & libc::S_IFMT) == libc::S_IFDIR => return Ok(()),
                    Some(_) => {
                        let c = cstr(file).map_err(|x| x.to_string())?;
                        // SAFETY: valid fd and name; removes a non-directory in the way.
                        io(check(unsafe { libc::unlinkat(dir, c.as_ptr(), 0) }))?;
                    }
                    None => {}
                }
                let c = cstr(file).map_err(|x| x.to_string())?;
                // SAFETY: valid fd and name.
                io(check(unsafe { libc::mkdirat(dir, c.as_ptr(), 0o700) }))?;
                self.new_dirs.push((rel.clone(), meta));
                Ok(())
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                io(self.place(dir, file, |d, tmp| {
                    // SAFETY: valid fd and name; the fd is owned by the File below.
                    let fd = unsafe {
                        libc::openat(
                            d,
                            tmp.as_ptr(),
                            libc::O_WRONLY
                                | libc::O_CREAT
                                | libc::O_EXCL
                                | libc::O_NOFOLLOW
                                | libc::O_CLOEXEC,
                            0o600,
                        )
                    };
                    check(fd)?;
                    // SAFETY: fresh descriptor we own.
                    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
                    let want = e.size();
                    let n = copy_buffered(e, &mut f, want)?;
                    if n != want {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("archive ended after {n} of {want} bytes"),
                        ));
                    }
                    self.set_meta_fd(f.as_raw_fd(), &meta)
                }))
            }
            tar::EntryType::Symlink => {
                let target = e
                    .link_name_bytes()
                    .ok_or("symlink without target")?
                    .into_owned();
                self.check_symlink(&name, &target)?;
                io(self.place(dir, file, |d, tmp| {
                    let t = cstr(&target)?;
                    // SAFETY: valid fd and names.
                    check(unsafe { libc::symlinkat(t.as_ptr(), d, tmp.as_ptr()) })?;
                    self.set_meta_at(d, tmp, &meta, false)
                }))
            }
            tar::EntryType::Link => {
                let target = e
                    .link_name_bytes()
                    .ok_or("hard link without target")?
                    .into_owned();
                let trel = match self.map(&target) {
                    Ok(Some(t)) if !t.is_empty() => t,
                    _ => {
                        return Err(format!(
                            "hard link target '{}' is outside of the layer",
                            String::from_utf8_lossy(&target)
                        ));
                    }
                };
                let (tfile, tdirs) = trel.split_last().ok_or("empty hard link target")?;
                let tdir = self.open_dirs(tdirs, false).map_err(|x| x.to_string())?;
                // Keep the target directory open: open_dirs below may replace the cache.
                // SAFETY: dup of a valid fd.
                let tdir = unsafe {
                    OwnedFd::from_raw_fd(
                        check_fd(libc::fcntl(tdir, libc::F_DUPFD_CLOEXEC, 0))
                            .map_err(|x| x.to_string())?,
                    )
                };
                let dir = self.open_dirs(dirs, true).map_err(|x| x.to_string())?;
                io(self.place(dir, file, |d, tmp| {
                    let t = cstr(tfile)?;
                    // SAFETY: valid fds and names; flags 0 = do not follow a symlink target.
                    check(unsafe { libc::linkat(tdir.as_raw_fd(), t.as_ptr(), d, tmp.as_ptr(), 0) })
                }))
            }
            tar::EntryType::Fifo => io(self.place(dir, file, |d, tmp| {
                // SAFETY: valid fd and name.
                check(unsafe { libc::mkfifoat(d, tmp.as_ptr(), 0o600) })?;
                self.set_meta_at(d, tmp, &meta, true)
            })),
            tar::EntryType::Char | tar::EntryType::Block => {
                if !self.opts.allow_devices {
                    return Err("device nodes are not allowed".into());
                }
                let major = h.device_major().ok().flatten().unwrap_or(0);
                let minor = h.device_minor().ok().flatten().unwrap_or(0);
                let ty = if kind == tar::EntryType::Char {
                    libc::S_IFCHR
                } else {
                    libc::S_IFBLK
                };
                io(self.place(dir, file, |d, tmp| {
                    // SAFETY: valid fd and name.
                    check(unsafe {
                        libc::mknodat(d, tmp.as_ptr(), ty | 0o600, libc::makedev(major, minor))
                    })?;
                    self.set_meta_at(d, tmp, &meta, true)
                }))
            }
            tar::EntryType::XGlobalHeader => Ok(()),
            other => Err(format!("unsupported entry type {other:?}")),
        }
    }

    /// Applies owner, mode and mtime to the directories this extraction created, deepest first.
    fn finish_dirs(&mut self) -> Result<(), (String, String)> {
        self.cache = None;
        let dirs = std::mem::take(&mut self.new_dirs);
        for (rel, meta) in dirs.iter().rev() {
            let name = String::from_utf8_lossy(&rel.concat()).into_owned();
            let res = self
                .open_dirs(rel, false)
                .and_then(|fd| self.set_meta_fd(fd, meta));
            self.cache = None;
            res.map_err(|e| (name, e.to_string()))?;
        }
        Ok(())
    }
}

/// Refuses an entry whose PAX records tar-rs cannot parse. tar-rs splits PAX data at
/// newlines where Go's `archive/tar` honours each record's length, so a value holding a
/// newline (e.g. a path) is dropped by tar-rs (the entry would be written under its USTAR
/// name instead) and the rest of the value may even parse as another record (a `size` Go
/// never sees). Either way the two readers disagree: stop rather than guess.
fn check_pax<R: Read>(e: &mut tar::Entry<'_, R>) -> Result<(), String> {
    if let Some(exts) = e.pax_extensions().map_err(|x| x.to_string())? {
        for x in exts {
            x.map_err(|_| {
                "malformed PAX record (a newline inside a value is not supported)".to_string()
            })?;
        }
    }
    Ok(())
}

/// `io::copy` with a 256 KiB buffer (fewer read/write calls for large files).
fn copy_buffered(r: &mut dyn Read, w: &mut std::fs::File, size_hint: u64) -> io::Result<u64> {
    use std::io::Write;
    let mut buf = vec![0u8; size_hint.clamp(512, 256 * 1024) as usize];
    let mut n = 0u64;
    loop {
        let k = match r.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..k])?;
        n += k as u64;
    }
}

fn check_fd(fd: libc::c_int) -> io::Result<libc::c_int> {
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(fd)
    }
}

/// Decodes `blob` (gzip, zstd or plain tar: `media_type` if it says, else magic bytes),
/// extracts it per `opts`, and verifies the digests in `expect` once the stream ends.
pub fn extract<R: Read>(
    blob: R,
    media_type: Option<&str>,
    expect: &Expected,
    opts: &ExtractOptions,
) -> Result<Extracted, ExtractError> {
    let layer = opts.layer.clone();
    let read_err = |after: &str, source: io::Error| ExtractError::Read {
        layer: layer.clone(),
        after: after.to_string(),
        source,
    };
    let raw = BufReader::with_capacity(256 * 1024, HashingReader::new(blob));
    let dec = Decoder::new(media_type, raw).map_err(|e| read_err("", e))?;
    let mut ar = tar::Archive::new(HashingReader::new(dec));
    let mut ex = Extractor::new(opts).map_err(|e| ExtractError::Entry {
        layer: layer.clone(),
        entry: opts.dest.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut last = String::new();
    let mut count = 0u64;
    for entry in ar.entries().map_err(|e| read_err(&last, e))? {
        let mut entry = entry.map_err(|e| read_err(&last, e))?;
        last = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        ex.entry(&mut entry).map_err(|reason| ExtractError::Entry {
            layer: layer.clone(),
            entry: last.clone(),
            reason,
        })?;
        count += 1;
    }
    ex.finish_dirs()
        .map_err(|(entry, reason)| ExtractError::Entry {
            layer: layer.clone(),
            entry,
            reason,
        })?;
    let mut tar_reader = ar.into_inner();
    io::copy(&mut tar_reader, &mut io::sink()).map_err(|e| read_err(&last, e))?;
    let (dec, diff_id, _) = tar_reader.finish();
    let mut raw = dec.into_inner();
    io::copy(&mut raw, &mut io::sink()).map_err(|e| read_err(&last, e))?;
    let (_, digest, size) = raw.into_inner().finish();
    for (what, want, got) in [
        ("digest", &expect.digest, &digest),
        ("diffID", &expect.diff_id, &diff_id),
    ] {
        if let Some(want) = want
            && want != got
        {
            return Err(ExtractError::Mismatch {
                layer,
                what,
                expected: want.clone(),
                found: got.clone(),
            });
        }
    }
    Ok(Extracted {
        digest,
        size,
        diff_id,
        entries: count,
    })
}

/// Convenience: the archive path prefix and destination are the same directory (the Go
/// restorer's case: entries `/layers/...` written to `/layers/...`).
pub fn extract_in_place<R: Read>(
    blob: R,
    media_type: Option<&str>,
    expect: &Expected,
    layers_dir: &Path,
    layer: &str,
) -> Result<Extracted, ExtractError> {
    extract(
        blob,
        media_type,
        expect,
        &ExtractOptions::new(layers_dir, layers_dir, layer),
    )
}
