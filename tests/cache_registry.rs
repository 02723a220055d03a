//! The cache image (`ImageCache` over `RegistryCacheBackend`) against a real CNCF Distribution
//! registry: Go-identical bytes for the Go goldens, commit/reopen, layer reuse without upload,
//! a deleted layer blob as a ReadErr, reading by digest.

mod common;

use cnb::cache::registry_backend::{RegistryCacheBackend, cache_image_platform};
use cnb::cache::{
    Cache, CacheCompression, CacheImageBackend, CacheImageState, EMPTY_LAYER_DIFF_ID, ImageCache,
    METADATA_LABEL, PushLayer, PushRequest, SpooledBlob,
};
use cnb::digest::Digest;
use cnb::image::{ImageStore, Manifest};
use cnb::registry::RemoteStore;
use cnb::testing::{LoggedRequest, Registry, RegistryOptions, shared_registry, skopeo_inspect_raw};
use common::{anon, tar_layer};
use std::io::Read;
use std::path::{Path, PathBuf};

fn go_image(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/cache/go-image")
        .join(file)
}

/// Runs blocking cache code (the cache API is synchronous) off the runtime threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking part")
}

async fn open(name: &str) -> RegistryCacheBackend {
    RegistryCacheBackend::open(RemoteStore::new(anon()), name)
        .await
        .unwrap()
}

fn metadata(layers: &[(&str, &Digest)]) -> String {
    let layers: Vec<String> = layers
        .iter()
        .map(|(n, d)| {
            format!(
                r#""{n}":{{"sha":"{d}","data":null,"build":false,"launch":false,"cache":true}}"#
            )
        })
        .collect();
    format!(
        r#"{{"sbom":{{"sha":""}},"buildpacks":[{{"key":"samples/a","version":"0.0.1","layers":{{{}}}}}]}}"#,
        layers.join(",")
    )
}

async fn manifest_of(name: &str) -> Manifest {
    RemoteStore::new(anon())
        .manifest(name, &cache_image_platform())
        .await
        .unwrap()
        .expect("cache image")
        .manifest()
        .unwrap()
}

/// Whether a logged path names `digest` (plain, or URL-encoded as in `?digest=`).
fn names(q: &LoggedRequest, digest: &Digest) -> bool {
    q.path.contains(digest.as_str()) || q.path.contains(&digest.as_str().replace(':', "%3A"))
}

