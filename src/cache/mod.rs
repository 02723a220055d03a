//! The build cache (lifecycle issue #5; lifecycle-spec §6): a volume cache (a directory, the Go
//! lifecycle's on-disk layout) and a cache image (a registry image, over a
//! [`CacheImageBackend`]). Both implement [`Cache`].
//!
//! Seams kept narrow on purpose: cache metadata travels as raw JSON bytes (the JSON of label
//! `io.buildpacks.lifecycle.cache.metadata`, typed by `cnb::files`), layer contents as
//! uncompressed tar streams keyed by diffID.
//!
//! Error policy: [`CacheError::is_read_err`] errors mean "cached data missing or corrupt" and
//! must become warnings in the phases; anything else fails the operation.

mod compression;
mod error;
mod image;
mod image_cache;
pub mod registry_backend;
mod staging;
mod verify;
mod volume;

pub use compression::{
    COMPRESSION_ENV, CacheCompression, CompressionParseError, LayerEncoder, decompressing_reader,
};
pub use error::{CacheError, ReadErrKind, go_io_text};
pub use image::{
    BlobUpload, CacheImageBackend, CacheImagePlan, CacheImageState, EMPTY_LAYER_DIFF_ID,
    EMPTY_LAYER_GZIP_DIGEST, EMPTY_LAYER_SIZE, MetadataDiff, PlannedLayer, PushLayer, PushRequest,
    SpooledBlob, empty_layer_tar, metadata_layer_diff_ids,
};
pub use image_cache::ImageCache;
pub use staging::{StagingWriter, layer_path};
pub use verify::{VerifyingReader, cache_error_of};
pub use volume::VolumeCache;

use crate::digest::Digest;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Label of the cache image, and file name of the metadata in a volume cache.
pub const METADATA_LABEL: &str = "io.buildpacks.lifecycle.cache.metadata";

/// Warning of restorer/exporter/creator when neither `-cache-image` nor `-cache-dir` is set
/// (Go `platform.CheckCache`).
pub const NO_CACHE_WARNING: &str = "No cached data will be used, no cache specified.";

/// Which cache the flags select (lifecycle-spec §6.1): `-cache-image` wins over `-cache-dir`;
/// empty values count as unset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheChoice {
    Image(String),
    Volume(PathBuf),
    None,
}

impl CacheChoice {
    pub fn from_flags(cache_image: Option<&str>, cache_dir: Option<&Path>) -> CacheChoice {
        match (
            cache_image.filter(|s| !s.is_empty()),
            cache_dir.filter(|p| !p.as_os_str().is_empty()),
        ) {
            (Some(image), _) => CacheChoice::Image(image.to_string()),
            (None, Some(dir)) => CacheChoice::Volume(dir.to_path_buf()),
            (None, None) => CacheChoice::None,
        }
    }
}

/// What the restorer and exporter need from a cache. All methods take `&self` so a cache can
/// be shared between threads (restoring layers concurrently, streaming several layers in).
/// Every mutating method fails with [`CacheError::Committed`] after a successful or failed
/// [`commit`](Cache::commit), as in Go.
pub trait Cache: Send + Sync {
    /// Whether a previous cache exists. Always true for a volume cache (opening creates
    /// `committed/`); for a cache image, whether the image was found.
    fn exists(&self) -> bool;

    /// The `-cache-dir` path or the `-cache-image` reference, for messages.
    fn name(&self) -> &str;

    /// The previous cache metadata JSON (no trailing newline). `None` when there is none or
    /// when it is not a JSON object (Go silently treats undecodable metadata as empty);
    /// callers decode it with `cnb::files` and must also map a decode failure to "empty".
    fn metadata_bytes(&self) -> Result<Option<Vec<u8>>, CacheError>;

    /// [`metadata_bytes`](Cache::metadata_bytes) without its log lines, for a caller that
    /// looks ahead (the exporter deciding which layers to hash before it exports the cache).
    fn peek_metadata(&self) -> Result<Option<Vec<u8>>, CacheError> {
        self.metadata_bytes()
    }

    /// Records the new cache metadata JSON, written on commit.
    fn set_metadata(&self, json: &[u8]) -> Result<(), CacheError>;

    /// Adds a layer from a stream of its uncompressed tar. The stream must hash to `diff_id`,
    /// else [`CacheError::DigestMismatch`] and nothing is kept. Adding a diffID that is
    /// already staged (added or reused) is a no-op that does not read `tar`.
    fn add_layer(&self, diff_id: &Digest, tar: &mut dyn Read) -> Result<(), CacheError>;

    /// Adds a layer from an uncompressed tar file on disk (Go `AddLayerFile`); the file is
    /// copied and its digest checked like [`add_layer`](Cache::add_layer).
    fn add_layer_file(&self, diff_id: &Digest, tar_path: &Path) -> Result<(), CacheError> {
        let mut f = std::fs::File::open(tar_path).map_err(|e| {
            CacheError::io(
                format!("caching layer ({diff_id}): open {}", tar_path.display()),
                e,
            )
        })?;
        self.add_layer(diff_id, &mut f)
    }

    /// A writer for a tar producer that only knows the diffID at the end: write the
    /// uncompressed tar, then `finish(diff_id)`.
    fn layer_writer(&self) -> Result<Box<dyn LayerWriter>, CacheError>;

    /// Whether [`add_layer_blob`](Cache::add_layer_blob) can take blobs of image `image`.
    fn can_add_blob_from(&self, image: &str) -> bool {
        let _ = image;
        false
    }

