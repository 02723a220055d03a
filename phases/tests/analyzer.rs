//! Black-box tests of the analyzer phase: the built `lifecycle` binary is run as `analyzer`
//! against a real registry (`cnb::testing`, 127.0.0.1 only) and OCI layouts, with fixture
//! images built by umoci and pushed by skopeo (not by our code).
//!
//! Every scenario's `analyzed.toml` is compared byte for byte with a golden template in
//! `testdata/analyzer/<scenario>/analyzed.toml` that was produced by the Go lifecycle v0.21.17
//! analyzer on the same inputs (see `testdata/analyzer/README.md`). When `CNB_GO_LIFECYCLE`
//! points to a Go `lifecycle` binary, each scenario also runs it live and compares; with
//! `CNB_ANALYZER_UPDATE_GOLDENS=1` in addition, the Go output (templated) is written back as
//! the golden.

mod common;

use cnb::digest::Digest;
use cnb::testing::{Registry, RegistryOptions, shared_registry, skopeo, skopeo_inspect_raw};
use common::{BIN, strip_ansi};
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---- fixtures ---------------------------------------------------------------------------

/// A realistic lifecycle metadata label (what a previous build's exporter wrote).
const APP_LABEL: &str = r#"{"app":[{"sha":"sha256:61f0c2e6bca4f3d0c1ff6e4a2a70e7c6a3d5b6c3e8f1a2b4c5d6e7f8091a2b3c"}],"buildpacks":[{"key":"samples/java-maven","version":"0.0.2","layers":{"jdk":{"sha":"sha256:3c5e0d6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d","data":{"version":"17.0.9"},"build":false,"launch":true,"cache":true},"maven":{"sha":"sha256:4d6f1e7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e","data":null,"build":true,"launch":true,"cache":false}},"store":{"metadata":{"last-run":"2026-08-01","runs":3}}}],"config":{"sha":"sha256:5d2e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6f"},"launcher":{"sha":"sha256:a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9"},"process-types":{"sha":"sha256:c4d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1"},"runImage":{"topLayer":"sha256:e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3","reference":"registry.example.com/base/run@sha256:77aa00000000000000000000000000000000000000000000000000000000beef","image":"registry.example.com/base/run:jammy","mirrors":["mirror.example.org/base/run:jammy"]},"stack":{"runImage":{"image":"registry.example.com/base/run:jammy","mirrors":["mirror.example.org/base/run:jammy"]}}}"#;

const RUN_LABELS: [&str; 3] = [
    "io.buildpacks.base.id=io.example.jammy",
    "io.buildpacks.base.distro.name=ubuntu",
    "io.buildpacks.base.distro.version=22.04",
];

