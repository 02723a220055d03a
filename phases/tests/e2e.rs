//! Issue #7's seed scenario end to end, against a real `docker-registry`: the creator, started
//! as root and dropping to 1000:1000, builds a sample app three times with a cache image.
//!
//! 1. first build: app image and cache image published;
//! 2. a "fresh machine" (empty layers dir, same paths): the cached layers are restored before
//!    the buildpack runs (the buildpack says so), every layer is reused (same digests, no
//!    layer blob uploaded), report.toml's digest is the registry's;
//! 3. one app file changed: only the app layer is uploaded;
//!
//! then the image is pulled with `skopeo copy`, unpacked with `umoci` and its default process
//! run with `chroot` (busybox run image, static launcher).

mod e2e_support;

use cnb::digest::Digest;
use cnb::testing::{
    FixtureOptions, push_busybox_fixture_with, require_tool, shared_registry, skopeo,
    skopeo_inspect_raw,
};
use e2e_support::{Run, Workspace, root_or_skip, static_launcher, uploaded_blobs};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// (manifest digest, layer digests) as the registry serves them (read with skopeo).
fn published(reference: &str) -> (Digest, Vec<String>) {
    let raw = skopeo_inspect_raw(reference, None);
    let manifest: serde_json::Value = serde_json::from_slice(&raw).expect("manifest json");
    let layers = manifest["layers"]
        .as_array()
        .expect("manifest layers")
        .iter()
        .map(|l| l["digest"].as_str().expect("layer digest").to_string())
        .collect();
    (Digest::of(&raw), layers)
}

fn report_digest(layers: &Path) -> String {
    let text = std::fs::read_to_string(layers.join("report.toml")).expect("report.toml");
    let report: toml::Value = toml::from_str(&text).expect("report.toml parses");
    report["image"]["digest"]
        .as_str()
        .expect("report image.digest")
        .to_string()
}

fn assert_ok(r: &Run) {
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        r.banners(),
        [
            "ANALYZING",
            "DETECTING",
            "RESTORING",
            "BUILDING",
            "EXPORTING"
        ],
        "{}",
        r.all()
    );
}

/// The part of stdout between two banners.
fn section<'a>(r: &'a Run, from: &str, to: &str) -> &'a str {
    let start = r.stdout.find(&format!("===> {from}")).expect("from banner");
    let end = r.stdout.find(&format!("===> {to}")).expect("to banner");
    &r.stdout[start..end]
}

