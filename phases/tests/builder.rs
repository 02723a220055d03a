//! The builder phase through the binary, as uid 1000: metadata.toml, the layers it leaves,
//! the SBOM tree, the buildpack environment, live output, and input errors.

mod detector_harness;
use detector_harness::{Sandbox, run_scenario, sandbox, testdata};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let mut ents: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        ents.sort();
        for p in ents {
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if p.is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

fn group_only(sb: &Sandbox, group: &str) {
    sb.write("layers/group.toml", group);
    sb.write("layers/plan.toml", "");
}

#[test]
fn full_build_leaves_layers_sbom_and_metadata() {
    let Some((sb, out)) = run_scenario("full") else {
        return;
    };
    assert_eq!(
        out.files["build.exit"], "0\n",
        "{}",
        out.files["build.stdout"]
    );
    let l = sb.layers();
    // every layer kind stays; only the typeless one is renamed
    let layers = files_under(&l.join("cnb-test_layers"));
    for want in [
        "launch-cache/",
        "launch-cache.toml",
        "cache-only/",
        "cache-only.toml",
        "build-only/",
        "build-only.toml",
        "build-two/",
        "launch-only/",
    ] {
        assert!(layers.contains(&want.to_string()), "{want} in {layers:?}");
    }
    assert!(l.join("cnb-test_procs/scratch.ignore/file").is_file());
    assert!(!l.join("cnb-test_procs/scratch").exists());
    // the SBOM tree as the Go builder writes it (testdata/build/golden/sbom-tree)
    let sbom = files_under(&l.join("sbom"));
    for want in [
        "launch/cnb-test_sbom/deps/sbom.cdx.json",
        "launch/cnb-test_sbom/sbom.cdx.json",
        "cache/cnb-test_sbom/deps/sbom.cdx.json",
        "build/cnb-test_sbom/sbom.cdx.json",
        "launch/sbom.legacy.json",
        "build/sbom.legacy.json",
    ] {
        assert!(sbom.contains(&want.to_string()), "{want} in {sbom:?}");
    }
    let golden = testdata().join("build/golden/sbom-tree");
    for f in ["launch/sbom.legacy.json", "build/sbom.legacy.json"] {
        assert_eq!(
            std::fs::read_to_string(l.join("sbom").join(f)).unwrap(),
            std::fs::read_to_string(golden.join(f)).unwrap(),
            "{f}"
        );
    }
    // metadata.toml reads back with the processes sorted by type and the default type set
    let md = cnb::files::metadata::read_metadata(&l.join("config/metadata.toml")).unwrap();
    let types: Vec<&str> = md.processes.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(types, ["show-env", "web"]);
    assert_eq!(md.buildpack_default_process_type, "web");
    assert!(md.processes.iter().all(|p| !p.default && p.direct));
    assert_eq!(md.buildpacks.len(), 7);
    assert_eq!(md.labels[0].key, "org.example.procs");
    assert_eq!(md.slices[0].paths, ["static/*"]);
}

#[test]
fn env_files_of_every_suffix_reach_the_next_buildpack() {
    let Some((_sb, out)) = run_scenario("target") else {
        return;
    };
    let s = &out.files["build.stdout"];
    let layer = "<ROOT>/layers/cnb-test_layers";
    for want in [
        "PLAIN=plain-override|".to_string(), // layer override; build-config default loses
        "OVR=bc-wins|".into(),               // build-config .override wins over the layer
        "DEF=from-layer-default|".into(),    // .default sets an empty var; a second one loses
        "PRE=second:pre|".into(),            // .prepend with .delim
        "APP=appmore|".into(),               // .append without .delim: no delimiter
        "NEWLINE=line\n|".into(),            // contents verbatim
        "IGNORED=<unset>".into(),            // unknown suffix
        "BUILD_ONLY_VAR=build-time|".into(), // env.build
        "LAUNCH_ONLY_VAR=<unset>".into(),    // env.launch is not for build
        "LAUNCH_LAYER_VAR=<unset>".into(),   // launch/cache layers do not feed the build env
        "LAUNCH_ONLY_LAYER_VAR=<unset>".into(),
        "PLATFORM_VAR=from-platform|".into(),
        "BC_VAR=from-build-config|".into(),
        format!("PATH={layer}/build-only/bin:/usr/bin:/bin|"),
        format!("LD_LIBRARY_PATH={layer}/build-only/lib|"),
        format!("LIBRARY_PATH={layer}/build-only/lib|"),
        format!("CPATH={layer}/build-only/include|"),
        format!("PKG_CONFIG_PATH=/platform/pkgconfig:{layer}/build-only/pkgconfig|"),
        "HOME=<ROOT>/home|".into(), // a .default does not replace a set variable
        "CNB_REGISTRY_AUTH=<unset>".into(),
        "DOCKER_CONFIG=<unset>".into(),
        "CNB_PLATFORM_API=<unset>".into(),
        "CNB_LAYERS_DIR=<ROOT>/layers/cnb-test_envprint|".into(),
        "CNB_TARGET_OS=linux|".into(),
        "CNB_TARGET_DISTRO_NAME=ubuntu|".into(),
    ] {
        assert!(
            s.contains(&format!("envprint: {want}\n")),
            "{want:?} in\n{s}"
        );
    }
    assert!(s.contains("build-only tool ran\n"), "{s}");
}

#[test]
fn env_file_bytes_reach_a_buildpack_verbatim() {
    let Some(sb) = sandbox() else {
        return;
    };
    std::fs::write(sb.path("platform/env/RAW_BYTES"), b"a\xffb\n").unwrap();
    group_only(
        &sb,
        "[[group]]\n  id = \"cnb-test/layers\"\n  version = \"0.0.1\"\n  api = \"0.10\"\n\n[[group]]\n  id = \"cnb-test/envprint\"\n  version = \"0.0.1\"\n  api = \"0.10\"\n",
    );
    let r = sb.build(&[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    // not UTF-8, trailing newline kept (the Go builder prints the same line, checked by hand)
    assert!(
        r.stdout.contains("envprint: RAW_BYTES hex=61ff620a\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn output_streams_live() {
    let Some(sb) = sandbox() else { return };
    group_only(
        &sb,
        "[[group]]\n  id = \"cnb-test/chatty\"\n  version = \"0.0.1\"\n  api = \"0.11\"\n",
    );
    let mut args = sb.dir_flags();
    args.push("-analyzed".into());
    args.push(sb.path("layers/analyzed.toml").display().to_string());
    let mut child = sb
        .command("builder", &args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = None;
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "chatty: first line" {
            first = Some(Instant::now());
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    let ended = Instant::now();
    assert!(status.success(), "{lines:?}");
    let first = first.expect("first line seen");
    // the buildpack sleeps 1.5 s after its first 200 lines
    assert!(
        ended - first > Duration::from_millis(1000),
        "{:?}",
        ended - first
    );
    assert!(
        lines.contains(&"chatty: to stderr".to_string()),
        "stderr joins stdout"
    );
    assert_eq!(lines.last().map(String::as_str), Some("chatty: last line"));
}

#[test]
fn input_errors() {
    let Some(sb) = sandbox() else { return };
    let layers = sb.layers().display().to_string();
    sb.write("layers/group.toml", "a");
    let r = sb.build(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .starts_with("ERROR: failed to read group file: toml: line 1"),
        "{}",
        r.stdout
    );
    sb.write(
        "layers/group.toml",
        "[[group]]\n  id = \"cnb-test/earth\"\n  version = \"0.0.1\"\n  api = \"0.11\"\n",
    );
    let r = sb.build(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(
        r.stdout,
        format!(
            "ERROR: failed to read plan file: open {layers}/plan.toml: no such file or directory\n"
        )
    );
    sb.write("layers/plan.toml", "");
    sb.write(
        "layers/group.toml",
        "[[group]]\n  id = \"cnb-test/earth\"\n  version = \"0.0.1\"\n  api = \"0.2wrongapi\"\n",
    );
    let r = sb.build(&[]);
    assert_eq!(r.code, 12, "{}", r.stdout);
    sb.write("layers/group.toml", "");
    sb.write("layers/analyzed.toml", "[run-image\n");
    let r = sb.build(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "ERROR: failed to reading analyzed.toml: failed to read analyzed file: toml: line 1: "
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn empty_group_with_the_subcommand_and_layers_env_only() {
    let Some(mut sb) = sandbox() else { return };
    sb.write("layers/group.toml", "");
    sb.write("layers/plan.toml", "");
    sb.env
        .push(("CNB_LAYERS_DIR".into(), sb.layers().display().to_string()));
    sb.env.push(("CNB_LOG_LEVEL".into(), "debug".into()));
    let r = sb.run("lifecycle", &["build".to_string()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("Timer: Builder ran for "), "{}", r.stdout);
    // The Go builder writes exactly "processes = []\n" for an empty group (checked by hand with
    // the reference binary): its nil `buildpacks` slice is omitted.
    let text = sb.read("layers/config/metadata.toml");
    assert_eq!(text, "processes = []\n");
    let md = cnb::files::metadata::parse_metadata(&text).unwrap();
    assert!(md.processes.is_empty() && md.buildpacks.is_empty());
}

#[test]
fn refuses_root() {
    detector_harness::assert_refuses_root("build", "build");
}
