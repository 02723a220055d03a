//! Readers of platform/buildpack files and the run-image helpers (behaviour from the Go
//! lifecycle v0.21.17: platform/files/*.go, buildpack/files.go, buildpack/layermetadata.go,
//! platform/run_image.go, platform/target_data.go).

use std::collections::BTreeMap;
use std::path::Path;

use cnb::api::Version;
use cnb::files::run_image::{
    best_run_image_mirror, resolve_run_image_from_analyzed, run_image_for_export,
    run_image_from_metadata, run_toml_candidates,
};
use cnb::files::{
    BuildToml, LaunchToml, LaunchTomlError, LayerToml, LayerTomlError, LayersMetadata, Run,
    RunImageError, RunImageForExport, Stack, StoreToml, TargetMetadata,
};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn s(v: &str) -> String {
    v.to_owned()
}

/// Stand-in for `name.ParseMaybe` (the real one is the reference parser's).
fn normalize(r: &str) -> String {
    let r = r.split('@').next().unwrap_or(r);
    let last = r.rsplit('/').next().unwrap_or(r);
    if last.contains(':') {
        r.to_owned()
    } else {
        format!("{r}:latest")
    }
}

/// Stand-in for the registry of a reference.
fn registry_of(r: &str) -> Option<String> {
    r.split_once('/').map(|(reg, _)| reg.to_owned())
}

#[test]
fn run_toml_reads_and_finds() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        dir.path(),
        "run.toml",
        "[[images]]\n  image = \"reg.a/run:jammy\"\n  mirrors = [\"reg.b/run:jammy\"]\n  unknown = 1\n\n[[images]]\n  image = \"reg.c/other\"\n",
    );
    let run = Run::read_optional(&p).expect("read").expect("present");
    assert_eq!(run.images.len(), 2);
    assert_eq!(run.images[0].mirrors, vec![s("reg.b/run:jammy")]);
    assert!(run.contains("reg.b/run:jammy@sha256:abcd", normalize));
    assert!(run.contains("reg.c/other:latest", normalize));
    assert!(!run.contains("reg.d/run", normalize));
    assert_eq!(
        run.find_by_ref("reg.c/other", normalize)
            .expect("found")
            .image,
        "reg.c/other"
    );
    assert!(
        Run::read_optional(&dir.path().join("none.toml"))
            .expect("missing ok")
            .is_none()
    );
    let err = Run::read(&dir.path().join("none.toml")).expect_err("missing");
    assert!(
        err.to_string().starts_with("failed to read run file: "),
        "{err}"
    );
}

#[test]
fn stack_toml_reads() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        dir.path(),
        "stack.toml",
        "[run-image]\nimage = \"reg.a/run:bionic\"\nmirrors = [\"reg.b/run:bionic\"]\n",
    );
    let st = Stack::read_optional(&p).expect("read").expect("present");
    assert_eq!(st.run_image.image, "reg.a/run:bionic");
    assert_eq!(st.run_image.mirrors, vec![s("reg.b/run:bionic")]);
}

