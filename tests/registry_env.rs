//! `Keychain::from_environment` reads the real process environment (CNB_REGISTRY_AUTH,
//! DOCKER_CONFIG, HOME, PATH for credential helpers). One test only: it sets process-wide
//! variables.

mod common;

use cnb::registry::{ClientOptions, Credential, Keychain, Secret};
use cnb::testing::{FixtureOptions, Registry, RegistryOptions, push_busybox_fixture_with};
use common::{client, reference};
use std::os::unix::fs::PermissionsExt;

#[tokio::test]
async fn keychain_from_process_environment() {
    let reg = Registry::start(RegistryOptions {
        htpasswd: Some(("alice".into(), "s3cret".into())),
        ..Default::default()
    });
    let fx = push_busybox_fixture_with(
        &reg.host(),
        "env/app:v1",
        &FixtureOptions {
            creds: reg.creds(),
            ..Default::default()
        },
    );
    let tmp = tempfile::tempdir().unwrap();
    let (home, docker, bin) = (
        tmp.path().join("home"),
        tmp.path().join("docker"),
        tmp.path().join("bin"),
    );
    for d in [&home, &docker, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    // credsStore helper found on PATH: answers for our registry, fails for another.
    let helper = bin.join("docker-credential-teststore");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread url\nif [ \"$url\" = \"{}\" ]; then echo '{{\"Username\":\"alice\",\"Secret\":\"s3cret\"}}'; else echo \"store is locked\" >&2; exit 1; fi\n",
            reg.host()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(docker.join("config.json"), r#"{"credsStore":"teststore"}"#).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // SAFETY: the only test in this binary; set before any other thread reads the environment.
    unsafe {
        std::env::set_var("HOME", &home);
        std::env::set_var("DOCKER_CONFIG", &docker);
        std::env::set_var("PATH", path);
        std::env::set_var("CNB_REGISTRY_AUTH", r#"{"other.example.com":"Bearer abc"}"#);
        // A dead proxy: loopback registries must bypass it, as in Go.
        std::env::set_var("HTTP_PROXY", "http://127.0.0.1:9");
        std::env::set_var("HTTPS_PROXY", "http://127.0.0.1:9");
    }
    let kc =
        Keychain::from_environment(&[fx.reference.as_str(), "gcr.io/x/y", "not a ref!"]).unwrap();
    assert_eq!(
        kc.resolve(&reg.host()).unwrap(),
        Credential::basic("alice", "s3cret")
    );
    assert_eq!(
        kc.resolve("other.example.com").unwrap(),
        Credential::RegistryToken(Secret::new("abc"))
    );
    assert!(kc.resolve("gcr.io").unwrap().is_anonymous());
    let failure = kc
        .failure("gcr.io")
        .expect("helper failure kept")
        .to_string();
    assert!(
        failure.contains("docker-credential-teststore failed for gcr.io")
            && failure.contains("store is locked"),
        "{failure}"
    );
    let m = client(ClientOptions {
        keychain: kc,
        ..Default::default()
    })
    .get_manifest(&reference(&fx.reference))
    .await
    .unwrap();
    assert_eq!(m.digest(), &fx.manifest_digest);

    // CNB_REGISTRY_AUTH wins over the docker config, and bad JSON is the Go error.
    unsafe {
        std::env::set_var(
            "CNB_REGISTRY_AUTH",
            format!(r#"{{"{}":"Basic YWxpY2U6d3Jvbmc="}}"#, reg.host()),
        )
    };
    let kc = Keychain::from_environment(&[fx.reference.as_str()]).unwrap();
    let e = client(ClientOptions {
        keychain: kc,
        ..Default::default()
    })
    .get_manifest(&reference(&fx.reference))
    .await
    .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    unsafe { std::env::set_var("CNB_REGISTRY_AUTH", "{oops") };
    let e = Keychain::from_environment(&[fx.reference.as_str()]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("reading auth env var: failed to parse CNB_REGISTRY_AUTH value: "),
        "{e}"
    );
}