fn blob_uploads(reqs: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    reqs.iter()
        .filter(|q| {
            q.path.contains("/blobs/uploads/") && matches!(q.method.as_str(), "PATCH" | "PUT")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn same_bytes_and_digest_as_the_go_lifecycle() {
    let reg = shared_registry();
    let spool = tempfile::tempdir().unwrap();

    // No layer: the empty layer rule.
    let name = format!("{}/cache/go-empty:latest", reg.host());
    let backend = open(&name).await;
    assert_eq!(backend.state(), &CacheImageState::NotFound);
    let digest = backend
        .push_async(&PushRequest {
            layers: vec![PushLayer::Empty],
            label: r#"{"sbom":{"sha":""},"buildpacks":null}"#.into(),
        })
        .await
        .unwrap();
    let golden = std::fs::read(go_image("empty-manifest.json")).unwrap();
    assert_eq!(
        digest.as_str(),
        "sha256:23e069df9e0a3c993da52266ec5799197c9f51a30fd2287edb3fa252d099d291"
    );
    assert_eq!(skopeo_inspect_raw(&name, None), golden);
    let config = cnb::testing::skopeo_inspect_config(&name, None);
    assert_eq!(
        config,
        std::fs::read(go_image("empty-config.json")).unwrap()
    );
    // The empty layer blob is the 1024 zero bytes themselves.
    assert_eq!(
        std::fs::read(reg.blob_data_path(EMPTY_LAYER_DIFF_ID)).unwrap(),
        vec![0u8; 1024]
    );

    // One layer with Go's compressed blob and Go's label: Go's manifest, to the byte.
    let blob = spool.path().join("blob.tar.gz");
    std::fs::copy(go_image("one-layer-blob.tar.gz"), &blob).unwrap();
    let golden_config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(go_image("one-layer-config.json")).unwrap()).unwrap();
    let label = golden_config["config"]["Labels"][METADATA_LABEL]
        .as_str()
        .unwrap()
        .to_string();
    let name = format!("{}/cache/go-one:latest", reg.host());
    let backend = open(&name).await;
    let digest = backend
        .push_async(&PushRequest {
            layers: vec![PushLayer::New(SpooledBlob {
                diff_id: Digest::parse(
                    "sha256:5906718145f25aec9312f6dedb25aeb77f1cf6a137956790a0d12ff6cadb3947",
                )
                .unwrap(),
                digest: Digest::of(&std::fs::read(&blob).unwrap()),
                size: 159,
                media_type: CacheCompression::Gzip.media_type(),
                path: Some(blob),
            })],
            label,
        })
        .await
        .unwrap();
    let golden = std::fs::read(go_image("one-layer-manifest.json")).unwrap();
    assert_eq!(digest, Digest::of(&golden));
    assert_eq!(skopeo_inspect_raw(&name, None), golden);
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_reopen_reuse_without_upload() {
    let reg = Registry::start(RegistryOptions::default());
    let name = format!("{}/cache/app-cache:latest", reg.host());
    let spool = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tar_layer("a.txt", b"layer a\n"),
        tar_layer("b.txt", b"layer b\n"),
        tar_layer("c.txt", b"layer c\n"),
    );
    let (da, db, dc) = (Digest::of(&a), Digest::of(&b), Digest::of(&c));

    // First build: two layers.
    let backend = open(&name).await;
    let meta1 = metadata(&[("a", &da), ("b", &db)]);
    let sp = spool.path().to_path_buf();
    let (a2, b2, m1) = (a.clone(), b.clone(), meta1.clone());
    blocking(move || {
        let cache = ImageCache::new(backend, CacheCompression::Gzip, &sp, false).unwrap();
        assert!(!cache.exists());
        assert_eq!(cache.metadata_bytes().unwrap(), None);
        cache.add_layer(&Digest::of(&a2), &mut &a2[..]).unwrap();
        cache.add_layer(&Digest::of(&b2), &mut &b2[..]).unwrap();
        cache.set_metadata(m1.as_bytes()).unwrap();
        cache.commit().unwrap();
    })
    .await;
    let first = manifest_of(&name).await;
    assert_eq!(first.layers.len(), 2);
    let first_digest = RemoteStore::new(anon())
        .manifest(&name, &cache_image_platform())
        .await
        .unwrap()
        .unwrap()
        .digest()
        .clone();

    // Reopen: metadata and layers come back; reuse a, add c, drop b.
    let backend = open(&name).await;
    match backend.state() {
        CacheImageState::Found {
            label, diff_ids, ..
        } => {
            assert_eq!(label.as_deref(), Some(meta1.as_str()));
            assert_eq!(diff_ids, &vec![da.clone(), db.clone()]);
        }
        other => panic!("{other:?}"),
    }
    let before = reg.requests().len();
    let sp = spool.path().to_path_buf();
    let meta2 = metadata(&[("a", &da), ("c", &dc)]);
    let (a2, c2, m2, da2, db2) = (a.clone(), c.clone(), meta2.clone(), da.clone(), db.clone());
    blocking(move || {
        let cache = ImageCache::new(backend, CacheCompression::Gzip, &sp, true).unwrap();
        assert!(cache.exists());
        assert_eq!(cache.metadata_bytes().unwrap(), Some(meta1.into_bytes()));
        let mut back = Vec::new();
        cache
            .retrieve_layer(&da2)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, a2);
        let mut checked = cache.retrieve_layer_checked(&db2).unwrap();
        std::io::copy(&mut checked, &mut std::io::sink()).unwrap();
        cache.reuse_layer(&da2).unwrap();
        cache.add_layer(&Digest::of(&c2), &mut &c2[..]).unwrap();
        cache.set_metadata(m2.as_bytes()).unwrap();
        cache.commit().unwrap();
    })
    .await;
    let reqs: Vec<LoggedRequest> = reg.requests().into_iter().skip(before).collect();
    let second = manifest_of(&name).await;
    assert_eq!(second.layers[0], first.layers[0], "a kept as it was");
    let reused_blob = &first.layers[0].digest;
    assert!(
        !reqs
            .iter()
            .any(|q| names(q, reused_blob) && q.method != "GET"),
        "the reused layer's blob is neither checked nor uploaded: {reqs:?}"
    );
    // Uploads: c's blob, streamed while it was compressed (one PATCH, then the PUT naming
    // its digest), and the config (one PUT), nothing else.
    let uploads = blob_uploads(&reqs);
    assert_eq!(uploads.len(), 3, "{uploads:?}");
    assert_eq!(uploads.iter().filter(|q| q.method == "PATCH").count(), 1);
    assert!(
        uploads
            .iter()
            .any(|q| q.method == "PUT" && names(q, &second.layers[1].digest)),
        "{uploads:?}"
    );
    // Platform API < 0.13: the previous manifest was deleted.
    assert!(
        reqs.iter().any(|q| q.method == "DELETE"
            && q.path.ends_with(&format!("/manifests/{first_digest}"))
            && q.status == 202),
        "{reqs:?}"
    );

    let backend = open(&name).await;
    match backend.state() {
        CacheImageState::Found {
            label, diff_ids, ..
        } => {
            assert_eq!(label.as_deref(), Some(meta2.as_str()));
            assert_eq!(diff_ids, &vec![da.clone(), dc.clone()]);
        }
        other => panic!("{other:?}"),
    }
    let sp = spool.path().to_path_buf();
    blocking(move || {
        let cache = ImageCache::new(backend, CacheCompression::Gzip, &sp, false).unwrap();
        let e = cache.retrieve_layer(&db).err().expect("b is gone");
        assert!(e.is_read_err(), "{e}");
        let mut back = Vec::new();
        cache
            .retrieve_layer(&dc)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, c);
        // Nothing added: the committed image is the empty layer alone.
        cache.set_metadata(b"{}").unwrap();
        cache.commit().unwrap();
    })
    .await;
    let third = manifest_of(&name).await;
    assert_eq!(third.layers.len(), 1);
    assert_eq!(third.layers[0].digest.as_str(), EMPTY_LAYER_DIFF_ID);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted_layer_blob_is_a_read_error() {
    let reg = shared_registry();
    let name = format!("{}/cache/deleted:latest", reg.host());
    let spool = tempfile::tempdir().unwrap();
    let a = tar_layer("a.txt", b"to be deleted\n");
    let da = Digest::of(&a);
    let backend = open(&name).await;
    let sp = spool.path().to_path_buf();
    let meta = metadata(&[("a", &da)]);
    let (a2, m2) = (a.clone(), meta.clone());
    blocking(move || {
        let cache = ImageCache::new(backend, CacheCompression::Gzip, &sp, false).unwrap();
        cache.add_layer(&Digest::of(&a2), &mut &a2[..]).unwrap();
        cache.set_metadata(m2.as_bytes()).unwrap();
        cache.commit().unwrap();
    })
    .await;
    let blob = manifest_of(&name).await.layers[0].digest.clone();

    // The same cache, opened before the deletion: reading the layer is a ReadErr.
    let opened_before = open(&name).await;
    assert!(matches!(
        opened_before.state(),
        CacheImageState::Found { .. }
    ));
    let url = format!("http://{}/v2/cache/deleted/blobs/{blob}", reg.host());
    let resp = reqwest::Client::new().delete(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 202, "DELETE {url}");

    let sp = spool.path().to_path_buf();
    let da2 = da.clone();
    blocking(move || {
        let cache = ImageCache::new(opened_before, CacheCompression::Gzip, &sp, false).unwrap();
        let e = cache.retrieve_layer(&da2).err().expect("blob deleted");
        assert!(e.is_read_err(), "{e}");
        assert_eq!(
            e.to_string(),
            format!("failed to find cache layer with SHA '{da2}'")
        );
    })
    .await;

    // Opened after: ggcr's fast validation fails, so the cache image counts as corrupt — its
    // metadata is ignored, reuse and retrieval are ReadErrs, and a new cache can be committed.
    let backend = open(&name).await;
    assert_eq!(backend.state(), &CacheImageState::Corrupt);
    let sp = spool.path().to_path_buf();
    blocking(move || {
        let cache = ImageCache::new(backend, CacheCompression::Gzip, &sp, false).unwrap();
        assert!(cache.exists());
        assert_eq!(cache.metadata_bytes().unwrap(), None);
        assert!(cache.retrieve_layer(&da).err().unwrap().is_read_err());
        assert!(cache.reuse_layer(&da).unwrap_err().is_read_err());
        cache.add_layer(&da, &mut &a[..]).unwrap();
        cache.set_metadata(meta.as_bytes()).unwrap();
        cache.commit().unwrap();
    })
    .await;
    assert!(matches!(
        open(&name).await.state(),
        CacheImageState::Found { .. }
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_by_digest_reference() {
    let reg = shared_registry();
    let name = format!("{}/cache/by-digest:latest", reg.host());
    let spool = tempfile::tempdir().unwrap();
    let a = tar_layer("a.txt", b"by digest\n");
    let da = Digest::of(&a);
    let meta = metadata(&[("a", &da)]);
    let backend = open(&name).await;
    blocking({
        let (a, meta, sp) = (a.clone(), meta.clone(), spool.path().to_path_buf());
        move || {
            let cache = ImageCache::new(backend, CacheCompression::Zstd, &sp, false).unwrap();
            cache.add_layer(&Digest::of(&a), &mut &a[..]).unwrap();
            cache.set_metadata(meta.as_bytes()).unwrap();
            cache.commit().unwrap();
        }
    })
    .await;
    let manifest_digest = Digest::of(&skopeo_inspect_raw(&name, None));
    let by_digest = format!("{}/cache/by-digest@{manifest_digest}", reg.host());
    let backend = open(&by_digest).await;
    match backend.state() {
        CacheImageState::Found {
            manifest_digest: d,
            label,
            ..
        } => {
            assert_eq!(d, &manifest_digest);
            assert_eq!(label.as_deref(), Some(meta.as_str()));
        }
        other => panic!("{other:?}"),
    }
    let sp = spool.path().to_path_buf();
    blocking(move || {
        let cache = ImageCache::new(backend, CacheCompression::Zstd, &sp, false).unwrap();
        assert_eq!(cache.metadata_bytes().unwrap(), Some(meta.into_bytes()));
        let mut back = Vec::new();
        cache
            .retrieve_layer(&da)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, a);
    })
    .await;
}

/// The whole path (ImageCache compresses the layer itself) for the Go one-layer golden. The
/// config is Go's byte for byte; the layer blob is not, so neither is the manifest digest: the
/// gzip header (10 bytes: no name, mtime 0, XFL 4, OS 255) and trailer (CRC-32 + size) are
/// Go's, but the deflate stream between them differs — Go's `compress/flate` BestSpeed writes a
/// dynamic-Huffman block (159-byte blob), flate2/zlib-rs level 1 a fixed-Huffman one (185).
/// Same blob in → same manifest out is pinned by `same_bytes_and_digest_as_the_go_lifecycle`.
#[tokio::test(flavor = "multi_thread")]
async fn whole_path_against_the_go_one_layer_golden() {
    let reg = shared_registry();
    let name = format!("{}/cache/go-one-whole:latest", reg.host());
    let spool = tempfile::tempdir().unwrap();
    let go_blob = std::fs::read(go_image("one-layer-blob.tar.gz")).unwrap();
    let mut tar = Vec::new();
    cnb::cache::decompressing_reader(&go_blob[..])
        .unwrap()
        .read_to_end(&mut tar)
        .unwrap();
    let golden_config = std::fs::read(go_image("one-layer-config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&golden_config).unwrap();
    let label = v["config"]["Labels"][METADATA_LABEL]
        .as_str()
        .unwrap()
        .to_string();
    let backend = open(&name).await;
    let sp = spool.path().to_path_buf();
    blocking(move || {
        let cache = ImageCache::new(backend, CacheCompression::Gzip, &sp, false).unwrap();
        cache.add_layer(&Digest::of(&tar), &mut &tar[..]).unwrap();
        cache.set_metadata(label.as_bytes()).unwrap();
        cache.commit().unwrap();
    })
    .await;
    assert_eq!(
        cnb::testing::skopeo_inspect_config(&name, None),
        golden_config
    );
    let ours = manifest_of(&name).await;
    let ours_blob = std::fs::read(reg.blob_data_path(ours.layers[0].digest.as_str())).unwrap();
    assert_eq!(ours.layers[0].size, ours_blob.len() as u64);
    assert_ne!(ours_blob, go_blob);
    assert_eq!(ours_blob[..10], go_blob[..10], "gzip header");
    assert_eq!(
        ours_blob[ours_blob.len() - 8..],
        go_blob[go_blob.len() - 8..],
        "gzip trailer"
    );
    let btype = |b: &[u8]| (b[10] >> 1) & 3;
    assert_eq!(
        (btype(&ours_blob), btype(&go_blob)),
        (1, 2),
        "fixed vs dynamic Huffman"
    );
}

/// Cache layers stream to the registry while they are compressed: nothing is spooled to disk,
/// and a layer whose bytes do not match its diffID is abandoned, never committed.
#[tokio::test(flavor = "multi_thread")]
async fn layers_stream_without_spool_and_a_wrong_layer_is_not_committed() {
    let reg = Registry::start(RegistryOptions::default());
    let name = format!("{}/cache/streamed:latest", reg.host());
    let spool = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 241) as u8).collect();
    let (a, b) = (tar_layer("a.bin", &big), tar_layer("b.txt", b"layer b\n"));
    let backend = open(&name).await;
    let sp = spool.path().to_path_buf();
    let (a2, b2) = (a.clone(), b.clone());
    let spooled = blocking(move || {
        let cache = ImageCache::new(backend, CacheCompression::Gzip, &sp, false).unwrap();
        // The inner spool dir exists but stays empty while layers are added.
        let mut w = cache.layer_writer().unwrap();
        std::io::Write::write_all(&mut w, &a2).unwrap();
        let during: usize = std::fs::read_dir(&sp)
            .unwrap()
            .map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
            .sum();
        w.finish(&Digest::of(&a2)).unwrap();
        let e = cache
            .add_layer(&Digest::of(b"not b"), &mut &b2[..])
            .unwrap_err();
        assert!(
            matches!(e, cnb::cache::CacheError::DigestMismatch { .. }),
            "{e}"
        );
        cache
            .set_metadata(metadata(&[("a", &Digest::of(&a2))]).as_bytes())
            .unwrap();
        cache.commit().unwrap();
        during
    })
    .await;
    assert_eq!(spooled, 0, "no spooled blob file");
    let m = manifest_of(&name).await;
    assert_eq!(m.layers.len(), 1);
    let reqs = reg.requests();
    let committed: Vec<_> = reqs
        .iter()
        .filter(|q| q.method == "PUT" && q.path.contains("/blobs/uploads/") && q.status == 201)
        .collect();
    // a's blob and the config: b's upload was started but never committed.
    assert_eq!(committed.len(), 2, "{committed:?}");
    assert!(committed.iter().any(|q| names(q, &m.layers[0].digest)));
    assert_eq!(
        std::fs::read(reg.blob_data_path(m.layers[0].digest.as_str()))
            .unwrap()
            .len() as u64,
        m.layers[0].size
    );
}
