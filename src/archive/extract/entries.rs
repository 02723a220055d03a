//! Writing tar entries below the root with no way out (see the parent module's docs for the
//! rules). Every parent directory is opened component by component with
//! `openat(O_NOFOLLOW|O_DIRECTORY)` from the root descriptor (the last one is cached).
//!
//! A new name is created in place with an exclusive create (`O_CREAT|O_EXCL`, `symlinkat`,
//! `linkat`, `mknodat` all fail on any existing name, symlinks included, without following
//! it); if that or any later step (data, owner, mode, mtime) fails, the name is removed
//! again. Only when something already exists under the name is the entry made under a
//! temporary name beside it and renamed over it (an atomic replace; `rename` itself refuses
//! to put a non-directory over a directory). A regular file gets its permission bits at
//! create time; `fchmod` follows only when the umask would strip some of them or for
//! setuid/setgid/sticky bits (set after `fchown`, which clears them).

use super::ExtractOptions;
use super::at::{
    check, check_fd, cstr, current_umask, dup, lstat_at, open_dir_at, times, unlink_at,
};
use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicU64, Ordering};

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Copy buffer for file data (one per extraction, reused for every file).
const COPY_BUF: usize = 256 * 1024;

pub(super) struct Meta {
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: i64,
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

fn tmp_name(name: &[u8]) -> Vec<u8> {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut v = format!(".cnb-tmp-{}-{n}-", std::process::id()).into_bytes();
    v.extend_from_slice(&name[..name.len().min(64)]);
    v
}

/// Something just created in `dir` under `name` (a temporary name when `rename_to` is set).
struct Made<T> {
    dir: RawFd,
    name: CString,
    rename_to: Option<CString>,
    value: T,
}

/// Creates `file` in `dir` with `make`; if the name is taken, creates it under a temporary
/// name instead (to be renamed over the existing one by [`Made::finish`]).
fn make_at<T>(
    dir: RawFd,
    file: &[u8],
    make: impl Fn(&CString) -> io::Result<T>,
) -> io::Result<Made<T>> {
    let name = cstr(file)?;
    match make(&name) {
        Ok(value) => Ok(Made {
            dir,
            name,
            rename_to: None,
            value,
        }),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            let tmp = cstr(&tmp_name(file))?;
            let value = make(&tmp)?;
            Ok(Made {
                dir,
                name: tmp,
                rename_to: Some(name),
                value,
            })
        }
        Err(e) => Err(e),
    }
}

impl<T> Made<T> {
    /// Runs the remaining steps, then puts the entry in place; on any failure removes what
    /// was created, so no half-made entry is left.
    fn finish(self, f: impl FnOnce(RawFd, &CString, T) -> io::Result<()>) -> io::Result<()> {
        let Made {
            dir,
            name,
            rename_to,
            value,
        } = self;
        let res = f(dir, &name, value).and_then(|_| match &rename_to {
            // SAFETY: valid fd and names.
            Some(to) => check(unsafe { libc::renameat(dir, name.as_ptr(), dir, to.as_ptr()) }),
            None => Ok(()),
        });
        if res.is_err() {
            unlink_at(dir, &name);
        }
        res
    }
}

pub(super) struct Extractor<'o> {
    opts: &'o ExtractOptions,
    root: OwnedFd,
    prefix: Vec<Vec<u8>>,
    cache: Option<(Vec<Vec<u8>>, OwnedFd)>,
    new_dirs: Vec<(Vec<Vec<u8>>, Meta)>,
    umask: Option<u32>,
    buf: Vec<u8>,
}

