//! Tar headers encoded byte-for-byte the way Go's `archive/tar` `Writer.WriteHeader` encodes
//! them for a header with no explicit format (the Go lifecycle's case).
//!
//! Facts reproduced (Go 1.2x `archive/tar`, writer.go / common.go / strconv.go / format.go):
//! - Format choice: USTAR if every field fits, else PAX (GNU is never needed for headers a
//!   layer writer produces: mode and device numbers always fit in octal).
//! - A name longer than 100 bytes stays USTAR when it can be split at a `/` into a prefix of
//!   at most 155 bytes and a name of at most 100 (ASCII only); otherwise a PAX `path` record.
//!   A link name longer than 100 bytes or any non-ASCII name/link name needs PAX. Uid/gid above
//!   2097151 (7 octal digits) or a size of 8 GiB or more need PAX (`uid`/`gid`/`size` records).
//! - PAX: an extended header entry named `<dir>/PaxHeaders.0/<base>` (type `x`, mode/uid/gid/
//!   mtime zero, no device fields) whose body holds the records sorted by key, followed by the
//!   main header whose strings are the ASCII-only, truncated values and whose numbers that do
//!   not fit are written as zero.
//! - Numbers are zero-padded octal followed by a NUL; the checksum is 6 octal digits, NUL, space.

use std::collections::BTreeMap;

pub const BLOCK: usize = 512;

/// The modification time the Go lifecycle stamps on every entry: 1980-01-01T00:00:01Z.
pub const NORMALIZED_MTIME: i64 = 315_532_801;

/// Tar entry types this crate writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Regular,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
}

impl EntryKind {
    pub fn typeflag(self) -> u8 {
        match self {
            EntryKind::Regular => b'0',
            EntryKind::HardLink => b'1',
            EntryKind::Symlink => b'2',
            EntryKind::CharDevice => b'3',
            EntryKind::BlockDevice => b'4',
            EntryKind::Directory => b'5',
            EntryKind::Fifo => b'6',
        }
    }

    /// Go's `isHeaderOnlyType`: entries of these kinds carry no data whatever `size` says.
    pub fn header_only(self) -> bool {
        !matches!(self, EntryKind::Regular)
    }
}

/// Everything a layer entry header holds. `name`/`link_name` are raw bytes (Unix paths).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarHeader {
    pub name: Vec<u8>,
    pub link_name: Vec<u8>,
    pub kind: EntryKind,
    /// Permission bits plus setuid/setgid/sticky (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub mtime: i64,
    pub dev_major: u32,
    pub dev_minor: u32,
}

