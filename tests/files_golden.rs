//! Platform file models against the Go lifecycle's own output (testdata/files/go/; how each
//! was produced is in testdata/files/README.md). The values are the Go program's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cnb::files::{
    Analyzed, BuildpackLayerMetadata, BuildpackLayersMetadata, CacheMetadata, ImageIdentifier,
    ImageReport, LayerMetadata, LayerToml, LayersMetadata, OsDistro, ProjectMetadata, RebaseReport,
    Report, RunImage, RunImageForRebase, StoreToml, TargetMetadata, gotoml,
};

const SHA1: &str = "sha256:61f0d4a1c1b2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6";
const SHA2: &str = "sha256:07aa5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778f";
const SHA3: &str = "sha256:3c5e0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7";
const SHA4: &str = "sha256:8d4a1111222233334444555566667777888899990000aaaabbbbccccddddeeee";
const SHA5: &str = "sha256:5d2e9999888877776666555544443333222211110000ffffeeeeddddccccbbbb";
const SHA6: &str = "sha256:a8b90000111122223333444455556666777788889999aaaabbbbccccddddeeee";
const SHA7: &str = "sha256:c4d1abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdef";
const SHA8: &str = "sha256:e2f30123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
const RUN_DIGEST: &str = "registry.example.com/base/run@sha256:77aa0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
const RUN_IMAGE: &str = "registry.example.com/base/run:jammy";
const REPORT_DIGEST: &str =
    "sha256:4be0aaaa0123456789abcdef0123456789abcdef0123456789abcdef01234567";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/files")
}

fn golden(name: &str) -> String {
    let path = data_dir().join("go").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn layer(name: &str, sha: &str) -> BuildpackLayerMetadata {
    let lt = LayerToml::read(&data_dir().join("inputs").join(format!("{name}.toml")))
        .expect("layer toml");
    BuildpackLayerMetadata {
        sha: s(sha),
        data: lt.metadata,
        build: lt.types.build,
        launch: lt.types.launch,
        cache: lt.types.cache,
    }
}

/// What the exporter builds (the Go program's `meta`).
fn exporter_metadata() -> LayersMetadata {
    let store: toml::Table = toml::from_str(
        &std::fs::read_to_string(data_dir().join("inputs/store.toml")).expect("store input"),
    )
    .expect("store toml");
    let run_image = RunImageForRebase {
        top_layer: s(SHA8),
        reference: s(RUN_DIGEST),
        image: s(RUN_IMAGE),
        mirrors: vec![
            s("mirror.example.org/base/run:jammy"),
            s("other.example.org/run?x=1&y=<2>"),
        ],
    };
    LayersMetadata {
        app: vec![LayerMetadata::new(SHA1), LayerMetadata::new(SHA2)],
        sbom: Some(LayerMetadata::new(SHA2)),
        buildpacks: vec![
            BuildpackLayersMetadata {
                id: s("samples/java-maven"),
                version: s("0.0.2"),
                layers: BTreeMap::from([
                    (s("jdk"), layer("jdk", SHA3)),
                    (s("maven-m2"), layer("maven-m2", SHA4)),
                    (
                        s("empty"),
                        BuildpackLayerMetadata {
                            sha: s(SHA5),
                            launch: true,
                            ..Default::default()
                        },
                    ),
                ]),
                store: Some(StoreToml {
                    metadata: Some(store),
                }),
            },
            BuildpackLayersMetadata {
                id: s("samples/hello"),
                version: s("0.0.1"),
                layers: BTreeMap::new(),
                store: None,
            },
        ],
        config: LayerMetadata::new(SHA5),
        launcher: LayerMetadata::new(SHA6),
        process_types: LayerMetadata::new(SHA7),
        stack: Some(run_image.to_stack()),
        run_image,
    }
}

#[test]
fn lifecycle_metadata_label_matches_go() {
    let meta = exporter_metadata();
    assert_eq!(
        meta.to_label().expect("label"),
        golden("lifecycle_metadata.json")
    );
}

#[test]
fn layers_metadata_direct_toml_matches_go() {
    #[derive(serde::Serialize)]
    struct Wrap<'a> {
        metadata: &'a LayersMetadata,
    }
    let meta = exporter_metadata();
    let text = gotoml::to_string(&Wrap { metadata: &meta }).expect("toml");
    assert_eq!(text, golden("layers_metadata_direct.toml"));
}