fn run_tool(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An OCI layout at `layout` with one image tagged `latest`: one small file layer, config
/// `os`/`architecture` as given and the labels `k=v`. Built with umoci only (in a scratch
/// directory: umoci refuses paths with `:`, which Go's layout paths have), then moved.
fn umoci_image(layout: &Path, os: &str, labels: &[&str]) {
    let scratch = tempfile::tempdir().expect("scratch");
    let build = scratch.path().join("layout");
    umoci_build(&build, os, labels);
    fs::create_dir_all(layout.parent().expect("parent")).expect("mkdir");
    fs::rename(&build, layout).expect("move layout");
}

fn umoci_build(layout: &Path, os: &str, labels: &[&str]) {
    let l = layout.to_str().expect("utf-8 path");
    let image = format!("{l}:latest");
    run_tool(Command::new("umoci").args(["init", "--layout", l]));
    run_tool(Command::new("umoci").args(["new", "--image", &image]));
    let file = tempfile::NamedTempFile::new().expect("temp file");
    fs::write(file.path(), "fixture\n").expect("write");
    run_tool(Command::new("umoci").args([
        "insert",
        "--rootless",
        "--image",
        &image,
        file.path().to_str().expect("utf-8"),
        "/etc/fixture",
    ]));
    let mut cfg = Command::new("umoci");
    cfg.args(["config", "--image", &image, "--os", os])
        .args(["--architecture", "amd64"])
        .args(["--created", "2026-01-01T00:00:00Z"])
        .args(["--history.created", "2026-01-01T00:00:00Z"]);
    for label in labels {
        cfg.arg(format!("--config.label={label}"));
    }
    run_tool(&mut cfg);
}

/// Builds an image like [`umoci_image`] and pushes it to `reference`; returns its manifest
/// digest as the registry has it (from `skopeo inspect --raw`).
fn push_image(reference: &str, os: &str, labels: &[&str], creds: Option<&str>) -> Digest {
    let tmp = tempfile::tempdir().expect("temp dir");
    let layout = tmp.path().join("layout");
    umoci_image(&layout, os, labels);
    let mut c = skopeo();
    c.args(["copy", "--dest-tls-verify=false"]);
    if let Some(creds) = creds {
        c.arg(format!("--dest-creds={creds}"));
    }
    run_tool(
        c.arg(format!("oci:{}:latest", layout.display()))
            .arg(format!("docker://{reference}")),
    );
    Digest::of(&skopeo_inspect_raw(reference, creds))
}

/// The standard run image of these tests, pushed once per registry and repository.
fn run_image(reg: &Registry, repo_tag: &str) -> (String, Digest) {
    let r = format!("{}/{repo_tag}", reg.host());
    let d = push_image(&r, "linux", &RUN_LABELS, reg.creds().as_deref());
    (r, d)
}

// ---- running a lifecycle ----------------------------------------------------------------

struct Outcome {
    code: i32,
    output: String,
    analyzed: Option<String>,
    layers: PathBuf,
}

/// Runs `<binary>` as `analyzer` in a fresh work dir: `-layers <work>/layers -analyzed
/// <work>/layers/analyzed.toml -run <work>/run.toml`, our uid/gid, an empty environment plus `env`
/// (`{work}` in arguments and env values is replaced by the work dir).
fn analyzer(
    binary: &Path,
    api: &str,
    env: &[(&str, &str)],
    args: &[&str],
    run_toml: Option<&str>,
) -> Outcome {
    let work = tempfile::tempdir().expect("work dir").keep();
    let w = work.to_str().expect("utf-8");
    let layers = work.join("layers");
    fs::create_dir_all(&layers).expect("layers");
    // Traversable after a privilege drop (tempdirs are 0700).
    fs::set_permissions(&work, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod work dir");
    if let Some(t) = run_toml {
        fs::write(work.join("run.toml"), t).expect("run.toml");
    }
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let (uid, gid) = (uid.to_string(), gid.to_string());
    let mut c = Command::new(binary);
    c.arg0("analyzer").env_clear();
    c.env("PATH", "/usr/bin:/bin")
        .env("HOME", work.join("home"))
        .env("CNB_PLATFORM_API", api)
        .env("CNB_NO_COLOR", "true");
    for (k, v) in env {
        c.env(k, v.replace("{work}", w));
    }
    c.args(["-layers", &format!("{w}/layers")])
        .args(["-analyzed", &format!("{w}/layers/analyzed.toml")])
        .args(["-run", &format!("{w}/run.toml")])
        .args(["-uid", &uid, "-gid", &gid]);
    c.args(args.iter().map(|a| a.replace("{work}", w)));
    let out = c.output().expect("spawn analyzer");
    let analyzed = fs::read_to_string(layers.join("analyzed.toml")).ok();
    let output = strip_ansi(&format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    let analyzed = analyzed.map(|a| a.replace(w, "{work}"));
    Outcome {
        code: out.status.code().unwrap_or(-1),
        output: output.replace(w, "{work}"),
        analyzed,
        layers,
    }
}

fn ours(api: &str, env: &[(&str, &str)], args: &[&str], run_toml: Option<&str>) -> Outcome {
    analyzer(Path::new(BIN), api, env, args, run_toml)
}

/// The Go reference `lifecycle` named by `CNB_GO_LIFECYCLE`, if any.
fn go_lifecycle() -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os("CNB_GO_LIFECYCLE")?);
    p.is_file().then_some(p)
}

// ---- goldens ----------------------------------------------------------------------------

fn golden_path(scenario: &str) -> PathBuf {
    common::testdata()
        .join("analyzer")
        .join(scenario)
        .join("analyzed.toml")
}

/// Fills `{name}` placeholders of a golden template.
fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut s = template.to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// The reverse of [`fill`] (longest values first), to store Go's output as a template.
fn templatize(text: &str, vars: &[(&str, String)]) -> String {
    let mut vars = vars.to_vec();
    vars.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    let mut s = text.to_string();
    for (k, v) in vars {
        s = s.replace(&v, &format!("{{{k}}}"));
    }
    s
}

/// Runs the scenario with our binary (and Go's when available) and checks `analyzed.toml`
/// against the golden. Returns our outcome for further checks.
fn golden_scenario(
    scenario: &str,
    api: &str,
    env: &[(&str, &str)],
    args: &[&str],
    run_toml: Option<&str>,
    vars: &[(&str, String)],
) -> Outcome {
    let golden = golden_path(scenario);
    let mut go_output = None;
    if let Some(go) = go_lifecycle() {
        let g = analyzer(&go, api, env, args, run_toml);
        go_output = Some(g.output.clone());
        assert_eq!(g.code, 0, "Go analyzer, {scenario}: {}", g.output);
        let text = g.analyzed.expect("Go wrote analyzed.toml");
        if std::env::var_os("CNB_ANALYZER_UPDATE_GOLDENS").is_some() {
            fs::create_dir_all(golden.parent().expect("dir")).expect("mkdir");
            fs::write(&golden, templatize(&text, vars)).expect("write golden");
        }
        let want = fill(&fs::read_to_string(&golden).expect("golden"), vars);
        assert_eq!(text, want, "Go analyzer disagrees with golden {scenario}");
    }
    let o = ours(api, env, args, run_toml);
    assert_eq!(o.code, 0, "{scenario}: {}", o.output);
    let want = fill(
        &fs::read_to_string(&golden).unwrap_or_else(|e| panic!("golden {}: {e}", golden.display())),
        vars,
    );
    assert_eq!(
        o.analyzed.as_deref(),
        Some(want.as_str()),
        "{scenario}: ours differs from the Go golden\n{}",
        o.output
    );
    if let Some(g) = go_output {
        assert_eq!(o.output, g, "{scenario}: log output differs from Go's");
    }
    o
}

/// Runs a failing scenario with ours (and Go when available): same exit code, both outputs
/// contain `message`, and the `ERROR:` lines are identical.
fn failing_scenario(
    api: &str,
    env: &[(&str, &str)],
    args: &[&str],
    run_toml: Option<&str>,
    code: i32,
    message: &str,
) -> Outcome {
    failing_scenario_with(api, env, args, run_toml, code, message, true)
}

/// [`failing_scenario`]; `exact_errors: false` when the cause comes from a library whose
/// wording differs (Go crypto/tls vs rustls, encoding/json vs serde_json).
fn failing_scenario_with(
    api: &str,
    env: &[(&str, &str)],
    args: &[&str],
    run_toml: Option<&str>,
    code: i32,
    message: &str,
    exact_errors: bool,
) -> Outcome {
    let o = ours(api, env, args, run_toml);
    assert_eq!(o.code, code, "ours: {}", o.output);
    assert!(o.output.contains(message), "ours: {}", o.output);
    if let Some(go) = go_lifecycle() {
        let g = analyzer(&go, api, env, args, run_toml);
        assert_eq!(g.code, code, "Go: {}", g.output);
        assert!(g.output.contains(message), "Go: {}", g.output);
        let errors = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| l.starts_with("ERROR: "))
                .map(str::to_string)
                .collect()
        };
        if exact_errors {
            assert_eq!(
                errors(&o.output),
                errors(&g.output),
                "error lines differ from Go's"
            );
        }
    }
    assert!(o.analyzed.is_none(), "no analyzed.toml on failure");
    o
}

