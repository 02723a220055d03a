//! `RemoteStore` (the registry `ImageStore`) against a real CNCF Distribution registry: images
//! made by umoci/skopeo are read through it, images it writes are read back by skopeo.

mod common;

use bytes::Bytes;
use cnb::digest::Digest;
use cnb::image::store::{copy_blob, read_image};
use cnb::image::{
    BlobSource, Descriptor, History, Image, ImageStore, MediaType, Platform, RawManifest,
};
use cnb::registry::{RemoteStore, registry_error};
use cnb::testing::{
    FixtureOptions, Registry, RegistryOptions, push_busybox_fixture, push_busybox_fixture_with,
    shared_registry, skopeo_copy, skopeo_inspect_config, skopeo_inspect_raw,
};
use common::{anon, tar_layer};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A reader that records being read.
struct Touch(Arc<AtomicBool>);

impl Read for Touch {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        self.0.store(true, Ordering::SeqCst);
        Ok(0)
    }
}

fn store() -> RemoteStore {
    RemoteStore::new(anon())
}

/// Reads a whole store blob on a blocking thread, as callers must.
async fn read_all(reader: cnb::image::BlobReader) -> std::io::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        let mut r = reader;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map(|_| out)
    })
    .await
    .expect("reader thread")
}

fn requests_since(reg: &Registry, n: usize) -> Vec<cnb::testing::LoggedRequest> {
    reg.requests().into_iter().skip(n).collect()
}