#[test]
fn label_round_trip_has_go_float_semantics() {
    let label = golden("lifecycle_metadata.json");
    let decoded = LayersMetadata::from_label(&label).expect("decode");
    assert_eq!(
        decoded.to_label().expect("encode"),
        golden("lifecycle_metadata_roundtrip.json")
    );
    // Go decodes JSON numbers into float64: `size = 12345` comes back as a float.
    let jdk = &decoded
        .for_buildpack("samples/java-maven")
        .expect("bp")
        .layers["jdk"];
    let data = jdk.data.as_ref().expect("data");
    assert_eq!(data["size"], toml::Value::Float(12345.0));
}

#[test]
fn empty_lifecycle_metadata_label_matches_go() {
    let empty = LayersMetadata::default();
    assert_eq!(
        empty.to_label().expect("label"),
        golden("lifecycle_metadata_empty.json")
    );
    let back =
        LayersMetadata::from_label(&golden("lifecycle_metadata_empty.json")).expect("decode");
    assert_eq!(back, empty);
}

fn first_build_analyzed() -> Analyzed {
    Analyzed {
        previous_image: Some(ImageIdentifier::new("")),
        run_image: Some(RunImage {
            reference: s(RUN_DIGEST),
            image: s(RUN_IMAGE),
            extend: false,
            target: Some(TargetMetadata {
                os: s("linux"),
                arch: s("amd64"),
                distro: Some(OsDistro {
                    name: s("ubuntu"),
                    version: s("22.04"),
                }),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

#[test]
fn analyzed_first_build_matches_go() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("nested/dir/analyzed.toml");
    first_build_analyzed()
        .write(&path)
        .expect("write creates parents");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        golden("analyzed_first.toml")
    );
    assert_eq!(
        Analyzed::read(&path).expect("read back"),
        first_build_analyzed()
    );
}

#[test]
fn analyzed_empty_matches_go() {
    assert_eq!(
        Analyzed::default().to_toml().expect("toml"),
        golden("analyzed_empty.toml")
    );
}

#[test]
fn analyzed_full_from_previous_image_label_matches_go() {
    let decoded = LayersMetadata::from_label(&golden("lifecycle_metadata.json")).expect("label");
    let full = Analyzed {
        previous_image: Some(ImageIdentifier::new(
            "registry.example.com/team/app@sha256:9b1c0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab",
        )),
        build_image: Some(ImageIdentifier::new(
            "registry.example.com/base/build@sha256:1111111111111111111111111111111111111111111111111111111111111111",
        )),
        layers_metadata: decoded,
        run_image: Some(RunImage {
            reference: s(RUN_DIGEST),
            image: s(RUN_IMAGE),
            extend: true,
            target: Some(TargetMetadata {
                id: s("io.example.jammy"),
                os: s("linux"),
                arch: s("arm64"),
                arch_variant: s("v8"),
                distro: Some(OsDistro {
                    name: s("ubuntu"),
                    version: s("22.04"),
                }),
            }),
        }),
    };
    assert_eq!(full.to_toml().expect("toml"), golden("analyzed_full.toml"));
}

#[test]
fn analyzed_rewrite_is_stable_like_go() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("in.toml");
    std::fs::write(&src, golden("analyzed_full.toml")).expect("write");
    let read = Analyzed::read(&src).expect("read");
    assert_eq!(
        read.previous_image_ref(),
        "registry.example.com/team/app@sha256:9b1c0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
    );
    assert_eq!(read.run_image_ref(), RUN_DIGEST);
    assert_eq!(read.run_image_image(), RUN_IMAGE);
    assert_eq!(read.run_image_target().arch_variant, "v8");
    assert_eq!(read.layers_metadata.run_image.top_layer, SHA8);
    let out = dir.path().join("out.toml");
    read.write(&out).expect("write");
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        golden("analyzed_full_rewritten.toml")
    );
}

#[test]
fn analyzed_missing_and_broken_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = dir.path().join("analyzed.toml");
    assert!(
        Analyzed::read_optional(&missing)
            .expect("missing is ok")
            .is_none()
    );
    let err = Analyzed::read(&missing).expect_err("missing");
    assert!(err.is_not_found());
    assert!(
        err.to_string()
            .starts_with("failed to read analyzed file: "),
        "{err}"
    );
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
    std::fs::write(&missing, "[image\n").expect("write");
    let err = Analyzed::read(&missing).expect_err("broken");
    assert!(!err.is_not_found());
    assert!(
        err.to_string()
            .starts_with("failed to read analyzed file: "),
        "{err}"
    );
}

fn cache_metadata() -> CacheMetadata {
    CacheMetadata {
        sbom: LayerMetadata::new(SHA2),
        buildpacks: vec![
            BuildpackLayersMetadata {
                id: s("samples/java-maven"),
                version: s("0.0.2"),
                layers: BTreeMap::from([(s("maven-m2"), layer("maven-m2", SHA4))]),
                store: None,
            },
            BuildpackLayersMetadata {
                id: s("samples/hello"),
                version: s("0.0.1"),
                layers: BTreeMap::new(),
                store: None,
            },
        ],
    }
}

#[test]
fn cache_metadata_matches_go() {
    let cm = cache_metadata();
    assert_eq!(cm.to_label().expect("label"), golden("cache_metadata.json"));
    assert_eq!(
        CacheMetadata::default().to_label().expect("label"),
        golden("cache_metadata_empty.json")
    );
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir
        .path()
        .join("committed/io.buildpacks.lifecycle.cache.metadata");
    cm.write(&path).expect("write");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        golden("cache_metadata_volume.json")
    );
    let back = CacheMetadata::read(&path).expect("read");
    assert_eq!(
        back.for_buildpack("samples/hello")
            .expect("hello")
            .layers
            .len(),
        0
    );
    assert_eq!(
        back.for_buildpack("samples/java-maven").expect("bp").layers["maven-m2"].sha,
        SHA4
    );
}