// ---- scenarios --------------------------------------------------------------------------

#[test]
fn first_build_with_run_image_flag_every_api() {
    let reg = shared_registry();
    let (run, digest) = run_image(reg, "first/run:jammy");
    let app = format!("{}/first/app", reg.host());
    let vars = [("registry", reg.host()), ("run_digest", digest.to_string())];
    for api in ["0.12", "0.13", "0.14", "0.15"] {
        let o = golden_scenario(
            "first-build",
            api,
            &[],
            &["-run-image", &run, &app],
            None,
            &vars,
        );
        assert!(
            o.output
                .contains(&format!("Image with name \"{app}\" not found")),
            "{api}: {}",
            o.output
        );
    }
    // CNB_RUN_IMAGE instead of the flag gives the same file.
    let o = ours("0.15", &[("CNB_RUN_IMAGE", &run)], &[&app], None);
    let want = fill(
        &fs::read_to_string(golden_path("first-build")).expect("golden"),
        &vars,
    );
    assert_eq!(o.analyzed.as_deref(), Some(want.as_str()), "{}", o.output);
}

/// The manifest digest of the single image in an umoci layout.
fn layout_digest(layout: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).expect("index.json"))
            .expect("index JSON");
    index["manifests"][0]["digest"]
        .as_str()
        .expect("digest")
        .to_string()
}

