//! `ImageCache` over an in-memory `CacheImageBackend` (a stand-in for the registry client):
//! metadata policy, spooling + compression, plan, empty layer, previous-image deletion.

use cnb::cache::{
    Cache, CacheCompression, CacheError, CacheImageBackend, CacheImageState, EMPTY_LAYER_DIFF_ID,
    ImageCache, PushLayer, PushRequest, decompressing_reader,
};
use cnb::digest::Digest;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Mutex;

struct MemBackend {
    state: CacheImageState,
    /// Previous image blobs by diffID, as stored (compressed or not).
    blobs: BTreeMap<Digest, Vec<u8>>,
    /// What was pushed: the request and the uploaded blob bytes of new layers.
    pushed: Mutex<Vec<(PushRequest, Vec<Vec<u8>>)>>,
    deleted: Mutex<Vec<Digest>>,
    fail_pushes: std::sync::atomic::AtomicU32,
}

impl MemBackend {
    fn new(state: CacheImageState, blobs: BTreeMap<Digest, Vec<u8>>) -> MemBackend {
        MemBackend {
            state,
            blobs,
            pushed: Mutex::new(Vec::new()),
            deleted: Mutex::new(Vec::new()),
            fail_pushes: 0.into(),
        }
    }
}

impl CacheImageBackend for MemBackend {
    fn name(&self) -> &str {
        "127.0.0.1:5000/app-cache:latest"
    }
    fn state(&self) -> &CacheImageState {
        &self.state
    }
    fn blob_reader(&self, diff_id: &Digest) -> Result<Box<dyn Read + Send>, CacheError> {
        match self.blobs.get(diff_id) {
            Some(b) => Ok(Box::new(std::io::Cursor::new(b.clone()))),
            None => Err(CacheError::layer_not_found(diff_id)),
        }
    }
    fn push(&self, request: &PushRequest) -> Result<Digest, CacheError> {
        use std::sync::atomic::Ordering;
        if self.fail_pushes.load(Ordering::SeqCst) > 0 {
            self.fail_pushes.fetch_sub(1, Ordering::SeqCst);
            return Err(CacheError::Backend(
                "PUT manifest: 500 Internal Server Error".into(),
            ));
        }
        let mut uploaded = Vec::new();
        let mut ids = String::new();
        for l in &request.layers {
            match l {
                PushLayer::New(b) => {
                    let path = b
                        .path
                        .as_ref()
                        .expect("this backend only takes spooled blobs");
                    let bytes =
                        std::fs::read(path).map_err(|e| CacheError::Backend(e.to_string()))?;
                    assert_eq!(Digest::of(&bytes), b.digest, "spooled blob digest");
                    assert_eq!(bytes.len() as u64, b.size);
                    ids.push_str(b.diff_id.as_str());
                    uploaded.push(bytes);
                }
                PushLayer::Reused { diff_id } => ids.push_str(diff_id.as_str()),
                PushLayer::Empty => ids.push_str(EMPTY_LAYER_DIFF_ID),
            }
        }
        ids.push_str(&request.label);
        self.pushed
            .lock()
            .unwrap()
            .push((request.clone(), uploaded));
        Ok(Digest::of(ids.as_bytes()))
    }
    fn delete_manifest(&self, digest: &Digest) -> Result<(), CacheError> {
        self.deleted.lock().unwrap().push(digest.clone());
        Ok(())
    }
}

fn tar_with(body: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "layers/x/f", body.as_bytes())
        .unwrap();
    b.into_inner().unwrap()
}