#[test]
fn reports_match_go() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases = [
        (
            "report_registry.toml",
            ImageReport {
                tags: Some(vec![
                    s("registry.example.com/team/app:latest"),
                    s("registry.example.com/team/app:1.4.2"),
                ]),
                digest: s(REPORT_DIGEST),
                manifest_size: 2381,
                ..Default::default()
            },
        ),
        (
            "report_daemon.toml",
            ImageReport {
                tags: Some(vec![s("app:latest")]),
                image_id: s("4be0aaaa0123456789abcdef0123456789abcdef0123456789abcdef01234567"),
                ..Default::default()
            },
        ),
        (
            "report_layout.toml",
            ImageReport {
                tags: Some(vec![]),
                ..Default::default()
            },
        ),
        ("report_nil_tags.toml", ImageReport::default()),
    ];
    for (name, image) in cases {
        let path = dir.path().join(name);
        Report {
            image: image.clone(),
            ..Default::default()
        }
        .write(&path)
        .expect("write");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            golden(name),
            "{name}"
        );
        assert_eq!(
            Report::read(&path).expect("read back").image,
            image,
            "{name}"
        );
    }
    let rebase = RebaseReport {
        image: ImageReport {
            tags: Some(vec![s("registry.example.com/team/app:latest")]),
            digest: s(REPORT_DIGEST),
            manifest_size: 1000,
            ..Default::default()
        },
    };
    let path = dir.path().join("rebase.toml");
    rebase.write(&path).expect("write");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        golden("rebase_report.toml")
    );
}

