//! The rebaser phase end to end through the binary (argv0 `rebaser`) against a real
//! `docker-registry`: run images built with umoci and pushed with skopeo, an app image built on
//! one of them with `cnb::image::Image`, rebased onto another, the result inspected with skopeo.

mod common;

use cnb::digest::Digest;
use cnb::image::reference::Reference;
use cnb::image::{Descriptor, History, Image, MediaType, RawConfig};
use cnb::registry::{BlobSource, Client, ClientOptions, PushOptions};
use cnb::testing::{Registry, shared_registry, skopeo, skopeo_inspect_raw};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

fn sh(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// How this test thread talks to its registry: basic-auth credentials and whether images are
/// pushed as Docker schema 2 (default OCI).
#[derive(Clone, Default)]
struct Ctx {
    /// The registry host needing `creds`.
    host: String,
    creds: Option<(String, String)>,
    docker: bool,
    /// The registry serves HTTPS with a self-signed certificate.
    tls: bool,
}

thread_local! {
    static CTX: std::cell::RefCell<Ctx> = std::cell::RefCell::new(Ctx::default());
}

fn ctx() -> Ctx {
    CTX.with(|c| c.borrow().clone())
}

fn set_ctx(c: Ctx) {
    CTX.with(|x| *x.borrow_mut() = c);
}

fn creds() -> Option<String> {
    ctx().creds.map(|(u, p)| format!("{u}:{p}"))
}

/// `CNB_REGISTRY_AUTH` when the registry needs credentials.
fn auth_env() -> Option<String> {
    let (u, p) = ctx().creds?;
    Some(common::registry_auth_env(&ctx().host, &u, &p))
}

/// The environment of a rebaser run: Platform API, a layers directory in the test's temp dir
/// (the default report path is `<layers>/report.toml`; never the host's `/layers`) and, with
/// credentials, `CNB_REGISTRY_AUTH`.
fn rebaser_env(api: &str, dir: &Path) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("CNB_PLATFORM_API", api.to_owned()),
        ("CNB_LAYERS_DIR", dir.join("layers").display().to_string()),
    ];
    if let Some(a) = auth_env() {
        env.push(("CNB_REGISTRY_AUTH", a));
    }
    env
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A unique repository-name suffix per call (tests share one registry).
fn uniq(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}{}", N.fetch_add(1, Ordering::SeqCst))
}

/// Builds a run image for this machine's architecture with umoci (one layer per file, the
/// given labels) and pushes it with skopeo to `<host>/<repo_tag>`. Returns the manifest bytes
/// the registry serves.
pub fn push_run_image(
    host: &str,
    repo_tag: &str,
    files: &[(&str, &str)],
    labels: &[(&str, &str)],
) -> Vec<u8> {
    push_run_image_for(cnb::files::target::go_arch(), host, repo_tag, files, labels)
}

/// [`push_run_image`] with the config naming `arch`.
fn push_run_image_for(
    arch: &str,
    host: &str,
    repo_tag: &str,
    files: &[(&str, &str)],
    labels: &[(&str, &str)],
) -> Vec<u8> {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let l = layout.to_str().unwrap();
    let image = format!("{l}:run");
    sh(Command::new("umoci").args(["init", "--layout", l]));
    sh(Command::new("umoci").args(["new", "--image", &image]));
    for (path, content) in files {
        let src = work.path().join("src");
        std::fs::write(&src, content).unwrap();
        sh(Command::new("umoci").args([
            "insert",
            "--rootless",
            "--image",
            &image,
            src.to_str().unwrap(),
            path,
        ]));
    }
    let mut cfg = Command::new("umoci");
    cfg.args(["config", "--image", &image, "--os", "linux"]);
    cfg.args(["--architecture", arch]);
    cfg.args([
        "--created",
        "2026-01-01T00:00:00Z",
        "--history.created",
        "2026-01-01T00:00:00Z",
    ]);
    cfg.args([
        "--config.env",
        "PATH=/usr/bin:/bin",
        "--config.user",
        "1000:1000",
    ]);
    for (k, v) in labels {
        cfg.arg(format!("--config.label={k}={v}"));
    }
    sh(&mut cfg);
    let reference = format!("{host}/{repo_tag}");
    let mut copy = skopeo();
    copy.args(["copy", "--dest-tls-verify=false"]);
    if ctx().docker {
        copy.args(["--format", "v2s2"]);
    }
    if let Some(c) = creds() {
        copy.arg(format!("--dest-creds={c}"));
    }
    sh(copy
        .arg(format!("oci:{image}"))
        .arg(format!("docker://{reference}")));
    skopeo_inspect_raw(&reference, creds().as_deref())
}