#[test]
fn layout_run_image_and_missing_previous_image() {
    let tmp = tempfile::tempdir().expect("tmp");
    let layout = tmp.path().join("layout-repo");
    // Go maps `127.0.0.1:9/run:jammy` to `<layout-dir>/127.0.0.1:9/run/jammy`. Port 9 has no
    // listener: nothing may be fetched from a registry in layout mode.
    let run_dir = layout.join("127.0.0.1:9/run/jammy");
    umoci_image(&run_dir, "linux", &RUN_LABELS);
    let l = layout.to_str().expect("utf-8").to_string();
    let vars = [
        ("layout", l.clone()),
        ("run_digest", layout_digest(&run_dir)),
    ];
    let env = [("CNB_EXPERIMENTAL_MODE", "warn")];
    let args = [
        "-layout",
        "-layout-dir",
        &l,
        "-run-image",
        "127.0.0.1:9/run:jammy",
        "127.0.0.1:9/app",
    ];
    let o = golden_scenario("layout", "0.15", &env, &args, None, &vars);
    assert!(
        o.output
            .contains("Platform requested experimental feature 'export to OCI layout format'"),
        "{}",
        o.output
    );
    assert!(
        o.output.contains(&format!(
            "Image with name \"{l}/127.0.0.1:9/app/latest\" not found"
        )),
        "{}",
        o.output
    );
    // CNB_USE_LAYOUT works like -layout; the run image may come from run.toml (no access
    // check in layout mode: the first image on the output registry, else the first).
    let run_toml =
        "[[images]]\nimage = \"127.0.0.1:8/run:jammy\"\nmirrors = [\"127.0.0.1:9/run:jammy\"]\n";
    let env = [
        ("CNB_EXPERIMENTAL_MODE", "warn"),
        ("CNB_USE_LAYOUT", "true"),
        ("CNB_LAYOUT_DIR", l.as_str()),
    ];
    golden_scenario(
        "layout",
        "0.15",
        &env,
        &["127.0.0.1:9/app"],
        Some(run_toml),
        &vars,
    );
}

#[test]
fn layout_needs_experimental_mode() {
    failing_scenario(
        "0.15",
        &[],
        &[
            "-layout",
            "-layout-dir",
            "/nonexistent",
            "-run-image",
            "127.0.0.1:9/run",
            "127.0.0.1:9/app",
        ],
        None,
        1,
        "experimental features are disabled by CNB_EXPERIMENTAL_MODE=error",
    );
}

/// A registry with basic auth (`user`/`pass`), shared by the tests of this binary.
fn auth_registry() -> &'static Registry {
    static R: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        Registry::start(RegistryOptions {
            htpasswd: Some(("user".into(), "pass".into())),
            ..RegistryOptions::default()
        })
    })
}

