//! A streaming tar writer producing the Go lifecycle's bytes: headers from [`TarHeader`],
//! file data padded to 512 bytes, and exactly two zero blocks at the end (Go's
//! `tar.Writer.Close`; no padding to a 10 KiB record).

use super::header::{EntryKind, NORMALIZED_MTIME, TarHeader, padding};
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

const COPY_BUF: usize = 256 * 1024;

/// Ownership written into headers in place of the on-disk uid/gid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub uid: u64,
    pub gid: u64,
}

impl Owner {
    pub const ROOT: Owner = Owner { uid: 0, gid: 0 };

    pub fn new(uid: u64, gid: u64) -> Owner {
        Owner { uid, gid }
    }
}

/// The header Go's `tar.FileInfoHeader` + the lifecycle's normalizing writer produce for a
/// file with metadata `meta` stored under `name`: mode = permission + setuid/setgid/sticky
/// bits, mtime 1980-01-01T00:00:01Z, empty user/group names, `owner` or the real uid/gid.
/// Returns `None` for sockets (the Go lifecycle skips them). Hard links are not detected:
/// each name is stored as what `lstat` saw.
pub fn header_from_metadata(
    path: &Path,
    name: &[u8],
    meta: &Metadata,
    owner: Option<Owner>,
) -> io::Result<Option<TarHeader>> {
    let ft = meta.file_type();
    let kind = if ft.is_file() {
        EntryKind::Regular
    } else if ft.is_dir() {
        EntryKind::Directory
    } else if ft.is_symlink() {
        EntryKind::Symlink
    } else if ft.is_char_device() {
        EntryKind::CharDevice
    } else if ft.is_block_device() {
        EntryKind::BlockDevice
    } else if ft.is_fifo() {
        EntryKind::Fifo
    } else if ft.is_socket() {
        return Ok(None);
    } else {
        return Err(io::Error::other(format!("unknown file mode {:o}", meta.mode())));
    };
    let mut h = TarHeader::new(name.to_vec(), kind, meta.mode() & 0o7777);
    let owner = owner.unwrap_or(Owner { uid: u64::from(meta.uid()), gid: u64::from(meta.gid()) });
    h.uid = owner.uid;
    h.gid = owner.gid;
    h.mtime = NORMALIZED_MTIME;
    match kind {
        EntryKind::Regular => h.size = meta.len(),
        EntryKind::Symlink => h.link_name = fs::read_link(path)?.as_os_str().as_bytes().to_vec(),
        EntryKind::CharDevice | EntryKind::BlockDevice => {
            // Go's Linux split of st_rdev (same as glibc's major()/minor()).
            let dev = meta.rdev();
            h.dev_major = (((dev & 0x0000_0000_000f_ff00) >> 8) | ((dev & 0xffff_f000_0000_0000) >> 32)) as u32;
            h.dev_minor = ((dev & 0x0000_0000_0000_00ff) | ((dev & 0x0000_0fff_fff0_0000) >> 12)) as u32;
        }
        _ => {}
    }
    Ok(Some(h))
}

/// Writes tar entries to `W`. Call [`TarWriter::finish`] to write the end-of-archive marker.
pub struct TarWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> TarWriter<W> {
    pub fn new(inner: W) -> TarWriter<W> {
        TarWriter { inner, buf: Vec::new() }
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Writes `header`, then exactly `header.size` bytes of `data` (regular files only) and
    /// the padding. Fails if `data` holds fewer or more bytes than announced.
    pub fn append(&mut self, header: &TarHeader, data: &mut dyn Read) -> io::Result<()> {
        self.inner.write_all(&header.encode())?;
        if header.kind.header_only() {
            return Ok(());
        }
        if self.buf.is_empty() {
            self.buf = vec![0u8; COPY_BUF];
        }
        let mut left = header.size;
        while left > 0 {
            let want = (left as usize).min(self.buf.len());
            let n = data.read(&mut self.buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("file shrank while archiving: {left} bytes missing"),
                ));
            }
            self.inner.write_all(&self.buf[..n])?;
            left -= n as u64;
        }
        if data.read(&mut self.buf[..1])? != 0 {
            return Err(io::Error::other("file grew while archiving"));
        }
        let pad = padding(header.size);
        self.inner.write_all(&[0u8; 512][..pad])
    }

    /// Writes a header-only entry (directory, symlink, fifo, device).
    pub fn append_header(&mut self, header: &TarHeader) -> io::Result<()> {
        self.append(header, &mut io::empty())
    }

    /// Writes the entry for the file at `path`, named by its absolute path, with the given
    /// lstat/stat metadata. Sockets are skipped.
    pub fn append_path(&mut self, path: &Path, meta: &Metadata, owner: Option<Owner>) -> io::Result<()> {
        let name = path.as_os_str().as_bytes();
        let Some(header) = header_from_metadata(path, name, meta, owner)? else {
            return Ok(());
        };
        if header.kind == EntryKind::Regular {
            let mut f = File::open(path)?;
            self.append(&header, &mut f)
        } else {
            self.append_header(&header)
        }
    }

    /// Writes the two zero blocks that end the archive and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(&[0u8; 1024])?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}
