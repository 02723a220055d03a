//! Integration tests of `cnb::image`: golden bytes against go-containerregistry, unknown-field
//! round trips, platform selection, the `-layout-dir` mapping, and OCI layouts cross-checked
//! with umoci and skopeo (installed Debian packages).

use cnb::digest::Digest;
use cnb::image::config::rfc3339_utc;
use cnb::image::layout::{Layout, LayoutStore, ref_to_path};
use cnb::image::store::read_image;
use cnb::image::{
    BlobSource, Descriptor, HealthConfig, History, Image, ImageConfig, ImageStore, Index, Manifest,
    MediaType, MemoryStore, Platform, RawConfig, RawManifest, select_manifest,
};
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/image")
        .join(rel)
}

fn golden(rel: &str) -> Vec<u8> {
    fs::read(testdata(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The image the ggcr golden program built (see testdata/image/README.md).
fn golden_image(manifest_type: MediaType) -> Image {
    let oci = manifest_type == MediaType::OCI_MANIFEST;
    let mut img = Image::empty(manifest_type);
    let c = img.config_mut();
    c.architecture = "amd64".into();
    c.os = "linux".into();
    c.created = Some(rfc3339_utc(1_767_323_045));
    c.history.push(History {
        created: Some("1980-01-01T00:00:01Z".into()),
        created_by: "/bin/sh -c #(nop) ENV X=1".into(),
        comment: "base".into(),
        empty_layer: true,
        ..Default::default()
    });
    img.set_user("1000:1000");
    img.set_env("PATH", "/cnb/process:/cnb/lifecycle:/usr/bin");
    img.set_env("CNB_LAYERS_DIR", "/layers");
    img.set_entrypoint(s(&["/cnb/process/web"]));
    img.set_working_dir("/workspace");
    img.set_label(
        "io.buildpacks.lifecycle.metadata",
        r#"{"app":[{"sha":"<x>&y"}]}"#,
    );
    img.set_label("a.b", "line\u{2028}sep\ttab\u{1}");
    let cc = img.container_config_mut();
    cc.exposed_ports.insert("8080/tcp".into());
    cc.exposed_ports.insert("53/udp".into());
    cc.volumes.insert("/data".into());
    cc.stop_signal = "SIGTERM".into();
    cc.healthcheck = Some(HealthConfig {
        test: s(&["CMD", "true"]),
        interval: 30_000_000_000,
        retries: 3,
        ..Default::default()
    });

    let l1 = Descriptor::new(
        MediaType::DOCKER_LAYER_GZIP,
        Digest::of(b"layer-1-compressed"),
        1234,
    );
    img.append_layer(
        l1,
        Digest::of(b"layer-1-tar"),
        History {
            created: Some("1980-01-01T00:00:01Z".into()),
            created_by: "Layer: 'samples/java:jdk', Created by buildpack: samples/java@0.0.1"
                .into(),
            ..Default::default()
        },
    );
    let mut l2 = Descriptor::new(MediaType::OCI_LAYER_TAR, Digest::of(b"layer-2-tar"), 2048);
    l2.annotations.insert("org.example".into(), "v".into());
    l2.urls.push("https://example.com/l2".into());
    img.append_layer(l2, Digest::of(b"layer-2-tar"), History::default());
    if oci {
        img.set_annotation("org.opencontainers.image.ref.name", "latest");
    }
    img
}

#[test]
fn config_and_manifest_bytes_match_ggcr() {
    for (name, mt, digest) in [
        (
            "docker",
            MediaType::DOCKER_MANIFEST,
            "sha256:c896f8dd0f0874598603fed09c678ca1a539635584ee62ba53605c8dbfe40c2a",
        ),
        (
            "oci",
            MediaType::OCI_MANIFEST,
            "sha256:134c20a742b54db2496584d5598b0ac7421d2c73b572ce407564585168740739",
        ),
    ] {
        let built = golden_image(mt.clone()).build().unwrap();
        assert_eq!(
            String::from_utf8_lossy(built.config.bytes()),
            String::from_utf8_lossy(&golden(&format!("ggcr/{name}-config.json"))),
            "{name} config"
        );
        assert_eq!(
            String::from_utf8_lossy(built.manifest.bytes()),
            String::from_utf8_lossy(&golden(&format!("ggcr/{name}-manifest.json"))),
            "{name} manifest"
        );
        assert_eq!(built.manifest.digest().as_str(), digest);
        assert_eq!(built.manifest.media_type(), &mt);
        // Deterministic: building again gives the same bytes.
        assert_eq!(golden_image(mt).build().unwrap(), built);
    }
}

#[test]
fn ggcr_files_reserialize_byte_for_byte() {
    for name in ["docker", "oci"] {
        let cfg = RawConfig::new(golden(&format!("ggcr/{name}-config.json")));
        let again = RawConfig::from_config(&cfg.parse().unwrap()).unwrap();
        assert_eq!(again.bytes(), cfg.bytes(), "{name} config");
        let raw = RawManifest::new(golden(&format!("ggcr/{name}-manifest.json")), None);
        let again = RawManifest::from_manifest(&raw.manifest().unwrap()).unwrap();
        assert_eq!(again.bytes(), raw.bytes(), "{name} manifest");
        assert_eq!(again.digest(), raw.digest());
    }
}

#[test]
fn layout_files_match_ggcr() {
    let dir = tempfile::tempdir().unwrap();
    let raw = RawManifest::new(golden("ggcr/oci-manifest.json"), None);
    assert_eq!(raw.media_type(), &MediaType::OCI_MANIFEST);
    let layout = Layout::create(dir.path().join("img")).unwrap();
    layout.set_image(&raw, Some("latest")).unwrap();
    assert_eq!(
        fs::read(layout.root().join("index.json")).unwrap(),
        golden("ggcr/layout-index.json")
    );
    assert_eq!(
        fs::read(layout.root().join("oci-layout")).unwrap(),
        golden("ggcr/layout-oci-layout")
    );
    assert_eq!(
        layout.read_blob(raw.digest()).unwrap(),
        raw.bytes().to_vec()
    );
}

const DOCKER_BUILT_CONFIG: &str = r#"{"architecture":"amd64","config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/bin"],"Cmd":null,"Healthcheck":{"Test":["CMD","true"],"StartInterval":5000000000},"ArgsEscaped":true,"Image":"sha256:aa","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":["RUN x"],"Labels":{"b":"2","a":"1"},"Shell":["/bin/bash","-c"],"Memory":0},"container":"abc","container_config":{"Hostname":"abc","Cmd":["/bin/sh"]},"created":"2024-05-06T07:08:09.123456789Z","docker_version":"24.0.7","history":[{"created":"2024-05-06T07:08:09Z","created_by":"/bin/sh -c #(nop) ADD file","x-extra":[1,2]}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"],"x-rootfs":true},"moby.buildkit.buildinfo.v1":"e30="}"#;

#[test]
fn unknown_fields_survive_read_modify_write() {
    let cfg: ImageConfig = serde_json::from_str(DOCKER_BUILT_CONFIG).unwrap();
    assert_eq!(cfg.config.on_build, ["RUN x"]);
    assert!(cfg.config.args_escaped);
    assert_eq!(cfg.config.env_var("PATH"), Some("/usr/bin"));
    assert!(
        cfg.extra.contains_key("container_config")
            && cfg.extra.contains_key("moby.buildkit.buildinfo.v1")
    );
    assert_eq!(cfg.config.extra["Memory"], serde_json::json!(0));
    assert_eq!(
        cfg.config.healthcheck.as_ref().unwrap().extra["StartInterval"],
        serde_json::json!(5_000_000_000i64)
    );
    assert_eq!(cfg.history[0].extra["x-extra"], serde_json::json!([1, 2]));
    assert_eq!(cfg.rootfs.extra["x-rootfs"], serde_json::json!(true));

    // Modify through the builder and re-read: every unknown field is still there, values equal.
    let manifest = Manifest::new(
        MediaType::DOCKER_MANIFEST,
        Descriptor::new(MediaType::DOCKER_CONFIG, Digest::of(b""), 0),
    );
    let mut m = manifest.clone();
    m.layers.push(Descriptor::new(
        MediaType::DOCKER_LAYER_GZIP,
        Digest::of(b"l"),
        1,
    ));
    m.extra
        .insert("x-manifest".into(), serde_json::json!({"k": "v"}));
    let mut img = Image::from_parts(m, cfg.clone());
    img.set_label("c", "3");
    let built = img.build().unwrap();
    let back = built.config.parse().unwrap();
    let mut expected = cfg;
    expected.config.labels.insert("c".into(), "3".into());
    assert_eq!(back, expected);
    let text = String::from_utf8(built.config.bytes().to_vec()).unwrap();
    assert!(
        text.contains(r#""moby.buildkit.buildinfo.v1":"e30=""#)
            && text.contains(r#""container_config":{"#),
        "{text}"
    );
    assert!(
        text.contains(r#""Labels":{"a":"1","b":"2","c":"3"}"#),
        "labels sorted: {text}"
    );
    let m2 = built.manifest.manifest().unwrap();
    assert_eq!(m2.extra["x-manifest"], serde_json::json!({"k": "v"}));
    assert_eq!(m2.config.digest, *built.config.digest());
    assert_eq!(m2.config.size, built.config.size());

    // Bytes read are kept verbatim; the digest is over those bytes.
    let raw = RawConfig::new(DOCKER_BUILT_CONFIG.as_bytes().to_vec());
    assert_eq!(raw.digest(), &Digest::of(DOCKER_BUILT_CONFIG.as_bytes()));
    assert_eq!(raw.bytes().as_ref(), DOCKER_BUILT_CONFIG.as_bytes());
}

#[test]
fn unknown_descriptor_and_index_fields_round_trip() {
    let text = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","platform":{"architecture":"arm64","os":"linux","variant":"v8","x-plat":1},"x-desc":"d"}],"x-index":{"a":[true]}}"#;
    let raw = RawManifest::new(text.as_bytes().to_vec(), None);
    assert!(raw.is_index());
    let index = raw.index().unwrap();
    assert_eq!(index.manifests[0].extra["x-desc"], serde_json::json!("d"));
    let again = RawManifest::from_index(&index).unwrap();
    assert_eq!(String::from_utf8_lossy(again.bytes()), text);
}

fn entry(plat: Option<Platform>, n: u8) -> Descriptor {
    let mut d = Descriptor::new(MediaType::OCI_MANIFEST, Digest::of(&[n]), 1);
    d.platform = plat;
    d
}

#[test]
fn platform_selection_table() {
    let mut index = Index::empty_oci();
    index.manifests = vec![
        entry(Some(Platform::new("linux", "arm").with_variant("v6")), 0),
        entry(Some(Platform::new("linux", "arm").with_variant("v7")), 1),
        entry(Some(Platform::new("linux", "arm64").with_variant("v8")), 2),
        entry(
            Some(Platform::new("windows", "amd64").with_os_version("10.0.17763.1")),
            3,
        ),
        entry(
            Some(Platform::new("windows", "amd64").with_os_version("10.0.20348.2")),
            4,
        ),
        entry(Some(Platform::new("unknown", "unknown")), 5),
        entry(None, 6), // no platform: counts as linux/amd64
        entry(Some(Platform::new("linux", "amd64")), 7),
    ];
    let pick = |p: Platform| select_manifest(&index, &p).map(|d| d.digest.clone());
    let idx = |n: u8| Some(Digest::of(&[n]));
    assert_eq!(pick(Platform::new("linux", "amd64")), idx(6));
    assert_eq!(pick(Platform::new("linux", "arm64")), idx(2));
    assert_eq!(
        pick(Platform::new("linux", "arm64").with_variant("v8")),
        idx(2)
    );
    assert_eq!(
        pick(Platform::new("linux", "arm64").with_variant("v9")),
        None
    );
    assert_eq!(pick(Platform::new("linux", "arm")), idx(0));
    assert_eq!(
        pick(Platform::new("linux", "arm").with_variant("v7")),
        idx(1)
    );
    assert_eq!(
        pick(Platform::new("windows", "amd64").with_os_version("10.0.20348.2")),
        idx(4)
    );
    assert_eq!(pick(Platform::new("windows", "amd64")), idx(3));
    assert_eq!(pick(Platform::new("linux", "s390x")), None);
    let mut feat = Platform::new("linux", "amd64");
    feat.os_features = vec!["sse4".into()];
    assert_eq!(pick(feat), None);

    let current = Platform::current();
    assert_eq!(current.os, "linux");
    let want = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(current.architecture, want);
    assert!(current.variant.is_empty());
}

#[test]
fn layout_dir_mapping_matches_go() {
    let table = String::from_utf8(golden("refpaths.tsv")).unwrap();
    let mut n = 0;
    for line in table.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let (reference, path) = (cols[0], cols[1]);
        let got = ref_to_path(reference);
        if path.is_empty() {
            assert!(got.is_err(), "{reference} should be rejected, got {got:?}");
        } else {
            assert_eq!(got.unwrap(), PathBuf::from(path), "{reference}");
        }
        n += 1;
    }
    assert!(n >= 20);
    let store = LayoutStore::new("/layout-repo");
    assert_eq!(
        store.path_for("app").unwrap(),
        PathBuf::from("/layout-repo/index.docker.io/library/app/latest")
    );
    assert_eq!(
        store.path_for("/layout-repo/some/where").unwrap(),
        PathBuf::from("/layout-repo/some/where")
    );
    let d = Digest::of(b"m");
    assert_eq!(
        store.path_for(&format!("/layout-repo/a/b@{d}")).unwrap(),
        PathBuf::from("/layout-repo/a/b")
    );
    assert_eq!(
        store.identifier("app:v1", &d).unwrap(),
        format!("/layout-repo/index.docker.io/library/app/v1@{d}")
    );
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?} (is it installed?): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn reads_an_image_built_by_umoci() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    let img = format!("{}:t", d.display());
    run(Command::new("umoci").args(["init", "--layout"]).arg(&d));
    run(Command::new("umoci").args(["new", "--image", &img]));
    run(Command::new("umoci").args(["insert", "--image", &img, "/bin/busybox", "/bin/busybox"]));

    let layout = Layout::open(&d).unwrap();
    assert!(
        layout
            .image_manifest(Some("nope"), &Platform::current())
            .unwrap()
            .is_none()
    );
    let raw = layout
        .image_manifest(Some("t"), &Platform::current())
        .unwrap()
        .unwrap();
    let manifest = raw.manifest().unwrap();
    assert_eq!(manifest.layers.len(), 1);
    let config = layout
        .read_config(&manifest.config)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(config.rootfs.diff_ids.as_ref().map(Vec::len), Some(1));

    // The layer: gzip tar; stream through the verifying reader, hash the tar for the diffID.
    let layer = &manifest.layers[0];
    assert_eq!(
        layer.media_type.layer_compression(),
        Some(cnb::image::Compression::Gzip)
    );
    let blob = layout.open_blob(&layer.digest, Some(layer.size)).unwrap();
    let mut tar_hash = cnb::digest::HashingReader::new(flate2::read::MultiGzDecoder::new(blob));
    let mut found = None;
    {
        let mut archive = tar::Archive::new(&mut tar_hash);
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            let p = e.path().unwrap().into_owned();
            if p.ends_with("bin/busybox") {
                found = Some(e.header().size().unwrap());
                // umoci 0.4 ends this stream right after the file data (no padding, no
                // end-of-archive blocks; GNU tar complains too), so stop here.
                break;
            }
        }
    }
    std::io::copy(&mut tar_hash, &mut std::io::sink()).unwrap();
    let (_, diff_id, _) = tar_hash.finish();
    assert_eq!(found, Some(fs::metadata("/bin/busybox").unwrap().len()));
    assert_eq!(config.rootfs.diff_ids.unwrap()[0], diff_id);
}

/// A one-file uncompressed layer tar.
fn layer_tar(name: &str, content: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_path(name).unwrap();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(315_532_801);
    h.set_cksum();
    b.append(&h, content).unwrap();
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Builds a small image into `store` under `name`, via the generic store API only.
async fn write_small_image<S: ImageStore>(
    store: &S,
    name: &str,
    ref_name: &str,
) -> (RawManifest, Digest) {
    let tar = layer_tar("hello.txt", b"hello from cnb\n");
    let diff_id = Digest::of(&tar);
    let gz = gzip(&tar);
    let (digest, size) = store
        .put_blob(
            name,
            BlobSource::Reader(Box::new(std::io::Cursor::new(gz))),
            None,
        )
        .await
        .unwrap();
    let mut img = Image::empty(MediaType::OCI_MANIFEST);
    img.set_platform(&Platform::new("linux", "amd64"));
    img.set_created(cnb::image::config::DEFAULT_CREATED);
    img.set_env("PATH", "/cnb/process:/usr/bin");
    img.set_entrypoint(vec!["/cnb/lifecycle/launcher".into()]);
    img.set_working_dir("/workspace");
    img.set_label("io.buildpacks.exec-env", "production");
    img.append_layer(
        Descriptor::new(MediaType::OCI_LAYER_GZIP, digest, size),
        diff_id.clone(),
        History {
            created: Some(cnb::image::config::DEFAULT_CREATED.into()),
            created_by: "Application Layer".into(),
            ..Default::default()
        },
    );
    img.set_annotation(cnb::image::ANNOTATION_REF_NAME, ref_name);
    let built = img.build().unwrap();
    let cfg_desc = built.config.descriptor(MediaType::OCI_CONFIG);
    store
        .put_blob(
            name,
            BlobSource::Bytes(built.config.bytes().clone()),
            Some(&cfg_desc),
        )
        .await
        .unwrap();
    store.put_manifest(name, &built.manifest).await.unwrap();
    (built.manifest, diff_id)
}

#[tokio::test]
async fn layout_image_is_readable_by_umoci_and_skopeo() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(dir.path().join("layout-repo"));
    let (manifest, diff_id) = write_small_image(&store, "example.com/team/app:v1", "v1").await;
    let path = store.path_for("example.com/team/app:v1").unwrap();
    assert_eq!(path, dir.path().join("layout-repo/example.com/team/app/v1"));
    assert_eq!(
        store
            .identifier("example.com/team/app:v1", manifest.digest())
            .unwrap(),
        format!("{}@{}", path.display(), manifest.digest())
    );

    // Read back through the store.
    let (raw, m, cfg) = read_image(&store, "example.com/team/app:v1", &Platform::current())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw, manifest);
    assert_eq!(cfg.parse().unwrap().rootfs.diff_ids.unwrap(), [diff_id]);
    let mut layer = Vec::new();
    store
        .open_blob("example.com/team/app:v1", &m.layers[0])
        .await
        .unwrap()
        .read_to_end(&mut layer)
        .unwrap();
    assert_eq!(Digest::of(&layer), m.layers[0].digest);
    assert!(
        store
            .manifest("example.com/team/other", &Platform::current())
            .await
            .unwrap()
            .is_none()
    );
    // By identifier, as analyzed.toml names it.
    let ident = store
        .identifier("example.com/team/app:v1", manifest.digest())
        .unwrap();
    assert_eq!(
        store
            .manifest(&ident, &Platform::current())
            .await
            .unwrap()
            .unwrap(),
        manifest
    );

    // skopeo inspect sees our digest, layer and config.
    let oci = format!("oci:{}:v1", path.display());
    let info: serde_json::Value =
        serde_json::from_str(&run(Command::new("skopeo").args(["inspect", &oci]))).unwrap();
    assert_eq!(info["Digest"], manifest.digest().as_str());
    assert_eq!(info["Layers"][0], m.layers[0].digest.as_str());
    assert_eq!(info["Env"][0], "PATH=/cnb/process:/usr/bin");
    assert_eq!(info["Labels"]["io.buildpacks.exec-env"], "production");
    assert_eq!(info["Architecture"], "amd64");

    // umoci unpacks it.
    let bundle = dir.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image", &format!("{}:v1", path.display())])
        .arg(&bundle));
    assert_eq!(
        fs::read(bundle.join("rootfs/hello.txt")).unwrap(),
        b"hello from cnb\n"
    );

    // skopeo copies it to another layout; we read the copy, byte-identical manifest.
    let copy = dir.path().join("copy");
    run(Command::new("skopeo").args(["copy", &oci, &format!("oci:{}:copied", copy.display())]));
    let copied = Layout::open(&copy).unwrap();
    let raw2 = copied
        .image_manifest(Some("copied"), &Platform::current())
        .unwrap()
        .unwrap();
    assert_eq!(raw2.digest(), manifest.digest());
    let m2 = raw2.manifest().unwrap();
    assert_eq!(
        copied.read_config(&m2.config).unwrap().digest(),
        cfg.digest()
    );
    let mut layer2 = Vec::new();
    copied
        .open_blob(&m2.layers[0].digest, Some(m2.layers[0].size))
        .unwrap()
        .read_to_end(&mut layer2)
        .unwrap();
    assert_eq!(layer2, layer);
}

#[tokio::test]
async fn memory_store_through_the_same_generic_code() {
    let store = MemoryStore::new();
    let (manifest, diff_id) = write_small_image(&store, "registry.test/app:v1", "v1").await;
    let (raw, _, cfg) = read_image(&store, "registry.test/app:v1", &Platform::current())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw, manifest);
    assert_eq!(cfg.parse().unwrap().rootfs.diff_ids.unwrap(), [diff_id]);
    let by_digest = format!("registry.test/app@{}", manifest.digest());
    assert_eq!(
        store
            .manifest(&by_digest, &Platform::current())
            .await
            .unwrap()
            .unwrap(),
        manifest
    );
    assert_eq!(
        store
            .identifier("registry.test/app:v1", manifest.digest())
            .unwrap(),
        by_digest
    );
    assert!(
        store
            .manifest("registry.test/none:v1", &Platform::current())
            .await
            .unwrap()
            .is_none()
    );

    // Identical content gives identical bytes in both stores.
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutStore::new(dir.path());
    let (from_layout, _) = write_small_image(&layout, "registry.test/app:v1", "v1").await;
    assert_eq!(from_layout, manifest);

    // Blobs copy between stores through the generic API (verified, skipped when present).
    let m = manifest.manifest().unwrap();
    let target = tempfile::tempdir().unwrap();
    let other = LayoutStore::new(target.path());
    for d in m.layers.iter().chain([&m.config]) {
        assert!(
            cnb::image::store::copy_blob(&store, "registry.test/app:v1", &other, "copy/app:v1", d)
                .await
                .unwrap()
        );
        assert!(
            !cnb::image::store::copy_blob(&store, "registry.test/app:v1", &other, "copy/app:v1", d)
                .await
                .unwrap()
        );
    }
    other.put_manifest("copy/app:v1", &manifest).await.unwrap();
    let (raw_copy, _, _) = read_image(&other, "copy/app:v1", &Platform::current())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw_copy, manifest);

    // An index in memory is resolved for the platform.
    let mut index = Index::empty_oci();
    let mut d = manifest.descriptor();
    d.platform = Some(Platform::new("linux", "amd64"));
    index.manifests.push(d);
    let raw_index = RawManifest::from_index(&index).unwrap();
    store
        .put_manifest("registry.test/multi:v1", &raw_index)
        .await
        .unwrap();
    let got = store
        .manifest("registry.test/multi:v1", &Platform::new("linux", "amd64"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, manifest);
    assert!(
        store
            .manifest("registry.test/multi:v1", &Platform::new("linux", "arm64"))
            .await
            .is_err()
    );
}