fn unpack(blob: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    decompressing_reader(blob)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = CacheCompression::Gzip.encoder(Vec::new()).unwrap();
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn first_export_without_previous_image() {
    let spool = tempfile::tempdir().unwrap();
    let cache = ImageCache::new(
        MemBackend::new(CacheImageState::NotFound, BTreeMap::new()),
        CacheCompression::Gzip,
        spool.path(),
        false,
    )
    .unwrap();
    assert!(!cache.exists());
    assert_eq!(cache.metadata_bytes().unwrap(), None);
    let (a, b) = (tar_with("a"), tar_with("b"));
    cache.add_layer(&Digest::of(&a), &mut &a[..]).unwrap();
    let mut w = cache.layer_writer().unwrap();
    w.write_all(&b).unwrap();
    w.finish(&Digest::of(&b)).unwrap();
    let err = cache.reuse_layer(&Digest::of(b"old")).unwrap_err();
    assert!(err.is_read_err());
    cache
        .set_metadata(b"{\"sbom\":{\"sha\":\"\"},\"buildpacks\":[]}\n")
        .unwrap();
    cache.commit().unwrap();

    let pushed = cache.backend().pushed.lock().unwrap();
    let (req, blobs) = &pushed[0];
    assert_eq!(
        req.label, "{\"sbom\":{\"sha\":\"\"},\"buildpacks\":[]}",
        "label has no trailing newline"
    );
    assert_eq!(req.layers.len(), 2);
    for (l, (want, blob)) in req.layers.iter().zip([&a, &b].into_iter().zip(blobs)) {
        let PushLayer::New(sb) = l else {
            panic!("{l:?}")
        };
        assert_eq!(sb.diff_id, Digest::of(want));
        assert_eq!(sb.media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
        assert_eq!(&blob[..2], &[0x1f, 0x8b]);
        assert_eq!(&unpack(blob), want);
    }
    assert!(matches!(
        cache.add_layer(&Digest::of(&a), &mut &a[..]),
        Err(CacheError::Committed)
    ));
    assert!(matches!(cache.commit(), Err(CacheError::Committed)));
}

fn previous(label: Option<&str>, layers: &[&Vec<u8>]) -> MemBackend {
    let blobs: BTreeMap<Digest, Vec<u8>> =
        layers.iter().map(|l| (Digest::of(l), gzip(l))).collect();
    MemBackend::new(
        CacheImageState::Found {
            manifest_digest: Digest::of(b"previous manifest"),
            label: label.map(str::to_string),
            diff_ids: layers.iter().map(|l| Digest::of(l)).collect(),
        },
        blobs,
    )
}

#[test]
fn reuse_add_drop_without_double_add_and_previous_deleted() {
    let (a, b, c) = (tar_with("a"), tar_with("b"), tar_with("c"));
    let spool = tempfile::tempdir().unwrap();
    let label = r#"{"sbom":{"sha":""},"buildpacks":[{"key":"x","version":"1","layers":{}}]}"#;
    let cache = ImageCache::new(
        previous(Some(label), &[&a, &b]),
        CacheCompression::Zstd,
        spool.path(),
        true,
    )
    .unwrap();
    assert!(cache.exists());
    assert_eq!(cache.metadata_bytes().unwrap().unwrap(), label.as_bytes());
    let da = Digest::of(&a);
    cache.verify_layer(&da).unwrap();
    let mut got = Vec::new();
    cache
        .retrieve_layer(&da)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, a);
    cache.reuse_layer(&da).unwrap();
    cache.add_layer(&da, &mut &a[..]).unwrap(); // the #1720 sequence: must stay one layer
    cache.add_layer(&Digest::of(&c), &mut &c[..]).unwrap();
    cache.set_metadata(b"{}").unwrap();
    cache.commit().unwrap();

    let backend = cache.backend();
    let pushed = backend.pushed.lock().unwrap();
    let (req, blobs) = &pushed[0];
    assert_eq!(req.layers.len(), 2);
    assert_eq!(req.layers[0], PushLayer::Reused { diff_id: da });
    let PushLayer::New(sb) = &req.layers[1] else {
        panic!()
    };
    assert_eq!(sb.media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
    assert_eq!(&blobs[0][..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    assert_eq!(unpack(&blobs[0]), c);
    assert_eq!(
        *backend.deleted.lock().unwrap(),
        vec![Digest::of(b"previous manifest")]
    );
}

/// zstd cache layers compress on the writing thread beside other work, on every core when
/// the cache is alone (`Cache::set_alone`): each mode's own bytes, the same tar.
#[test]
fn zstd_layers_use_every_core_only_when_alone() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let big: Vec<u8> = (0..3 << 20)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 3 == 0 { b'a' } else { x as u8 }
        })
        .collect();
    let mut blobs = Vec::new();
    for alone in [false, true] {
        let spool = tempfile::tempdir().unwrap();
        let cache = ImageCache::new(
            previous(None, &[]),
            CacheCompression::Zstd,
            spool.path(),
            true,
        )
        .unwrap();
        cache.set_alone(alone);
        cache.add_layer(&Digest::of(&big), &mut &big[..]).unwrap();
        cache.set_metadata(b"{}").unwrap();
        cache.commit().unwrap();
        let pushed = cache.backend().pushed.lock().unwrap();
        let blob = pushed[0].1[0].clone();
        assert_eq!(unpack(&blob), big, "alone={alone}");
        blobs.push(blob);
    }
    let encode = |enc: cnb::archive::Encoder<Vec<u8>>| {
        let mut enc = enc;
        enc.write_all(&big).unwrap();
        enc.finish().unwrap()
    };
    use cnb::archive::compress;
    assert_eq!(
        blobs[0],
        encode(compress::zstd_encoder_inline(Vec::new(), 3).unwrap())
    );
    assert_eq!(
        blobs[1],
        encode(compress::zstd_encoder(Vec::new(), 3, 2).unwrap())
    );
    assert_ne!(blobs[0], blobs[1]);
}

#[test]
fn nothing_cached_pushes_the_empty_layer_and_keeps_previous_when_deletion_disabled() {
    let a = tar_with("a");
    let spool = tempfile::tempdir().unwrap();
    let cache = ImageCache::new(
        previous(Some("not json"), &[&a]),
        CacheCompression::Gzip,
        spool.path(),
        false,
    )
    .unwrap();
    assert_eq!(
        cache.metadata_bytes().unwrap(),
        None,
        "undecodable label → no metadata"
    );
    cache.commit().unwrap();
    let backend = cache.backend();
    let pushed = backend.pushed.lock().unwrap();
    assert_eq!(pushed[0].0.layers, vec![PushLayer::Empty]);
    assert_eq!(pushed[0].0.label, "{}");
    assert!(backend.deleted.lock().unwrap().is_empty());
}

#[test]
fn corrupt_previous_image_gives_no_metadata_and_no_reuse() {
    let spool = tempfile::tempdir().unwrap();
    let cache = ImageCache::new(
        MemBackend::new(CacheImageState::Corrupt, BTreeMap::new()),
        CacheCompression::Gzip,
        spool.path(),
        true,
    )
    .unwrap();
    assert!(cache.exists());
    assert_eq!(cache.metadata_bytes().unwrap(), None);
    assert!(
        cache
            .reuse_layer(&Digest::of(b"x"))
            .unwrap_err()
            .is_read_err()
    );
    assert!(
        cache
            .retrieve_layer(&Digest::of(b"x"))
            .err()
            .unwrap()
            .is_read_err()
    );
}

#[test]
fn retrieve_reads_go_style_uncompressed_blobs_too() {
    let empty = vec![0u8; 1024];
    let spool = tempfile::tempdir().unwrap();
    let mut backend = previous(None, &[]);
    backend
        .blobs
        .insert(Digest::parse(EMPTY_LAYER_DIFF_ID).unwrap(), empty.clone());
    let cache = ImageCache::new(backend, CacheCompression::Gzip, spool.path(), false).unwrap();
    let mut got = Vec::new();
    cache
        .retrieve_layer(&Digest::parse(EMPTY_LAYER_DIFF_ID).unwrap())
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, empty);
}