/// [`push_run_image`] to a fresh repository `<host>/<prefix><n>:<tag>`; returns that reference.
fn push_new_run_image(
    host: &str,
    prefix: &str,
    tag: &str,
    files: &[(&str, &str)],
    labels: &[(&str, &str)],
) -> String {
    let repo_tag = format!("{}:{tag}", uniq(prefix));
    push_run_image(host, &repo_tag, files, labels);
    format!("{host}/{repo_tag}")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// What the test knows about an app image it pushed.
struct App {
    reference: String,
    app_layers: Vec<Digest>,
    manifest_digest: Digest,
}

/// The lifecycle label the exporter would have written for an app on `run` (its top layer
/// and digest reference), with `run_image` / `mirrors` as the label's run image.
fn lifecycle_label(
    top_layer: &Digest,
    run_reference: &str,
    run_image: &str,
    mirrors: &[&str],
    app_shas: &[Digest],
) -> String {
    let app: Vec<Value> = app_shas
        .iter()
        .map(|d| json!({"sha": d.to_string()}))
        .collect();
    let mut ri = json!({"topLayer": top_layer.to_string(), "reference": run_reference});
    let mut st = json!({});
    if !run_image.is_empty() {
        ri["image"] = json!(run_image);
        st["image"] = json!(run_image);
        if !mirrors.is_empty() {
            ri["mirrors"] = json!(mirrors);
            st["mirrors"] = json!(mirrors);
        }
    }
    // Field order as the Go exporter writes it (serde_json keeps insertion order? no: use a
    // string template so the label is byte-for-byte Go's).
    format!(
        r#"{{"app":{},"config":{{"sha":""}},"launcher":{{"sha":""}},"process-types":{{"sha":""}},"runImage":{},"stack":{{"runImage":{}}}}}"#,
        serde_json::to_string(&app).unwrap(),
        ri_string(&ri),
        st_string(&st)
    )
}

fn ri_string(ri: &Value) -> String {
    let mut s = format!(
        r#"{{"topLayer":"{}","reference":"{}""#,
        ri["topLayer"].as_str().unwrap(),
        ri["reference"].as_str().unwrap()
    );
    if let Some(i) = ri["image"].as_str() {
        s.push_str(&format!(r#","image":"{i}""#));
    }
    if ri["mirrors"].is_array() {
        s.push_str(&format!(r#","mirrors":{}"#, ri["mirrors"]));
    }
    s.push('}');
    s
}

fn st_string(st: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(i) = st["image"].as_str() {
        parts.push(format!(r#""image":"{i}""#));
    }
    if st["mirrors"].is_array() {
        parts.push(format!(r#""mirrors":{}"#, st["mirrors"]));
    }
    format!("{{{}}}", parts.join(","))
}

/// Options for [`push_app`].
struct AppSpec<'a> {
    run: &'a str,
    /// The label's run image and mirrors (`""` = no run image metadata).
    label_image: &'a str,
    label_mirrors: &'a [&'a str],
    extra_labels: &'a [(&'a str, &'a str)],
    platform_api: &'a str,
}

impl<'a> AppSpec<'a> {
    /// An app on `run` whose label names `run` (no mirrors, no extra labels), Platform API 0.14.
    fn on(run: &'a str) -> Self {
        AppSpec {
            run,
            label_image: run,
            label_mirrors: &[],
            extra_labels: &[],
            platform_api: "0.14",
        }
    }
}

/// Builds an app image on `spec.run` (read with our client) with two uncompressed app layers
/// made by GNU tar, the lifecycle label and `CNB_PLATFORM_API`, and pushes it to `reference`.
fn push_app(reference: &str, spec: &AppSpec) -> App {
    let work = tempfile::tempdir().unwrap();
    let mut blobs = Vec::new();
    for (i, content) in [format!("app {reference}"), format!("more {reference}")]
        .iter()
        .enumerate()
    {
        let dir = work.path().join(format!("l{i}"));
        std::fs::create_dir_all(dir.join("workspace")).unwrap();
        std::fs::write(dir.join("workspace").join(format!("f{i}")), content).unwrap();
        let tar = work.path().join(format!("l{i}.tar"));
        sh(Command::new("tar").args([
            "--sort=name",
            "--mtime=@315532801",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-C",
            dir.to_str().unwrap(),
            "-cf",
            tar.to_str().unwrap(),
            "workspace",
        ]));
        blobs.push(std::fs::read(tar).unwrap());
    }
    let run_ref = Reference::parse(spec.run).unwrap();
    let app_ref = Reference::parse(reference).unwrap();
    let mut keychain = cnb::registry::Keychain::anonymous();
    if let Some((u, p)) = ctx().creds {
        for r in [&run_ref, &app_ref] {
            keychain = keychain.with(r.registry(), cnb::registry::Credential::basic(&u, &p));
        }
    }
    let client = Client::new(ClientOptions {
        keychain,
        insecure_registries: if ctx().tls {
            vec![app_ref.registry().to_owned()]
        } else {
            Vec::new()
        },
        ..ClientOptions::default()
    });
    let layer_type = if ctx().docker {
        MediaType::DOCKER_LAYER_TAR
    } else {
        MediaType::OCI_LAYER_TAR
    };
    rt().block_on(async {
        let platform = cnb::image::Platform::new("linux", cnb::files::target::go_arch());
        let (raw, _) = client
            .get_image_manifest(&run_ref, &platform)
            .await
            .unwrap();
        let m = raw.manifest().unwrap();
        let cfg = client
            .get_blob(run_ref.context(), &m.config.digest, Some(m.config.size))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let cfg = RawConfig::verified(cfg, &m.config.digest).unwrap();
        let run_top = cfg
            .parse()
            .unwrap()
            .rootfs
            .diff_ids
            .unwrap()
            .last()
            .unwrap()
            .clone();
        for d in &m.layers {
            client
                .copy_blob(
                    run_ref.context(),
                    app_ref.context(),
                    &d.digest,
                    Some(d.size),
                )
                .await
                .unwrap();
        }
        let mut img = Image::from_raw(&raw, &cfg).unwrap();
        let mut shas = Vec::new();
        for b in &blobs {
            let d = Digest::of(b);
            client
                .push_blob(
                    app_ref.context(),
                    BlobSource::Bytes(b.clone().into()),
                    PushOptions {
                        digest: Some(d.clone()),
                        mount_from: Vec::new(),
                    },
                )
                .await
                .unwrap();
            img.append_layer(
                Descriptor::new(layer_type.clone(), d.clone(), b.len() as u64),
                d.clone(),
                History {
                    created_by: "app layer".into(),
                    ..Default::default()
                },
            );
            shas.push(d);
        }
        let run_identifier = format!("{}@{}", run_ref.context(), raw.digest());
        img.set_label(
            "io.buildpacks.lifecycle.metadata",
            &lifecycle_label(
                &run_top,
                &run_identifier,
                spec.label_image,
                spec.label_mirrors,
                &shas,
            ),
        );
        for (k, v) in spec.extra_labels {
            img.set_label(k, v);
        }
        img.set_env("CNB_PLATFORM_API", spec.platform_api);
        img.set_created_at_and_history(cnb::image::config::DEFAULT_CREATED, true);
        let built = img.build().unwrap();
        client
            .push_blob(
                app_ref.context(),
                BlobSource::Bytes(built.config.bytes().clone()),
                PushOptions {
                    digest: Some(built.config.digest().clone()),
                    mount_from: Vec::new(),
                },
            )
            .await
            .unwrap();
        client
            .put_manifest(&app_ref, &built.manifest)
            .await
            .unwrap();
        App {
            reference: reference.to_owned(),
            app_layers: shas,
            manifest_digest: built.manifest.digest().clone(),
        }
    })
}

/// `rebaser` (a symlink to the binary) with Platform API 0.14.
fn rebaser(dir: &Path, args: &[&str]) -> common::Run {
    run_rebaser(
        Path::new(common::BIN),
        dir,
        &env_refs(&rebaser_env("0.14", dir)),
        args,
    )
}

/// Runs `<dir>/rebaser`, made a symlink to `bin` if missing, with exactly `env` and `args`.
fn run_rebaser(bin: &Path, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> common::Run {
    let link = dir.join("rebaser");
    if !link.exists() {
        std::fs::create_dir_all(dir).unwrap();
        std::os::unix::fs::symlink(bin, &link).unwrap();
    }
    common::finish(common::command(&link, env).args(args).output().unwrap())
}

fn manifest(reference: &str) -> (Vec<u8>, Value) {
    let raw = skopeo_inspect_raw(reference, creds().as_deref());
    let v = serde_json::from_slice(&raw).unwrap();
    (raw, v)
}

/// The config blob as the registry serves it. (skopeo refuses to parse what ggcr's rebase
/// writes, a Docker schema 2 manifest listing OCI layers, so it is fetched with curl.)
fn config_bytes(reference: &str) -> Vec<u8> {
    let (_, m) = manifest(reference);
    let r = Reference::parse(reference).unwrap();
    let url = format!(
        "{}://{}/v2/{}/blobs/{}",
        if ctx().tls { "https" } else { "http" },
        r.registry(),
        r.repository(),
        m["config"]["digest"].as_str().unwrap()
    );
    let mut curl = Command::new("curl");
    curl.args(["-fsSk"]);
    if let Some(c) = creds() {
        curl.args(["-u", &c]);
    }
    sh(curl.arg(url))
}

fn config(reference: &str) -> Value {
    serde_json::from_slice(&config_bytes(reference)).unwrap()
}

/// The `io.buildpacks.lifecycle.metadata` label of an image config, parsed.
fn lifecycle_metadata(cfg: &Value) -> Value {
    serde_json::from_str(
        cfg["config"]["Labels"]["io.buildpacks.lifecycle.metadata"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

fn layer_digests(m: &Value) -> Vec<String> {
    m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect()
}

const BASE_LABELS_1: &[(&str, &str)] = &[
    ("io.buildpacks.base.distro.name", "ubuntu"),
    ("io.buildpacks.base.distro.version", "22.04"),
    ("io.buildpacks.base.maintainer", "one"),
    ("io.buildpacks.base.released", "2026-01-01"),
    ("io.buildpacks.stack.id", "io.test.stack"),
];

const BASE_LABELS_2: &[(&str, &str)] = &[
    ("io.buildpacks.base.distro.name", "ubuntu"),
    ("io.buildpacks.base.distro.version", "22.04"),
    ("io.buildpacks.base.maintainer", "two"),
    ("io.buildpacks.base.homepage", "https://example.test"),
    ("io.buildpacks.stack.id", "io.test.stack"),
];

/// A base whose target (distro) differs from [`BASE_LABELS_1`] / [`BASE_LABELS_2`].
const ALPINE_LABELS: &[(&str, &str)] = &[
    ("io.buildpacks.base.distro.name", "alpine"),
    ("io.buildpacks.base.distro.version", "3.20"),
];

struct Scenario {
    reg: &'static Registry,
    host: String,
    run_repo: String,
    run1_manifest: Vec<u8>,
    run2_manifest: Vec<u8>,
    app: App,
    dir: tempfile::TempDir,
}

/// run:latest = run image 1; app built on it (label image = run:latest); then run:latest is
/// moved to run image 2 (what a base image update looks like).
fn scenario(extra_labels: &[(&str, &str)]) -> Scenario {
    scenario_on(shared_registry(), extra_labels)
}

fn scenario_on(reg: &'static Registry, extra_labels: &[(&str, &str)]) -> Scenario {
    let host = reg.host();
    let run_repo = uniq("run");
    let run_latest = format!("{host}/{run_repo}:latest");
    let run1_manifest = push_run_image(
        &host,
        &format!("{run_repo}:latest"),
        &[("/etc/base-a", "base one a"), ("/etc/base-b", "base one b")],
        BASE_LABELS_1,
    );
    let app = push_app(
        &format!("{host}/{}:latest", uniq("app")),
        &AppSpec {
            extra_labels,
            ..AppSpec::on(&run_latest)
        },
    );
    let run2_manifest = push_run_image(
        &host,
        &format!("{run_repo}:latest"),
        &[
            ("/etc/base-a", "base two a"),
            ("/etc/base-b", "base two b"),
            ("/etc/base-c", "base two c"),
        ],
        BASE_LABELS_2,
    );
    Scenario {
        reg,
        host,
        run_repo,
        run1_manifest,
        run2_manifest,
        app,
        dir: tempfile::tempdir().unwrap(),
    }
}

#[test]
fn rebases_onto_the_updated_run_image_keeping_app_layers() {
    let s = scenario(&[("io.test.app", "kept")]);
    let (_, app_before) = manifest(&s.app.reference);
    let run1: Value = serde_json::from_slice(&s.run1_manifest).unwrap();
    let run2: Value = serde_json::from_slice(&s.run2_manifest).unwrap();
    let report = s.dir.path().join("report.toml");
    let extra = format!(
        "{}-extra",
        s.app
            .reference
            .replace(":latest", ":v2")
            .trim_end_matches("-extra")
    );
    let log_before = s.reg.requests().len();
    let r = rebaser(
        s.dir.path(),
        &[
            "-report",
            report.to_str().unwrap(),
            &s.app.reference,
            &extra,
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    let (raw, after) = manifest(&s.app.reference);
    let digest = Digest::of(&raw);
    // base layers swapped, app layers kept byte for byte (same blobs)
    let mut want = layer_digests(&run2);
    want.extend(
        layer_digests(&app_before)[layer_digests(&run1).len()..]
            .iter()
            .cloned(),
    );
    assert_eq!(layer_digests(&after), want);
    assert_eq!(
        layer_digests(&after)[3..],
        s.app
            .app_layers
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        after["mediaType"], "application/vnd.docker.distribution.manifest.v2+json",
        "ggcr's mutate.Rebase starts from empty.Image (Docker schema 2)"
    );

    let cfg = config(&s.app.reference);
    let run2_cfg = config(&format!("{}/{}:latest", s.host, s.run_repo));
    let labels = &cfg["config"]["Labels"];
    assert_eq!(labels["io.buildpacks.base.maintainer"], "two");
    assert_eq!(
        labels["io.buildpacks.base.homepage"],
        "https://example.test"
    );
    assert!(
        labels.get("io.buildpacks.base.released").is_none(),
        "old base label removed"
    );
    assert_eq!(labels["io.test.app"], "kept");
    let md = lifecycle_metadata(&cfg);
    let run2_ids = run2_cfg["rootfs"]["diff_ids"].as_array().unwrap();
    assert_eq!(md["runImage"]["topLayer"], *run2_ids.last().unwrap());
    assert_eq!(
        md["runImage"]["reference"],
        format!("{}/{}@{}", s.host, s.run_repo, Digest::of(&s.run2_manifest))
    );
    assert_eq!(
        md["runImage"]["image"],
        format!("{}/{}:latest", s.host, s.run_repo)
    );
    assert_eq!(
        cfg["rootfs"]["diff_ids"].as_array().unwrap()[..3],
        run2_ids[..]
    );
    assert_eq!(cfg["created"], "1980-01-01T00:00:01Z");
    let history = cfg["history"].as_array().unwrap();
    assert_eq!(history.len(), 5);
    assert!(
        history
            .iter()
            .all(|h| *h == json!({"created": "1980-01-01T00:00:01Z"}))
    );
    assert_eq!(cfg["config"]["Env"][1], "CNB_PLATFORM_API=0.14");

    // report.toml names both tags and the registry's digest of the manifest
    let rep: toml::Value = toml::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(rep["image"]["digest"].as_str().unwrap(), digest.as_str());
    assert_eq!(
        rep["image"]["manifest-size"].as_integer().unwrap(),
        raw.len() as i64
    );
    let tags: Vec<&str> = rep["image"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, [s.app.reference.as_str(), extra.as_str()]);
    assert_eq!(Digest::of(&manifest(&extra).0), digest);
    assert!(
        r.stdout.contains(&format!("*** Images ({digest}):")),
        "{}",
        r.stdout
    );
    assert_ne!(digest, s.app.manifest_digest);

    // no app layer was uploaded again (only HEADs name them), the new base layers were
    // mounted from the run image repository, nothing was streamed into the app repository
    let app_repo = format!(
        "/v2/{}/",
        Reference::parse(&s.app.reference).unwrap().repository()
    );
    let after_log: Vec<_> = s.reg.requests()[log_before..]
        .iter()
        .filter(|q| q.path.starts_with(&app_repo))
        .cloned()
        .collect();
    for d in &s.app.app_layers {
        let touched: Vec<_> = after_log
            .iter()
            .filter(|q| q.method != "HEAD" && q.path.contains(d.as_str()))
            .collect();
        assert!(touched.is_empty(), "app layer {d} re-uploaded: {touched:?}");
    }
    for d in layer_digests(&run2) {
        assert!(
            after_log.iter().any(|q| q.method == "POST"
                && q.path.contains(&format!("mount={d}"))
                && q.path.contains(&format!("from={}", s.run_repo))
                && q.status == 201),
            "{d} not mounted: {after_log:?}"
        );
    }
    assert!(
        !after_log.iter().any(|q| q.method == "PATCH"),
        "no streamed upload expected: {after_log:?}"
    );
}

fn short_app(s: &Scenario) -> &str {
    &s.app.reference
}

#[test]
fn refuses_not_rebasable_unless_forced() {
    let s = scenario(&[("io.buildpacks.rebasable", "false")]);
    let report = s.dir.path().join("report.toml");
    let r = rebaser(
        s.dir.path(),
        &["-report", report.to_str().unwrap(), short_app(&s)],
    );
    assert_eq!(r.code, 72, "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "ERROR: failed to rebase: app image is not marked as rebasable; please provide -force to override"
        ),
        "{}",
        r.stdout
    );
    assert!(!report.exists());
    let r = rebaser(
        s.dir.path(),
        &["-force", "-report", report.to_str().unwrap(), short_app(&s)],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("app image is not marked as rebasable"),
        "{}",
        r.stdout
    );
    assert!(report.exists());
}

#[test]
fn refuses_a_target_mismatch_and_an_unlisted_base_unless_forced() {
    let s = scenario(&[]);
    let host = &s.host;
    let other = push_new_run_image(
        host,
        "other",
        "alpine",
        &[("/etc/x", "alpine")],
        ALPINE_LABELS,
    );
    let arch = cnb::files::target::go_arch();
    let r = rebaser(s.dir.path(), &["-run-image", &other, short_app(&s)]);
    assert_eq!(r.code, 72, "{}", r.stdout);
    let want = format!(
        r#"ERROR: failed to rebase: unable to satisfy target os/arch constraints; new run image: {{"os":"linux","arch":"{arch}","distro":{{"name":"alpine","version":"3.20"}}}}, old run image: {{"os":"linux","arch":"{arch}","distro":{{"name":"ubuntu","version":"22.04"}}}}; please provide -force to override"#
    );
    assert!(r.stdout.contains(&want), "{}", r.stdout);

    // a compatible image that the label does not list
    let unlisted = push_new_run_image(host, "unlisted", "u", &[("/etc/u", "u")], BASE_LABELS_2);
    let r = rebaser(s.dir.path(), &["-run-image", &unlisted, short_app(&s)]);
    assert_eq!(r.code, 72, "{}", r.stdout);
    let listed = format!("{host}/{}:latest", s.run_repo);
    assert!(
        r.stdout.contains(&format!(
            "ERROR: failed to rebase: rebase app image: new base image '{unlisted}' not found in existing run image metadata: {{\"topLayer\":\""
        )) && r.stdout.contains(&format!(
            "\"image\":\"{listed}\"}}; please provide -force to override"
        )),
        "{}",
        r.stdout
    );
    let r = rebaser(
        s.dir.path(),
        &["-force", "-run-image", &unlisted, short_app(&s)],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("Warning: rebase app image: new base image"),
        "{}",
        r.stdout
    );
    // without -report: <CNB_LAYERS_DIR>/report.toml
    assert!(s.dir.path().join("layers/report.toml").is_file());
    let cfg = config(short_app(&s));
    let md = lifecycle_metadata(&cfg);
    assert_eq!(md["runImage"]["image"], unlisted.as_str());
    assert!(md["runImage"].get("mirrors").is_none());
    assert_eq!(md["stack"], json!({"runImage": {"image": unlisted}}));
}

#[test]
fn prefers_the_mirror_on_the_app_registry_and_errors_like_go() {
    let reg = shared_registry();
    let host = reg.host();
    let run_repo = uniq("mrun");
    let mirror = format!("{host}/{run_repo}:latest");
    push_run_image(
        &host,
        &format!("{run_repo}:latest"),
        &[("/etc/m", "m1")],
        BASE_LABELS_1,
    );
    // the label's primary image is on "another registry" (localhost:PORT names the same
    // server, but is a different registry string); the mirror shares the app's registry
    let primary = format!("localhost:{}/{run_repo}:latest", reg.port());
    let app = push_app(
        &format!("{host}/{}:latest", uniq("mapp")),
        &AppSpec {
            label_image: &primary,
            label_mirrors: &[&mirror],
            platform_api: "0.13",
            ..AppSpec::on(&mirror)
        },
    );
    push_run_image(
        &host,
        &format!("{run_repo}:latest"),
        &[("/etc/m", "m2")],
        BASE_LABELS_2,
    );
    if let Some(go) = go_lifecycle() {
        let (r, out) = compare_with_go(&go, &app.reference, &[], "0.13");
        assert_eq!(r.code, 0, "{out}");
    }
    let dir = tempfile::tempdir().unwrap();
    let r = rebaser(dir.path(), &["-report", "/dev/null", &app.reference]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let md = lifecycle_metadata(&config(&app.reference));
    assert!(
        md["runImage"]["reference"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{host}/{run_repo}@sha256:")),
        "{md}"
    );
    assert_eq!(md["runImage"]["image"], primary.as_str());

    // no run image metadata, no -run-image
    let bare = push_app(
        &format!("{host}/{}:latest", uniq("bare")),
        &AppSpec {
            label_image: "",
            ..AppSpec::on(&mirror)
        },
    );
    let r = rebaser(dir.path(), &[&bare.reference]);
    assert_eq!(r.code, 72, "{}", r.stdout);
    assert!(r.stdout.contains("ERROR: failed to set app image: failed to parse arguments: -run-image is required when there is no run image metadata available"), "{}", r.stdout);

    // a run image that does not exist: retried like Go's OpenRemoteImage, then exit 1
    let nothing = format!("{host}/{}:nope", uniq("norun"));
    let r = rebaser(dir.path(), &["-run-image", &nothing, &app.reference]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let delays = ["100ms", "200ms", "500ms", "1s", "2s"];
    let mut want: Vec<String> = delays
        .iter()
        .enumerate()
        .map(|(i, d)| {
            format!(
                "Warning: Failed to open remote image (attempt {}/6): image has no layers, retrying in {d}",
                i + 1
            )
        })
        .collect();
    want.push("ERROR: failed to access run image: image has no layers".into());
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want);

    let missing = format!("{host}/{}:nope", uniq("missing"));
    let r = rebaser(dir.path(), &[&missing]);
    assert_eq!(r.code, 72, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("ERROR: failed to set app image: failed to access image to rebase\n"),
        "{}",
        r.stdout
    );
}

fn go_lifecycle() -> Option<PathBuf> {
    let go = std::env::var_os("CNB_GO_LIFECYCLE");
    if go.is_none() {
        eprintln!("CNB_GO_LIFECYCLE not set: skipping the comparison with the Go rebaser");
    }
    go.map(PathBuf::from)
}

/// Runs the Go rebaser (a `rebaser` symlink to `go`) with `args`.
fn go_rebaser(go: &Path, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> common::Run {
    let base = rebaser_env("0.14", dir);
    let mut all = env_refs(&base);
    all.extend_from_slice(env);
    run_rebaser(go, &dir.join("go"), &all, args)
}

fn copy_image(from: &str, to: &str) {
    let mut c = skopeo();
    c.args([
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--preserve-digests",
    ]);
    if let Some(cr) = creds() {
        c.arg(format!("--src-creds={cr}"));
        c.arg(format!("--dest-creds={cr}"));
    }
    sh(c.arg(format!("docker://{from}"))
        .arg(format!("docker://{to}")));
}

/// Rebases copies of `app` (`:go`, `:rs`, plus an extra tag each) with both rebasers and the
/// extra `args`; asserts equal exit codes, equal output (names aside) and, on success,
/// byte-identical manifests and configs and equal report digests.
fn compare_with_go(go: &Path, app: &str, args: &[&str], api: &str) -> (common::Run, String) {
    compare_with_go_to(go, app, None, args, api)
}

/// [`compare_with_go`] saving to `<out>:go` / `<out>:rs` (`out` = `host/repo:latest`) instead
/// of copies of `app` (for `-previous-image`).
fn compare_with_go_to(
    go: &Path,
    app: &str,
    out: Option<&str>,
    args: &[&str],
    api: &str,
) -> (common::Run, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for side in ["go", "rs"] {
        let base = out.unwrap_or(app);
        let name = base.replace(":latest", &format!(":{side}"));
        let extra = base.replace(":latest", &format!(":{side}-extra"));
        if out.is_none() {
            copy_image(app, &name);
        }
        let report = dir.path().join(format!("{side}-report.toml"));
        let mut all: Vec<&str> = vec!["-report", report.to_str().unwrap()];
        all.extend_from_slice(args);
        all.push(&name);
        all.push(&extra);
        let env = rebaser_env(api, dir.path());
        let env = env_refs(&env);
        let r = if side == "go" {
            go_rebaser(go, dir.path(), &env, &all)
        } else {
            run_rebaser(Path::new(common::BIN), dir.path(), &env, &all)
        };
        let report = std::fs::read_to_string(&report).ok();
        outs.push((r, name, extra, report));
    }
    let (rs, go_r) = (outs.pop().unwrap(), outs.pop().unwrap());
    let norm = |o: &(common::Run, String, String, Option<String>)| {
        o.0.stdout.replace(&o.2, "<extra>").replace(&o.1, "<image>")
    };
    assert_eq!(
        rs.0.code, go_r.0.code,
        "go:\n{}\nrs:\n{}",
        go_r.0.stdout, rs.0.stdout
    );
    assert_eq!(norm(&rs), norm(&go_r));
    if rs.0.code == 0 {
        assert_eq!(
            String::from_utf8_lossy(&config_bytes(&rs.1)),
            String::from_utf8_lossy(&config_bytes(&go_r.1))
        );
        assert_eq!(
            String::from_utf8_lossy(&manifest(&rs.1).0),
            String::from_utf8_lossy(&manifest(&go_r.1).0)
        );
        let (rr, gr) = (rs.3.clone().unwrap(), go_r.3.clone().unwrap());
        assert_eq!(
            rr.replace(&rs.2, "<extra>").replace(&rs.1, "<image>"),
            gr.replace(&go_r.2, "<extra>").replace(&go_r.1, "<image>")
        );
    } else {
        assert!(rs.3.is_none() && go_r.3.is_none());
    }
    let out = norm(&rs);
    (rs.0, out)
}

/// With `CNB_GO_LIFECYCLE` (a Go lifecycle binary built by hand, never by this repository):
/// the same app images are rebased by the Go rebaser and by ours; results must be
/// byte-identical, failures must print the same. Skipped otherwise.
#[test]
fn same_results_as_the_go_rebaser() {
    let Some(go) = go_lifecycle() else { return };
    // updated run image (label names it), and the same forced onto an unlisted image
    let s = scenario(&[("io.test.app", "kept")]);
    let (r, _) = compare_with_go(&go, &s.app.reference, &[], "0.14");
    assert_eq!(r.code, 0);
    let host = &s.host;
    let unlisted = push_new_run_image(host, "gounlisted", "u", &[("/etc/u", "u")], BASE_LABELS_2);
    let (r, out) = compare_with_go(&go, &s.app.reference, &["-run-image", &unlisted], "0.14");
    assert_eq!(r.code, 72, "{out}");
    let (r, _) = compare_with_go(
        &go,
        &s.app.reference,
        &["-force", "-run-image", &unlisted],
        "0.12",
    );
    assert_eq!(r.code, 0);
    // target mismatch
    let other = push_new_run_image(
        host,
        "goother",
        "alpine",
        &[("/etc/x", "alpine")],
        ALPINE_LABELS,
    );
    let (r, out) = compare_with_go(&go, &s.app.reference, &["-run-image", &other], "0.14");
    assert_eq!(r.code, 72, "{out}");
    let (r, _) = compare_with_go(
        &go,
        &s.app.reference,
        &["-force", "-run-image", &other],
        "0.14",
    );
    assert_eq!(r.code, 0);

    // not rebasable
    let s2 = scenario(&[("io.buildpacks.rebasable", "false")]);
    let (r, _) = compare_with_go(&go, &s2.app.reference, &[], "0.13");
    assert_eq!(r.code, 72);
    let (r, _) = compare_with_go(&go, &s2.app.reference, &["-force"], "0.15");
    assert_eq!(r.code, 0);

    // an app recorded with Platform API 0.11: stack id and mixins rules
    let run_repo = uniq("legacyrun");
    let run = format!("{host}/{run_repo}:latest");
    push_run_image(
        host,
        &format!("{run_repo}:latest"),
        &[("/etc/l", "l1")],
        &[
            ("io.buildpacks.stack.id", "io.test.stack"),
            ("io.buildpacks.stack.mixins", r#"["run:curl","git"]"#),
        ],
    );
    let legacy = push_app(
        &format!("{host}/{}:latest", uniq("legacyapp")),
        &AppSpec {
            extra_labels: &[
                ("io.buildpacks.stack.id", "io.test.stack"),
                (
                    "io.buildpacks.stack.mixins",
                    r#"["curl","build:make","git"]"#,
                ),
            ],
            platform_api: "0.11",
            ..AppSpec::on(&run)
        },
    );
    let mixin_less = push_new_run_image(
        host,
        "nomixins",
        "m",
        &[("/etc/l", "l2")],
        &[
            ("io.buildpacks.stack.id", "io.test.stack"),
            ("io.buildpacks.stack.mixins", r#"["git"]"#),
        ],
    );
    let (r, out) = compare_with_go(&go, &legacy.reference, &["-run-image", &mixin_less], "0.14");
    assert_eq!(r.code, 72, "{out}");
    let other_stack = push_new_run_image(
        host,
        "otherstack",
        "s",
        &[("/etc/l", "l3")],
        &[("io.buildpacks.stack.id", "other.stack")],
    );
    let (r, out) = compare_with_go(
        &go,
        &legacy.reference,
        &["-run-image", &other_stack],
        "0.14",
    );
    assert_eq!(r.code, 72, "{out}");
    push_run_image(
        host,
        &format!("{run_repo}:latest"),
        &[("/etc/l", "l4")],
        &[
            ("io.buildpacks.stack.id", "io.test.stack"),
            ("io.buildpacks.stack.mixins", r#"["curl","git","make"]"#),
        ],
    );
    let (r, out) = compare_with_go(&go, &legacy.reference, &[], "0.14");
    assert_eq!(r.code, 0, "{out}");

    // -previous-image: read one image, save under another repository (app layers mounted)
    let elsewhere = format!("{host}/{}:latest", uniq("elsewhere"));
    let (r, out) = compare_with_go_to(
        &go,
        &s2.app.reference,
        Some(&elsewhere),
        &["-force", "-previous-image", &s2.app.reference],
        "0.14",
    );
    assert_eq!(r.code, 0, "{out}");

    // no metadata, missing image
    let bare = push_app(
        &format!("{host}/{}:latest", uniq("gobare")),
        &AppSpec {
            label_image: "",
            ..AppSpec::on(&run)
        },
    );
    let (r, _) = compare_with_go(&go, &bare.reference, &[], "0.14");
    assert_eq!(r.code, 72);
    // ... but it still records a topLayer, so -run-image works
    let (r, out) = compare_with_go(
        &go,
        &bare.reference,
        &["-force", "-run-image", &run],
        "0.14",
    );
    assert_eq!(r.code, 0, "{out}");
    // an empty label: no topLayer to split at
    let unlabelled = push_app(
        &format!("{host}/{}:latest", uniq("gonolabel")),
        &AppSpec {
            label_image: "",
            extra_labels: &[("io.buildpacks.lifecycle.metadata", "")],
            ..AppSpec::on(&run)
        },
    );
    let (r, out) = compare_with_go(&go, &unlabelled.reference, &["-run-image", &run], "0.14");
    assert_eq!(r.code, 72, "{out}");
    assert!(out.contains("could not find base layer in image"), "{out}");
    let (r, out) = compare_with_go(
        &go,
        &s.app.reference,
        &["-run-image", &format!("{host}/{}:x", uniq("gonorun"))],
        "0.14",
    );
    assert_eq!(r.code, 1, "{out}");
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("{host}/{}:nope", uniq("gomissing"));
    let g = go_rebaser(&go, dir.path(), &[], &[&missing]);
    let r = rebaser(dir.path(), &[&missing]);
    assert_eq!((r.code, r.stdout), (g.code, g.stdout));
}

/// Docker schema 2 images (skopeo `--format v2s2`), and a new run image on another registry:
/// its layers are streamed across (no mount is possible), the app layers stay as they are.
#[test]
fn docker_schema2_images_and_a_run_image_on_another_registry() {
    set_ctx(Ctx {
        docker: true,
        ..Ctx::default()
    });
    let s = scenario(&[]);
    let (_, before) = manifest(&s.app.reference);
    assert_eq!(
        before["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let other: &'static Registry = Box::leak(Box::new(Registry::start(Default::default())));
    let far = format!("{}/{}:latest", other.host(), s.run_repo);
    let far_manifest = push_run_image(
        &other.host(),
        &format!("{}:latest", s.run_repo),
        &[("/etc/far", "far away")],
        BASE_LABELS_2,
    );
    let far_m: Value = serde_json::from_slice(&far_manifest).unwrap();
    if let Some(go) = go_lifecycle() {
        let (r, out) = compare_with_go(
            &go,
            &s.app.reference,
            &["-force", "-run-image", &far],
            "0.14",
        );
        assert_eq!(r.code, 0, "{out}");
        let (r, out) = compare_with_go(&go, &s.app.reference, &[], "0.14");
        assert_eq!(r.code, 0, "{out}");
    }
    let r = rebaser(
        s.dir.path(),
        &["-force", "-run-image", &far, &s.app.reference],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let (_, after) = manifest(&s.app.reference);
    let mut want = layer_digests(&far_m);
    want.extend(s.app.app_layers.iter().map(|d| d.to_string()));
    assert_eq!(layer_digests(&after), want);
    assert!(
        after["layers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["mediaType"]
                .as_str()
                .unwrap()
                .starts_with("application/vnd.docker.")),
        "{after}"
    );
    // the far layer is now stored in the app's registry
    let far_layer = &layer_digests(&far_m)[0];
    assert!(s.reg.blob_data_path(far_layer).exists());
}

/// A registry with basic auth: credentials come from `CNB_REGISTRY_AUTH`; without them the
/// app image cannot be read.
#[test]
fn reads_and_writes_with_registry_credentials() {
    let reg: &'static Registry = Box::leak(Box::new(common::basic_auth_registry("cnb", "s3cret")));
    set_ctx(Ctx {
        host: reg.host(),
        creds: Some(("cnb".into(), "s3cret".into())),
        ..Ctx::default()
    });
    let s = scenario_on(reg, &[]);
    if let Some(go) = go_lifecycle() {
        let (r, out) = compare_with_go(&go, &s.app.reference, &[], "0.15");
        assert_eq!(r.code, 0, "{out}");
    }
    let report = s.dir.path().join("report.toml");
    let r = rebaser(
        s.dir.path(),
        &["-report", report.to_str().unwrap(), &s.app.reference],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let (raw, _) = manifest(&s.app.reference);
    let rep = std::fs::read_to_string(&report).unwrap();
    assert!(
        rep.contains(&format!("digest = \"{}\"", Digest::of(&raw))),
        "{rep}"
    );

    set_ctx(Ctx::default());
    let r = rebaser(s.dir.path(), &[&s.app.reference]);
    assert_eq!(r.code, 72, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("ERROR: failed to set app image: failed to access image to rebase"),
        "{}",
        r.stdout
    );
    if let Some(go) = go_lifecycle() {
        let g = go_rebaser(&go, s.dir.path(), &[], &[&s.app.reference]);
        eprintln!("go without credentials: {}", g.stdout);
        assert_eq!(g.code, r.code);
    }
}

/// A read-only `docker-registry` serving the storage of another registry (killed on drop).
struct ReadOnlyView {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl ReadOnlyView {
    fn start(storage: &Path) -> ReadOnlyView {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = dir.path().join("config.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  maintenance:\n    uploadpurging:\n      enabled: false\n    readonly:\n      enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: ro\n",
                storage.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let view = ReadOnlyView {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return view;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("read-only registry did not start");
    }
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saving is per name: a name already holding the manifest is left alone (ggcr's existence
/// check), a name that cannot be written is listed with its error, the phase fails with 72 and
/// no report.toml is written.
#[test]
fn a_tag_that_cannot_be_written_fails_the_phase_without_a_report() {
    let s = scenario(&[]);
    let report = s.dir.path().join("report.toml");
    let r = rebaser(
        s.dir.path(),
        &["-report", report.to_str().unwrap(), &s.app.reference],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    std::fs::remove_file(&report).unwrap();
    let (raw, _) = manifest(&s.app.reference);

    let ro = ReadOnlyView::start(&s.reg.storage_dir());
    let ro_host = format!("127.0.0.1:{}", ro.port);
    let same = s.app.reference.replace(&s.host, &ro_host);
    let new_tag = same.replace(":latest", ":new");
    let r = rebaser(
        s.dir.path(),
        &["-report", report.to_str().unwrap(), &same, &new_tag],
    );
    assert_eq!(r.code, 72, "{}", r.stdout);
    let digest = Digest::of(&raw);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], format!("Saving {same}..."));
    assert_eq!(lines[1], format!("*** Images ({digest}):"));
    assert_eq!(lines[2], format!("      {same}"), "{}", r.stdout);
    assert!(
        lines[3].starts_with(&format!("      {new_tag} - PUT http://{ro_host}/v2/"))
            && lines[3].contains("405 Method Not Allowed"),
        "{}",
        r.stdout
    );
    assert!(
        lines[4].starts_with(&format!(
            "ERROR: failed to rebase: failed to write image to the following tags: [{new_tag}: PUT "
        )),
        "{}",
        r.stdout
    );
    assert!(!report.exists());
    if let Some(go) = go_lifecycle() {
        let g = go_rebaser(
            &go,
            s.dir.path(),
            &[],
            &["-report", report.to_str().unwrap(), &same, &new_tag],
        );
        assert_eq!(g.code, 72, "{}", g.stdout);
        let go_lines: Vec<&str> = g.stdout.lines().collect();
        assert_eq!(go_lines[..3], lines[..3]);
        assert!(!report.exists());
    }
}

/// A multi-platform run image (an OCI index): the child for linux/<this machine's arch> is
/// used, and the label's `runImage.reference` names that child's digest (imgutil's identifier).
#[test]
fn a_multi_platform_run_image_resolves_to_this_platform() {
    let s = scenario(&[]);
    let host = &s.host;
    let arch = cnb::files::target::go_arch();
    let other_arch = if arch == "arm64" { "amd64" } else { "arm64" };
    let mine = push_run_image(
        host,
        &format!("{}:mine", s.run_repo),
        &[("/etc/mine", "mine")],
        BASE_LABELS_2,
    );
    // the other platform's image: same labels, config says the other architecture
    let theirs = push_run_image_for(
        other_arch,
        host,
        &format!("{}:theirs", s.run_repo),
        &[("/etc/theirs", "theirs")],
        BASE_LABELS_2,
    );
    let entry = |raw: &[u8], arch: &str| {
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": raw.len(),
            "digest": Digest::of(raw).to_string(),
            "platform": {"architecture": arch, "os": "linux"}
        })
    };
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry(&theirs, other_arch), entry(&mine, arch)]
    }))
    .unwrap();
    let idx_path = s.dir.path().join("index.json");
    std::fs::write(&idx_path, &index).unwrap();
    sh(Command::new("curl").args([
        "-fsS",
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/vnd.oci.image.index.v1+json",
        "--data-binary",
        &format!("@{}", idx_path.display()),
        &format!("http://{host}/v2/{}/manifests/latest", s.run_repo),
    ]));
    if let Some(go) = go_lifecycle() {
        let (r, out) = compare_with_go(&go, &s.app.reference, &[], "0.14");
        assert_eq!(r.code, 0, "{out}");
    }
    let r = rebaser(s.dir.path(), &[&s.app.reference]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let cfg = config(&s.app.reference);
    let md = lifecycle_metadata(&cfg);
    assert_eq!(
        md["runImage"]["reference"],
        format!("{host}/{}@{}", s.run_repo, Digest::of(&mine))
    );
    let (_, m) = manifest(&s.app.reference);
    let mine_m: Value = serde_json::from_slice(&mine).unwrap();
    assert_eq!(layer_digests(&m)[0], layer_digests(&mine_m)[0]);
}

/// A registry with a self-signed certificate is used only when named with
/// `-insecure-registry` (or `CNB_INSECURE_REGISTRIES`), like Go. Go's run image read check
/// ignores those settings, so the run image must then be given with `-run-image`.
#[test]
fn insecure_registries_allow_a_self_signed_registry() {
    let reg: &'static Registry =
        Box::leak(Box::new(Registry::start(cnb::testing::RegistryOptions {
            tls: true,
            ..Default::default()
        })));
    set_ctx(Ctx {
        host: reg.host(),
        tls: true,
        ..Ctx::default()
    });
    let s = scenario_on(reg, &[]);
    let run = format!("{}/{}:latest", s.host, s.run_repo);
    let r = rebaser(s.dir.path(), &[&s.app.reference]);
    assert_eq!(r.code, 72, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("ERROR: failed to set app image: failed to access image to rebase: "),
        "{}",
        r.stdout
    );
    let r = rebaser(
        s.dir.path(),
        &["-insecure-registry", &s.host, &s.app.reference],
    );
    assert_eq!(r.code, 72, "{}", r.stdout);
    assert_eq!(
        r.stdout,
        "ERROR: failed to set app image: failed to find accessible run image\n"
    );
    if let Some(go) = go_lifecycle() {
        let g = go_rebaser(&go, s.dir.path(), &[], &[&s.app.reference]);
        assert_eq!(g.code, 72, "{}", g.stdout);
        let (r, out) = compare_with_go(
            &go,
            &s.app.reference,
            &["-insecure-registry", &s.host],
            "0.14",
        );
        assert_eq!(r.code, 72, "{out}");
        let (r, out) = compare_with_go(
            &go,
            &s.app.reference,
            &["-insecure-registry", &s.host, "-run-image", &run],
            "0.14",
        );
        assert_eq!(r.code, 0, "{out}");
    }
    let r = rebaser(
        s.dir.path(),
        &[
            "-insecure-registry",
            &s.host,
            "-run-image",
            &run,
            &s.app.reference,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let layers = s.dir.path().join("layers");
    let r = run_rebaser(
        Path::new(common::BIN),
        s.dir.path(),
        &[
            ("CNB_PLATFORM_API", "0.13"),
            ("CNB_INSECURE_REGISTRIES", s.host.as_str()),
            ("CNB_RUN_IMAGE", run.as_str()),
            ("CNB_LAYERS_DIR", layers.to_str().unwrap()),
        ],
        &[&s.app.reference],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
}

/// As root, `-uid/-gid` drop privileges after the registry credentials were resolved: the
/// rebase still works and report.toml belongs to that user. Skipped when not root.
#[test]
fn drops_to_the_given_user_before_rebasing() {
    // SAFETY: plain syscall.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: skipping");
        return;
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let s = scenario(&[]);
    let out = s.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::set_permissions(s.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let report = out.join("report.toml");
    let r = rebaser(
        s.dir.path(),
        &[
            "-uid",
            "4321",
            "-gid",
            "4322",
            "-report",
            report.to_str().unwrap(),
            &s.app.reference,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let meta = std::fs::metadata(&report).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
}
