//! The registry client against a real CNCF Distribution registry, with images made and checked
//! by third-party tools (umoci, skopeo).

mod common;

use bytes::Bytes;
use cnb::digest::Digest;
use cnb::image::{MediaType, Platform, RawManifest};
use cnb::registry::{
    BlobSource, ClientOptions, Credential, DockerConfig, Keychain, PushOptions, PushOutcome,
    RegistryError, into_registry_error,
};
use cnb::testing::{
    FixtureOptions, Registry, RegistryOptions, push_busybox_fixture, push_busybox_fixture_with,
    shared_registry, skopeo_copy, skopeo_inspect_config, skopeo_inspect_raw,
};
use common::{anon, client, image_for_layer, reference, tar_layer};
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn reads_image_built_by_umoci() {
    let reg = shared_registry();
    let fx = push_busybox_fixture(&reg.host(), "read/busybox:v1");
    let c = anon();
    let r = reference(&fx.reference);

    let m = c.get_manifest(&r).await.unwrap();
    assert_eq!(&m.bytes()[..], &fx.manifest[..], "bytes kept verbatim");
    assert_eq!(m.digest(), &fx.manifest_digest);
    assert_eq!(m.media_type(), &MediaType::OCI_MANIFEST);
    let head = c.head_manifest(&r).await.unwrap().expect("exists");
    assert_eq!(head.digest.as_ref(), Some(&fx.manifest_digest));
    let by_digest = c
        .get_manifest(&r.with_digest(fx.manifest_digest.clone()))
        .await
        .unwrap();
    assert_eq!(by_digest.bytes(), m.bytes());

    let config = c
        .get_blob_bytes(r.context(), &fx.config_digest)
        .await
        .unwrap();
    assert_eq!(&config[..], &skopeo_inspect_config(&fx.reference, None)[..]);

    let layer = &fx.layer_digests[0];
    let info = c
        .head_blob(r.context(), layer)
        .await
        .unwrap()
        .expect("layer exists");
    assert_eq!(info.size, Some(fx.layer_sizes[0]));
    let mut s = c
        .get_blob(r.context(), layer, Some(fx.layer_sizes[0]))
        .await
        .unwrap();
    let mut hasher = cnb::digest::Hasher::new();
    while let Some(chunk) = s.next().await {
        hasher.update(&chunk.unwrap());
    }
    assert_eq!(hasher.finish(), (layer.clone(), fx.layer_sizes[0]));

    assert!(
        c.head_manifest(&reference(&format!("{}/read/busybox:nope", reg.host())))
            .await
            .unwrap()
            .is_none()
    );
    let e = c
        .get_manifest(&reference(&format!("{}/read/busybox:nope", reg.host())))
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains("MANIFEST_UNKNOWN"), "{e}");
}

#[tokio::test]
async fn reads_docker_schema2_image() {
    let reg = shared_registry();
    let fx = push_busybox_fixture_with(
        &reg.host(),
        "read/docker:v1",
        &FixtureOptions {
            docker_format: true,
            ..Default::default()
        },
    );
    let m = anon()
        .get_manifest(&reference(&fx.reference))
        .await
        .unwrap();
    assert_eq!(m.media_type(), &MediaType::DOCKER_MANIFEST);
    assert_eq!(m.digest(), &fx.manifest_digest);
}