#[test]
fn mismatching_stream_is_rejected_and_not_spooled() {
    let spool = tempfile::tempdir().unwrap();
    let cache = ImageCache::new(
        MemBackend::new(CacheImageState::NotFound, BTreeMap::new()),
        CacheCompression::Gzip,
        spool.path(),
        false,
    )
    .unwrap();
    let a = tar_with("a");
    let err = cache
        .add_layer(&Digest::of(b"other"), &mut &a[..])
        .unwrap_err();
    assert!(matches!(err, CacheError::DigestMismatch { .. }));
    let spool_dirs: Vec<_> = std::fs::read_dir(spool.path()).unwrap().collect();
    assert_eq!(spool_dirs.len(), 1);
    let inner = spool_dirs.into_iter().next().unwrap().unwrap().path();
    assert_eq!(std::fs::read_dir(&inner).unwrap().count(), 0);
    cache.commit().unwrap();
    assert_eq!(
        cache.backend().pushed.lock().unwrap()[0].0.layers,
        vec![PushLayer::Empty]
    );
    drop(cache);
    assert_eq!(
        std::fs::read_dir(spool.path()).unwrap().count(),
        0,
        "spool removed on drop"
    );
}

#[test]
fn a_failed_push_can_be_retried() {
    let spool = tempfile::tempdir().unwrap();
    let backend = MemBackend::new(CacheImageState::NotFound, BTreeMap::new());
    backend
        .fail_pushes
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let cache = ImageCache::new(backend, CacheCompression::None, spool.path(), false).unwrap();
    let a = tar_with("a");
    cache.add_layer(&Digest::of(&a), &mut &a[..]).unwrap();
    let err = cache.commit().unwrap_err();
    assert_eq!(
        err.to_string(),
        "saving image '127.0.0.1:5000/app-cache:latest': PUT manifest: 500 Internal Server Error"
    );
    cache.commit().unwrap();
    let pushed = cache.backend().pushed.lock().unwrap();
    let PushLayer::New(sb) = &pushed[0].0.layers[0] else {
        panic!()
    };
    assert_eq!(sb.media_type, "application/vnd.oci.image.layer.v1.tar");
    assert_eq!(pushed[0].1[0], a, "uncompressed blob is the tar itself");
    assert_eq!(sb.digest, sb.diff_id);
}
