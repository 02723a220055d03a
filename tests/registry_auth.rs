//! Bearer-token auth (Distribution `auth.token` + a token issuer run by the test) and retries
//! through a fault-injecting proxy.

mod common;

use bytes::Bytes;
use cnb::digest::Digest;
use cnb::registry::{BlobSource, ClientOptions, Credential, Keychain, PushOptions, PushOutcome};
use cnb::testing::{FixtureOptions, push_busybox_fixture_with, skopeo_inspect_raw};
use common::proxy::{Fault, FaultRule};
use common::{anon, client, faulty_registry, reference, token_registry};

fn alice(host: &str) -> Keychain {
    Keychain::anonymous().with(host, Credential::basic("alice", "s3cret"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_flow() {
    let (_reg, proxy) = token_registry();
    let host = proxy.host();
    let fx = push_busybox_fixture_with(
        &host,
        "tok/source:v1",
        &FixtureOptions {
            creds: Some("alice:s3cret".into()),
            ..Default::default()
        },
    );
    let c = client(ClientOptions {
        keychain: alice(&host),
        ..Default::default()
    });
    let src = reference(&fx.reference);

    let m = c.get_manifest(&src).await.unwrap();
    assert_eq!(m.digest(), &fx.manifest_digest);
    assert!(
        proxy
            .token_scopes()
            .iter()
            .any(|s| s == &vec!["repository:tok/source:pull".to_string()]),
        "{:?}",
        proxy.token_scopes()
    );

    // A mount needs pull on the source and push on the target in one token.
    let target = reference(&format!("{host}/tok/target:v1"));
    let layer = fx.layer_digests[0].clone();
    let bytes = c.get_blob_bytes(src.context(), &layer).await.unwrap();
    let p = c
        .push_blob(
            target.context(),
            BlobSource::Bytes(bytes),
            PushOptions {
                digest: Some(layer),
                mount_from: vec![src.context().clone()],
            },
        )
        .await
        .unwrap();
    assert_eq!(p.outcome, PushOutcome::Mounted);
    let want = vec![
        "repository:tok/target:pull,push".to_string(),
        "repository:tok/source:pull".to_string(),
    ];
    assert!(
        proxy.token_scopes().contains(&want),
        "{:?}",
        proxy.token_scopes()
    );

    let pushed = c.put_manifest(&target, &m).await;
    // The config blob was not copied: the registry refuses the manifest, with its own words.
    let e = pushed.unwrap_err();
    assert!(
        e.to_string().contains("MANIFEST_BLOB_UNKNOWN") || e.to_string().contains("BLOB_UNKNOWN"),
        "{e}"
    );
    let config = c
        .get_blob_bytes(src.context(), &fx.config_digest)
        .await
        .unwrap();
    c.push_blob(
        target.context(),
        BlobSource::Bytes(config),
        PushOptions::default(),
    )
    .await
    .unwrap();
    c.put_manifest(&target, &m).await.unwrap();
    assert_eq!(
        skopeo_inspect_raw(&target.to_string(), Some("alice:s3cret")),
        m.bytes().to_vec()
    );

    // Tokens are reused: a second read asks for no new token.
    let before = proxy.token_scopes().len();
    c.get_manifest(&src).await.unwrap();
    assert_eq!(proxy.token_scopes().len(), before);

    // Anonymous: the issuer hands out an empty token, the registry says 401.
    let e = anon().get_manifest(&src).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    let e = anon().check_read_access(&src).await.unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    // Wrong password: the token server refuses.
    let bad = client(ClientOptions {
        keychain: Keychain::anonymous().with(&host, Credential::basic("alice", "nope")),
        ..Default::default()
    });
    let e = bad.get_manifest(&src).await.unwrap_err();
    assert!(e.to_string().contains("getting a token"), "{e}");
    c.check_write_access(&target).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_token_oauth_exchange() {
    let (_reg, proxy) = token_registry();
    let host = proxy.host();
    let fx = push_busybox_fixture_with(
        &host,
        "tok/idt:v1",
        &FixtureOptions {
            creds: Some("alice:s3cret".into()),
            ..Default::default()
        },
    );
    // CNB_REGISTRY_AUTH's X-Identity form, keyed by URL.
    let env = format!(
        r#"{{"http://{host}":"X-Identity {}"}}"#,
        common::proxy::REFRESH_TOKEN
    );
    let kc = Keychain::from_env_value(&env).unwrap();
    let c = client(ClientOptions {
        keychain: kc,
        ..Default::default()
    });
    let m = c.get_manifest(&reference(&fx.reference)).await.unwrap();
    assert_eq!(m.digest(), &fx.manifest_digest);
    assert!(
        proxy
            .seen()
            .iter()
            .any(|(m, p)| m == "POST" && p == "/token"),
        "{:?}",
        proxy.seen()
    );
    let bad = client(ClientOptions {
        keychain: Keychain::anonymous().with(
            &host,
            Credential::IdentityToken(cnb::registry::Secret::new("wrong")),
        ),
        ..Default::default()
    });
    let e = bad
        .get_manifest(&reference(&fx.reference))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("getting a token") && !e.to_string().contains("wrong"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_transient_failures() {
    let (reg, proxy) = faulty_registry();
    let host = proxy.host();
    let c = anon();
    let r = reference(&format!("{host}/retry/app:v1"));
    let data = Bytes::from_static(b"retry me");
    let d = Digest::of(&data);
    c.push_blob(
        r.context(),
        BlobSource::Bytes(data.clone()),
        PushOptions::default(),
    )
    .await
    .unwrap();

    proxy.add_fault(FaultRule {
        method: "GET",
        path_contains: format!("/blobs/{d}"),
        times: 2,
        fault: Fault::Status(503, None),
    });
    assert_eq!(c.get_blob_bytes(r.context(), &d).await.unwrap(), data);
    let heads = || {
        proxy
            .seen()
            .iter()
            .filter(|(m, p)| m == "HEAD" && p.contains(d.as_str()))
            .count()
    };
    let before = heads();
    proxy.add_fault(FaultRule {
        method: "HEAD",
        path_contains: format!("/blobs/{d}"),
        times: 1,
        fault: Fault::Status(429, Some(0)),
    });
    proxy.add_fault(FaultRule {
        method: "HEAD",
        path_contains: format!("/blobs/{d}"),
        times: 1,
        fault: Fault::Drop,
    });
    assert!(c.head_blob(r.context(), &d).await.unwrap().is_some());
    assert_eq!(heads() - before, 3, "429, dropped connection, then success");

    // Out of attempts: the last error is reported.
    proxy.add_fault(FaultRule {
        method: "GET",
        path_contains: format!("/blobs/{d}"),
        times: 3,
        fault: Fault::Status(502, None),
    });
    let e = c.get_blob_bytes(r.context(), &d).await.unwrap_err();
    assert_eq!(e.status(), Some(502), "{e}");
    // Not retried: 404 and non-idempotent PATCH.
    let missing = Digest::of(b"missing");
    assert!(c.head_blob(r.context(), &missing).await.unwrap().is_none());
    proxy.add_fault(FaultRule {
        method: "PATCH",
        path_contains: "/blobs/uploads/".into(),
        times: 1,
        fault: Fault::Status(500, None),
    });
    let s = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(
        b"streamed",
    ))]);
    let e = c
        .push_blob(r.context(), BlobSource::stream(s), PushOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(500), "{e}");
    drop(reg);
}