#[tokio::test]
async fn pushes_image_that_skopeo_reads() {
    let reg = shared_registry();
    let c = anon();
    let r = reference(&format!("{}/push/own:v1", reg.host()));
    let layer = tar_layer("hello.txt", b"hello from cnb\n");
    let (config, manifest) = image_for_layer(&layer, "amd64");

    let pushed = c
        .push_blob(
            r.context(),
            BlobSource::Bytes(Bytes::from(config.clone())),
            PushOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(pushed.outcome, PushOutcome::Uploaded);
    assert_eq!(pushed.digest, Digest::of(&config));
    // A streamed layer: digest computed while streaming.
    let chunks: Vec<std::io::Result<Bytes>> = layer
        .chunks(1000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let pushed = c
        .push_blob(
            r.context(),
            BlobSource::stream(futures_util::stream::iter(chunks)),
            PushOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        (pushed.digest.clone(), pushed.size),
        (Digest::of(&layer), Some(layer.len() as u64))
    );
    // Pushing again with the digest known: skipped.
    let again = c
        .push_blob(
            r.context(),
            BlobSource::Bytes(Bytes::from(layer.clone())),
            PushOptions {
                digest: Some(Digest::of(&layer)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(again.outcome, PushOutcome::Existed);

    let digest = c
        .put_manifest(
            &r,
            &RawManifest::new(manifest.clone(), Some(MediaType::OCI_MANIFEST)),
        )
        .await
        .unwrap();
    assert_eq!(digest, Digest::of(&manifest));
    assert_eq!(skopeo_inspect_raw(&r.to_string(), None), manifest);
    assert_eq!(skopeo_inspect_config(&r.to_string(), None), config);

    let out = tempfile::tempdir().unwrap();
    skopeo_copy(
        &format!("docker://{r}"),
        &format!("oci:{}:v1", out.path().display()),
        None,
    );
    let listing: Vec<_> = walkdir::WalkDir::new(out.path())
        .into_iter()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let blob = out
        .path()
        .join("blobs/sha256")
        .join(Digest::of(&layer).hex());
    assert!(blob.exists(), "{listing:?}");
    assert_eq!(std::fs::read(blob).unwrap(), layer);
}

#[tokio::test]
async fn pushes_file_and_reader_sources_with_progress() {
    let reg = shared_registry();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let c = client(ClientOptions {
        progress: Some(Arc::new(move |p| ev.lock().unwrap().push(p.clone()))),
        ..Default::default()
    });
    let r = reference(&format!("{}/push/sources:v1", reg.host()));
    let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob");
    std::fs::write(&path, &data).unwrap();

    let p = c
        .push_blob(
            r.context(),
            BlobSource::File(path.clone()),
            PushOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        (p.digest.clone(), p.size, p.outcome),
        (
            Digest::of(&data),
            Some(data.len() as u64),
            PushOutcome::Uploaded
        )
    );
    let last = events
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("progress events");
    assert_eq!(last.done, data.len() as u64);
    assert_eq!(last.total, Some(data.len() as u64));

    let other: Vec<u8> = data.iter().rev().copied().collect();
    let f = tokio::fs::File::open({
        let p2 = dir.path().join("other");
        std::fs::write(&p2, &other).unwrap();
        p2
    })
    .await
    .unwrap();
    let p = c
        .push_blob(r.context(), BlobSource::reader(f), PushOptions::default())
        .await
        .unwrap();
    assert_eq!(p.digest, Digest::of(&other));
    let back = c.get_blob_bytes(r.context(), &p.digest).await.unwrap();
    assert_eq!(&back[..], &other[..]);

    // A known digest that the stream does not match is refused.
    let wrong = Digest::of(b"something else");
    let e = c
        .push_blob(
            r.context(),
            BlobSource::stream(futures_util::stream::iter(vec![Ok(Bytes::from_static(
                b"abc",
            ))])),
            PushOptions {
                digest: Some(wrong.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, RegistryError::DigestMismatch { expected, .. } if *expected == wrong),
        "{e}"
    );
}

#[tokio::test]
async fn chunked_upload_honours_chunks() {
    let reg = Registry::start(RegistryOptions::default());
    let c = client(ClientOptions {
        chunk_size: Some(1000),
        ..Default::default()
    });
    let r = reference(&format!("{}/chunked/blob:v1", reg.host()));
    let data: Vec<u8> = (0..3500u32).map(|i| (i * 7 % 256) as u8).collect();
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(300)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let p = c
        .push_blob(
            r.context(),
            BlobSource::stream(futures_util::stream::iter(chunks)),
            PushOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(p.digest, Digest::of(&data));
    let patches = reg
        .requests()
        .into_iter()
        .filter(|q| q.method == "PATCH" && q.status == 202)
        .count();
    assert_eq!(patches, 4, "3500 bytes in chunks of 1000");
    assert_eq!(
        std::fs::read(reg.blob_data_path(p.digest.as_str())).unwrap(),
        data
    );
}

#[tokio::test]
async fn index_platform_selection() {
    let reg = shared_registry();
    let host = reg.host();
    let (amd, arm, index) = common::two_arch_fixtures(&host, "multi/app");
    let c = anon();
    let r = reference(&format!("{host}/multi/app:latest"));
    c.put_manifest(
        &r,
        &RawManifest::new(index.clone(), Some(MediaType::OCI_INDEX)),
    )
    .await
    .unwrap();
    assert_eq!(skopeo_inspect_raw(&r.to_string(), None), index.as_bytes());

    let (m, idx) = c
        .get_image_manifest(&r, &Platform::new("linux", "arm64"))
        .await
        .unwrap();
    assert_eq!(m.digest(), &arm.manifest_digest);
    assert_eq!(
        idx.expect("was an index").media_type(),
        &MediaType::OCI_INDEX
    );
    let (m, _) = c
        .get_image_manifest(&r, &Platform::new("linux", "amd64"))
        .await
        .unwrap();
    assert_eq!(m.digest(), &amd.manifest_digest);
    let want_v8 = Platform::new("linux", "arm64").with_variant("v8");
    assert_eq!(
        c.get_image_manifest(&r, &want_v8)
            .await
            .unwrap()
            .0
            .digest()
            .clone(),
        arm.manifest_digest
    );
    let e = c
        .get_image_manifest(&r, &Platform::new("linux", "s390x"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            RegistryError::Image(cnb::image::ImageError::NoMatchingPlatform { .. })
        ),
        "{e}"
    );
    // A plain image manifest is returned as is.
    let (m, idx) = c
        .get_image_manifest(&reference(&amd.reference), &Platform::new("linux", "s390x"))
        .await
        .unwrap();
    assert_eq!((m.digest(), idx), (&amd.manifest_digest, None));
}

#[tokio::test]
async fn cross_repo_mount_avoids_upload() {
    let reg = Registry::start(RegistryOptions::default());
    let fx = push_busybox_fixture(&reg.host(), "mount/source:v1");
    let c = anon();
    let target = reference(&format!("{}/mount/target:v1", reg.host()));
    let source = reference(&fx.reference);
    let layer = fx.layer_digests[0].clone();
    // Bytes that do not match the announced digest are refused before any request.
    let e = c
        .push_blob(
            target.context(),
            BlobSource::Bytes(Bytes::new()),
            PushOptions {
                digest: Some(layer.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");

    // With a real copy of the bytes and the digest: mounted, nothing uploaded.
    let bytes = anon()
        .get_blob_bytes(source.context(), &layer)
        .await
        .unwrap();
    let pushed = c
        .push_blob(
            target.context(),
            BlobSource::Bytes(bytes),
            PushOptions {
                digest: Some(layer.clone()),
                mount_from: vec![source.context().clone()],
            },
        )
        .await
        .unwrap();
    assert_eq!(pushed.outcome, PushOutcome::Mounted);
    let reqs = reg.requests();
    assert!(
        reqs.iter().any(|q| q.method == "POST"
            && q.path.starts_with("/v2/mount/target/blobs/uploads/?mount=")
            && q.status == 201),
        "{reqs:?}"
    );
    assert!(
        !reqs
            .iter()
            .any(|q| (q.method == "PATCH" || q.method == "PUT")
                && q.path.starts_with("/v2/mount/target/blobs/")),
        "{reqs:?}"
    );
    assert!(
        c.head_blob(target.context(), &layer)
            .await
            .unwrap()
            .is_some()
    );

    // A source that lacks the blob: the registry opens a session instead (202) and we upload.
    let fresh = Bytes::from_static(b"fresh bytes for the fallback");
    let pushed = c
        .push_blob(
            target.context(),
            BlobSource::Bytes(fresh.clone()),
            PushOptions {
                digest: Some(Digest::of(&fresh)),
                mount_from: vec![source.context().clone()],
            },
        )
        .await
        .unwrap();
    assert_eq!(pushed.outcome, PushOutcome::Uploaded);
    assert_eq!(
        c.get_blob_bytes(target.context(), &pushed.digest)
            .await
            .unwrap(),
        fresh
    );
    let mount_202 = format!(
        "/v2/mount/target/blobs/uploads/?mount={}&from=mount/source",
        pushed.digest
    );
    assert!(
        reg.requests()
            .iter()
            .any(|q| q.method == "POST" && q.path == mount_202 && q.status == 202)
    );
}

#[tokio::test]
async fn tampered_blob_is_detected() {
    let reg = Registry::start(RegistryOptions::default());
    let c = anon();
    let r = reference(&format!("{}/tamper/app:v1", reg.host()));
    let good = Bytes::from(vec![b'a'; 100_000]);
    let p = c
        .push_blob(r.context(), BlobSource::Bytes(good), PushOptions::default())
        .await
        .unwrap();
    let path = reg.blob_data_path(p.digest.as_str());
    let mut bad = vec![b'a'; 100_000];
    bad[50_000] = b'b';
    std::fs::write(&path, &bad).unwrap();

    let mut s = c
        .get_blob(r.context(), &p.digest, Some(100_000))
        .await
        .unwrap();
    let mut got = 0usize;
    let mut last_err = None;
    while let Some(item) = s.next().await {
        match item {
            Ok(b) => got += b.len(),
            Err(e) => last_err = Some(e),
        }
    }
    assert_eq!(got, 100_000, "all bytes delivered before the verdict");
    let e = into_registry_error(last_err.expect("mismatch reported at the end"));
    let msg = e.to_string();
    assert!(
        msg.contains(p.digest.as_str()) && msg.contains(Digest::of(&bad).as_str()),
        "{msg}"
    );
    assert!(matches!(e, RegistryError::DigestMismatch { .. }));
    assert!(c.get_blob_bytes(r.context(), &p.digest).await.is_err());

    // The AsyncRead face reports it too.
    let mut rd = c.get_blob(r.context(), &p.digest, None).await.unwrap();
    let mut sink = Vec::new();
    let e = tokio::io::AsyncReadExt::read_to_end(&mut rd, &mut sink)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
}

fn auth_registry() -> Registry {
    Registry::start(RegistryOptions {
        htpasswd: Some(("alice".into(), "s3cret".into())),
        ..Default::default()
    })
}

#[tokio::test]
async fn basic_auth_from_env_value_and_docker_config() {
    let reg = auth_registry();
    let fx = push_busybox_fixture_with(
        &reg.host(),
        "private/app:v1",
        &FixtureOptions {
            creds: reg.creds(),
            ..Default::default()
        },
    );
    let r = reference(&fx.reference);

    let e = anon().get_manifest(&r).await.unwrap_err();
    assert!(e.is_unauthorized(), "{e}");

    // CNB_REGISTRY_AUTH form (URL-form key reduced to host:port).
    let env = format!(
        r#"{{"http://{}/v2/":"Basic {}"}}"#,
        reg.host(),
        "YWxpY2U6czNjcmV0"
    );
    let kc = Keychain::from_sources(&env, Ok(DockerConfig::default()), &[fx.reference.as_str()])
        .unwrap();
    let m = client(ClientOptions {
        keychain: kc,
        ..Default::default()
    })
    .get_manifest(&r)
    .await
    .unwrap();
    assert_eq!(m.digest(), &fx.manifest_digest);

    // docker config.json in a temp DOCKER_CONFIG dir, username/password form.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"username":"alice","password":"s3cret"}}}}}}"#,
            reg.host()
        ),
    )
    .unwrap();
    let kc = Keychain::from_sources(
        "",
        DockerConfig::load_dir(dir.path()),
        &[fx.reference.as_str()],
    )
    .unwrap();
    assert_eq!(
        kc.resolve(&reg.host()).unwrap(),
        Credential::basic("alice", "s3cret")
    );
    let c = client(ClientOptions {
        keychain: kc,
        ..Default::default()
    });
    assert_eq!(
        c.get_manifest(&r).await.unwrap().digest(),
        &fx.manifest_digest
    );
    let pushed = c
        .push_blob(
            r.context(),
            BlobSource::Bytes(Bytes::from_static(b"authed")),
            PushOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(pushed.outcome, PushOutcome::Uploaded);

    // Wrong password: 401 with the registry's words.
    let kc = Keychain::anonymous().with(&reg.host(), Credential::basic("alice", "wrong"));
    let e = client(ClientOptions {
        keychain: kc,
        ..Default::default()
    })
    .get_manifest(&r)
    .await
    .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
}

#[tokio::test]
async fn failing_credential_helper_is_explained() {
    use std::os::unix::fs::PermissionsExt;
    let reg = auth_registry();
    let image = format!("{}/private/app:v1", reg.host());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"broken"}}}}"#, reg.host()),
    )
    .unwrap();
    let helper = dir.path().join("docker-credential-broken");
    std::fs::write(
        &helper,
        "#!/bin/sh\necho 'cannot reach the vault' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = DockerConfig::load_dir(dir.path()).map(|c| c.with_helper_dir(dir.path()));
    let kc = Keychain::from_sources("", config, &[image.as_str()]).unwrap();
    let failure = kc
        .failure(&reg.host())
        .expect("helper failure recorded")
        .to_string();
    assert!(
        failure.contains("docker-credential-broken") && failure.contains("cannot reach the vault"),
        "{failure}"
    );
    let e = client(ClientOptions {
        keychain: kc,
        ..Default::default()
    })
    .check_read_access(&reference(&image))
    .await
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        e.is_unauthorized() && msg.contains("docker-credential-broken failed"),
        "{msg}"
    );
}

#[tokio::test]
async fn access_checks() {
    let shared = shared_registry();
    let c = anon();
    let missing = reference(&format!("{}/access/never-pushed:v1", shared.host()));
    c.check_read_access(&missing)
        .await
        .expect("404 counts as readable");
    c.check_write_access(&missing)
        .await
        .expect("anonymous push allowed on the open registry");
    let reqs = shared.requests();
    assert!(
        reqs.iter().any(|q| q.method == "DELETE"
            && q.path.starts_with("/v2/access/never-pushed/blobs/uploads/")),
        "{reqs:?}"
    );

    let reg = auth_registry();
    let private = reference(&format!("{}/access/app:v1", reg.host()));
    let e = c.check_read_access(&private).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    let e = c.check_write_access(&private).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    let authed = client(ClientOptions {
        keychain: Keychain::anonymous().with(&reg.host(), Credential::basic("alice", "s3cret")),
        ..Default::default()
    });
    authed.check_read_access(&private).await.unwrap();
    authed.check_write_access(&private).await.unwrap();

    // Nothing listening: a transport failure fails the check.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = c
        .check_read_access(&reference(&format!("127.0.0.1:{port}/x/y:z")))
        .await
        .unwrap_err();
    assert!(e.is_transport(), "{e}");
}

#[tokio::test]
async fn tampered_manifest_is_detected() {
    let reg = Registry::start(RegistryOptions::default());
    let c = anon();
    let r = reference(&format!("{}/tamper/manifest:v1", reg.host()));
    let layer = tar_layer("f", b"x");
    let (config, manifest) = image_for_layer(&layer, "amd64");
    for b in [config, layer] {
        c.push_blob(
            r.context(),
            BlobSource::Bytes(Bytes::from(b)),
            PushOptions::default(),
        )
        .await
        .unwrap();
    }
    let manifest =
        String::from_utf8(manifest)
            .unwrap()
            .replacen('{', r#"{"annotations":{"note":"aaaa"},"#, 1);
    let digest = c
        .put_manifest(
            &r,
            &RawManifest::new(manifest.clone(), Some(MediaType::OCI_MANIFEST)),
        )
        .await
        .unwrap();
    std::fs::write(
        reg.blob_data_path(digest.as_str()),
        manifest.replace("aaaa", "bbbb"),
    )
    .unwrap();
    let tampered = Digest::of(manifest.replace("aaaa", "bbbb").as_bytes());

    let e = c.get_manifest(&r).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, RegistryError::DigestMismatch { .. }) && msg.contains("Docker-Content-Digest"),
        "{msg}"
    );
    assert!(
        msg.contains(digest.as_str()) && msg.contains(tampered.as_str()),
        "{msg}"
    );
    let e = c
        .get_manifest(&r.with_digest(digest.clone()))
        .await
        .unwrap_err();
    assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");
}

#[tokio::test]
async fn download_progress_is_reported() {
    let reg = shared_registry();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let c = client(ClientOptions {
        progress: Some(Arc::new(move |p| ev.lock().unwrap().push(p.clone()))),
        ..Default::default()
    });
    let r = reference(&format!("{}/progress/app:v1", reg.host()));
    let data = Bytes::from(vec![7u8; 300_000]);
    let d = anon()
        .push_blob(
            r.context(),
            BlobSource::Bytes(data.clone()),
            PushOptions::default(),
        )
        .await
        .unwrap()
        .digest;
    assert_eq!(c.get_blob_bytes(r.context(), &d).await.unwrap(), data);
    let ev = events.lock().unwrap();
    let last = ev.last().expect("events");
    assert_eq!(
        (last.direction, last.digest.as_ref(), last.done, last.total),
        (
            cnb::registry::Direction::Pull,
            Some(&d),
            300_000,
            Some(300_000)
        )
    );
    assert!(ev.windows(2).all(|w| w[0].done <= w[1].done));
}

#[tokio::test]
async fn bounded_concurrency_keeps_order() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let out = cnb::registry::for_each_concurrent((0..20u64).collect(), 3, |i| {
        let (now, max) = (now.clone(), max.clone());
        async move {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(n, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5 * (i % 4))).await;
            now.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, ()>(i * 2)
        }
    })
    .await
    .unwrap();
    assert_eq!(out, (0..20u64).map(|i| i * 2).collect::<Vec<_>>());
    assert!(max.load(Ordering::SeqCst) <= 3 && max.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn copies_blobs_within_and_across_registries() {
    let src_reg = shared_registry();
    let dst_reg = Registry::start(RegistryOptions::default());
    let fx = push_busybox_fixture(&src_reg.host(), "copy/source:v1");
    let c = anon();
    let from = reference(&fx.reference);
    let layer = &fx.layer_digests[0];
    let size = Some(fx.layer_sizes[0]);

    let other_registry = reference(&format!("{}/copy/target:v1", dst_reg.host()));
    let p = c
        .copy_blob(from.context(), other_registry.context(), layer, size)
        .await
        .unwrap();
    assert_eq!((p.outcome, p.size), (PushOutcome::Uploaded, size));
    assert_eq!(
        std::fs::read(dst_reg.blob_data_path(layer.as_str())).unwrap(),
        std::fs::read(src_reg.blob_data_path(layer.as_str())).unwrap()
    );
    let p = c
        .copy_blob(from.context(), other_registry.context(), layer, size)
        .await
        .unwrap();
    assert_eq!(p.outcome, PushOutcome::Existed);

    let same_registry = reference(&format!("{}/copy/sibling:v1", src_reg.host()));
    let p = c
        .copy_blob(from.context(), same_registry.context(), layer, size)
        .await
        .unwrap();
    assert_eq!(p.outcome, PushOutcome::Mounted);

    // A source whose bytes are corrupt never lands in the target.
    let bad_src = Registry::start(RegistryOptions::default());
    let r = reference(&format!("{}/copy/bad:v1", bad_src.host()));
    let d = c
        .push_blob(
            r.context(),
            BlobSource::Bytes(Bytes::from(vec![1u8; 50_000])),
            PushOptions::default(),
        )
        .await
        .unwrap()
        .digest;
    std::fs::write(bad_src.blob_data_path(d.as_str()), vec![2u8; 50_000]).unwrap();
    let e = c
        .copy_blob(r.context(), other_registry.context(), &d, Some(50_000))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, RegistryError::DigestMismatch { expected, .. } if *expected == d),
        "{e}"
    );
    assert!(
        c.head_blob(other_registry.context(), &d)
            .await
            .unwrap()
            .is_none()
    );
}
