//! Layer compression choices, their media types, and encoders/decoders that stream.
//!
//! gzip uses flate2 with the zlib-rs backend (header: mtime 0, OS 255, like Go's), zstd uses
//! libzstd in multithreaded streaming mode with at least one worker so the output does not
//! depend on the worker count, and a fixed job size of [`ZSTD_JOB_SIZE`] so its memory does
//! not grow with the level's window (libzstd's default job is 4 windows: 8 MiB at level 3,
//! ~30 MiB of buffers per worker). Compressed bytes depend on the library versions and on
//! these parameters; the goldens in `tests/archive_compress.rs` pin them so a drift is
//! noticed.

use std::io::{self, BufRead, Read, Write};

pub const MEDIA_TYPE_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TYPE_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TYPE_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MEDIA_TYPE_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_MEDIA_TYPE_TAR_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// gzip level used when none is configured: level 1, the go-containerregistry default and
/// the fastest level (see docs/performance.md "Layer engine" for the measurement).
pub const DEFAULT_GZIP_LEVEL: u32 = 1;
/// zstd level used when none is configured (the zstd CLI default).
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;
/// Size of the input slice each libzstd worker compresses at once (libzstd's minimum is
/// 512 KiB). Measured on the bench tar (docs/performance.md): 1 MiB jobs keep a level-3
/// encoder at ~9 MB + ~4 MB per worker (default jobs: ~26 MB + ~30 MB per worker) with the
/// same output size to 0.1%.
pub const ZSTD_JOB_SIZE: u32 = 1024 * 1024;
/// Most libzstd workers one encoder starts (memory grows with each; see [`ZSTD_JOB_SIZE`]).
pub const ZSTD_MAX_WORKERS: usize = 4;

/// How a layer blob is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    /// gzip at a level 0..=9.
    Gzip(u32),
    /// zstd at a level 1..=22 (multithreaded, one worker per core, at least one and at most
    /// [`ZSTD_MAX_WORKERS`]).
    Zstd(i32),
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Gzip(DEFAULT_GZIP_LEVEL)
    }
}

impl Compression {
    /// The OCI layer media type for blobs encoded this way.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => MEDIA_TYPE_TAR,
            Compression::Gzip(_) => MEDIA_TYPE_TAR_GZIP,
            Compression::Zstd(_) => MEDIA_TYPE_TAR_ZSTD,
        }
    }

    /// The Docker schema2 media type, if Docker has one (it has none for zstd).
    pub fn docker_media_type(self) -> Option<&'static str> {
        match self {
            Compression::None => Some(DOCKER_MEDIA_TYPE_TAR),
            Compression::Gzip(_) => Some(DOCKER_MEDIA_TYPE_TAR_GZIP),
            Compression::Zstd(_) => None,
        }
    }

    /// Wraps `w` in a streaming encoder.
    pub fn encoder<W: Write>(self, w: W) -> io::Result<Encoder<W>> {
        Ok(match self {
            Compression::None => Encoder::None(w),
            Compression::Gzip(level) => Encoder::Gzip(flate2::write::GzEncoder::new(
                w,
                flate2::Compression::new(level.min(9)),
            )),
            Compression::Zstd(level) => {
                let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
                zstd_encoder(w, level, workers.min(ZSTD_MAX_WORKERS))?
            }
        })
    }
}

/// A zstd encoder with `workers` compression threads (at least 1: libzstd's multithreaded
/// format does not depend on the worker count, its single-threaded mode differs), jobs of
/// [`ZSTD_JOB_SIZE`], frame checksum on, no content size.
pub fn zstd_encoder<W: Write>(w: W, level: i32, workers: usize) -> io::Result<Encoder<W>> {
    let mut enc = zstd::stream::write::Encoder::new(w, level)?;
    enc.multithread(workers.max(1) as u32)?;
    enc.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB_SIZE))?;
    enc.include_checksum(true)?;
    enc.include_contentsize(false)?;
    Ok(Encoder::Zstd(enc))
}

/// A zstd encoder that compresses on the writing thread (libzstd's single-threaded mode:
/// no job buffers, the smallest memory — about 5 MB less than one worker at level 3 — and
/// other bytes than [`zstd_encoder`]'s, though as reproducible), frame checksum on, no
/// content size. For a writer that runs beside other busy threads anyway.
pub fn zstd_encoder_inline<W: Write>(w: W, level: i32) -> io::Result<Encoder<W>> {
    let mut enc = zstd::stream::write::Encoder::new(w, level)?;
    enc.include_checksum(true)?;
    enc.include_contentsize(false)?;
    Ok(Encoder::Zstd(enc))
}

impl std::str::FromStr for Compression {
    type Err = String;

    /// Parses `none`, `gzip`, `gzip:<0-9>`, `zstd`, `zstd:<1-22>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, level) = match s.split_once(':') {
            Some((k, l)) => (k, Some(l)),
            None => (s, None),
        };
        let bad = || format!("invalid compression '{s}': want none, gzip[:0-9] or zstd[:1-22]");
        match (kind, level) {
            ("none" | "uncompressed", None) => Ok(Compression::None),
            ("gzip", None) => Ok(Compression::Gzip(DEFAULT_GZIP_LEVEL)),
            ("gzip", Some(l)) => match l.parse::<u32>() {
                Ok(n) if n <= 9 => Ok(Compression::Gzip(n)),
                _ => Err(bad()),
            },
            ("zstd", None) => Ok(Compression::Zstd(DEFAULT_ZSTD_LEVEL)),
            ("zstd", Some(l)) => match l.parse::<i32>() {
                Ok(n) if (1..=22).contains(&n) => Ok(Compression::Zstd(n)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

/// A streaming encoder for one [`Compression`].
pub enum Encoder<W: Write> {
    None(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// Flushes the trailer and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::None(mut w) => {
                w.flush()?;
                Ok(w)
            }
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::None(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::None(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

/// What a blob's bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    Tar,
    Gzip,
    Zstd,
}

/// Decides the decoder: the media type when it names a compression, else the magic bytes
/// (gzip `1f 8b`, zstd `28 b5 2f fd`, anything else is tar).
pub fn detect(media_type: Option<&str>, head: &[u8]) -> Detected {
    if let Some(mt) = media_type {
        if mt.ends_with("+gzip") || mt.ends_with(".tar.gzip") || mt.ends_with(".tar.gz") {
            return Detected::Gzip;
        }
        if mt.ends_with("+zstd") || mt.ends_with(".tar.zstd") {
            return Detected::Zstd;
        }
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        Detected::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Detected::Zstd
    } else {
        Detected::Tar
    }
}

/// A streaming decoder chosen by [`detect`].
pub enum Decoder<R: BufRead> {
    Tar(R),
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, R>>),
}

impl<R: BufRead> Decoder<R> {
    /// Peeks at `r` (without consuming) and wraps it in the matching decoder.
    pub fn new(media_type: Option<&str>, mut r: R) -> io::Result<Decoder<R>> {
        let head = r.fill_buf()?;
        let head: Vec<u8> = head[..head.len().min(4)].to_vec();
        Ok(match detect(media_type, &head) {
            Detected::Tar => Decoder::Tar(r),
            Detected::Gzip => Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(r))),
            Detected::Zstd => Decoder::Zstd(Box::new(zstd::stream::read::Decoder::with_buffer(r)?)),
        })
    }

    pub fn into_inner(self) -> R {
        match self {
            Decoder::Tar(r) => r,
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Tar(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}