#[test]
fn project_metadata_label_matches_go() {
    let pm = ProjectMetadata::read_optional(&data_dir().join("inputs/project-metadata.toml"))
        .expect("read")
        .expect("present");
    assert_eq!(
        pm.to_label().expect("label"),
        golden("project_metadata.json")
    );
    assert_eq!(
        ProjectMetadata::default().to_label().expect("label"),
        golden("project_metadata_empty.json")
    );
    let missing = data_dir().join("inputs/nope.toml");
    assert!(
        ProjectMetadata::read_optional(&missing)
            .expect("missing ok")
            .is_none()
    );
}

#[test]
fn restored_layer_and_store_tomls_match_go() {
    let decoded = LayersMetadata::from_label(&golden("lifecycle_metadata.json")).expect("label");
    let bp = decoded.for_buildpack("samples/java-maven").expect("bp");
    let dir = tempfile::tempdir().expect("tmp");
    let jdk = dir.path().join("samples_java-maven/jdk.toml");
    LayerToml::write_metadata_only(&jdk, &bp.layers["jdk"].data).expect("write");
    assert_eq!(
        std::fs::read_to_string(&jdk).expect("read"),
        golden("layer_jdk_restored.toml")
    );
    let empty = LayerToml::metadata_only_toml(&bp.layers["empty"].data).expect("toml");
    assert_eq!(empty, golden("layer_empty_restored.toml"));
    let store = dir.path().join("samples_java-maven/store.toml");
    bp.store
        .as_ref()
        .expect("store")
        .write(&store)
        .expect("write");
    assert_eq!(
        std::fs::read_to_string(&store).expect("read"),
        golden("store_restored.toml")
    );
    // The restored layer toml reads back with no types.
    let back = LayerToml::read(&jdk).expect("read");
    assert_eq!(back.types, Default::default());
    assert_eq!(back.metadata, bp.layers["jdk"].data);
}

#[test]
fn our_toml_parses_back_to_the_same_value() {
    let analyzed = Analyzed {
        previous_image: Some(ImageIdentifier::new("reg/app@sha256:00")),
        layers_metadata: exporter_metadata(),
        ..first_build_analyzed()
    };
    let text = analyzed.to_toml().expect("toml");
    let back: Analyzed = toml::from_str(&text).expect("valid TOML");
    assert_eq!(back, analyzed);
}

#[test]
fn run_image_debug_line_matches_go() {
    // Go printed these while writing analyzed_first.toml / analyzed_empty.toml (stderr of the
    // golden program; see testdata/files/README.md).
    assert_eq!(
        first_build_analyzed().run_image_debug_json(),
        r#"{"Reference":"registry.example.com/base/run@sha256:77aa0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab","Image":"registry.example.com/base/run:jammy","Extend":false,"target":{"os":"linux","arch":"amd64","distro":{"name":"ubuntu","version":"22.04"}}}"#
    );
    assert_eq!(Analyzed::default().run_image_debug_json(), "null");
}

#[test]
fn compat_label_keeps_any_app_shape() {
    // Same bytes as Go for the current format…
    let label = golden("lifecycle_metadata.json");
    let compat = cnb::files::LayersMetadataCompat::from_label(&label).expect("decode");
    assert_eq!(
        compat.to_label().expect("encode"),
        golden("lifecycle_metadata_roundtrip.json")
    );
    assert_eq!(compat.metadata.run_image.top_layer, SHA8);
    // …and an old-style object `app` survives a rewrite (the typed model rejects it).
    let old = std::fs::read_to_string(data_dir().join("inputs/old_label.json")).expect("input");
    assert!(LayersMetadata::from_label(&old).is_err());
    let compat = cnb::files::LayersMetadataCompat::from_label(&old).expect("decode");
    assert_eq!(
        compat.to_label().expect("encode"),
        golden("compat_old_label.json")
    );
}
