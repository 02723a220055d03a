//! Black-box tests of the exporter phase: the built `lifecycle` binary is run as `exporter`
//! against a real registry (`cnb::testing`, 127.0.0.1 only) with a run image built by umoci
//! and pushed by skopeo. Results are read back with skopeo and umoci (not with our code),
//! except the cache image, which is read with `cnb::cache::ImageCache` (the restorer's reader).

mod common;

use cnb::archive::Owner;
use cnb::digest::Digest;
use cnb::files::metadata::{self as md, Metadata, Process, RawCommand};
use cnb::files::{Analyzed, ImageIdentifier, LayersMetadata, RunImage};
use cnb::layers::{LayerSpec, Slice, diff_id, slice_layers};
use cnb::testing::{
    push_busybox_fixture, shared_registry, skopeo_copy, skopeo_inspect_config, skopeo_inspect_raw,
};
use common::{BIN, strip_ansi};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const UID: u64 = 1234;
const GID: u64 = 2345;
const BP: &str = "example/bp";
const BP_DIR: &str = "example_bp";

struct Work {
    dir: PathBuf,
    run_ref: String,
    run_diff_ids: Vec<String>,
}

impl Work {
    fn p(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
    fn s(&self, rel: &str) -> String {
        self.p(rel).to_string_lossy().into_owned()
    }
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

/// Everything readable and writable by the build user the exporter drops to.
fn chmod_tree(p: &Path) {
    let meta = fs::symlink_metadata(p).expect("stat");
    if meta.file_type().is_symlink() {
        return;
    }
    let mode = if meta.is_dir() { 0o777 } else { 0o666 };
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
    if meta.is_dir() {
        for e in fs::read_dir(p).expect("read dir") {
            chmod_tree(&e.expect("entry").path());
        }
    }
}

/// A work dir with a run image in the registry, a layers dir (launch, launch+cache and
/// cache-only layers, a layer with only a .toml, metadata.toml with processes and slices,
/// store.toml), an app dir and a launcher file.
fn setup(name: &str) -> Work {
    let reg = shared_registry();
    let fixture = push_busybox_fixture(&reg.host(), &format!("{name}-run:latest"));
    let run_ref = format!("{}/{name}-run@{}", reg.host(), fixture.manifest_digest);
    let cfg: Value =
        serde_json::from_slice(&skopeo_inspect_config(&fixture.reference, None)).expect("json");
    let run_diff_ids = cfg["rootfs"]["diff_ids"]
        .as_array()
        .expect("diff_ids")
        .iter()
        .map(|v| v.as_str().expect("str").to_string())
        .collect();
    let dir = tempfile::tempdir().expect("work").keep();
    let w = Work {
        dir,
        run_ref,
        run_diff_ids,
    };
    let bp = w.p(&format!("layers/{BP_DIR}"));
    write(&bp.join("launch-layer/bin/tool"), "tool\n");
    write(
        &bp.join("launch-layer.toml"),
        "[types]\nlaunch = true\n[metadata]\nversion = \"1.2.3\"\n",
    );
    write(&bp.join("both/lib/libx.so"), "libx\n");
    write(
        &bp.join("both.toml"),
        "[types]\nlaunch = true\ncache = true\n",
    );
    write(&bp.join("cacheonly/dl/pkg.tgz"), "pkg\n");
    write(&bp.join("cacheonly.toml"), "[types]\ncache = true\n");
    write(&bp.join("buildonly/x"), "x\n");
    write(&bp.join("buildonly.toml"), "[types]\nbuild = true\n");
    write(&bp.join("store.toml"), "[metadata]\nruns = 1\n");
    write(
        &w.p("layers/sbom/launch/example_bp/sbom.cdx.json"),
        "{\"bomFormat\":\"CycloneDX\"}\n",
    );
    write(
        &w.p("layers/group.toml"),
        "[[group]]\nid = \"example/bp\"\nversion = \"1.0.0\"\napi = \"0.10\"\n",
    );
    let meta = Metadata {
        buildpacks: vec![md::GroupElement {
            id: BP.into(),
            version: "1.0.0".into(),
            api: "0.10".into(),
            ..Default::default()
        }],
        labels: vec![md::Label {
            key: "custom.label".into(),
            value: "custom value".into(),
        }],
        processes: vec![Process {
            kind: "web".into(),
            command: RawCommand::new(vec!["/bin/busybox".into()]),
            args: Some(vec!["httpd".into()]),
            buildpack_id: BP.into(),
            ..Default::default()
        }],
        slices: vec![md::Slice {
            paths: vec!["static".into()],
        }],
        buildpack_default_process_type: "web".into(),
        ..Default::default()
    };
    md::write_metadata(&w.p("layers/config/metadata.toml"), &meta).expect("metadata.toml");
    write(&w.p("workspace/static/site.css"), "body{}\n");
    write(&w.p("workspace/main.txt"), "main\n");
    write(&w.p("launcher"), "#!/bin/sh\necho launcher\n");
    fs::create_dir_all(w.p("cache")).expect("cache dir");
    write(
        &w.p("run.toml"),
        &format!(
            "[[images]]\nimage = \"{}/{name}-run:latest\"\nmirrors = [\"mirror.example/run\"]\n",
            reg.host()
        ),
    );
    let analyzed = Analyzed {
        run_image: Some(RunImage {
            reference: w.run_ref.clone(),
            image: format!("{}/{name}-run:latest", reg.host()),
            ..Default::default()
        }),
        ..Default::default()
    };
    analyzed.write(&w.p("analyzed.toml")).expect("analyzed");
    chmod_tree(&w.dir);
    w
}

struct Outcome {
    code: i32,
    output: String,
}

/// Our exporter at debug level (see [`run_as_exporter`]).
fn exporter(w: &Work, api: &str, extra: &[&str], images: &[&str]) -> Outcome {
    let args = [&["-log-level", "debug"][..], extra].concat();
    run_as_exporter(Path::new(BIN), w, api, &args, images)
}

/// Our exporter at the default (info) level: a layer nothing can reuse is then not hashed
/// before it is written (its diffID comes from the write), unlike at debug level.
fn exporter_info(w: &Work, api: &str, extra: &[&str], images: &[&str]) -> Outcome {
    run_as_exporter(Path::new(BIN), w, api, extra, images)
}

fn owner() -> Owner {
    Owner::new(UID, GID)
}

/// The diffIDs our layer engine computes for the buildpack, SBOM, app and config layers.
struct Expected {
    launch_layer: Digest,
    both: Digest,
    sbom: Digest,
    slices: Vec<Digest>,
    config: Digest,
}

fn expected(w: &Work) -> Expected {
    let bp = w.p(&format!("layers/{BP_DIR}"));
    let d = |p: PathBuf| diff_id(&LayerSpec::dir(p, owner())).expect("diff id");
    let slices = slice_layers(
        &w.p("workspace"),
        &[Slice {
            paths: vec!["static".into()],
        }],
        owner(),
    )
    .expect("slices")
    .iter()
    .map(|s| diff_id(s).expect("diff id"))
    .collect();
    Expected {
        launch_layer: d(bp.join("launch-layer")),
        both: d(bp.join("both")),
        sbom: d(w.p("layers/sbom/launch")),
        slices,
        config: d(w.p("layers/config")),
    }
}

fn blob_uploads(repo: &str) -> usize {
    shared_registry()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains(&format!("/{repo}/blobs/uploads/")))
        .count()
}

fn run_tool(cmd: &mut Command) {
    let out = cmd.output().expect("spawn tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn exports_app_image_then_reuses_every_layer() {
    let w = setup("exp1");
    let host = shared_registry().host();
    let app = format!("{host}/exp1-app:v1");
    let extra_tag = format!("{host}/exp1-app:extra");
    let other_repo = format!("{host}/exp1-other:t");
    // info level: a cold export, every layer's diffID (label, config, cache) from its write
    let out = exporter_info(
        &w,
        "0.15",
        &["-cache-dir", &w.s("cache")],
        &[&app, &extra_tag, &other_repo],
    );
    assert_eq!(out.code, 0, "{}", out.output);
    if std::env::var_os("CNB_EXPORTER_SHOW").is_some() {
        eprintln!("{}", out.output);
    }
    for line in [
        "Adding layer 'example/bp:both'",
        "Adding layer 'example/bp:launch-layer'",
        "Adding layer 'buildpacksio/lifecycle:launch.sbom'",
        "Added 2/2 app layer(s)",
        "Adding layer 'buildpacksio/lifecycle:launcher'",
        "Adding layer 'buildpacksio/lifecycle:config'",
        "Adding layer 'buildpacksio/lifecycle:process-types'",
        "Adding label 'io.buildpacks.lifecycle.metadata'",
        "Adding label 'io.buildpacks.build.metadata'",
        "Adding label 'io.buildpacks.project.metadata'",
        "Adding label 'custom.label'",
        "Adding label 'io.buildpacks.exec-env'",
        "Setting default process type 'web'",
        &format!("Saving {app}..."),
        "Adding cache layer 'example/bp:both'",
        "Adding cache layer 'example/bp:cacheonly'",
    ] {
        assert!(
            out.output.contains(line),
            "missing {line:?} in:\n{}",
            out.output
        );
    }
    assert!(!out.output.contains("buildonly'"), "{}", out.output);

    // report.toml digest = the registry's manifest digest, both names saved
    let raw = skopeo_inspect_raw(&app, None);
    let digest = Digest::of(&raw);
    let report: toml::Table =
        toml::from_str(&fs::read_to_string(w.p("report.toml")).expect("report")).expect("toml");
    assert_eq!(report["image"]["digest"].as_str(), Some(digest.as_str()));
    assert_eq!(
        report["image"]["manifest-size"].as_integer(),
        Some(raw.len() as i64)
    );
    let tags: Vec<&str> = report["image"]["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert_eq!(
        tags,
        [app.as_str(), extra_tag.as_str(), other_repo.as_str()]
    );
    assert!(out.output.contains(&format!("*** Images ({digest}):")));
    assert_eq!(Digest::of(&skopeo_inspect_raw(&extra_tag, None)), digest);
    // the tag in another repository got the blobs too (skopeo copies the whole image)
    assert_eq!(Digest::of(&skopeo_inspect_raw(&other_repo, None)), digest);
    skopeo_copy(
        &format!("docker://{other_repo}"),
        &format!("dir:{}", w.p("other-copy").display()),
        None,
    );

    // layers: run image, buildpack (name order), SBOM, slices, launcher, config, process types
    let cfg: Value = serde_json::from_slice(&skopeo_inspect_config(&app, None)).expect("json");
    let diff_ids: Vec<String> = cfg["rootfs"]["diff_ids"]
        .as_array()
        .expect("diff_ids")
        .iter()
        .map(|v| v.as_str().expect("str").to_string())
        .collect();
    let manifest: Value = serde_json::from_slice(&raw).expect("manifest");
    assert_eq!(
        manifest["layers"].as_array().expect("layers").len(),
        diff_ids.len()
    );
    let e = expected(&w);
    let n = w.run_diff_ids.len();
    assert_eq!(diff_ids.len(), n + 8, "{diff_ids:?}");
    assert_eq!(&diff_ids[..n], &w.run_diff_ids[..]);
    let label: LayersMetadata = LayersMetadata::from_label(
        cfg["config"]["Labels"]["io.buildpacks.lifecycle.metadata"]
            .as_str()
            .expect("label"),
    )
    .expect("label json");
    let want = [
        e.both.to_string(),
        e.launch_layer.to_string(),
        e.sbom.to_string(),
        e.slices[0].to_string(),
        e.slices[1].to_string(),
        label.launcher.sha.clone(),
        e.config.to_string(),
        label.process_types.sha.clone(),
    ];
    assert_eq!(&diff_ids[n..], &want[..]);

    // lifecycle metadata label
    let bp = &label.buildpacks[0];
    assert_eq!((bp.id.as_str(), bp.version.as_str()), (BP, "1.0.0"));
    assert_eq!(
        bp.layers.keys().collect::<Vec<_>>(),
        ["both", "launch-layer"]
    );
    assert_eq!(bp.layers["both"].sha, e.both.to_string());
    assert!(bp.layers["both"].cache && bp.layers["both"].launch);
    assert_eq!(
        bp.layers["launch-layer"]
            .data
            .as_ref()
            .map(|d| d["version"].as_str() == Some("1.2.3")),
        Some(true)
    );
    assert!(bp.store.is_some());
    assert_eq!(label.app.len(), 2);
    assert_eq!(label.config.sha, e.config.to_string());
    assert_eq!(
        label.sbom.as_ref().map(|s| s.sha.clone()),
        Some(e.sbom.to_string())
    );
    assert_eq!(label.run_image.reference, w.run_ref);
    assert_eq!(label.run_image.top_layer, w.run_diff_ids[n - 1]);
    assert_eq!(label.run_image.mirrors, ["mirror.example/run"]);
    assert_eq!(
        label.stack.as_ref().map(|s| s.run_image.image.clone()),
        Some(format!("{host}/exp1-run:latest"))
    );

    // other labels and config
    let labels = &cfg["config"]["Labels"];
    let build: Value = serde_json::from_str(
        labels["io.buildpacks.build.metadata"]
            .as_str()
            .expect("build"),
    )
    .expect("json");
    assert_eq!(build["processes"][0]["type"], "web");
    assert_eq!(build["processes"][0]["command"][0], "/bin/busybox");
    assert_eq!(build["buildpack-default-process-type"], "web");
    assert_eq!(build["buildpacks"][0]["id"], BP);
    assert!(labels["io.buildpacks.project.metadata"].is_string());
    assert_eq!(labels["custom.label"], "custom value");
    assert_eq!(labels["io.buildpacks.exec-env"], "production");
    let env: Vec<&str> = cfg["config"]["Env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for want in [
        format!("CNB_LAYERS_DIR={}", w.s("layers")),
        format!("CNB_APP_DIR={}", w.s("workspace")),
        "CNB_PLATFORM_API=0.15".into(),
        "CNB_DEPRECATION_MODE=quiet".into(),
    ] {
        assert!(env.contains(&want.as_str()), "{want} not in {env:?}");
    }
    assert!(
        env.iter()
            .any(|e| e.starts_with("PATH=/cnb/process:/cnb/lifecycle:")),
        "{env:?}"
    );
    assert_eq!(cfg["config"]["Entrypoint"][0], "/cnb/process/web");
    assert!(cfg["config"]["Cmd"].is_null());
    assert_eq!(cfg["config"]["WorkingDir"], w.s("workspace").as_str());
    assert_eq!(cfg["created"], "1980-01-01T00:00:01Z");
    let history = cfg["history"].as_array().expect("history");
    assert_eq!(history.len(), diff_ids.len());
    assert_eq!(
        history[n]["created_by"],
        "Layer: 'both', Created by buildpack: example/bp@1.0.0"
    );
    assert_eq!(history[n + 3]["created_by"], "Application Slice: 1");
    assert_eq!(
        history[n + 5]["created_by"],
        "Buildpacks Application Launcher"
    );

    // files at the right paths with the right owners: skopeo copies the image to a `dir:`
    // and GNU tar extracts its layers in order, as root keeping owners. (umoci refuses the
    // image: like Go's, its OCI manifest lists Docker-typed layers, imgutil's default.)
    let copy = w.p("copy");
    skopeo_copy(
        &format!("docker://{app}"),
        &format!("dir:{}", copy.display()),
        None,
    );
    let bundle = w.p("bundle");
    fs::create_dir_all(bundle.join("rootfs")).expect("rootfs");
    // (the run image's umoci-made busybox layer is left out: GNU tar finds it truncated)
    for l in &manifest["layers"].as_array().expect("layers")[n..] {
        let d = l["digest"].as_str().expect("digest");
        let blob = copy.join(d.trim_start_matches("sha256:"));
        run_tool(
            Command::new("tar")
                .args(["-xzf", &blob.to_string_lossy()])
                .args(["--same-owner", "--numeric-owner", "-C"])
                .arg(bundle.join("rootfs")),
        );
    }
    let root = bundle.join("rootfs");
    let inside = |p: &Path| root.join(p.strip_prefix("/").expect("absolute"));
    let tool = inside(&w.p(&format!("layers/{BP_DIR}/launch-layer/bin/tool")));
    let meta = fs::metadata(&tool).expect("tool in image");
    assert_eq!((meta.uid() as u64, meta.gid() as u64), (UID, GID));
    let app_file = inside(&w.p("workspace/static/site.css"));
    assert_eq!(fs::read_to_string(&app_file).expect("app file"), "body{}\n");
    assert_eq!(fs::metadata(&app_file).expect("meta").uid() as u64, UID);
    assert!(!inside(&w.p(&format!("layers/{BP_DIR}/cacheonly"))).exists());
    let launcher = root.join("cnb/lifecycle/launcher");
    assert_eq!(
        fs::read_to_string(&launcher).expect("launcher"),
        "#!/bin/sh\necho launcher\n"
    );
    let lm = fs::metadata(&launcher).expect("launcher meta");
    assert_eq!((lm.uid(), lm.mode() & 0o7777), (0, 0o755));
    assert_eq!(
        fs::read_link(root.join("cnb/process/web")).expect("symlink"),
        Path::new("/cnb/lifecycle/launcher")
    );
    assert!(inside(&w.p("layers/config/metadata.toml")).is_file());

    // second export with the previous image: every layer reused, no blob uploaded
    let mut analyzed = Analyzed::read(&w.p("analyzed.toml")).expect("analyzed");
    analyzed.previous_image = Some(ImageIdentifier::new(format!("{host}/exp1-app@{digest}")));
    analyzed.layers_metadata = label.clone();
    analyzed
        .write(&w.p("analyzed.toml"))
        .expect("write analyzed");
    let before = blob_uploads("exp1-app");
    let out2 = exporter(&w, "0.15", &["-cache-dir", &w.s("cache")], &[&app]);
    assert_eq!(out2.code, 0, "{}", out2.output);
    assert_eq!(blob_uploads("exp1-app"), before, "{}", out2.output);
    for line in [
        "Reusing layer 'example/bp:both'",
        "Reusing layer 'example/bp:launch-layer'",
        "Reusing layer 'buildpacksio/lifecycle:launch.sbom'",
        "Reused 2/2 app layer(s)",
        "Reusing layer 'buildpacksio/lifecycle:launcher'",
        "Reusing layer 'buildpacksio/lifecycle:config'",
        "Reusing layer 'buildpacksio/lifecycle:process-types'",
        "Reusing cache layer 'example/bp:both'",
        "Reusing cache layer 'example/bp:cacheonly'",
    ] {
        assert!(
            out2.output.contains(line),
            "missing {line:?} in:\n{}",
            out2.output
        );
    }
    assert!(!out2.output.contains("Adding layer"), "{}", out2.output);
    let cfg2: Value = serde_json::from_slice(&skopeo_inspect_config(&app, None)).expect("json");
    assert_eq!(cfg2["rootfs"], cfg["rootfs"]);
    assert_eq!(cfg2, cfg, "same inputs, same config");
}

#[test]
fn launch_layer_with_only_toml_is_reused_or_fails_like_go() {
    let w = setup("exp2");
    let host = shared_registry().host();
    let bp = w.p(&format!("layers/{BP_DIR}"));
    fs::remove_dir_all(bp.join("launch-layer")).expect("rm");
    let out = exporter(&w, "0.14", &[], &[&format!("{host}/exp2-app")]);
    assert_eq!(out.code, 62, "{}", out.output);
    assert!(
        out.output.contains(
            "failed to export: cannot reuse 'example/bp:launch-layer', previous image has no metadata for layer 'example/bp:launch-layer'"
        ),
        "{}",
        out.output
    );
    assert!(!w.p("report.toml").exists());

    // with metadata for it but a previous image without that layer: Go's imgutil error
    let sha = format!("sha256:{}", "ab".repeat(32));
    let label = format!(
        r#"{{"buildpacks":[{{"key":"{BP}","version":"1.0.0","layers":{{"launch-layer":{{"sha":"{sha}","data":null,"build":false,"launch":true,"cache":false}}}}}}]}}"#
    );
    let mut analyzed = Analyzed::read(&w.p("analyzed.toml")).expect("analyzed");
    analyzed.previous_image = Some(ImageIdentifier::new(w.run_ref.clone()));
    analyzed.layers_metadata = LayersMetadata::from_label(&label).expect("label");
    analyzed.write(&w.p("analyzed.toml")).expect("write");
    let out = exporter(&w, "0.14", &[], &[&format!("{host}/exp2-app")]);
    assert_eq!(out.code, 62, "{}", out.output);
    assert!(
        out.output
            .contains("Reusing layer 'example/bp:launch-layer'"),
        "{}",
        out.output
    );
    assert!(
        out.output.contains(&format!(
            "failed to export: failed to get layer by diffID: unknown diffID {sha}"
        )),
        "{}",
        out.output
    );
}

#[test]
fn cache_image_is_written_and_readable_by_image_cache() {
    use cnb::cache::registry_backend::RegistryCacheBackend;
    use cnb::cache::{Cache, CacheCompression, ImageCache};
    let w = setup("exp3");
    let host = shared_registry().host();
    let cache_ref = format!("{host}/exp3-cache:latest");
    // Platform API 0.12: the previous cache image is deleted when a different one is pushed
    // info level: no layer hashed first; the cache mounts the app's blob with the diffID the
    // app side found while writing it
    let out = exporter_info(
        &w,
        "0.12",
        &["-cache-image", &cache_ref],
        &[&format!("{host}/exp3-app")],
    );
    assert_eq!(out.code, 0, "{}", out.output);
    assert!(
        !out.output.contains("Failed to export cache"),
        "{}",
        out.output
    );
    let e = expected(&w);
    let cacheonly = diff_id(&LayerSpec::dir(
        w.p(&format!("layers/{BP_DIR}/cacheonly")),
        owner(),
    ))
    .expect("diff id");
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let store = cnb::registry::RemoteStore::new(cnb::registry::Client::new(
        cnb::registry::ClientOptions::default(),
    ));
    let backend = rt
        .block_on(RegistryCacheBackend::open(store, &cache_ref))
        .expect("open cache image");
    let spool = tempfile::tempdir().expect("spool");
    let _guard = rt.enter();
    let cache =
        ImageCache::new(backend, CacheCompression::default(), spool.path(), false).expect("cache");
    assert!(cache.exists());
    let metadata = cnb::files::CacheMetadata::from_json(
        &cache.metadata_bytes().expect("metadata").expect("some"),
    )
    .expect("json");
    let bp = metadata.for_buildpack(BP).expect("bp");
    assert_eq!(bp.layers.keys().collect::<Vec<_>>(), ["both", "cacheonly"]);
    assert_eq!(bp.layers["both"].sha, e.both.to_string());
    assert_eq!(bp.layers["cacheonly"].sha, cacheonly.to_string());
    let mut tar = Vec::new();
    std::io::Read::read_to_end(
        &mut cache.retrieve_layer_checked(&cacheonly).expect("layer"),
        &mut tar,
    )
    .expect("read layer");
    assert_eq!(Digest::of(&tar), cacheonly);
    // The launch+cache layer was compressed and uploaded once: the cache image's layer is the
    // app image's blob, mounted across repositories, and restores to the same tar.
    let mut tar = Vec::new();
    std::io::Read::read_to_end(
        &mut cache.retrieve_layer_checked(&e.both).expect("both layer"),
        &mut tar,
    )
    .expect("read both layer");
    assert_eq!(Digest::of(&tar), e.both);
    drop(cache);
    drop(_guard);
    let cache_manifest: serde_json::Value =
        serde_json::from_slice(&cnb::testing::skopeo_inspect_raw(&cache_ref, None))
            .expect("cache manifest");
    let app_manifest: serde_json::Value = serde_json::from_slice(
        &cnb::testing::skopeo_inspect_raw(&format!("{host}/exp3-app"), None),
    )
    .expect("app manifest");
    let digests = |m: &serde_json::Value| -> Vec<String> {
        m["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .map(|l| l["digest"].as_str().expect("digest").to_string())
            .collect()
    };
    // Go's order (layers by name), though the cache-only layer was written first while the
    // launch+cache one waited for the app image's blob
    let cache_config: serde_json::Value =
        serde_json::from_slice(&cnb::testing::skopeo_inspect_config(&cache_ref, None))
            .expect("cache config");
    assert_eq!(
        cache_config["rootfs"]["diff_ids"],
        serde_json::json!([e.both.to_string(), cacheonly.to_string()]),
        "cache image layers in Go order"
    );
    let shared: Vec<String> = digests(&cache_manifest)
        .into_iter()
        .filter(|d| digests(&app_manifest).contains(d))
        .collect();
    assert_eq!(
        shared.len(),
        1,
        "the launch+cache layer's blob is in both images"
    );
    let mounted = shared_registry().requests().iter().any(|r| {
        r.method == "POST"
            && r.status == 201
            && r.path.starts_with("/v2/exp3-cache/blobs/uploads/")
            && r.path.contains(&format!("mount={}", shared[0]))
            && r.path.contains("from=exp3-app")
    });
    assert!(
        mounted,
        "mounted from the app repository, not uploaded again"
    );

    // a second export (-parallel): every cache layer reused, nothing uploaded to the cache
    // repository
    // (info level: the cache's layers are hashed first, the app-only ones are not)
    let before = blob_uploads("exp3-cache");
    let out = exporter_info(
        &w,
        "0.13",
        &["-cache-image", &cache_ref, "-parallel"],
        &[&format!("{host}/exp3-app")],
    );
    assert_eq!(out.code, 0, "{}", out.output);
    for line in [
        "Reusing cache layer 'example/bp:both'",
        "Reusing cache layer 'example/bp:cacheonly'",
    ] {
        assert!(
            out.output.contains(line),
            "missing {line:?} in:\n{}",
            out.output
        );
    }
    assert!(
        !out.output.contains("Failed to export cache"),
        "{}",
        out.output
    );
    let reqs: Vec<String> = shared_registry()
        .requests()
        .iter()
        .filter(|r| r.path.contains("/exp3-cache/"))
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect();
    assert_eq!(
        blob_uploads("exp3-cache"),
        before,
        "{}\n{reqs:#?}",
        out.output
    );
}

/// The Go reference `lifecycle` named by `CNB_GO_LIFECYCLE`, if any.
fn go_lifecycle() -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os("CNB_GO_LIFECYCLE")?);
    p.is_file().then_some(p)
}

fn run_as_exporter(binary: &Path, w: &Work, api: &str, extra: &[&str], images: &[&str]) -> Outcome {
    let mut c = Command::new(binary);
    c.arg0("exporter").env_clear();
    c.env("PATH", "/usr/bin:/bin")
        .env("HOME", w.p("home"))
        .env("CNB_PLATFORM_API", api)
        .env("CNB_NO_COLOR", "true");
    if binary == Path::new(BIN) {
        // Layers stream from their files into uploads, the cache image's too: our exporter
        // needs no temporary file at all, so it runs with no usable TMPDIR (Go's writes
        // every layer to one).
        c.env("TMPDIR", "/nonexistent/exporter-writes-no-temp-files");
    }
    c.args(["-layers", &w.s("layers")])
        .args(["-app", &w.s("workspace")])
        .args(["-group", &w.s("layers/group.toml")])
        .args(["-analyzed", &w.s("analyzed.toml")])
        .args(["-launcher", &w.s("launcher")])
        .args(["-run", &w.s("run.toml")])
        .args(["-report", &w.s("report.toml")])
        .args(["-uid", &UID.to_string(), "-gid", &GID.to_string()]);
    c.args(extra).args(images);
    let out = c.output().expect("spawn exporter");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        output: strip_ansi(&format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// Debug output without what legitimately differs between runs and implementations.
fn norm_debug(out: &str, app: &str) -> String {
    out.lines()
        .map(|l| {
            let l = l.replace(app, "<app>");
            let l = match (l.find(" started at "), l.find(" ran for ")) {
                (Some(i), _) if l.starts_with("Timer: ") => format!("{} started", &l[..i]),
                (_, Some(i)) if l.starts_with("Timer: ") => format!("{} ran", &l[..i]),
                _ => l,
            };
            let mut s = String::new();
            let mut rest = l.as_str();
            while let Some(i) = rest.find("sha256:") {
                s.push_str(&rest[..i]);
                s.push_str("<sha>");
                let after = &rest[i + 7..];
                let hex = after.chars().take_while(char::is_ascii_hexdigit).count();
                rest = &after[hex..];
            }
            s.push_str(rest);
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// With `CNB_GO_LIFECYCLE`: the Go exporter and ours on the same inputs and registry give the
/// same diffIDs, the same labels (but the build label's `launcher` version/source), the same
/// config otherwise, and the same manifest but for the compressed layer digests and sizes of
/// the layers each of them compressed (different gzip implementations, by design).
#[test]
fn same_image_as_go_on_the_same_inputs() {
    let Some(go) = go_lifecycle() else {
        eprintln!("skipped: CNB_GO_LIFECYCLE not set");
        return;
    };
    let w = setup("exp4");
    let host = shared_registry().host();
    let go_app = format!("{host}/exp4-go:v1");
    let our_app = format!("{host}/exp4-ours:v1");
    fs::create_dir_all(w.p("go-cache")).expect("mkdir");
    fs::create_dir_all(w.p("our-cache")).expect("mkdir");
    let g = run_as_exporter(
        &go,
        &w,
        "0.15",
        &["-cache-dir", &w.s("go-cache")],
        &[&go_app],
    );
    assert_eq!(g.code, 0, "go: {}", g.output);
    let o = run_as_exporter(
        Path::new(BIN),
        &w,
        "0.15",
        &["-cache-dir", &w.s("our-cache")],
        &[&our_app],
    );
    assert_eq!(o.code, 0, "ours: {}", o.output);
    if std::env::var_os("CNB_EXPORTER_SHOW").is_some() {
        eprintln!("=== go\n{}\n=== ours\n{}", g.output, o.output);
    }
    // the whole info-level output, but for the image names and the manifest digest
    let norm = |out: &str, name: &str| -> String {
        out.lines()
            .map(|l| {
                if l.starts_with("*** Images (") {
                    "*** Images (<digest>):".to_string()
                } else {
                    l.replace(name, "<app>")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(norm(&g.output, &go_app), norm(&o.output, &our_app));
    let cfg = |r: &str| -> Value {
        serde_json::from_slice(&skopeo_inspect_config(r, None)).expect("json")
    };
    // nothing to reuse at info level: ours hashed no layer first, Go did; same label, diffIDs
    let (gc, oc) = (cfg(&go_app), cfg(&our_app));
    assert_eq!(gc["rootfs"], oc["rootfs"], "diffIDs of the cold export");
    let label = "io.buildpacks.lifecycle.metadata";
    assert_eq!(
        gc["config"]["Labels"][label], oc["config"]["Labels"][label],
        "label of the cold export"
    );
    // the volume caches: same metadata file, same layer files
    let cache_files = |dir: &str| -> (Vec<u8>, Vec<String>) {
        let committed = w.p(dir).join("committed");
        let meta = fs::read(committed.join("io.buildpacks.lifecycle.cache.metadata")).expect("md");
        let mut names: Vec<String> = fs::read_dir(&committed)
            .expect("committed")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        (meta, names)
    };
    assert_eq!(cache_files("go-cache"), cache_files("our-cache"));
    // a second export with each one's image as the previous image: same reuse decisions
    let digest_of = |r: &str| Digest::of(&skopeo_inspect_raw(r, None));
    let second = |binary: &Path, app: &str, repo: &str, cache: &str| -> Outcome {
        let label = serde_json::from_slice::<Value>(&skopeo_inspect_config(app, None))
            .expect("json")["config"]["Labels"]["io.buildpacks.lifecycle.metadata"]
            .as_str()
            .expect("label")
            .to_string();
        let mut analyzed = Analyzed::read(&w.p("analyzed.toml")).expect("analyzed");
        analyzed.previous_image = Some(ImageIdentifier::new(format!(
            "{host}/{repo}@{}",
            digest_of(app)
        )));
        analyzed.layers_metadata = LayersMetadata::from_label(&label).expect("label");
        analyzed.write(&w.p("analyzed.toml")).expect("write");
        let out = run_as_exporter(binary, &w, "0.15", &["-cache-dir", &w.s(cache)], &[app]);
        assert_eq!(out.code, 0, "{}", out.output);
        out
    };
    let g2 = second(&go, &go_app, "exp4-go", "go-cache");
    let o2 = second(Path::new(BIN), &our_app, "exp4-ours", "our-cache");
    let norm2 = |out: &str, app: &str, repo: &str| {
        norm(out, app).replace(&format!("{host}/{repo}@{}", digest_of(app)), "<previous>")
    };
    assert_eq!(
        norm2(&g2.output, &go_app, "exp4-go"),
        norm2(&o2.output, &our_app, "exp4-ours")
    );
    assert_eq!(cache_files("go-cache"), cache_files("our-cache"));
    // debug level too (a third export of each, no cache): the same lines but for times,
    // durations and digests (diffIDs are compared below through the configs)
    let gd = run_as_exporter(&go, &w, "0.15", &["-log-level", "debug"], &[&go_app]);
    let od = run_as_exporter(
        Path::new(BIN),
        &w,
        "0.15",
        &["-log-level", "debug"],
        &[&our_app],
    );
    assert_eq!(
        norm_debug(&gd.output, &go_app),
        norm_debug(&od.output, &our_app)
    );
    let (mut gc, mut oc) = (cfg(&go_app), cfg(&our_app));
    assert_eq!(gc["rootfs"], oc["rootfs"], "diffIDs");
    for k in [
        "io.buildpacks.lifecycle.metadata",
        "io.buildpacks.project.metadata",
        "custom.label",
        "io.buildpacks.exec-env",
    ] {
        assert_eq!(
            gc["config"]["Labels"][k], oc["config"]["Labels"][k],
            "label {k}"
        );
    }
    let build = |c: &Value| -> Value {
        let mut v: Value = serde_json::from_str(
            c["config"]["Labels"]["io.buildpacks.build.metadata"]
                .as_str()
                .expect("label"),
        )
        .expect("json");
        v["launcher"] = Value::Null;
        v
    };
    assert_eq!(build(&gc), build(&oc), "build label but launcher");
    for c in [&mut gc, &mut oc] {
        c["config"]["Labels"]["io.buildpacks.build.metadata"] = Value::Null;
    }
    assert_eq!(gc, oc, "config but the build label");
    let manifest =
        |r: &str| -> Value { serde_json::from_slice(&skopeo_inspect_raw(r, None)).expect("json") };
    let (gm, om) = (manifest(&go_app), manifest(&our_app));
    assert_eq!(gm["mediaType"], om["mediaType"]);
    assert_eq!(gm["annotations"], om["annotations"]);
    assert_eq!(gm["config"]["mediaType"], om["config"]["mediaType"]);
    let n = w.run_diff_ids.len();
    let (gl, ol) = (
        gm["layers"].as_array().expect("l"),
        om["layers"].as_array().expect("l"),
    );
    assert_eq!(gl.len(), ol.len());
    assert_eq!(gl[..n], ol[..n], "run image layers");
    for (a, b) in gl.iter().zip(ol) {
        assert_eq!(a["mediaType"], b["mediaType"]);
    }
}

/// `-layout`: the run image is read from and the app image written to OCI layouts under
/// `-layout-dir` (Go's reference → path mapping); skopeo reads the result.
#[test]
fn exports_to_an_oci_layout() {
    let w = setup("exp5");
    let host = shared_registry().host();
    // lowercase only: the run image's `<path>@<digest>` must parse as a reference, as in Go
    let layouts = std::env::temp_dir().join(format!("cnb-exp5-layout-{}", std::process::id()));
    let _ = fs::remove_dir_all(&layouts);
    let run_path = layouts.join("index.docker.io/library/exp5-run/latest");
    fs::create_dir_all(run_path.parent().expect("parent")).expect("mkdir");
    skopeo_copy(
        &format!("docker://{host}/exp5-run:latest"),
        &format!("oci:{}", run_path.display()),
        None,
    );
    let index: Value =
        serde_json::from_slice(&fs::read(run_path.join("index.json")).expect("index")).expect("j");
    let run_digest = index["manifests"][0]["digest"]
        .as_str()
        .expect("digest")
        .to_string();
    let analyzed = Analyzed {
        run_image: Some(RunImage {
            reference: format!("{}@{run_digest}", run_path.display()),
            image: "exp5-run".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    analyzed.write(&w.p("analyzed.toml")).expect("analyzed");
    fs::write(w.p("run.toml"), "[[images]]\nimage = \"exp5-run\"\n").expect("run.toml");
    chmod_tree(&w.dir);
    chmod_tree(&layouts);
    let run = |binary: &Path, app: &str| {
        let mut c = Command::new(binary);
        c.arg0("exporter").env_clear();
        c.env("PATH", "/usr/bin:/bin")
            .env("HOME", w.p("home"))
            .env("CNB_PLATFORM_API", "0.13")
            .env("CNB_EXPERIMENTAL_MODE", "warn")
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env("CNB_NO_COLOR", "true");
        c.args(["-layers", &w.s("layers")])
            .args(["-app", &w.s("workspace")])
            .args(["-group", &w.s("layers/group.toml")])
            .args(["-analyzed", &w.s("analyzed.toml")])
            .args(["-launcher", &w.s("launcher")])
            .args(["-run", &w.s("run.toml")])
            .args(["-report", &w.s("report.toml")])
            .args(["-layout", "-layout-dir", &layouts.to_string_lossy()])
            .args(["-uid", &UID.to_string(), "-gid", &GID.to_string()])
            .arg(app);
        c.output().expect("spawn")
    };
    let inspect_config = |path: &Path| -> Value {
        let mut c = cnb::testing::skopeo();
        let o = c
            .args(["inspect", "--config", "--raw"])
            .arg(format!("oci:{}", path.display()))
            .output()
            .expect("skopeo");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).expect("json")
    };
    // With CNB_GO_LIFECYCLE: Go's layout export of the same inputs, to compare below.
    let go_cfg = go_lifecycle().map(|go| {
        let out = run(&go, "exp5-go");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let mut cfg = inspect_config(&layouts.join("index.docker.io/library/exp5-go/latest"));
        cfg["config"]["Labels"]["io.buildpacks.build.metadata"] = Value::Null;
        (cfg, String::from_utf8_lossy(&out.stdout).into_owned())
    });
    let out = run(Path::new(BIN), "exp5-app");
    let out_stdout = strip_ansi(&String::from_utf8_lossy(&out.stdout));
    let output = strip_ansi(&format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    assert_eq!(out.status.code(), Some(0), "{output}");
    let app_path = layouts.join("index.docker.io/library/exp5-app/latest");
    assert!(
        output.contains(&format!("Using app image: {}", app_path.display())),
        "{output}"
    );
    assert!(
        output.contains(&format!("Saving {}...", app_path.display())),
        "{output}"
    );
    let cfg = inspect_config(&app_path);
    if let Some((mut go_cfg, go_out)) = go_cfg {
        let mut ours = cfg.clone();
        ours["config"]["Labels"]["io.buildpacks.build.metadata"] = Value::Null;
        go_cfg["config"]["Labels"]["io.buildpacks.build.metadata"] = Value::Null;
        assert_eq!(go_cfg, ours, "layout config as Go's but the build label");
        let norm = |o: &str, name: &str| {
            o.lines()
                .filter(|l| !l.starts_with("*** Images ("))
                .map(|l| l.replace(name, "<app>"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(norm(&go_out, "exp5-go"), norm(&out_stdout, "exp5-app"));
    }
    let diff_ids = cfg["rootfs"]["diff_ids"].as_array().expect("diff_ids");
    let n = w.run_diff_ids.len();
    assert_eq!(diff_ids.len(), n + 8);
    assert_eq!(cfg["created"], "2023-11-14T22:13:20Z", "SOURCE_DATE_EPOCH");
    assert!(
        cfg["history"]
            .as_array()
            .expect("history")
            .iter()
            .all(|h| h["created"] == "2023-11-14T22:13:20Z")
    );
    assert_eq!(diff_ids[n + 1], expected(&w).launch_layer.to_string());
    let label = LayersMetadata::from_label(
        cfg["config"]["Labels"]["io.buildpacks.lifecycle.metadata"]
            .as_str()
            .expect("label"),
    )
    .expect("json");
    // As Go: the digest of an *empty* linux/amd64 image, not the run image's (Go's layout
    // exporter opens the run image path without a base image); see appimage.rs.
    assert_eq!(
        label.run_image.reference,
        format!(
            "{}@sha256:9bff545fd88403019875bc484da593c84761e6c89bae9058b76d1054d54548d0",
            run_path.display()
        )
    );
    let index: Value =
        serde_json::from_slice(&fs::read(app_path.join("index.json")).expect("index")).expect("j");
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    let report: toml::Table =
        toml::from_str(&fs::read_to_string(w.p("report.toml")).expect("report")).expect("toml");
    assert!(report["image"].get("digest").is_none());
    assert!(report["image"]["manifest-size"].as_integer().is_some());
    let _ = fs::remove_dir_all(&layouts);
}