#[test]
fn layer_toml_reads_types_and_metadata() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        dir.path(),
        "jdk.toml",
        "[types]\nlaunch = true\ncache = true\n[metadata]\nversion = \"17\"\n",
    );
    let lt = LayerToml::read(&p).expect("read");
    assert!(lt.types.launch && lt.types.cache && !lt.types.build);
    assert_eq!(
        lt.metadata.expect("metadata")["version"].as_str(),
        Some("17")
    );
    // Missing file: empty, like Go.
    assert_eq!(
        LayerToml::read(&dir.path().join("nope.toml")).expect("missing"),
        LayerToml::default()
    );
    // Flags at top level are rejected with Go's message.
    let bad = write(dir.path(), "bad.toml", "launch = true\n");
    match LayerToml::read(&bad) {
        Err(e @ LayerTomlError::TypesAtTopLevel(_)) => assert_eq!(
            e.to_string(),
            format!(
                "the launch, cache and build flags should be in the types table of {}",
                bad.display()
            )
        ),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn launch_toml_new_api_uses_arrays_and_forbids_direct() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        dir.path(),
        "launch.toml",
        r#"
[[labels]]
  key = "org.example.runtime"
  value = "java"

[[processes]]
  type = "web"
  command = ["java", "-jar", "target/app.jar"]
  args = ["--server.port=8080"]
  default = true
  working-dir = "/workspace"

[[processes]]
  type = "worker"
  command = ["java", "-cp", "target/app.jar", "example.Worker"]
  exec-env = ["production"]

[[slices]]
  paths = ["target/classes/static/*"]
"#,
    );
    let lt = LaunchToml::read(&p, Version::new(0, 10)).expect("read");
    assert_eq!(lt.labels[0].key, "org.example.runtime");
    assert_eq!(lt.processes.len(), 2);
    let web = &lt.processes[0];
    assert_eq!(web.kind, "web");
    assert_eq!(web.command, vec![s("java"), s("-jar"), s("target/app.jar")]);
    assert_eq!(web.args, vec![s("--server.port=8080")]);
    assert!(web.default && web.is_direct() && web.direct.is_none());
    assert_eq!(web.working_dir, "/workspace");
    assert_eq!(lt.processes[1].exec_env, vec![s("production")]);
    assert_eq!(lt.slices[0].paths, vec![s("target/classes/static/*")]);

    let direct = write(
        dir.path(),
        "d.toml",
        "[[processes]]\ntype = \"web\"\ncommand = [\"x\"]\ndirect = true\n",
    );
    let err = LaunchToml::read(&direct, Version::new(0, 9)).expect_err("direct");
    assert!(matches!(err, LaunchTomlError::DirectNotSupported));
    assert_eq!(
        err.to_string(),
        "process.direct is not supported on this buildpack version"
    );

    let string_cmd = write(
        dir.path(),
        "s.toml",
        "[[processes]]\ntype = \"web\"\ncommand = \"x y\"\n",
    );
    assert!(matches!(
        LaunchToml::read(&string_cmd, Version::new(0, 9)),
        Err(LaunchTomlError::CommandType { .. })
    ));
}

#[test]
fn launch_toml_old_api_uses_strings_and_direct_defaults_false() {
    let text = "[[processes]]\ntype = \"web\"\ncommand = \"java -jar app.jar\"\n\n[[processes]]\ntype = \"d\"\ncommand = \"run\"\ndirect = true\n";
    let lt = LaunchToml::parse(text, Path::new("launch.toml"), Version::new(0, 8)).expect("parse");
    assert_eq!(lt.processes[0].command, vec![s("java -jar app.jar")]);
    assert_eq!(lt.processes[0].direct, Some(false));
    assert!(!lt.processes[0].is_direct());
    assert_eq!(lt.processes[1].direct, Some(true));
    let arr = "[[processes]]\ntype = \"web\"\ncommand = [\"a\"]\n";
    assert!(LaunchToml::parse(arr, Path::new("launch.toml"), Version::new(0, 8)).is_err());
}

#[test]
fn build_and_store_tomls() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        dir.path(),
        "build.toml",
        "[[unmet]]\nname = \"maven\"\n\n[[unmet]]\nname = \"\"\n",
    );
    let bt = BuildToml::read_optional(&p)
        .expect("read")
        .expect("present");
    assert_eq!(
        bt.unmet.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        vec!["maven", ""]
    );
    let sp = write(
        dir.path(),
        "store.toml",
        "[metadata]\nlast-run = \"2026-08-01\"\n",
    );
    let st = StoreToml::read_optional(&sp)
        .expect("read")
        .expect("present");
    assert_eq!(
        st.metadata.expect("md")["last-run"].as_str(),
        Some("2026-08-01")
    );
    assert!(
        StoreToml::read_optional(&dir.path().join("x.toml"))
            .expect("missing")
            .is_none()
    );
}

fn run_md() -> RunImageForExport {
    RunImageForExport {
        image: s("reg.a/base/run:jammy"),
        mirrors: vec![s("reg.b/base/run:jammy"), s("reg.c/base/run:jammy")],
    }
}