#[test]
fn cache_restore_layer_reuse_and_run() {
    if !root_or_skip("cache_restore_layer_reuse_and_run") {
        return;
    }
    require_tool("umoci", "umoci");
    require_tool("chroot", "coreutils");
    let reg = shared_registry();
    let host = reg.host();
    // Docker format, like most run images: layers appended by the exporter get Docker media
    // types (go-containerregistry's default, as in Go), so the manifest stays consistent and
    // `skopeo copy --format oci` converts all of it for umoci.
    let run_opts = FixtureOptions {
        docker_format: true,
        ..FixtureOptions::default()
    };
    push_busybox_fixture_with(&host, "run:latest", &run_opts);
    let launcher = static_launcher();
    let ws = Workspace::new("hello", &["creator/buildpacks/cnb-test_cache-demo"], None);
    let app = format!("{host}/app");
    let cache = format!("{host}/cache:latest");
    let run_image = format!("{host}/run");
    let launcher_s = launcher.to_str().expect("utf-8 launcher path");
    let flags = [
        "-cache-image",
        cache.as_str(),
        "-run-image",
        run_image.as_str(),
        "-launcher",
        launcher_s,
    ];

    // ---- build 1: nothing cached yet
    let r1 = ws.creator(&flags, &app);
    assert_ok(&r1);
    let build1 = section(&r1, "BUILDING", "EXPORTING");
    assert!(
        build1.contains("cache-demo: building as uid 1000 gid 1000"),
        "{build1}"
    );
    assert!(build1.contains("cache-demo: m2 not restored"), "{build1}");
    assert!(
        build1.contains("cache-demo: runtime not restored"),
        "{build1}"
    );
    let (digest1, layers1) = published(&format!("{app}:latest"));
    assert_eq!(report_digest(&ws.layers), digest1.to_string());
    let (_, cache_layers1) = published(&cache);
    assert!(!cache_layers1.is_empty(), "cache image has layers");

    // ---- build 2: a fresh machine (empty layers dir)
    ws.empty_layers();
    let seen = reg.requests().len();
    let r2 = ws.creator(&flags, &app);
    assert_ok(&r2);
    let build2 = section(&r2, "BUILDING", "EXPORTING");
    assert!(
        build2.contains("cache-demo: m2 restored from cache: dep-1.0 bytes"),
        "{build2}"
    );
    assert!(
        build2.contains("cache-demo: runtime restored from cache: 1.2.3"),
        "{build2}"
    );
    let (digest2, layers2) = published(&format!("{app}:latest"));
    assert_eq!(layers2, layers1, "every app layer reused");
    assert_eq!(report_digest(&ws.layers), digest2.to_string());
    let requests = reg.requests();
    let uploads2: BTreeSet<String> = uploaded_blobs(&requests[seen..], "app")
        .into_iter()
        .collect();
    let layer_set1: BTreeSet<String> = layers1.iter().cloned().collect();
    assert!(
        uploads2.is_disjoint(&layer_set1),
        "layer blobs uploaded again: {:?}",
        uploads2.intersection(&layer_set1).collect::<Vec<_>>()
    );
    let (_, cache_layers2) = published(&cache);
    let cache_uploads2: BTreeSet<String> = uploaded_blobs(&requests[seen..], "cache")
        .into_iter()
        .collect();
    let cache_set: BTreeSet<String> = cache_layers2.iter().cloned().collect();
    assert!(
        cache_uploads2.is_disjoint(&cache_set),
        "cache layers uploaded again: {cache_uploads2:?}"
    );

    // ---- build 3: one app file changed (layers dir kept from build 2)
    std::fs::write(ws.app.join("hello.txt"), "Hello again, changed app!\n").expect("edit app");
    let seen = reg.requests().len();
    let r3 = ws.creator(&flags, &app);
    assert_ok(&r3);
    let (digest3, layers3) = published(&format!("{app}:latest"));
    assert_eq!(report_digest(&ws.layers), digest3.to_string());
    assert_eq!(layers3.len(), layers2.len());
    let changed: Vec<&String> = layers3.iter().filter(|l| !layers2.contains(l)).collect();
    assert_eq!(
        changed.len(),
        1,
        "only the app layer changes: {layers2:?} -> {layers3:?}"
    );
    let layer_set3: BTreeSet<String> = layers3.iter().cloned().collect();
    let uploaded3: Vec<String> = uploaded_blobs(&reg.requests()[seen..], "app")
        .into_iter()
        .filter(|d| layer_set3.contains(d))
        .collect();
    assert_eq!(
        uploaded3,
        [changed[0].clone()],
        "only the changed layer is uploaded"
    );

    // ---- pull, unpack and run the default process
    let out = tempfile::tempdir().expect("temp dir");
    let layout = out.path().join("oci");
    let layout_s = layout.to_str().expect("utf-8");
    // The exporter writes Docker media types (like Go); umoci reads OCI ones only, so
    // skopeo converts (`--format oci`) instead of preserving digests.
    let st = skopeo()
        .args(["copy", "--src-tls-verify=false", "--format", "oci"])
        .arg(format!("docker://{app}:latest"))
        .arg(format!("oci:{layout_s}:app"))
        .output()
        .expect("spawn skopeo");
    assert!(
        st.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let bundle = out.path().join("bundle");
    let st = Command::new("umoci")
        .args(["unpack", "--image", &format!("{layout_s}:app")])
        .arg(&bundle)
        .output()
        .expect("spawn umoci");
    assert!(
        st.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let output = run_default_process(&bundle);
    assert!(output.contains("Hello again, changed app!"), "{output}");
    assert!(output.contains("runtime 1.2.3"), "{output}");
}

/// Runs the bundle's process (image entrypoint, env, user) with `chroot` into its rootfs.
fn run_default_process(bundle: &Path) -> String {
    let spec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(bundle.join("config.json")).expect("bundle config.json"),
    )
    .expect("config.json parses");
    let process = &spec["process"];
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let args = strings(&process["args"]);
    assert_eq!(
        args.first().map(String::as_str),
        Some("/cnb/process/web"),
        "{args:?}"
    );
    let uid = process["user"]["uid"].as_u64().unwrap_or(0);
    let gid = process["user"]["gid"].as_u64().unwrap_or(0);
    let mut c = Command::new(chroot_bin());
    c.env_clear();
    for kv in strings(&process["env"]) {
        if let Some((k, v)) = kv.split_once('=') {
            c.env(k, v);
        }
    }
    c.arg(format!("--userspec={uid}:{gid}"))
        .arg(bundle.join("rootfs"))
        .args(&args);
    let out = c.output().expect("spawn chroot");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("--- default process (exit {:?})\n{text}", out.status.code());
    assert!(out.status.success(), "{text}");
    text
}

/// `chroot` by absolute path (the child's environment is the image's, whose PATH may differ).
fn chroot_bin() -> &'static str {
    ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("chroot")
}
