//! HTTPS registries: untrusted certificates fail, `-insecure-registry` prefixes skip
//! verification, `SSL_CERT_FILE` adds trust. One test only: it sets a process-wide variable.

mod common;

use cnb::registry::ClientOptions;
use cnb::testing::{Registry, RegistryOptions};
use common::{client, reference};

#[tokio::test]
async fn tls_trust_and_insecure_registries() {
    let reg = Registry::start(RegistryOptions {
        tls: true,
        ..Default::default()
    });
    let r = reference(&format!("{}/tls/app:v1", reg.host()));

    // Untrusted: HTTPS fails verification, the plain-HTTP fallback meets a TLS server.
    let e = client(ClientOptions::default())
        .check_read_access(&r)
        .await
        .unwrap_err();
    assert!(e.is_transport(), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("https://{}/v2/", reg.host()))
            && msg.contains(&format!("http://{}/v2/", reg.host())),
        "{msg}"
    );

    // Insecure-registry prefix: verification off.
    let insecure = client(ClientOptions {
        insecure_registries: vec![reg.host()],
        ..Default::default()
    });
    insecure.check_write_access(&r).await.unwrap();
    assert!(insecure.head_manifest(&r).await.unwrap().is_none());
    let other = client(ClientOptions {
        insecure_registries: vec!["127.0.0.2:1".into()],
        ..Default::default()
    });
    assert!(
        other.check_read_access(&r).await.is_err(),
        "prefix must match"
    );

    // SSL_CERT_FILE: trusted.
    // SAFETY: the only test in this binary; no other thread reads the environment now.
    unsafe { std::env::set_var("SSL_CERT_FILE", reg.ca_cert_path().unwrap()) };
    let trusted = client(ClientOptions::default());
    trusted.check_read_access(&r).await.unwrap();
    assert!(
        reg.requests()
            .iter()
            .any(|q| q.method == "HEAD" && q.path == "/v2/tls/app/manifests/v1")
    );
}
