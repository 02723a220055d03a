//! Running the external tools the tests rely on, with loud failures.

use std::path::Path;
use std::process::{Command, Output};

/// Panics with the Debian package to install when `tool` is not an executable on PATH or at an
/// absolute path.
pub fn require_tool(tool: &str, debian_package: &str) {
    let found = if tool.contains('/') {
        Path::new(tool).is_file()
    } else {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false)
    };
    assert!(
        found,
        "test tool `{tool}` is missing: install the Debian package `{debian_package}`"
    );
}

/// Runs `cmd`, panicking with its stderr when it fails. Returns stdout.
pub(crate) fn run(cmd: &mut Command) -> Vec<u8> {
    let out: Output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed with {}:\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.stdout
}

/// A `skopeo` command with the policy check disabled (tests copy unsigned images) and without
/// picking up the invoking user's registry credentials.
pub fn skopeo() -> Command {
    require_tool("skopeo", "skopeo");
    let mut c = Command::new("skopeo");
    c.arg("--insecure-policy");
    c
}

/// `skopeo inspect --raw --tls-verify=false docker://<reference>`: the manifest bytes as stored.
/// `creds` is `user:pass` for registries with auth.
pub fn skopeo_inspect_raw(reference: &str, creds: Option<&str>) -> Vec<u8> {
    let mut c = skopeo();
    c.args(["inspect", "--raw", "--tls-verify=false"]);
    add_creds(&mut c, "--creds", creds);
    run(c.arg(format!("docker://{reference}")))
}

/// `skopeo inspect --config --raw --tls-verify=false docker://<reference>`: the config blob bytes.
pub fn skopeo_inspect_config(reference: &str, creds: Option<&str>) -> Vec<u8> {
    let mut c = skopeo();
    c.args(["inspect", "--config", "--raw", "--tls-verify=false"]);
    add_creds(&mut c, "--creds", creds);
    run(c.arg(format!("docker://{reference}")))
}

/// `skopeo copy` between two transports (e.g. `docker://h/r:t` → `oci:/dir:t`), TLS checks off
/// on both sides, all manifests of a list copied, digests preserved (uncompressed layers stay
/// uncompressed in OCI layouts).
pub fn skopeo_copy(src: &str, dst: &str, creds: Option<&str>) {
    let mut c = skopeo();
    c.args([
        "copy",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
    ]);
    if dst.starts_with("oci:") {
        c.arg("--dest-oci-accept-uncompressed-layers");
    }
    add_creds(&mut c, "--src-creds", creds);
    add_creds(&mut c, "--dest-creds", creds);
    run(c.args([src, dst]));
}

fn add_creds(c: &mut Command, flag: &str, creds: Option<&str>) {
    if let Some(creds) = creds {
        c.arg(format!("{flag}={creds}"));
    }
}