/// A second open registry (for mirror selection across registries).
fn other_registry() -> &'static Registry {
    static R: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    R.get_or_init(|| Registry::start(RegistryOptions::default()))
}

/// `CNB_REGISTRY_AUTH` for [`auth_registry`].
fn auth_env(reg: &Registry) -> String {
    // base64("user:pass")
    format!("{{\"{}\":\"Basic dXNlcjpwYXNz\"}}", reg.host())
}

#[test]
fn previous_image_label_becomes_metadata() {
    let reg = shared_registry();
    let (run, run_digest) = run_image(reg, "prev/run:jammy");
    let prev = format!("{}/prev/app", reg.host());
    let label = format!("io.buildpacks.lifecycle.metadata={APP_LABEL}");
    let prev_digest = push_image(&prev, "linux", &[&label], None);
    let vars = [
        ("registry", reg.host()),
        ("run_digest", run_digest.to_string()),
        ("prev_digest", prev_digest.to_string()),
    ];
    let o = golden_scenario(
        "previous-image",
        "0.15",
        &[],
        &["-run-image", &run, &prev],
        None,
        &vars,
    );
    assert!(!o.output.contains("not found"), "{}", o.output);
    // -previous-image with another output image (Go acceptance: "reads the previous image").
    let other = format!("{}/prev/other-app", reg.host());
    golden_scenario(
        "previous-image",
        "0.13",
        &[],
        &["-previous-image", &prev, "-run-image", &run, &other],
        None,
        &vars,
    );
    // Digest references for both images give the same identifiers.
    let prev_by_digest = format!("{}/prev/app@{prev_digest}", reg.host());
    let run_by_digest = format!("{}/prev/run@{run_digest}", reg.host());
    golden_scenario(
        "digest-references",
        "0.14",
        &[],
        &[
            "-previous-image",
            &prev_by_digest,
            "-run-image",
            &run_by_digest,
            &other,
        ],
        None,
        &vars,
    );
}

#[test]
fn undecodable_label_means_no_previous_image() {
    let reg = shared_registry();
    let (run, run_digest) = run_image(reg, "bad/run:jammy");
    let prev = format!("{}/bad/app", reg.host());
    push_image(
        &prev,
        "linux",
        &["io.buildpacks.lifecycle.metadata={not json"],
        None,
    );
    let vars = [
        ("registry", reg.host()),
        ("run_digest", run_digest.to_string()),
    ];
    golden_scenario(
        "undecodable-label",
        "0.15",
        &[],
        &["-run-image", &run, &prev],
        None,
        &vars,
    );
}

#[test]
fn skip_layers_keeps_sbom_metadata_without_restoring() {
    let reg = shared_registry();
    let (run, run_digest) = run_image(reg, "sbom/run:jammy");
    let prev = format!("{}/sbom/app", reg.host());
    let md = r#"{"app":null,"sbom":{"sha":"sha256:07aa000000000000000000000000000000000000000000000000000000000001"},"buildpacks":null,"config":{"sha":""},"launcher":{"sha":""},"process-types":{"sha":""},"runImage":{"topLayer":"","reference":""}}"#;
    let label = format!("io.buildpacks.lifecycle.metadata={md}");
    let prev_digest = push_image(&prev, "linux", &[&label], None);
    let vars = [
        ("registry", reg.host()),
        ("run_digest", run_digest.to_string()),
        ("prev_digest", prev_digest.to_string()),
    ];
    let o = golden_scenario(
        "skip-layers",
        "0.15",
        &[],
        &["-skip-layers", "-run-image", &run, &prev],
        None,
        &vars,
    );
    assert!(
        !o.output.contains("Restoring data for SBOM"),
        "{}",
        o.output
    );
    assert!(!o.layers.join("sbom").exists());
}