/// No blob upload request (PATCH, PUT of an upload, POST that is not a mount).
fn uploads(reqs: &[cnb::testing::LoggedRequest]) -> Vec<String> {
    reqs.iter()
        .filter(|q| {
            q.path.contains("/blobs/uploads/")
                && (q.method == "PATCH"
                    || q.method == "PUT"
                    || (q.method == "POST" && !q.path.contains("mount=")))
        })
        .map(|q| format!("{} {} {}", q.method, q.path, q.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_umoci_fixture() {
    let reg = shared_registry();
    let fx = push_busybox_fixture_with(
        &reg.host(),
        "remote/read:v1",
        &FixtureOptions {
            architecture: Some("amd64".into()),
            ..Default::default()
        },
    );
    let s = store();
    assert_eq!(s.kind(), "remote");
    let (raw, manifest, config) = read_image(&s, &fx.reference, &Platform::new("linux", "amd64"))
        .await
        .unwrap()
        .expect("image exists");
    assert_eq!(&raw.bytes()[..], &fx.manifest[..]);
    assert_eq!(raw.digest(), &fx.manifest_digest);
    assert_eq!(
        &config.bytes()[..],
        &skopeo_inspect_config(&fx.reference, None)[..]
    );
    assert_eq!(config.parse().unwrap().architecture, "amd64");

    let layer = &manifest.layers[0];
    assert_eq!(layer.digest, fx.layer_digests[0]);
    assert!(s.blob_exists(&fx.reference, &layer.digest).await.unwrap());
    assert!(
        !s.blob_exists(&fx.reference, &Digest::of(b"nothing"))
            .await
            .unwrap()
    );
    let bytes = read_all(s.open_blob(&fx.reference, layer).await.unwrap())
        .await
        .unwrap();
    assert_eq!(Digest::of(&bytes), fx.layer_digests[0]);
    assert_eq!(bytes.len() as u64, fx.layer_sizes[0]);

    // By digest, and missing images / tags.
    let by_digest = format!("{}/remote/read@{}", reg.host(), fx.manifest_digest);
    let again = s
        .manifest(&by_digest, &Platform::new("linux", "amd64"))
        .await
        .unwrap()
        .expect("by digest");
    assert_eq!(again.bytes(), raw.bytes());
    for missing in ["remote/read:nope", "remote/never:v1"] {
        let name = format!("{}/{missing}", reg.host());
        assert!(
            s.manifest(&name, &Platform::current())
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
    assert_eq!(
        s.identifier(&fx.reference, &fx.manifest_digest).unwrap(),
        format!("{}/remote/read@{}", reg.host(), fx.manifest_digest)
    );
    // Docker Hub names are qualified like ggcr's Context().Name().
    assert_eq!(
        s.identifier("busybox", &fx.manifest_digest).unwrap(),
        format!("index.docker.io/library/busybox@{}", fx.manifest_digest)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn index_resolved_for_platform() {
    let reg = shared_registry();
    let host = reg.host();
    let (amd, arm, index) = common::two_arch_fixtures(&host, "remote/multi");
    let s = store();
    let name = format!("{host}/remote/multi:latest");
    s.put_manifest(&name, &RawManifest::new(index.clone(), None))
        .await
        .unwrap();
    assert_eq!(skopeo_inspect_raw(&name, None), index.as_bytes());
    let m = s
        .manifest(&name, &Platform::new("linux", "arm64"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.digest(), &arm.manifest_digest);
    let (_, _, cfg) = read_image(&s, &name, &Platform::new("linux", "amd64"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cfg.digest(), &amd.config_digest);
    // Tagging the index into another repository brings its images along (mounted).
    let copy = format!("{host}/remote/multi-copy:v1");
    let raw_index = RawManifest::new(index.clone(), None);
    let results = s
        .put_manifest_tagged(&name, &raw_index, std::slice::from_ref(&copy))
        .await
        .unwrap();
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    assert_eq!(skopeo_inspect_raw(&copy, None), index.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    skopeo_copy(
        &format!("docker://{copy}"),
        &format!("oci:{}:all", dir.path().join("oci").display()),
        None,
    );
    for d in [
        &amd.manifest_digest,
        &arm.manifest_digest,
        &arm.config_digest,
    ] {
        assert!(dir.path().join("oci/blobs/sha256").join(d.hex()).exists());
    }
    let e = s
        .manifest(&name, &Platform::new("linux", "s390x"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            cnb::image::StoreError::Image(cnb::image::ImageError::NoMatchingPlatform { .. })
        ),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_image_skopeo_reads() {
    let reg = Registry::start(RegistryOptions::default());
    let host = reg.host();
    let s = store();
    let name = format!("{host}/remote/own:v1");

    let layer = Bytes::from(tar_layer("hello.txt", b"hello from the remote store\n"));
    let diff_id = Digest::of(&layer);
    let mut img = Image::new(&Platform::new("linux", "amd64"), MediaType::OCI_MANIFEST);
    let desc = Descriptor::new(
        MediaType::OCI_LAYER_TAR,
        diff_id.clone(),
        layer.len() as u64,
    );
    img.append_layer(desc.clone(), diff_id.clone(), History::default());
    img.set_label("io.buildpacks.test", "yes");
    let built = img.build().unwrap();

    // A layer from a blocking reader (streamed), checked against its descriptor.
    let (d, n) = s
        .put_blob(
            &name,
            BlobSource::Reader(Box::new(std::io::Cursor::new(layer.clone()))),
            Some(&desc),
        )
        .await
        .unwrap();
    assert_eq!((d, n), (diff_id.clone(), layer.len() as u64));
    let (cd, cn) = s
        .put_blob(&name, BlobSource::Bytes(built.config.bytes().clone()), None)
        .await
        .unwrap();
    assert_eq!((&cd, cn), (built.config.digest(), built.config.size()));

    let tags = vec!["v2".to_string(), format!("{host}/remote/copy:v1")];
    let before = reg.requests().len();
    let results = s
        .put_manifest_tagged(&name, &built.manifest, &tags)
        .await
        .unwrap();
    for (tag, r) in &results {
        assert!(
            r.is_ok(),
            "{tag}: {:?}",
            r.as_ref().err().map(|e| e.to_string())
        );
    }
    // The other repository got its blobs by cross-repository mounts, nothing uploaded.
    let reqs = requests_since(&reg, before);
    assert!(uploads(&reqs).is_empty(), "{:?}", uploads(&reqs));
    assert_eq!(
        reqs.iter()
            .filter(|q| q.method == "POST" && q.path.contains("mount=") && q.status == 201)
            .count(),
        2,
        "config and layer mounted: {reqs:?}"
    );

    for n in [
        name.clone(),
        format!("{host}/remote/own:v2"),
        format!("{host}/remote/copy:v1"),
    ] {
        assert_eq!(
            skopeo_inspect_raw(&n, None),
            built.manifest.bytes().to_vec(),
            "{n}"
        );
    }
    assert_eq!(
        skopeo_inspect_config(&name, None),
        built.config.bytes().to_vec()
    );
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("oci");
    skopeo_copy(
        &format!("docker://{host}/remote/copy:v1"),
        &format!("oci:{}:img", oci.display()),
        None,
    );
    for d in [built.manifest.digest(), built.config.digest(), &diff_id] {
        let p = oci.join("blobs/sha256").join(d.hex());
        assert_eq!(
            &Digest::of(&std::fs::read(&p).unwrap()),
            d,
            "{}",
            p.display()
        );
    }

    // Storing it again uploads nothing.
    let before = reg.requests().len();
    s.put_blob(&name, BlobSource::Bytes(layer.clone()), Some(&desc))
        .await
        .unwrap();
    s.put_blob(&name, BlobSource::Bytes(layer.clone()), None)
        .await
        .unwrap();
    // A streamed source of a blob the repository has is not even read.
    let touched = Arc::new(AtomicBool::new(false));
    s.put_blob(
        &name,
        BlobSource::Reader(Box::new(Touch(touched.clone()))),
        Some(&desc),
    )
    .await
    .unwrap();
    assert!(uploads(&requests_since(&reg, before)).is_empty());
    assert!(!touched.load(Ordering::SeqCst), "source read for nothing");

    // A manifest by digest reference.
    let by_digest = format!("{host}/remote/own@{}", built.manifest.digest());
    let m = s
        .manifest(&by_digest, &Platform::current())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.bytes(), built.manifest.bytes());
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_between_repositories_mounts() {
    let reg = Registry::start(RegistryOptions::default());
    let fx = push_busybox_fixture(&reg.host(), "remote/src:v1");
    let s = store();
    let target = format!("{}/remote/dst:v1", reg.host());
    let (_, manifest, _) = read_image(&s, &fx.reference, &Platform::current())
        .await
        .unwrap()
        .unwrap();
    let before = reg.requests().len();
    let copied = copy_blob(&s, &fx.reference, &s, &target, &manifest.layers[0])
        .await
        .unwrap();
    assert!(copied);
    let reqs = requests_since(&reg, before);
    assert!(uploads(&reqs).is_empty(), "{reqs:?}");
    assert!(
        reqs.iter()
            .any(|q| q.method == "POST" && q.path.contains("mount=") && q.status == 201),
        "{reqs:?}"
    );
    assert!(
        s.blob_exists(&target, &manifest.layers[0].digest)
            .await
            .unwrap()
    );
    // A second copy finds it there.
    assert!(
        !copy_blob(&s, &fx.reference, &s, &target, &manifest.layers[0])
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_and_missing_blobs_fail() {
    let reg = Registry::start(RegistryOptions::default());
    let s = store();
    let name = format!("{}/remote/bad:v1", reg.host());
    let data = Bytes::from(vec![7u8; 300_000]);
    let (d, n) = s
        .put_blob(&name, BlobSource::Bytes(data.clone()), None)
        .await
        .unwrap();
    let desc = Descriptor::new(MediaType::OCI_LAYER_TAR, d.clone(), n);
    assert_eq!(
        read_all(s.open_blob(&name, &desc).await.unwrap())
            .await
            .unwrap(),
        data
    );
    // Same length, other bytes: the reader fails at the end instead of returning them.
    std::fs::write(reg.blob_data_path(d.as_str()), vec![8u8; 300_000]).unwrap();
    let e = read_all(s.open_blob(&name, &desc).await.unwrap())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("digest mismatch"), "{e}");
    // A wrong descriptor size is caught too.
    std::fs::write(reg.blob_data_path(d.as_str()), &data).unwrap();
    let short = Descriptor::new(MediaType::OCI_LAYER_TAR, d.clone(), n - 1);
    assert!(
        read_all(s.open_blob(&name, &short).await.unwrap())
            .await
            .is_err()
    );
    // A blob the repository does not have fails when opened, as a registry 404.
    let missing = Descriptor::new(MediaType::OCI_LAYER_TAR, Digest::of(b"absent"), 6);
    let e = s.open_blob(&name, &missing).await.err().expect("missing");
    assert!(registry_error(&e).is_some_and(|r| r.is_not_found()), "{e}");
    // Content that does not match the expected descriptor is refused.
    let e = s
        .put_blob(
            &format!("{}/remote/bad:v2", reg.host()),
            BlobSource::Reader(Box::new(std::io::Cursor::new(vec![1u8; 10]))),
            Some(&Descriptor::new(
                MediaType::OCI_LAYER_TAR,
                Digest::of(b"x"),
                1,
            )),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("digest mismatch"), "{e}");
}
