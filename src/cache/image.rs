//! Cache image, the pure parts (lifecycle-spec §6.3): the empty-layer rule, the plan of which
//! layers the new cache image holds, the metadata comparison, and the narrow
//! [`CacheImageBackend`] trait a registry client implements so that [`super::ImageCache`]
//! works over it.

use super::error::CacheError;
use crate::digest::Digest;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;

/// Size of the layer added to a cache image that would otherwise have none (registries such
/// as GCR reject layerless images): 1024 zero bytes, i.e. a tar with only its end marker.
pub const EMPTY_LAYER_SIZE: u64 = 1024;

/// diffID (sha256 of the 1024 zero bytes). The Go lifecycle (imgutil `remote.AddEmptyLayerOnSave`,
/// a go-containerregistry `static` layer) uploads these bytes **uncompressed** under media
/// type `application/vnd.oci.image.layer.v1.tar+gzip`, so its blob digest equals this diffID
/// and its size is 1024. Pushing exactly that makes our empty cache image identical to Go's.
pub const EMPTY_LAYER_DIFF_ID: &str =
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// Digest of the same 1024 zero bytes gzip-compressed by our encoder
/// (`CacheCompression::Gzip.encoder`, flate2 level 1, no file name, mtime 0), for a backend
/// that prefers a blob that really is gzip. Pinned by a test; not what Go pushes.
pub const EMPTY_LAYER_GZIP_DIGEST: &str =
    "sha256:7cecd05e1cf7cc0e7c6b13c04a339745ce69a4dad1449a3e501e57c521e4d072";

/// The empty layer's bytes.
pub fn empty_layer_tar() -> Vec<u8> {
    vec![0u8; EMPTY_LAYER_SIZE as usize]
}

/// The existing cache image (Go's `origImage`) as the backend found it when opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheImageState {
    /// No such image (404, or 401 on the manifest: Go treats both as "not found").
    NotFound,
    /// Found but failing validation (manifest, config or a layer blob not fetchable): the
    /// cache logs "Ignoring cache image "<name>" because it was corrupt" and uses no metadata.
    Corrupt,
    Found {
        /// Manifest digest, used to delete the previous cache image (Platform API < 0.13).
        manifest_digest: Digest,
        /// Value of label `io.buildpacks.lifecycle.cache.metadata`, if present.
        label: Option<String>,
        /// diffIDs of its layers (config `rootfs.diff_ids`), bottom first.
        diff_ids: Vec<Digest>,
    },
}

/// A new layer blob: spooled to local disk, ready to upload, or already uploaded while it was
/// written ([`CacheImageBackend::blob_upload`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpooledBlob {
    pub diff_id: Digest,
    /// sha256 of the (compressed) blob.
    pub digest: Digest,
    pub size: u64,
    pub media_type: &'static str,
    /// The spooled file; `None` when the backend already holds the blob.
    pub path: Option<PathBuf>,
}

/// A blob upload in progress: the compressed bytes are written to it as they are made.
pub trait BlobUpload: std::io::Write + Send {
    /// Ends the blob and waits until the backend stored it; the backend's digest and size
    /// must be `digest` and `size` (computed by the writer's own pass).
    fn finish(self: Box<Self>, digest: &Digest, size: u64) -> Result<(), CacheError>;
}

/// One layer of the cache image to push, bottom first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushLayer {
    /// Upload this blob.
    New(SpooledBlob),
    /// Already in the repository as a layer of the previous cache image: reference it by the
    /// previous manifest's descriptor (digest, size, media type) without uploading.
    Reused { diff_id: Digest },
    /// The [`EMPTY_LAYER_SIZE`] zero-byte layer, only when there is no other layer.
    Empty,
}

/// What [`CacheImageBackend::push`] must write under the cache image's tag.
///
/// The image (Go: a from-scratch imgutil remote image): OCI manifest and config media types;
/// config `os` = the runtime OS (`linux`), `architecture` = "", `created` =
/// 1980-01-01T00:00:01Z, one history entry `{"created":"1980-01-01T00:00:01Z"}` per layer,
/// `rootfs.diff_ids` in `layers` order, `config.Labels` = {
/// `io.buildpacks.lifecycle.cache.metadata`: `label` }. Golden Go output:
/// `testdata/cache/go-image/` (same bytes → same manifest digest as Go).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRequest {
    pub layers: Vec<PushLayer>,
    /// The cache metadata JSON (compact, no trailing newline); `{}`-like default if the
    /// exporter never set any.
    pub label: String,
}

/// The registry-facing half of a cache image. Implemented over `cnb::registry` by the lead;
/// [`super::ImageCache`] does the rest (metadata policy, spooling, plan, empty layer).
/// Synchronous on purpose (the `Cache` trait is `io::Read`-based): an async client bridges
/// with `tokio::runtime::Handle::block_on` from a blocking thread.
pub trait CacheImageBackend: Send + Sync {
    /// The cache image reference as given with `-cache-image`.
    fn name(&self) -> &str;

    /// The previous cache image, resolved once when the backend was opened (with default
    /// platform `{os: linux}`, no architecture, as Go does).
    fn state(&self) -> &CacheImageState;

