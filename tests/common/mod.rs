//! Helpers shared by the registry integration tests.
#![allow(dead_code)]

use cnb::digest::Digest;
use cnb::image::reference::Reference;
use cnb::registry::{Client, ClientOptions, RetryPolicy};
use std::time::Duration;

/// A client with fast retries for tests.
pub fn client(opts: ClientOptions) -> Client {
    Client::new(ClientOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
        },
        ..opts
    })
}

pub fn anon() -> Client {
    client(ClientOptions::default())
}

pub fn reference(s: &str) -> Reference {
    Reference::parse(s).unwrap_or_else(|e| panic!("{e}: {}", e.reason()))
}

/// A one-file uncompressed tar layer.
pub fn tar_layer(name: &str, content: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    b.append_data(&mut h, name, content).unwrap();
    b.into_inner().unwrap()
}

/// An OCI config + manifest for one uncompressed layer: (config bytes, manifest bytes).
pub fn image_for_layer(layer: &[u8], arch: &str) -> (Vec<u8>, Vec<u8>) {
    let diff_id = Digest::of(layer);
    let config = format!(
        r#"{{"architecture":"{arch}","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    )
    .into_bytes();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}]}}"#,
        Digest::of(&config),
        config.len(),
        diff_id,
        layer.len()
    )
    .into_bytes();
    (config, manifest)
}

/// Pushes a linux/amd64 and a linux/arm64 (labelled `arm`) busybox fixture as `<repo>:amd64`
/// and `<repo>:arm64` and returns them with an OCI index listing arm64 (variant v8) first.
pub fn two_arch_fixtures(
    host: &str,
    repo: &str,
) -> (
    cnb::testing::BusyboxFixture,
    cnb::testing::BusyboxFixture,
    String,
) {
    use cnb::testing::{FixtureOptions, push_busybox_fixture_with};
    let amd = push_busybox_fixture_with(
        host,
        &format!("{repo}:amd64"),
        &FixtureOptions {
            architecture: Some("amd64".into()),
            ..Default::default()
        },
    );
    let arm = push_busybox_fixture_with(
        host,
        &format!("{repo}:arm64"),
        &FixtureOptions {
            architecture: Some("arm64".into()),
            label: Some("arm".into()),
            ..Default::default()
        },
    );
    assert_ne!(amd.manifest_digest, arm.manifest_digest);
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{}","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},{{"mediaType":"{}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        arm.media_type,
        arm.manifest_digest,
        arm.manifest.len(),
        amd.media_type,
        amd.manifest_digest,
        amd.manifest.len()
    );
    (amd, arm, index)
}

pub mod jwt;
pub mod proxy;
pub mod tree;

/// An open registry behind a fault-injecting proxy: (registry, proxy).
pub fn faulty_registry() -> (cnb::testing::Registry, proxy::Proxy) {
    let reg = cnb::testing::Registry::start(cnb::testing::RegistryOptions::default());
    let p = proxy::Proxy::start(reg.port(), None);
    (reg, p)
}

/// A registry with Distribution token auth; the proxy in front of it issues the tokens at
/// `http://<proxy>/token` for user alice/s3cret. Returns (registry, proxy).
pub fn token_registry() -> (cnb::testing::Registry, proxy::Proxy) {
    let signer = jwt::Signer::new();
    let issuer = "cnb-test-issuer".to_string();
    let service = "cnb-test-registry".to_string();
    let root_cert_bundle = signer.cert_path();
    let issuer_cfg = proxy::TokenIssuer {
        signer,
        issuer: issuer.clone(),
        service: service.clone(),
        user: ("alice".into(), "s3cret".into()),
    };
    // The realm names the proxy, so the proxy starts first and learns the registry port after.
    let p = proxy::Proxy::start(0, Some(issuer_cfg));
    let reg = cnb::testing::Registry::start(cnb::testing::RegistryOptions {
        token_auth: Some(cnb::testing::TokenAuthConfig {
            realm: format!("http://{}/token", p.host()),
            service,
            issuer,
            root_cert_bundle,
        }),
        ..Default::default()
    });
    p.set_upstream(reg.port());
    (reg, p)
}
