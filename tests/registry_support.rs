//! The shared test support itself: a real registry comes up, fixtures land in it, logs are read.

use cnb::testing::{
    Registry, RegistryOptions, push_busybox_fixture, shared_registry, skopeo_inspect_config,
};

#[test]
fn shared_registry_serves_umoci_fixture() {
    let reg = shared_registry();
    let fx = push_busybox_fixture(&reg.host(), "support/busybox:v1");
    assert_eq!(fx.layer_digests.len(), 1);
    let config = skopeo_inspect_config(&fx.reference, None);
    assert_eq!(cnb::digest::Digest::of(&config), fx.config_digest);
    let reqs = reg.requests();
    assert!(
        reqs.iter().any(|r| r.method == "PUT"
            && r.path == "/v2/support/busybox/manifests/v1"
            && r.status == 201),
        "{reqs:?}"
    );
    let layer =
        std::fs::metadata(reg.blob_data_path(fx.layer_digests[0].as_str())).expect("layer on disk");
    assert_eq!(layer.len(), fx.layer_sizes[0]);
}

#[test]
fn htpasswd_registry_requires_credentials() {
    let reg = Registry::start(RegistryOptions {
        htpasswd: Some(("alice".into(), "s3cret".into())),
        ..Default::default()
    });
    let mut s = std::net::TcpStream::connect(reg.host()).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "GET /v2/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        reg.host()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 401"), "{out}");
    assert!(out.contains("Basic realm=\"cnb-test\""), "{out}");
    let fx = cnb::testing::push_busybox_fixture_with(
        &reg.host(),
        "private/app:1",
        &cnb::testing::FixtureOptions {
            creds: reg.creds(),
            ..Default::default()
        },
    );
    assert!(!fx.manifest.is_empty());
}
