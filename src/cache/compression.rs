//! How the layers of a cache *image* are compressed when we push them (a volume cache always
//! stores uncompressed tars, as Go does).
//!
//! Selected by the flag `-cache-compression <gzip|zstd|none>` (our extension, on the phases
//! that write a cache: exporter, creator), else the environment variable
//! `CNB_RS_CACHE_COMPRESSION`, else **gzip**. Gzip is the default because it is what the Go
//! lifecycle writes and reads everywhere; choose `zstd` only when every reader of the cache
//! image is cnb-lifecycle-rs or a Go lifecycle whose go-containerregistry detects zstd blobs
//! by magic (v0.21.x does, so the Go restorer is expected to read it — not tested here).
//! `none` pushes plain tars (media type `…tar`), useful for a registry on the same host.
//!
//! Reading never depends on this setting: the decoder is chosen from the blob's magic bytes.

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::str::FromStr;

/// Our environment variable for the cache image compression.
pub const COMPRESSION_ENV: &str = "CNB_RS_CACHE_COMPRESSION";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CacheCompression {
    #[default]
    Gzip,
    Zstd,
    None,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid cache compression '{0}': want gzip, zstd or none")]
pub struct CompressionParseError(pub String);

impl FromStr for CacheCompression {
    type Err = CompressionParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gzip" | "gz" => Ok(CacheCompression::Gzip),
            "zstd" | "zst" => Ok(CacheCompression::Zstd),
            "none" | "uncompressed" => Ok(CacheCompression::None),
            _ => Err(CompressionParseError(s.to_string())),
        }
    }
}

impl fmt::Display for CacheCompression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CacheCompression::Gzip => "gzip",
            CacheCompression::Zstd => "zstd",
            CacheCompression::None => "none",
        })
    }
}

impl CacheCompression {
    /// Flag value (if the flag was given) wins over `env_value` (the value of
    /// [`COMPRESSION_ENV`], if set and non-empty); default gzip.
    pub fn select(
        flag: Option<&str>,
        env_value: Option<&str>,
    ) -> Result<CacheCompression, CompressionParseError> {
        match flag.or(env_value.filter(|v| !v.trim().is_empty())) {
            Some(v) => v.parse(),
            None => Ok(CacheCompression::Gzip),
        }
    }

    /// [`select`](Self::select) with the value of `CNB_RS_CACHE_COMPRESSION` from the process env.
    pub fn from_flag_or_env(flag: Option<&str>) -> Result<CacheCompression, CompressionParseError> {
        let env = std::env::var(COMPRESSION_ENV).ok();
        Self::select(flag, env.as_deref())
    }

    /// OCI media type of a layer blob compressed this way.
    pub fn media_type(self) -> &'static str {
        self.archive().media_type()
    }

    /// The layer engine's setting this stands for: gzip level 1 (like go-containerregistry's
    /// default `BestSpeed`), zstd level 3, or none ([`encoder`](Self::encoder) picks the
    /// zstd mode).
    pub fn archive(self) -> crate::archive::Compression {
        match self {
            CacheCompression::Gzip => crate::archive::Compression::Gzip(1),
            CacheCompression::Zstd => crate::archive::Compression::Zstd(3),
            CacheCompression::None => crate::archive::Compression::None,
        }
    }

    /// Wraps `w` in the encoder for this setting (see [`archive`](Self::archive)). zstd runs
    /// on the writing thread here (no worker): cache layers are written beside the app
    /// image's, which already keep the cores busy, and a worker's job buffers would only add
    /// to the peak memory.
    pub fn encoder<W: Write>(self, w: W) -> io::Result<LayerEncoder<W>> {
        self.encoder_on(w, false)
    }

    /// [`encoder`](Self::encoder), or with `all_cores` (nothing else is compressing) zstd on
    /// the engine's workers, one per core (other bytes than on the writing thread: libzstd's
    /// two modes differ; both decode to the same tar).
    pub fn encoder_on<W: Write>(self, w: W, all_cores: bool) -> io::Result<LayerEncoder<W>> {
        match self.archive() {
            c @ crate::archive::Compression::Zstd(_) if all_cores => c.encoder(w),
            crate::archive::Compression::Zstd(level) => {
                crate::archive::compress::zstd_encoder_inline(w, level)
            }
            c => c.encoder(w),
        }
    }
}

/// A compressing writer; call `finish` to flush the trailer. The layer engine's encoder.
pub type LayerEncoder<W> = crate::archive::Encoder<W>;

/// Decompresses a layer blob whatever its compression (gzip and zstd detected by magic,
/// anything else passed through as a plain tar).
pub fn decompressing_reader<'a, R: Read + Send + 'a>(
    r: R,
) -> io::Result<Box<dyn Read + Send + 'a>> {
    let mut br = io::BufReader::with_capacity(128 * 1024, r);
    let head = br.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(br)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Ok(Box::new(zstd::stream::read::Decoder::with_buffer(br)?))
    } else {
        Ok(Box::new(br))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_order_and_parsing() {
        assert_eq!(
            CacheCompression::select(None, None).unwrap(),
            CacheCompression::Gzip
        );
        assert_eq!(
            CacheCompression::select(None, Some("")).unwrap(),
            CacheCompression::Gzip
        );
        assert_eq!(
            CacheCompression::select(None, Some("zstd")).unwrap(),
            CacheCompression::Zstd
        );
        assert_eq!(
            CacheCompression::select(Some("none"), Some("zstd")).unwrap(),
            CacheCompression::None
        );
        assert_eq!(
            CacheCompression::select(Some("GZIP"), None).unwrap(),
            CacheCompression::Gzip
        );
        let err = CacheCompression::select(Some("lz4"), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid cache compression 'lz4': want gzip, zstd or none"
        );
        assert_eq!(CacheCompression::Zstd.to_string(), "zstd");
    }

    #[test]
    fn every_encoding_round_trips_through_the_sniffing_decoder() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for c in [
            CacheCompression::Gzip,
            CacheCompression::Zstd,
            CacheCompression::None,
        ] {
            let mut e = c.encoder(Vec::new()).unwrap();
            e.write_all(&data).unwrap();
            let blob = e.finish().unwrap();
            if c != CacheCompression::None {
                assert!(blob.len() < data.len() / 4, "{c} did not compress");
            }
            let mut out = Vec::new();
            decompressing_reader(&blob[..])
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "{c}");
        }
    }
}