#[test]
fn tampered_blobs_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let (digest, size) = layout.write_blob(&b"some layer bytes"[..]).unwrap();
    let cfg = RawConfig::from_config(&ImageConfig::default()).unwrap();
    layout.write_blob_bytes(cfg.bytes()).unwrap();

    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(layout.blob_path(&digest))
        .unwrap();
    f.write_all(b"S").unwrap();
    drop(f);
    let err = layout
        .open_blob(&digest, Some(size))
        .unwrap()
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    assert!(layout.read_blob(&digest).is_err());

    fs::write(layout.blob_path(cfg.digest()), b"{}").unwrap();
    let desc = cfg.descriptor(MediaType::OCI_CONFIG);
    let err = layout.read_config(&desc).unwrap_err().to_string();
    assert!(err.contains(cfg.digest().as_str()), "{err}");
}

#[test]
fn failed_blob_writes_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let wrong = Digest::of(b"something else");
    assert!(
        layout
            .write_blob_verified(&b"content"[..], &wrong, None)
            .is_err()
    );
    let right = Digest::of(b"content");
    assert!(
        layout
            .write_blob_verified(&b"content"[..], &right, Some(99))
            .is_err()
    );

    struct Broken(usize);
    impl Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            self.0 -= 1;
            buf[0] = b'x';
            Ok(1)
        }
    }
    assert!(layout.write_blob(Broken(3)).is_err());
    let left: Vec<_> = fs::read_dir(layout.root().join("blobs/sha256"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");

    assert_eq!(
        layout
            .write_blob_verified(&b"content"[..], &right, Some(7))
            .unwrap(),
        7
    );
    assert_eq!(layout.read_blob(&right).unwrap(), b"content");
    // Large streaming write: digest computed while copying.
    let big = vec![7u8; 3 * 1024 * 1024 + 5];
    let (d, n) = layout.write_blob(&big[..]).unwrap();
    assert_eq!((d, n), (Digest::of(&big), big.len() as u64));
}

#[test]
fn add_image_replaces_same_tag_and_keeps_others() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let m1 = RawManifest::new(golden("ggcr/oci-manifest.json"), None);
    let m2 = RawManifest::new(golden("ggcr/docker-manifest.json"), None);
    layout.add_image(&m1, Some("a")).unwrap();
    layout.add_image(&m2, Some("b")).unwrap();
    layout.add_image(&m2, Some("a")).unwrap();
    let index = layout.read_index().unwrap();
    let names: BTreeMap<_, _> = index
        .manifests
        .iter()
        .map(|d| (d.ref_name().unwrap().to_string(), d.digest.clone()))
        .collect();
    assert_eq!(names.len(), 2);
    assert_eq!(names["a"], *m2.digest());
    assert_eq!(names["b"], *m2.digest());
    assert_eq!(
        layout
            .image_manifest(Some("a"), &Platform::current())
            .unwrap()
            .unwrap()
            .media_type(),
        &MediaType::DOCKER_MANIFEST
    );
}