#[test]
fn best_mirror_prefers_readable_same_registry() {
    let all = |_: &str| true;
    assert_eq!(
        best_run_image_mirror("reg.c", &run_md(), registry_of, all),
        Ok(s("reg.c/base/run:jammy"))
    );
    // Same registry but unreadable: first readable instead.
    let not_c = |r: &str| !r.starts_with("reg.c") && !r.starts_with("reg.a");
    assert_eq!(
        best_run_image_mirror("reg.c", &run_md(), registry_of, not_c),
        Ok(s("reg.b/base/run:jammy"))
    );
    // No registry match: first readable (the image).
    assert_eq!(
        best_run_image_mirror("reg.z", &run_md(), registry_of, all),
        Ok(s("reg.a/base/run:jammy"))
    );
    assert_eq!(
        best_run_image_mirror("reg.a", &run_md(), registry_of, |_: &str| false),
        Err(RunImageError::NoneAccessible)
    );
    assert_eq!(
        best_run_image_mirror("reg.a", &RunImageForExport::default(), registry_of, all),
        Err(RunImageError::MissingImage)
    );
    assert_eq!(
        RunImageError::NoneAccessible.to_string(),
        "failed to find accessible run image"
    );
}

#[test]
fn only_first_run_toml_entry_is_a_candidate() {
    let run = Run {
        images: vec![
            run_md(),
            RunImageForExport {
                image: s("x/y"),
                mirrors: vec![],
            },
        ],
    };
    assert_eq!(run_toml_candidates(&run), Ok(&run.images[0]));
    let err = run_toml_candidates(&Run::default()).expect_err("empty");
    assert_eq!(
        err.to_string(),
        "-run-image is required when there is no run metadata available"
    );
}

#[test]
fn run_image_for_export_label() {
    let other = RunImageForExport {
        image: s("reg.x/other:1"),
        mirrors: vec![s("reg.y/other:1")],
    };
    let run = Run {
        images: vec![run_md(), other.clone()],
    };
    // Matching entry (by mirror, digest ignored).
    assert_eq!(
        run_image_for_export(&run, "reg.y/other:1@sha256:00", false, normalize),
        other
    );
    // No match, extensions used: just the analyzed image.
    assert_eq!(
        run_image_for_export(&run, "reg.q/ext:1", true, normalize),
        RunImageForExport {
            image: s("reg.q/ext:1"),
            mirrors: vec![]
        }
    );
    // No match, no extensions: images[0].
    assert_eq!(
        run_image_for_export(&run, "reg.q/ext:1", false, normalize),
        run_md()
    );
    assert_eq!(
        run_image_for_export(&Run::default(), "a", false, normalize),
        RunImageForExport::default()
    );
}

#[test]
fn run_image_from_label_metadata() {
    let mut md = LayersMetadata::default();
    assert_eq!(
        run_image_from_metadata(true, &md),
        Err(RunImageError::NoMetadata)
    );
    md.run_image.image = s("reg.a/run");
    md.run_image.mirrors = vec![s("reg.b/run")];
    assert_eq!(
        run_image_from_metadata(true, &md).expect("new").mirrors,
        vec![s("reg.b/run")]
    );
    // Below 0.12 only the legacy stack counts.
    assert_eq!(
        run_image_from_metadata(false, &md),
        Err(RunImageError::NoMetadata)
    );
    md.stack = Some(md.run_image.to_stack());
    assert_eq!(
        run_image_from_metadata(false, &md).expect("stack").image,
        "reg.a/run"
    );
}

#[test]
fn restorer_keeps_or_rejects_selected_run_image() {
    let run = Run {
        images: vec![run_md()],
    };
    let none = |_: &str| false;
    assert_eq!(
        resolve_run_image_from_analyzed("reg.q/ext", &run, normalize, none),
        Ok(s("reg.q/ext"))
    );
    let err = resolve_run_image_from_analyzed("reg.b/base/run:jammy", &run, normalize, none)
        .expect_err("unreadable");
    assert_eq!(
        err.to_string(),
        "selected run image 'reg.b/base/run:jammy' is not accessible"
    );
    assert_eq!(
        resolve_run_image_from_analyzed("reg.b/base/run:jammy", &run, normalize, |_: &str| true),
        Ok(s("reg.b/base/run:jammy"))
    );
}