#[test]
fn run_image_from_run_toml_mirrors() {
    let (a, b, locked) = (shared_registry(), other_registry(), auth_registry());
    let (run_b, digest_b) = run_image(b, "base/run:jammy");
    let (mirror_a, digest_a) = run_image(a, "mirror/run:jammy");
    let app = format!("{}/mirrors/app", a.host());
    // The mirror on the output image's registry wins over the first image.
    let run_toml = format!("[[images]]\nimage = \"{run_b}\"\nmirrors = [\"{mirror_a}\"]\n");
    let vars = [
        ("registry", a.host()),
        ("other_registry", b.host()),
        ("run_digest", digest_a.to_string()),
    ];
    golden_scenario(
        "run-toml-same-registry",
        "0.15",
        &[],
        &[&app],
        Some(&run_toml),
        &vars,
    );
    // Nothing on the output registry: the first readable one (the locked registry is not).
    let locked_run = format!("{}/base/run:jammy", locked.host());
    let run_toml = format!(
        "[[images]]\nimage = \"{locked_run}\"\nmirrors = [\"127.0.0.1:1/base/run:jammy\", \"{run_b}\"]\n"
    );
    let vars = [
        ("registry", a.host()),
        ("other_registry", b.host()),
        ("run_digest", digest_b.to_string()),
    ];
    golden_scenario(
        "run-toml-first-readable",
        "0.15",
        &[],
        &[&app],
        Some(&run_toml),
        &vars,
    );
}

#[test]
fn no_readable_run_image_in_run_toml() {
    let (a, locked) = (shared_registry(), auth_registry());
    let app = format!("{}/mirrors/app", a.host());
    let locked_run = format!("{}/base/run:jammy", locked.host());
    let run_toml = format!(
        "[[images]]\nimage = \"{locked_run}\"\nmirrors = [\"127.0.0.1:1/base/run:jammy\"]\n"
    );
    failing_scenario(
        "0.15",
        &[],
        &[&app],
        Some(&run_toml),
        3,
        "ERROR: failed to resolve inputs: failed to find accessible run image",
    );
}

#[test]
fn registry_access_needs_credentials() {
    let reg = auth_registry();
    let (run, _) = run_image(reg, "private/run:jammy");
    let app = format!("{}/private/app", reg.host());
    let o = failing_scenario(
        "0.15",
        &[],
        &["-run-image", &run, &app],
        None,
        32,
        &format!(
            "ERROR: failed to initialize analyzer: validating registry read access: failed to ensure registry read access to {app}: "
        ),
    );
    assert!(o.output.contains("401 Unauthorized"), "{}", o.output);
    let cache = format!("{}/private/cache", reg.host());
    let open_run = run_image(shared_registry(), "open/run:jammy").0;
    let open_app = format!("{}/open/app", shared_registry().host());
    failing_scenario(
        "0.15",
        &[],
        &["-cache-image", &cache, "-run-image", &open_run, &open_app],
        None,
        32,
        &format!(
            "ERROR: failed to initialize analyzer: validating registry write access: failed to ensure registry read/write access to {cache}: "
        ),
    );
}

#[test]
fn registry_access_with_credentials() {
    let reg = auth_registry();
    let (run, run_digest) = run_image(reg, "private/run:jammy");
    let app = format!("{}/private/app", reg.host());
    let cache = format!("{}/private/cache", reg.host());
    let auth = auth_env(reg);
    let vars = [
        ("registry", reg.host()),
        ("run_digest", run_digest.to_string()),
    ];
    golden_scenario(
        "registry-auth",
        "0.15",
        &[("CNB_REGISTRY_AUTH", &auth)],
        &[
            "-cache-image",
            &cache,
            "-tag",
            &format!("{app}:v1"),
            "-run-image",
            &run,
            &app,
        ],
        None,
        &vars,
    );
}

#[test]
fn missing_run_image_and_run_image_without_os() {
    let reg = shared_registry();
    let app = format!("{}/missing/app", reg.host());
    let run = format!("{}/missing/run:jammy", reg.host());
    let vars = [("registry", reg.host())];
    let o = golden_scenario(
        "missing-run-image",
        "0.15",
        &[],
        &["-run-image", &run, &app],
        None,
        &vars,
    );
    assert!(
        o.output
            .contains(&format!("Image with name \"{run}\" not found")),
        "{}",
        o.output
    );
    let no_os = format!("{}/noos/run:jammy", reg.host());
    push_image(&no_os, "", &[], None);
    failing_scenario(
        "0.15",
        &[],
        &["-run-image", &no_os, &app],
        None,
        32,
        "ERROR: failed to analyze: failed to find OS in run image config",
    );
}