    /// Stream of the previous cache image's layer blob with this diffID, as stored (possibly
    /// compressed: the caller sniffs gzip/zstd). The backend must check the blob digest at EOF
    /// and fail the read on mismatch. Unknown diffID or missing blob →
    /// [`CacheError::layer_not_found`].
    fn blob_reader(&self, diff_id: &Digest) -> Result<Box<dyn Read + Send>, CacheError>;

    /// Starts storing a new layer blob now, streamed as it is written (no spool file); `None`
    /// when the backend only takes blobs in [`push`](Self::push).
    fn blob_upload(&self) -> Option<Result<Box<dyn BlobUpload>, CacheError>> {
        None
    }

    /// Makes blob `digest` (`size` bytes) of image `from` a blob of the cache image's
    /// repository without passing its bytes through us (a cross-repository mount); `None`
    /// when this backend cannot (another registry, or no registry at all).
    fn adopt_blob(&self, from: &str, digest: &Digest, size: u64) -> Option<Result<(), CacheError>> {
        let _ = (from, digest, size);
        None
    }

    /// Whether [`adopt_blob`](Self::adopt_blob) can work for blobs of image `from`.
    fn can_adopt_from(&self, from: &str) -> bool {
        let _ = from;
        false
    }

    /// Uploads new blobs (skipping those the registry already has), mounts nothing, writes
    /// config and manifest under the tag; returns the new manifest digest.
    fn push(&self, request: &PushRequest) -> Result<Digest, CacheError>;

    /// Deletes a manifest by digest (Platform API < 0.13 only, previous cache image).
    fn delete_manifest(&self, digest: &Digest) -> Result<(), CacheError>;
}

/// The layers of the new cache image, in the order they were added or reused. Guarantees
/// each diffID appears once (lifecycle #1720 made Go list a reused layer twice) and that a
/// reuse names a layer of the previous cache image.
#[derive(Clone, Debug, Default)]
pub struct CacheImagePlan {
    previous: BTreeSet<Digest>,
    layers: Vec<PlannedLayer>,
    seen: BTreeSet<Digest>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlannedLayer {
    New(Digest),
    Reused(Digest),
    Empty,
}

impl CacheImagePlan {
    /// `previous`: diffIDs of the previous cache image (empty if not found or corrupt).
    pub fn new(previous: impl IntoIterator<Item = Digest>) -> CacheImagePlan {
        CacheImagePlan {
            previous: previous.into_iter().collect(),
            ..Default::default()
        }
    }

    /// Whether `diff_id` is already in the plan (then adding it again is a no-op).
    pub fn contains(&self, diff_id: &Digest) -> bool {
        self.seen.contains(diff_id)
    }

    /// Plans uploading a new layer. Returns false (and plans nothing) if already planned.
    pub fn add(&mut self, diff_id: Digest) -> bool {
        if !self.seen.insert(diff_id.clone()) {
            return false;
        }
        self.layers.push(PlannedLayer::New(diff_id));
        true
    }

    /// Plans keeping a previous layer. A diffID the previous image lacks is a `Read` error.
    pub fn reuse(&mut self, diff_id: &Digest) -> Result<bool, CacheError> {
        if !self.previous.contains(diff_id) {
            return Err(CacheError::layer_not_found(diff_id));
        }
        if !self.seen.insert(diff_id.clone()) {
            return Ok(false);
        }
        self.layers.push(PlannedLayer::Reused(diff_id.clone()));
        Ok(true)
    }

    /// Lists the planned layers in the order of `diff_ids` (a stable sort: layers it does
    /// not name keep their relative order, after those it names).
    pub fn order(&mut self, diff_ids: &[Digest]) {
        let rank = |l: &PlannedLayer| match l {
            PlannedLayer::New(d) | PlannedLayer::Reused(d) => {
                diff_ids.iter().position(|x| x == d).unwrap_or(usize::MAX)
            }
            PlannedLayer::Empty => usize::MAX,
        };
        self.layers.sort_by_key(rank);
    }

    /// The final layer list (the empty layer if nothing was planned) and the previous
    /// layers that the new image no longer holds.
    pub fn finish(self) -> (Vec<PlannedLayer>, Vec<Digest>) {
        let dropped = self
            .previous
            .iter()
            .filter(|d| !self.seen.contains(*d))
            .cloned()
            .collect();
        let layers = if self.layers.is_empty() {
            vec![PlannedLayer::Empty]
        } else {
            self.layers
        };
        (layers, dropped)
    }
}

/// Every diffID a cache metadata JSON names: `buildpacks[].layers.*.sha` and `sbom.sha`
/// (empty or malformed values ignored). Undecodable JSON names none.
pub fn metadata_layer_diff_ids(json: &[u8]) -> BTreeSet<Digest> {
    let mut out = BTreeSet::new();
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(json) else {
        return out;
    };
    let mut push = |sha: Option<&serde_json::Value>| {
        if let Some(d) = sha
            .and_then(|s| s.as_str())
            .and_then(|s| Digest::parse(s).ok())
        {
            out.insert(d);
        }
    };
    push(v.pointer("/sbom/sha"));
    if let Some(bps) = v.get("buildpacks").and_then(|b| b.as_array()) {
        for bp in bps {
            if let Some(layers) = bp.get("layers").and_then(|l| l.as_object()) {
                for layer in layers.values() {
                    push(layer.get("sha"));
                }
            }
        }
    }
    out
}

/// Which layers a new cache keeps from the previous one, uploads, and lets go, judged from
/// the two metadata documents alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataDiff {
    pub reuse: BTreeSet<Digest>,
    pub add: BTreeSet<Digest>,
    pub drop: BTreeSet<Digest>,
}