#[test]
fn target_from_image_config_and_labels() {
    let labels = BTreeMap::from([
        (s("io.buildpacks.base.id"), s("io.example.jammy")),
        (s("io.buildpacks.base.distro.name"), s("ubuntu")),
        (s("io.buildpacks.base.distro.version"), s("22.04")),
    ]);
    let t = TargetMetadata::from_image("linux", "arm64", "v8", &labels).expect("target");
    assert_eq!(
        t.to_json(),
        r#"{"id":"io.example.jammy","os":"linux","arch":"arm64","arch-variant":"v8","distro":{"name":"ubuntu","version":"22.04"}}"#
    );
    // A distro only when one of its labels exists (an empty value still counts).
    let t = TargetMetadata::from_image("linux", "amd64", "", &BTreeMap::new()).expect("target");
    assert_eq!(t.to_json(), r#"{"os":"linux","arch":"amd64"}"#);
    let only_version = BTreeMap::from([(s("io.buildpacks.base.distro.version"), s(""))]);
    let t = TargetMetadata::from_image("linux", "amd64", "", &only_version).expect("target");
    assert_eq!(t.distro.expect("distro").name, "");
    let err = TargetMetadata::from_image("", "amd64", "", &BTreeMap::new()).expect_err("no os");
    assert_eq!(err.to_string(), "failed to find OS in run image config");
}

#[test]
fn keys_are_matched_case_insensitively_like_go() {
    // BurntSushi fills `paths` from `Paths`, `labels` from `Labels`, etc.
    let text = "[[Labels]]\nKey = \"k\"\nvalue = \"v\"\n\n[[slices]]\nPaths = [\"a/*\"]\n";
    let lt = LaunchToml::parse(text, Path::new("launch.toml"), Version::new(0, 10)).expect("parse");
    assert_eq!(
        (lt.labels[0].key.as_str(), lt.labels[0].value.as_str()),
        ("k", "v")
    );
    assert_eq!(lt.slices[0].paths, vec![s("a/*")]);
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        dir.path(),
        "l.toml",
        "[Types]\nLaunch = true\n[metadata]\nKeep = \"Case\"\n",
    );
    let layer = LayerToml::read(&p).expect("read");
    assert!(layer.types.launch);
    assert_eq!(layer.metadata.expect("md")["Keep"].as_str(), Some("Case"));
}

#[test]
fn rebase_target_check_and_target_env() {
    use cnb::files::OsDistro;
    use cnb::files::target::parse_os_release;
    let app = TargetMetadata {
        os: s("linux"),
        arch: s("amd64"),
        arch_variant: s("v3"),
        distro: Some(OsDistro {
            name: s("ubuntu"),
            version: s("22.04"),
        }),
        ..Default::default()
    };
    let mut new = TargetMetadata {
        os: s("linux"),
        arch: s("amd64"),
        ..Default::default()
    };
    assert!(new.satisfied_for_rebase(&app));
    new.distro = Some(OsDistro {
        name: s("ubuntu"),
        version: s(""),
    });
    assert!(new.satisfied_for_rebase(&app));
    new.distro = Some(OsDistro {
        name: s("debian"),
        version: s(""),
    });
    assert!(!new.satisfied_for_rebase(&app));
    new.distro = None;
    new.arch = s("arm64");
    assert!(!new.satisfied_for_rebase(&app));
    let no_distro_app = TargetMetadata {
        distro: None,
        ..app.clone()
    };
    let with_distro = TargetMetadata {
        distro: app.distro.clone(),
        ..no_distro_app.clone()
    };
    assert!(!with_distro.satisfied_for_rebase(&no_distro_app));

    assert_eq!(
        app.env_vars(|| panic!("not consulted when the distro is known")),
        vec![
            s("CNB_TARGET_OS=linux"),
            s("CNB_TARGET_ARCH=amd64"),
            s("CNB_TARGET_ARCH_VARIANT=v3"),
            s("CNB_TARGET_DISTRO_NAME=ubuntu"),
            s("CNB_TARGET_DISTRO_VERSION=22.04"),
        ]
    );
    let os_release = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
    let bare = TargetMetadata {
        os: s("linux"),
        arch: s("arm64"),
        ..Default::default()
    };
    assert_eq!(
        bare.env_vars(|| Some(parse_os_release(os_release))),
        vec![
            s("CNB_TARGET_OS=linux"),
            s("CNB_TARGET_ARCH=arm64"),
            s("CNB_TARGET_DISTRO_NAME=debian"),
            s("CNB_TARGET_DISTRO_VERSION=12"),
        ]
    );
}