#[test]
fn ggcr_compatible_mode_matches_ggcr_remarshal() {
    let input = golden("ggcr/remarshal-in.json");
    let mut manifest = Manifest::new(
        MediaType::DOCKER_MANIFEST,
        Descriptor::new(MediaType::DOCKER_CONFIG, Digest::of(b""), 0),
    );
    manifest.layers.push(Descriptor::new(
        MediaType::DOCKER_LAYER_GZIP,
        Digest::of(b"l"),
        1,
    ));
    manifest.layers[0]
        .extra
        .insert("x-unknown".into(), serde_json::json!(1));
    let mut img = Image::from_parts(manifest, serde_json::from_slice(&input).unwrap());
    // Without it, everything we do not model is kept (read-modify-write)...
    let kept = img.build().unwrap();
    assert!(String::from_utf8_lossy(kept.config.bytes()).contains("container_config"));
    // ...with it, the bytes are exactly ggcr's.
    img.ggcr_compatible();
    let built = img.build().unwrap();
    assert_eq!(
        String::from_utf8_lossy(built.config.bytes()),
        String::from_utf8_lossy(&golden("ggcr/remarshal-out.json"))
    );
    assert!(!String::from_utf8_lossy(built.manifest.bytes()).contains("x-unknown"));
}

#[test]
fn multi_arch_index_in_a_layout_is_resolved_like_skopeo() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let mut entries = Vec::new();
    for (arch, variant) in [("amd64", ""), ("arm64", "v8")] {
        let tar = layer_tar("arch.txt", arch.as_bytes());
        let (digest, size) = layout.write_blob(&gzip(&tar)[..]).unwrap();
        let plat = Platform::new("linux", arch).with_variant(variant);
        let mut img = Image::new(&plat, MediaType::DOCKER_MANIFEST);
        img.append_layer(
            Descriptor::new(MediaType::DOCKER_LAYER_GZIP, digest, size),
            Digest::of(&tar),
            History::default(),
        );
        let built = img.build().unwrap();
        layout.write_blob_bytes(built.config.bytes()).unwrap();
        layout.write_blob_bytes(built.manifest.bytes()).unwrap();
        let mut d = built.manifest.descriptor();
        d.platform = Some(plat);
        entries.push((d, built.manifest));
    }
    // skopeo's oci: transport only accepts OCI manifest/index entries in index.json.
    let mut list = Index::empty_oci();
    list.manifests = entries.iter().map(|(d, _)| d.clone()).collect();
    let raw_list = RawManifest::from_index(&list).unwrap();
    assert_eq!(raw_list.media_type(), &MediaType::OCI_INDEX);
    layout.add_image(&raw_list, Some("multi")).unwrap();

    for (i, arch) in ["amd64", "arm64"].iter().enumerate() {
        let ours = layout
            .image_manifest(Some("multi"), &Platform::new("linux", arch))
            .unwrap()
            .unwrap();
        assert_eq!(ours, entries[i].1, "{arch}");
        let oci = format!("oci:{}:multi", dir.path().display());
        let info: serde_json::Value = serde_json::from_str(&run(Command::new("skopeo").args([
            "--override-os",
            "linux",
            "--override-arch",
            arch,
            "inspect",
            &oci,
        ])))
        .unwrap();
        // skopeo reports the index digest as "Digest"; the layers are the chosen child's.
        assert_eq!(info["Digest"], raw_list.digest().as_str());
        assert_eq!(
            info["Layers"][0],
            ours.manifest().unwrap().layers[0].digest.as_str(),
            "same child for {arch}"
        );
        assert_eq!(info["Architecture"], *arch);
    }
    let err = layout
        .image_manifest(Some("multi"), &Platform::new("linux", "s390x"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("linux/s390x"), "{err}");
}