impl TarHeader {
    /// A header with Go-lifecycle defaults: normalized mtime, root ownership, no data.
    pub fn new(name: impl Into<Vec<u8>>, kind: EntryKind, mode: u32) -> TarHeader {
        TarHeader {
            name: name.into(),
            link_name: Vec::new(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: NORMALIZED_MTIME,
            dev_major: 0,
            dev_minor: 0,
        }
    }

    /// The bytes Go writes for this header: optional PAX entry (header + padded records),
    /// then the 512-byte main header. Data and its padding are the caller's.
    pub fn encode(&self) -> Vec<u8> {
        let size = if self.kind.header_only() { 0 } else { self.size };
        let mut pax: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();
        let mut ustar_ok = true;

        // Name: long or non-ASCII names record `path` and are USTAR only when splittable.
        if !is_ascii(&self.name) || self.name.len() > 100 {
            if split_ustar_path(&self.name).is_none() {
                ustar_ok = false;
            }
            pax.insert("path", self.name.clone());
        }
        if !is_ascii(&self.link_name) || self.link_name.len() > 100 {
            ustar_ok = false;
            pax.insert("linkpath", self.link_name.clone());
        }
        for (key, value, width) in [("uid", self.uid, 8), ("gid", self.gid, 8), ("size", size, 12)] {
            if !fits_octal(width, value) {
                ustar_ok = false;
                pax.insert(key, value.to_string().into_bytes());
            }
        }

        let mut out = Vec::with_capacity(BLOCK * 3);
        if ustar_ok {
            let mut blk = [0u8; BLOCK];
            let (prefix, name) = match split_ustar_path(&self.name) {
                Some((p, n)) => (p, n),
                None => (&[][..], &self.name[..]),
            };
            self.template(&mut blk, name, &self.link_name, size);
            put_str(&mut blk[345..500], prefix);
            finish_block(&mut blk);
            out.extend_from_slice(&blk);
            return out;
        }

        // PAX extended header entry.
        let mut records = Vec::new();
        for (k, v) in &pax {
            records.extend_from_slice(&pax_record(k, v));
        }
        let (dir, base) = split_last(&self.name);
        let mut pax_name = path_join3(dir, b"PaxHeaders.0", base);
        pax_name = to_ascii(&pax_name);
        pax_name.truncate(100);
        while pax_name.last() == Some(&b'/') {
            pax_name.pop();
        }
        let mut blk = [0u8; BLOCK];
        put_str(&mut blk[0..100], &pax_name);
        put_octal(&mut blk[100..108], 0);
        put_octal(&mut blk[108..116], 0);
        put_octal(&mut blk[116..124], 0);
        put_octal(&mut blk[124..136], records.len() as u64);
        put_octal(&mut blk[136..148], 0);
        blk[156] = b'x';
        finish_block(&mut blk);
        out.extend_from_slice(&blk);
        out.extend_from_slice(&records);
        out.resize(out.len() + padding(records.len() as u64), 0);

        let mut blk = [0u8; BLOCK];
        self.template(&mut blk, &to_ascii(&self.name), &to_ascii(&self.link_name), size);
        finish_block(&mut blk);
        out.extend_from_slice(&blk);
        out
    }

    /// Go's `templateV7Plus` with `formatString` / `formatOctal`.
    fn template(&self, blk: &mut [u8; BLOCK], name: &[u8], link: &[u8], size: u64) {
        put_str(&mut blk[0..100], name);
        put_octal(&mut blk[100..108], u64::from(self.mode));
        put_octal(&mut blk[108..116], self.uid);
        put_octal(&mut blk[116..124], self.gid);
        put_octal(&mut blk[124..136], size);
        put_octal(&mut blk[136..148], u64::try_from(self.mtime).unwrap_or(0));
        blk[156] = self.kind.typeflag();
        put_str(&mut blk[157..257], link);
        // uname, gname: empty (Go writes a NUL into the first byte, already zero).
        put_octal(&mut blk[329..337], u64::from(self.dev_major));
        put_octal(&mut blk[337..345], u64::from(self.dev_minor));
    }
}

/// Padding after `size` bytes of data to reach a block boundary.
pub fn padding(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

/// Go's `isASCII`: every byte below 0x80 and not NUL.
fn is_ascii(s: &[u8]) -> bool {
    s.iter().all(|&b| b != 0 && b < 0x80)
}

/// Go's `toASCII`: drop every non-ASCII rune; for bytes this keeps 0x01..=0x7f.
fn to_ascii(s: &[u8]) -> Vec<u8> {
    s.iter().copied().filter(|&b| b != 0 && b < 0x80).collect()
}

fn fits_octal(width: usize, x: u64) -> bool {
    let bits = (width - 1) * 3;
    width >= 22 || x < (1u64 << bits)
}

/// Go's `formatString`: copy (truncating), NUL-terminate when there is room, and never leave
/// a truncated name ending in `/`.
fn put_str(field: &mut [u8], s: &[u8]) {
    let n = s.len().min(field.len());
    field[..n].copy_from_slice(&s[..n]);
    if s.len() < field.len() {
        field[s.len()] = 0;
    }
    if s.len() > field.len() && field[field.len() - 1] == b'/' {
        let mut end = field.len() - 1;
        while end > 0 && s[end - 1] == b'/' {
            end -= 1;
        }
        field[end] = 0;
    }
}

/// Go's `formatOctal`: zero-padded to width-1 digits, then NUL; zero when it does not fit.
fn put_octal(field: &mut [u8], x: u64) {
    let x = if fits_octal(field.len(), x) { x } else { 0 };
    let digits = format!("{:0width$o}", x, width = field.len() - 1);
    put_str(field, digits.as_bytes());
}

/// USTAR magic and version, then the checksum (6 octal digits, NUL, space).
fn finish_block(blk: &mut [u8; BLOCK]) {
    blk[257..263].copy_from_slice(b"ustar\0");
    blk[263..265].copy_from_slice(b"00");
    blk[148..156].fill(b' ');
    let sum: u64 = blk.iter().map(|&b| u64::from(b)).sum();
    put_octal(&mut blk[148..155], sum);
    blk[155] = b' ';
}

/// Go's `splitUSTARPath`.
fn split_ustar_path(name: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut length = name.len();
    if length <= 100 || !is_ascii(name) {
        return None;
    } else if length > 156 {
        length = 156;
    } else if name[length - 1] == b'/' {
        length -= 1;
    }
    let i = name[..length].iter().rposition(|&b| b == b'/')?;
    let nlen = name.len() - i - 1;
    if i == 0 || nlen > 100 || nlen == 0 || i > 155 {
        return None;
    }
    Some((&name[..i], &name[i + 1..]))
}

/// Go's `path.Split`: everything up to and including the last `/`, and the rest.
fn split_last(name: &[u8]) -> (&[u8], &[u8]) {
    match name.iter().rposition(|&b| b == b'/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => (&[][..], name),
    }
}

/// Go's `path.Join(dir, mid, base)` (joins non-empty parts with `/`, then `path.Clean`).
fn path_join3(dir: &[u8], mid: &[u8], base: &[u8]) -> Vec<u8> {
    let mut joined = Vec::new();
    for part in [dir, mid, base] {
        if part.is_empty() {
            continue;
        }
        if !joined.is_empty() {
            joined.push(b'/');
        }
        joined.extend_from_slice(part);
    }
    clean(&joined)
}

/// Go's `path.Clean` on bytes.
fn clean(p: &[u8]) -> Vec<u8> {
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

/// One PAX record: `"<len> <key>=<value>\n"` where `<len>` counts itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let base = key.len() + value.len() + 3;
    let mut size = base + base.to_string().len();
    if (base + size.to_string().len()) != size {
        size = base + size.to_string().len();
    }
    let mut rec = format!("{size} {key}=").into_bytes();
    rec.extend_from_slice(value);
    rec.push(b'\n');
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        assert_eq!(pax_record("path", b"/a"), b"11 path=/a\n");
        let v = vec![b'a'; 93];
        let rec = pax_record("path", &v);
        assert_eq!(rec.len(), 103);
        assert!(rec.starts_with(b"103 path="));
    }

    #[test]
    fn ustar_split_follows_go() {
        let long = format!("/{}/{}", "d".repeat(60), "f".repeat(60));
        let (p, n) = split_ustar_path(long.as_bytes()).expect("splittable");
        assert_eq!(p.len(), 61);
        assert_eq!(n.len(), 60);
        assert!(split_ustar_path(format!("/{}", "f".repeat(120)).as_bytes()).is_none());
        assert!(split_ustar_path(b"/short").is_none());
    }

    #[test]
    fn pax_name_is_clean_join() {
        assert_eq!(path_join3(b"/a/b/", b"PaxHeaders.0", b"c"), b"/a/b/PaxHeaders.0/c");
        assert_eq!(path_join3(b"", b"PaxHeaders.0", b"c"), b"PaxHeaders.0/c");
    }

    #[test]
    fn checksum_format() {
        let h = TarHeader::new(b"/a".to_vec(), EntryKind::Directory, 0o755);
        let b = h.encode();
        assert_eq!(b.len(), 512);
        assert_eq!(b[154], 0);
        assert_eq!(b[155], b' ');
        assert_eq!(&b[100..108], b"0000755\0");
        assert_eq!(&b[136..148], b"02263523001\0");
    }
}
