//! Fixture images built and pushed only with third-party tools (umoci + skopeo), so tests of
//! our registry client never check our code against itself.

use super::tools::{require_tool, run, skopeo, skopeo_inspect_raw};
use crate::digest::Digest;
use std::process::Command;

/// What was pushed, as reported by `skopeo inspect --raw` (not by our code).
#[derive(Clone, Debug)]
pub struct BusyboxFixture {
    /// `host/repo:tag`.
    pub reference: String,
    /// The manifest bytes exactly as the registry serves them.
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
    pub media_type: String,
    pub config_digest: Digest,
    pub layer_digests: Vec<Digest>,
    pub layer_sizes: Vec<u64>,
}

/// Knobs for [`push_busybox_fixture_with`].
#[derive(Clone, Debug, Default)]
pub struct FixtureOptions {
    /// Image config `architecture` (default: umoci's, i.e. the build machine's).
    pub architecture: Option<String>,
    /// A label `cnb.test=<value>` making otherwise equal images distinct.
    pub label: Option<String>,
    /// `user:pass` for registries with auth.
    pub creds: Option<String>,
    /// Push as Docker schema 2 (`skopeo copy --format v2s2`) instead of OCI.
    pub docker_format: bool,
}

/// Builds a one-layer image holding `/bin/busybox` with umoci and pushes it with skopeo to
/// `<registry_host>/<repo_tag>` (`repo:tag`).
pub fn push_busybox_fixture(registry_host: &str, repo_tag: &str) -> BusyboxFixture {
    push_busybox_fixture_with(registry_host, repo_tag, &FixtureOptions::default())
}

pub fn push_busybox_fixture_with(
    registry_host: &str,
    repo_tag: &str,
    o: &FixtureOptions,
) -> BusyboxFixture {
    require_tool("umoci", "umoci");
    require_tool("/bin/busybox", "busybox-static");
    let work = tempfile::Builder::new()
        .prefix("cnb-fixture-")
        .tempdir()
        .expect("fixture temp dir");
    let layout = work.path().join("layout");
    let layout_s = layout.to_str().expect("utf-8 temp path");
    let image = format!("{layout_s}:fixture");
    run(Command::new("umoci").args(["init", "--layout", layout_s]));
    run(Command::new("umoci").args(["new", "--image", &image]));
    run(Command::new("umoci").args([
        "insert",
        "--rootless",
        "--image",
        &image,
        "/bin/busybox",
        "/bin/busybox",
    ]));
    let mut cfg = Command::new("umoci");
    cfg.args([
        "config",
        "--image",
        &image,
        "--os",
        "linux",
        "--config.cmd",
        "/bin/busybox",
    ]);
    cfg.args([
        "--created",
        "2026-01-01T00:00:00Z",
        "--history.created",
        "2026-01-01T00:00:00Z",
    ]);
    if let Some(arch) = &o.architecture {
        cfg.args(["--architecture", arch]);
    }
    if let Some(label) = &o.label {
        cfg.arg(format!("--config.label=cnb.test={label}"));
    }
    run(&mut cfg);

    let reference = format!("{registry_host}/{repo_tag}");
    let mut copy = skopeo();
    copy.args(["copy", "--dest-tls-verify=false"]);
    if o.docker_format {
        copy.args(["--format", "v2s2"]);
    }
    if let Some(creds) = &o.creds {
        copy.arg(format!("--dest-creds={creds}"));
    }
    run(copy
        .arg(format!("oci:{image}"))
        .arg(format!("docker://{reference}")));

    let manifest = skopeo_inspect_raw(&reference, o.creds.as_deref());
    describe(reference, manifest)
}

fn describe(reference: String, manifest: Vec<u8>) -> BusyboxFixture {
    let v: serde_json::Value =
        serde_json::from_slice(&manifest).expect("skopeo printed a JSON manifest");
    let digest = |d: &serde_json::Value| {
        Digest::parse(d["digest"].as_str().unwrap_or_default()).expect("digest in manifest")
    };
    let layers = v["layers"].as_array().cloned().unwrap_or_default();
    BusyboxFixture {
        manifest_digest: Digest::of(&manifest),
        media_type: v["mediaType"]
            .as_str()
            .unwrap_or("application/vnd.oci.image.manifest.v1+json")
            .to_string(),
        config_digest: digest(&v["config"]),
        layer_digests: layers.iter().map(digest).collect(),
        layer_sizes: layers
            .iter()
            .map(|l| l["size"].as_u64().unwrap_or_default())
            .collect(),
        reference,
        manifest,
    }
}