impl MetadataDiff {
    pub fn between(previous: Option<&[u8]>, new: &[u8]) -> MetadataDiff {
        let prev = previous.map(metadata_layer_diff_ids).unwrap_or_default();
        let new = metadata_layer_diff_ids(new);
        MetadataDiff {
            reuse: new.intersection(&prev).cloned().collect(),
            add: new.difference(&prev).cloned().collect(),
            drop: prev.difference(&new).cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheCompression;
    use std::io::Write;

    #[test]
    fn empty_layer_constants_are_what_the_bytes_give() {
        let tar = empty_layer_tar();
        assert_eq!(tar.len() as u64, EMPTY_LAYER_SIZE);
        assert_eq!(Digest::of(&tar).as_str(), EMPTY_LAYER_DIFF_ID);
        let mut e = CacheCompression::Gzip.encoder(Vec::new()).unwrap();
        e.write_all(&tar).unwrap();
        let gz = e.finish().unwrap();
        assert_eq!(Digest::of(&gz).as_str(), EMPTY_LAYER_GZIP_DIGEST);
        // A tar reader sees an archive with no entries.
        let mut ar = tar::Archive::new(&tar[..]);
        assert_eq!(ar.entries().unwrap().count(), 0);
    }

    fn d(s: &str) -> Digest {
        Digest::of(s.as_bytes())
    }

    #[test]
    fn plan_dedupes_checks_reuse_and_adds_empty_layer() {
        let mut p = CacheImagePlan::new([d("a"), d("b"), d("c")]);
        assert!(p.reuse(&d("a")).unwrap());
        assert!(
            !p.add(d("a")),
            "#1720: a reused layer must not be added again"
        );
        assert!(p.add(d("x")));
        assert!(!p.add(d("x")));
        let err = p.reuse(&d("zz")).unwrap_err();
        assert!(err.is_read_err());
        assert_eq!(
            err.to_string(),
            format!("failed to find cache layer with SHA '{}'", d("zz"))
        );
        let (layers, dropped) = p.finish();
        assert_eq!(
            layers,
            vec![PlannedLayer::Reused(d("a")), PlannedLayer::New(d("x"))]
        );
        let mut want = vec![d("b"), d("c")];
        want.sort();
        assert_eq!(dropped, want);

        let (layers, dropped) = CacheImagePlan::new([d("a")]).finish();
        assert_eq!(layers, vec![PlannedLayer::Empty]);
        assert_eq!(dropped, vec![d("a")]);
    }

    #[test]
    fn plan_orders_layers_as_asked_stably() {
        let mut p = CacheImagePlan::new([d("r")]);
        for x in ["m2", "x", "y"] {
            assert!(p.add(d(x)));
        }
        assert!(p.reuse(&d("r")).unwrap());
        assert!(p.add(d("jdk")));
        p.order(&[d("jdk"), d("r"), d("m2"), d("unknown")]);
        let (layers, _) = p.finish();
        assert_eq!(
            layers,
            [
                PlannedLayer::New(d("jdk")),
                PlannedLayer::Reused(d("r")),
                PlannedLayer::New(d("m2")),
                PlannedLayer::New(d("x")),
                PlannedLayer::New(d("y")),
            ]
        );
    }

    #[test]
    fn metadata_diff() {
        let prev = format!(
            r#"{{"sbom":{{"sha":"{}"}},"buildpacks":[{{"key":"a","version":"1","layers":{{"x":{{"sha":"{}"}},"y":{{"sha":"{}"}}}}}}]}}"#,
            d("sbom"),
            d("x"),
            d("y")
        );
        let new = format!(
            r#"{{"sbom":{{"sha":""}},"buildpacks":[{{"key":"a","version":"1","layers":{{"x":{{"sha":"{}"}},"z":{{"sha":"{}"}},"bad":{{"sha":"nope"}}}}}}]}}"#,
            d("x"),
            d("z")
        );
        let diff = MetadataDiff::between(Some(prev.as_bytes()), new.as_bytes());
        assert_eq!(diff.reuse, BTreeSet::from([d("x")]));
        assert_eq!(diff.add, BTreeSet::from([d("z")]));
        assert_eq!(diff.drop, BTreeSet::from([d("sbom"), d("y")]));
        assert!(metadata_layer_diff_ids(b"garbage").is_empty());
        let none = MetadataDiff::between(None, new.as_bytes());
        assert_eq!(none.add, BTreeSet::from([d("x"), d("z")]));
    }
}