    /// Adds layer `diff_id` from a blob another image already stored: `blob` is the gzip of
    /// the layer's tar as the exporter uploaded it for the app image. `Ok(false)` when this
    /// cache cannot take it that way (then add the tar as usual); nothing is compressed or
    /// uploaded again when it can.
    fn add_layer_blob(&self, diff_id: &Digest, blob: &GzipBlob) -> Result<bool, CacheError> {
        let _ = (diff_id, blob);
        Ok(false)
    }

    /// Keeps the previous cache's layer `diff_id` in the new cache without its bytes passing
    /// through us. Missing in the previous cache → a `Read` error.
    fn reuse_layer(&self, diff_id: &Digest) -> Result<(), CacheError>;

    /// The uncompressed tar of the previous cache's layer `diff_id`. Missing → `Read` error.
    fn retrieve_layer(&self, diff_id: &Digest) -> Result<Box<dyn Read + Send>, CacheError>;

    /// [`retrieve_layer`](Cache::retrieve_layer) hashed on the fly: one pass instead of
    /// `verify_layer` + `retrieve_layer`; the verdict comes at EOF (see [`VerifyingReader`]).
    fn retrieve_layer_checked(
        &self,
        diff_id: &Digest,
    ) -> Result<VerifyingReader<Box<dyn Read + Send>>, CacheError> {
        Ok(VerifyingReader::new(
            self.retrieve_layer(diff_id)?,
            diff_id.clone(),
        ))
    }

    /// Checks the previous cache's layer `diff_id` (volume cache: re-hash; mismatch → `Read`
    /// error "expected layer contents to have SHA 'X'; found 'Y'"). No-op for a cache image.
    fn verify_layer(&self, diff_id: &Digest) -> Result<(), CacheError>;

    /// Whether the cache is the only one making layers from now on (the exporter's app image
    /// has none to make): its compression may then use every core. By default it assumes it
    /// runs beside other work.
    fn set_alone(&self, alone: bool) {
        let _ = alone;
    }

    /// Lists the cache's layers in the order of `diff_ids` when it has an order (a cache
    /// image's manifest; layers added or reused in another order, e.g. while one waited on
    /// another's blob, still come out in the caller's order). A volume cache has none.
    fn order_layers(&self, diff_ids: &[Digest]) -> Result<(), CacheError> {
        let _ = diff_ids;
        Ok(())
    }

    /// Makes the new cache (metadata + added + reused layers, nothing else) the cache.
    fn commit(&self) -> Result<(), CacheError>;
}

/// A gzip layer blob stored for another image: `image`'s blob `digest`, `size` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GzipBlob {
    pub image: String,
    pub digest: Digest,
    pub size: u64,
}

/// A streaming sink for one uncompressed layer tar; see [`Cache::layer_writer`]. Dropping it
/// without `finish` discards what was written.
pub trait LayerWriter: Write + Send {
    /// Checks the written bytes against `diff_id` and adds them to the cache under it.
    fn finish(self: Box<Self>, diff_id: &Digest) -> Result<(), CacheError> {
        self.finish_hashed(Some(diff_id)).map(|_| ())
    }

    /// Adds the written bytes to the cache under the diffID they hash to (the writer hashes
    /// them anyway, so a caller that needs the diffID need not hash them again) and returns
    /// it; with `expected`, a different diffID is refused as by [`finish`](Self::finish).
    fn finish_hashed(self: Box<Self>, expected: Option<&Digest>) -> Result<Digest, CacheError>;
}

/// [`CacheError::DigestMismatch`] unless `found` is what `expected` names (if anything).
pub(crate) fn check_expected(expected: Option<&Digest>, found: &Digest) -> Result<(), CacheError> {
    match expected {
        Some(e) if e != found => Err(CacheError::DigestMismatch {
            expected: e.clone(),
            found: found.clone(),
        }),
        _ => Ok(()),
    }
}

/// Go's `json.Decoder.Decode` on the metadata file reads only the first JSON value; it
/// succeeds for `{…}` followed by anything. Returns that first value if it is an object.
pub(crate) fn first_json_object(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<serde_json::Value>();
    match stream.next() {
        Some(Ok(serde_json::Value::Object(_))) => {
            let end = stream.byte_offset();
            let start = bytes
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(0);
            Some(bytes[start..end].to_vec())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{CacheChoice, first_json_object};
    use std::path::Path;

    #[test]
    fn cache_image_wins_over_cache_dir() {
        let dir = Some(Path::new("/cache"));
        assert_eq!(
            CacheChoice::from_flags(Some("reg/app-cache"), dir),
            CacheChoice::Image("reg/app-cache".into())
        );
        assert_eq!(
            CacheChoice::from_flags(Some(""), dir),
            CacheChoice::Volume("/cache".into())
        );
        assert_eq!(
            CacheChoice::from_flags(None, Some(Path::new(""))),
            CacheChoice::None
        );
        assert_eq!(CacheChoice::from_flags(None, None), CacheChoice::None);
    }

    #[test]
    fn first_object_like_go_decoder() {
        assert_eq!(
            first_json_object(b"{\"a\":1}\n").as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(
            first_json_object(b" {\"a\":1} trailing junk").as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(first_json_object(b"{\"a\":"), None);
        assert_eq!(first_json_object(b"null"), None);
        assert_eq!(first_json_object(b"[1]"), None);
        assert_eq!(first_json_object(b""), None);
        assert_eq!(first_json_object(b"\xff\xfe"), None);
    }
}