#[test]
fn insecure_registry_skips_tls_verification() {
    let reg = Registry::start(RegistryOptions {
        tls: true,
        ..RegistryOptions::default()
    });
    let (run, run_digest) = run_image(&reg, "tls/run:jammy");
    let app = format!("{}/tls/app", reg.host());
    // Self-signed certificate: without -insecure-registry the access check fails.
    let o = failing_scenario_with(
        "0.15",
        &[],
        &["-run-image", &run, &app],
        None,
        32,
        &format!(
            "ERROR: failed to initialize analyzer: validating registry read access: failed to ensure registry read access to {app}: "
        ),
        false,
    );
    assert!(o.output.contains("certificate"), "{}", o.output);
    let vars = [
        ("registry", reg.host()),
        ("run_digest", run_digest.to_string()),
    ];
    let o = golden_scenario(
        "insecure-registry",
        "0.15",
        &[],
        &["-insecure-registry", &reg.host(), "-run-image", &run, &app],
        None,
        &vars,
    );
    assert!(o.output.contains("not found"), "{}", o.output);
    // CNB_INSECURE_REGISTRIES works the same (prefix match on the image name).
    golden_scenario(
        "insecure-registry",
        "0.15",
        &[("CNB_INSECURE_REGISTRIES", &reg.host())],
        &["-run-image", &run, &app],
        None,
        &vars,
    );
}

#[test]
fn invalid_registry_auth_fails_before_the_drop() {
    // The JSON parser's own words differ (serde_json vs encoding/json), the rest is Go's.
    failing_scenario_with(
        "0.15",
        &[("CNB_REGISTRY_AUTH", "{not json")],
        &["-run-image", "127.0.0.1:9/run", "127.0.0.1:9/app"],
        None,
        1,
        "ERROR: failed to resolve keychain: reading auth env var: failed to parse CNB_REGISTRY_AUTH value: ",
        false,
    );
}

/// The diffIDs of the `latest` image of an umoci layout (read from its config blob).
fn layout_diff_ids(layout: &Path) -> Vec<String> {
    let blob = |d: &str| -> serde_json::Value {
        let hex = d.strip_prefix("sha256:").expect("sha256 digest");
        serde_json::from_slice(&fs::read(layout.join("blobs/sha256").join(hex)).expect("blob"))
            .expect("JSON blob")
    };
    let manifest = blob(&layout_digest(layout));
    let config = blob(
        manifest["config"]["digest"]
            .as_str()
            .expect("config digest"),
    );
    config["rootfs"]["diff_ids"]
        .as_array()
        .expect("diff_ids")
        .iter()
        .map(|d| d.as_str().expect("diff id").to_string())
        .collect()
}