impl<'o> Extractor<'o> {
    pub(super) fn new(opts: &'o ExtractOptions) -> io::Result<Extractor<'o>> {
        std::fs::create_dir_all(&opts.dest)?;
        let c = cstr(opts.dest.as_os_str().as_bytes())?;
        // SAFETY: NUL-terminated path.
        let root = check_fd(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        let prefix = components(opts.prefix.as_os_str().as_bytes()).map_err(io::Error::other)?;
        Ok(Extractor {
            opts,
            root,
            prefix,
            cache: None,
            new_dirs: Vec::new(),
            umask: current_umask(),
            buf: Vec::new(),
        })
    }

    pub(super) fn layer(&self) -> &str {
        &self.opts.layer
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
            None => dup(self.root.as_raw_fd())?,
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
            let mut c = components(entry)?;
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

    /// Owner, mode (if `chmod`) and mtime of something that is not a directory's fd.
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

    fn set_meta_fd(&self, fd: RawFd, meta: &Meta, chmod: bool) -> io::Result<()> {
        if self.opts.restore_owner {
            // SAFETY: valid fd.
            check(unsafe { libc::fchown(fd, meta.uid as u32, meta.gid as u32) })?;
        }
        if chmod {
            // SAFETY: valid fd.
            check(unsafe { libc::fchmod(fd, meta.mode as libc::mode_t) })?;
        }
        let ts = times(meta.mtime);
        // SAFETY: valid fd and times array.
        check(unsafe { libc::futimens(fd, ts.as_ptr()) })
    }

    /// Whether a file created with `mode & 0o777` needs an `fchmod` to end up with `mode`.
    fn needs_chmod(&self, mode: u32) -> bool {
        mode & 0o7000 != 0 || self.umask.is_none_or(|u| mode & u & 0o777 != 0)
    }

    /// Creates the regular file `file` in `dir` with the entry's data and metadata.
    fn write_file(
        &mut self,
        dir: RawFd,
        file: &[u8],
        data: &mut dyn Read,
        size: u64,
        meta: &Meta,
    ) -> io::Result<()> {
        let made = make_at(dir, file, |name| {
            // SAFETY: valid fd and name.
            check_fd(unsafe {
                libc::openat(
                    dir,
                    name.as_ptr(),
                    libc::O_WRONLY
                        | libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC,
                    (meta.mode & 0o777) as libc::c_uint,
                )
            })
        })?;
        let chmod = self.needs_chmod(meta.mode);
        let mut buf = std::mem::take(&mut self.buf);
        let res = made.finish(|_, _, fd| {
            let mut f = std::fs::File::from(fd);
            let n = copy_into(data, &mut f, &mut buf, size)?;
            if n != size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("archive ended after {n} of {size} bytes"),
                ));
            }
            self.set_meta_fd(f.as_raw_fd(), meta, chmod)
        });
        self.buf = buf;
        res
    }

    pub(super) fn entry<R: Read>(&mut self, e: &mut tar::Entry<'_, R>) -> Result<(), String> {
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
                let size = e.size();
                io(self.write_file(dir, file, e, size, &meta))
            }
            tar::EntryType::Symlink => {
                let target = e
                    .link_name_bytes()
                    .ok_or("symlink without target")?
                    .into_owned();
                self.check_symlink(&name, &target)?;
                let t = cstr(&target).map_err(|x| x.to_string())?;
                io(make_at(dir, file, |n| {
                    // SAFETY: valid fd and names.
                    check(unsafe { libc::symlinkat(t.as_ptr(), dir, n.as_ptr()) })
                })
                .and_then(|m| m.finish(|d, n, ()| self.set_meta_at(d, n, &meta, false))))
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
                let tdir = dup(tdir).map_err(|x| x.to_string())?;
                let dir = self.open_dirs(dirs, true).map_err(|x| x.to_string())?;
                let t = cstr(tfile).map_err(|x| x.to_string())?;
                io(make_at(dir, file, |n| {
                    // SAFETY: valid fds and names; flags 0 = do not follow a symlink target.
                    check(unsafe { libc::linkat(tdir.as_raw_fd(), t.as_ptr(), dir, n.as_ptr(), 0) })
                })
                .and_then(|m| m.finish(|_, _, ()| Ok(()))))
            }
            tar::EntryType::Fifo => io(make_at(dir, file, |n| {
                // SAFETY: valid fd and name.
                check(unsafe { libc::mkfifoat(dir, n.as_ptr(), 0o600) })
            })
            .and_then(|m| m.finish(|d, n, ()| self.set_meta_at(d, n, &meta, true)))),
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
                io(make_at(dir, file, |n| {
                    // SAFETY: valid fd and name.
                    check(unsafe {
                        libc::mknodat(dir, n.as_ptr(), ty | 0o600, libc::makedev(major, minor))
                    })
                })
                .and_then(|m| m.finish(|d, n, ()| self.set_meta_at(d, n, &meta, true))))
            }
            tar::EntryType::XGlobalHeader => Ok(()),
            other => Err(format!("unsupported entry type {other:?}")),
        }
    }

    /// Applies owner, mode and mtime to the directories this extraction created, deepest first.
    pub(super) fn finish_dirs(&mut self) -> Result<(), (String, String)> {
        self.cache = None;
        let dirs = std::mem::take(&mut self.new_dirs);
        for (rel, meta) in dirs.iter().rev() {
            let name = String::from_utf8_lossy(&rel.join(&b'/')).into_owned();
            let res = self
                .open_dirs(rel, false)
                .and_then(|fd| self.set_meta_fd(fd, meta, true));
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

/// Copies up to `size` bytes (the entry's reader stops there) through `buf`.
fn copy_into(
    r: &mut dyn Read,
    w: &mut std::fs::File,
    buf: &mut Vec<u8>,
    size: u64,
) -> io::Result<u64> {
    let want = size.clamp(512, COPY_BUF as u64) as usize;
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let buf = &mut buf[..want];
    let mut n = 0u64;
    loop {
        let k = match r.read(buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..k])?;
        n += k as u64;
    }
}