#[test]
fn sbom_layer_of_previous_image_is_restored() {
    let reg = shared_registry();
    let (run, run_digest) = run_image(reg, "sbomr/run:jammy");
    // The SBOM layer's entries are absolute paths of the layers dir the previous build used;
    // Go extracts them at `/`, so both binaries write to this (fixed) directory.
    let old = tempfile::tempdir().expect("old layers root");
    let old_layers = old.path().join("layers");
    let sbom_file = old_layers.join("sbom/launch/samples_hello/hello/sbom.cdx.json");
    fs::create_dir_all(sbom_file.parent().expect("dir")).expect("mkdir");
    fs::write(&sbom_file, "{\"bomFormat\":\"CycloneDX\"}\n").expect("write sbom");
    // A well-formed tar with absolute entry names like the exporter's (GNU tar -P), added
    // verbatim (umoci insert writes tars without the end-of-archive blocks).
    let scratch = tempfile::tempdir().expect("scratch");
    let layer_tar = scratch.path().join("sbom.tar");
    run_tool(
        Command::new("tar")
            .args(["--create", "-P", "--owner=0", "--group=0", "--file"])
            .arg(&layer_tar)
            .arg(old_layers.join("sbom")),
    );
    fs::remove_dir_all(&old_layers).expect("clean old layers");
    let layout = scratch.path().join("layout");
    let l = layout.to_str().expect("utf-8");
    let image = format!("{l}:latest");
    run_tool(Command::new("umoci").args(["init", "--layout", l]));
    run_tool(Command::new("umoci").args(["new", "--image", &image]));
    run_tool(
        Command::new("umoci")
            .args(["raw", "add-layer", "--image", &image])
            .arg(&layer_tar),
    );
    let sbom_sha = layout_diff_ids(&layout)
        .pop()
        .expect("the SBOM layer's diffID");
    let md = format!(
        r#"{{"app":null,"sbom":{{"sha":"{sbom_sha}"}},"buildpacks":null,"config":{{"sha":""}},"launcher":{{"sha":""}},"process-types":{{"sha":""}},"runImage":{{"topLayer":"","reference":""}}}}"#
    );
    run_tool(
        Command::new("umoci")
            .args(["config", "--image", &image, "--os", "linux"])
            .args(["--architecture", "amd64"])
            .arg(format!(
                "--config.label=io.buildpacks.lifecycle.metadata={md}"
            )),
    );
    let prev = format!("{}/sbomr/app", reg.host());
    run_tool(
        skopeo()
            .args(["copy", "--dest-tls-verify=false"])
            .arg(format!("oci:{image}"))
            .arg(format!("docker://{prev}")),
    );
    let prev_digest = Digest::of(&skopeo_inspect_raw(&prev, None));
    let vars = [
        ("registry", reg.host()),
        ("run_digest", run_digest.to_string()),
        ("prev_digest", prev_digest.to_string()),
        ("sbom_sha", sbom_sha.clone()),
    ];
    let args = ["-run-image", run.as_str(), prev.as_str()];
    golden_scenario("sbom-restore", "0.15", &[], &args, None, &vars);
    // Ours alone, on a clean slate.
    let _ = fs::remove_dir_all(&old_layers);
    let o = ours("0.15", &[], &args, None);
    assert_eq!(o.code, 0, "{}", o.output);
    assert!(
        o.output
            .contains("Restoring data for SBOM from previous image"),
        "{}",
        o.output
    );
    assert_eq!(
        fs::read_to_string(&sbom_file).expect("restored SBOM file"),
        "{\"bomFormat\":\"CycloneDX\"}\n"
    );
}

#[test]
fn docker_config_is_read_before_dropping_privileges() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping docker_config_is_read_before_dropping_privileges: needs root");
        return;
    }
    let reg = auth_registry();
    let (run, run_digest) = run_image(reg, "private/run:jammy");
    let app = format!("{}/private/dropped-app", reg.host());
    // Root's docker config, unreadable for the build user (0700 home, 0600 file).
    let home = tempfile::tempdir().expect("home");
    let docker = home.path().join(".docker");
    fs::create_dir_all(&docker).expect("mkdir .docker");
    let config = docker.join("config.json");
    fs::write(
        &config,
        format!(
            "{{\"auths\":{{\"{}\":{{\"auth\":\"dXNlcjpwYXNz\"}}}}}}",
            reg.host()
        ),
    )
    .expect("config.json");
    fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let h = home.path().to_str().expect("utf-8");
    let vars = [
        ("registry", reg.host()),
        ("run_digest", run_digest.to_string()),
    ];
    let o = golden_scenario(
        "registry-auth",
        "0.15",
        &[("HOME", h)],
        &["-uid", "1234", "-gid", "5678", "-run-image", &run, &app],
        None,
        &vars,
    );
    let meta = fs::metadata(o.layers.join("analyzed.toml")).expect("analyzed.toml");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (meta.uid(), meta.gid()),
        (1234, 5678),
        "written after the drop"
    );
}
