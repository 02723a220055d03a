//! Build execution against our own test buildpacks: plan slices and filtering, processes,
//! labels, slices, layer handling, live output streaming and the 51/52 error mapping.

use cnb::api::Version;
use cnb::buildpack::build::{BuildEnvSource, StaticEnv, build_group, verify_group};
use cnb::buildpack::build_run::{BuildError, BuildInputs, BuildOutput, run_build};
use cnb::buildpack::detect::{DetectConfig, Detector, fixed_env};
use cnb::buildpack::order::read_order;
use cnb::buildpack::{
    BuildpackDescriptor, BuildpackEnv, BuildpackPlan, BuildpackStore, Group, GroupElement, Plan,
};
use cnb::exit::ExitCode;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn store() -> BuildpackStore {
    BuildpackStore::new(root().join("buildpacks"))
}

fn path_env() -> BuildpackEnv {
    BTreeMap::from([("PATH".into(), std::env::var_os("PATH").unwrap_or_default())])
}

/// A writer that remembers each chunk with the time it arrived.
#[derive(Default)]
struct Recorder {
    chunks: Vec<(Instant, Vec<u8>)>,
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.chunks.push((Instant::now(), buf.to_vec()));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Setup {
    _tmp: tempfile::TempDir,
    inputs: BuildInputs,
    sink: Arc<Mutex<Recorder>>,
}

impl Setup {
    fn new(app: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let layers = tmp.path().join("layers");
        let platform = tmp.path().join("platform");
        std::fs::create_dir_all(&layers).unwrap();
        std::fs::create_dir_all(&platform).unwrap();
        let sink = Arc::new(Mutex::new(Recorder::default()));
        let out: Arc<Mutex<dyn Write + Send>> = sink.clone();
        let inputs = BuildInputs {
            app_dir: root().join(app),
            layers_dir: layers,
            platform_dir: platform,
            target_env: vec![
                ("CNB_TARGET_OS".into(), "linux".into()),
                ("CNB_TARGET_ARCH".into(), "amd64".into()),
            ],
            exec_env: String::new(),
            output: BuildOutput::Sink(out),
        };
        Setup {
            _tmp: tmp,
            inputs,
            sink,
        }
    }

    fn text(&self) -> String {
        let r = self.sink.lock().unwrap();
        String::from_utf8(r.chunks.iter().flat_map(|(_, c)| c.clone()).collect()).unwrap()
    }
}

/// Detects `order` (our detector) to get a real group and plan.
fn detect(order: &str) -> (Group, Plan) {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(path_env());
    let cfg = DetectConfig::new(
        root().join("detect/app-with-script"),
        platform.path(),
        store(),
        Version::new(0, 12),
    );
    let mut d = Detector::new(cfg, &*env);
    let out = d
        .detect(
            &read_order(&root().join("detect").join(order))
                .unwrap()
                .order,
        )
        .unwrap();
    (out.group, out.plan)
}

fn group_of(ids: &[&str]) -> Group {
    Group {
        group: ids
            .iter()
            .map(|id| GroupElement {
                api: "0.11".into(),
                ..GroupElement::new(id, "0.0.1")
            })
            .collect(),
        group_extensions: vec![],
    }
}

#[test]
fn plan_slices_are_given_and_met_entries_filtered() {
    let (group, plan) = detect("solar-order.toml");
    let s = Setup::new("detect/app-with-script");
    let res = build_group(
        &group,
        &plan,
        &store(),
        &s.inputs,
        &mut StaticEnv(path_env()),
    )
    .unwrap();
    let text = s.text();
    let layers = s.inputs.layers_dir.join("cnb-test_earth");
    assert!(
        text.contains(&format!(
            "earth build: layers={} platform={} plan=",
            layers.display(),
            s.inputs.platform_dir.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("CNB_LAYERS_DIR={}", layers.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "earth build cwd: {}",
            root().join("detect/app-with-script").display()
        )),
        "{text}"
    );
    // earth's plan holds both requirements of "planet" (earth's and moon's)
    let earth_plan = text
        .split("--- earth plan ---\n")
        .nth(1)
        .unwrap()
        .split("--- end plan ---")
        .next()
        .unwrap();
    let parsed: BuildpackPlan = toml::from_str(earth_plan).unwrap();
    assert_eq!(parsed.entries.len(), 2, "{earth_plan}");
    assert_eq!(parsed.entries[0].name, "planet");
    assert_eq!(
        parsed.entries[0].metadata.as_ref().unwrap()["kind"].as_str(),
        Some("rocky")
    );
    assert_eq!(
        parsed.entries[1].metadata.as_ref().unwrap()["orbit"].as_str(),
        Some("inner")
    );
    // earth met "planet", so moon (not a provider anyway) gets an empty plan
    let moon_part = text.split("moon build: plan follows\n").nth(1).unwrap();
    assert!(!moon_part.contains("planet"), "{moon_part}");
    assert_eq!(res.outputs[0].met_requires, ["planet", "planet"]);
    assert!(layers.is_dir() && s.inputs.layers_dir.join("cnb-test_moon").is_dir());
    assert!(res.processes.is_empty());
    assert_eq!(res.buildpacks, group.group);
}

/// Records the layers handed to the environment.
struct RecordingEnv(Vec<(String, PathBuf)>);

impl BuildEnvSource for RecordingEnv {
    fn env_for(&mut self, _: &BuildpackDescriptor) -> Result<BuildpackEnv, String> {
        Ok(path_env())
    }
    fn add_build_layer(&mut self, bp: &BuildpackDescriptor, dir: &Path) -> Result<(), String> {
        self.0.push((bp.buildpack.id.clone(), dir.to_path_buf()));
        Ok(())
    }
}

#[test]
fn unmet_entries_stay_for_later_providers_and_build_layers_feed_the_env() {
    let (group, plan) = detect("lazy-order.toml");
    assert_eq!(plan.entries[0].providers.len(), 2);
    let s = Setup::new("detect/app-with-script");
    let mut env = RecordingEnv(Vec::new());
    let res = build_group(&group, &plan, &store(), &s.inputs, &mut env).unwrap();
    assert!(res.outputs[0].met_requires.is_empty());
    let text = s.text();
    let earth_plan = text
        .split("--- earth plan ---\n")
        .nth(1)
        .unwrap()
        .split("--- end plan ---")
        .next()
        .unwrap();
    let parsed: BuildpackPlan = toml::from_str(earth_plan).unwrap();
    assert_eq!(
        parsed.entries.len(),
        2,
        "lazy left planet unmet: {earth_plan}"
    );
    let lazy_layer = s.inputs.layers_dir.join("cnb-test_lazy/cache-only");
    assert_eq!(env.0, vec![("cnb-test/lazy".to_string(), lazy_layer)]);
}

#[test]
fn processes_labels_slices_and_layer_types() {
    let s = Setup::new("detect/app-with-script");
    let res = build_group(
        &group_of(&["cnb-test/procs"]),
        &Plan::default(),
        &store(),
        &s.inputs,
        &mut StaticEnv(path_env()),
    )
    .unwrap();
    let bp = s.inputs.layers_dir.join("cnb-test_procs");
    let types: Vec<&str> = res.processes.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(types, ["show-env", "web"]);
    assert_eq!(res.default_process_type, "web");
    assert!(
        res.processes
            .iter()
            .all(|p| !p.default && p.direct && p.buildpack_id == "cnb-test/procs")
    );
    assert_eq!(
        res.processes[0].command.entries,
        [bp.join("tools/show-env.sh").display().to_string()]
    );
    assert_eq!(res.processes[1].command.entries, ["bash", "-c"]);
    assert_eq!(
        res.processes[1].args,
        Some(vec!["echo serving".to_string()])
    );
    assert_eq!(res.processes[1].working_dir, "/tmp");
    assert_eq!(res.labels.len(), 1);
    assert_eq!(
        (res.labels[0].key.as_str(), res.labels[0].value.as_str()),
        ("org.example.procs", "yes")
    );
    assert_eq!(res.slices[0].paths, ["static/*"]);
    // typeless layer renamed, launch layer kept
    assert!(bp.join("scratch.ignore/file").is_file());
    assert!(!bp.join("scratch").exists());
    assert!(bp.join("tools/show-env.sh").is_file());
    let tools = res.outputs[0]
        .layers
        .iter()
        .find(|l| l.name == "tools")
        .unwrap();
    assert!(tools.types.launch && !tools.types.build && !tools.types.cache);
    assert_eq!(
        tools.metadata.as_ref().unwrap()["made-by"].as_str(),
        Some("procs")
    );
}

#[test]
fn inline_style_app_buildpack_sets_the_web_process() {
    let (group, plan) = detect("script-order.toml");
    let s = Setup::new("detect/app-with-script");
    let res = build_group(
        &group,
        &plan,
        &store(),
        &s.inputs,
        &mut StaticEnv(path_env()),
    )
    .unwrap();
    assert_eq!(res.processes.len(), 1);
    assert_eq!(res.processes[0].command.entries, ["./app.sh"]);
    assert_eq!(res.default_process_type, "web");
    assert!(s.text().contains("script: app.sh will be the web process"));
}

#[test]
fn output_streams_while_the_buildpack_runs() {
    let s = Setup::new("detect/app-with-script");
    let d = store().lookup("cnb-test/chatty", "0.0.1").unwrap();
    let started = Instant::now();
    run_build(&d, &path_env(), &BuildpackPlan::default(), &s.inputs).unwrap();
    let ended = Instant::now();
    let r = s.sink.lock().unwrap();
    let first = r
        .chunks
        .iter()
        .find(|(_, c)| String::from_utf8_lossy(c).contains("chatty: first line"))
        .map(|(t, _)| *t)
        .expect("first line forwarded");
    // The buildpack sleeps 1.5 s after its first lines: they must have arrived well before it exited.
    assert!(
        ended - first > Duration::from_millis(1000),
        "first line came {:?} after start, run took {:?}",
        first - started,
        ended - started
    );
    drop(r);
    let text = s.text();
    assert!(text.contains("chatty: line 200\n"));
    assert!(
        text.contains("chatty: to stderr\n"),
        "stderr is forwarded too"
    );
    assert!(text.ends_with("chatty: last line\n"));
}

#[test]
fn bad_toml_from_a_buildpack_is_a_build_error_naming_the_file() {
    let s = Setup::new("detect/app-with-script");
    let err = build_group(
        &group_of(&["cnb-test/badtoml"]),
        &Plan::default(),
        &store(),
        &s.inputs,
        &mut StaticEnv(path_env()),
    )
    .unwrap_err();
    let BuildError::Other(msg) = &err else {
        panic!("{err:?}")
    };
    let file = s.inputs.layers_dir.join("cnb-test_badtoml/launch.toml");
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    let e = err.into_lifecycle_error();
    assert_eq!(e.code, ExitCode::BuildError);
    assert!(e.message.starts_with("failed to build: "), "{}", e.message);
}

#[test]
fn failing_buildpack_maps_to_51() {
    let s = Setup::new("detect/app-with-script");
    let err = build_group(
        &group_of(&["cnb-test/failbuild"]),
        &Plan::default(),
        &store(),
        &s.inputs,
        &mut StaticEnv(path_env()),
    )
    .unwrap_err();
    assert_eq!(err, BuildError::Buildpack("exit status 3".into()));
    assert!(s.text().contains("failbuild: giving up"));
    let e = err.into_lifecycle_error();
    assert_eq!(e.code, ExitCode::FailedBuildWithErrors);
    assert_eq!(e.message, "failed to build: exit status 3");
}

#[test]
fn group_api_gate() {
    verify_group(&group_of(&["cnb-test/earth"])).unwrap();
    let mut g = group_of(&["cnb-test/earth"]);
    g.group[0].api = "0.2".into();
    let e = verify_group(&g).unwrap_err();
    assert_eq!(e.code, ExitCode::IncompatibleBuildpackApi);
}

/// type, command, args, direct, buildpack-id, working-dir
type ProcRow = (String, Vec<String>, Vec<String>, bool, String, String);

/// Processes, default type, labels and slices against the Go builder's metadata.toml for the
/// same buildpacks (testdata/build/golden, see its README).
#[test]
fn matches_go_builder_metadata() {
    for name in ["default", "override"] {
        let golden = root().join("build/golden");
        let group =
            cnb::buildpack::group::read_group(&golden.join(format!("{name}.group.toml"))).unwrap();
        let want: toml::Table = toml::from_str(
            &std::fs::read_to_string(golden.join(format!("{name}.metadata.toml"))).unwrap(),
        )
        .unwrap();
        let s = Setup::new("detect/app-with-script");
        let res = build_group(
            &group,
            &Plan::default(),
            &store(),
            &s.inputs,
            &mut StaticEnv(path_env()),
        )
        .unwrap();
        let layers = s.inputs.layers_dir.display().to_string();

        let want_default = want
            .get("buildpack-default-process-type")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        assert_eq!(res.default_process_type, want_default, "{name}");

        let strs = |v: Option<&toml::Value>| -> Vec<String> {
            v.and_then(|v| v.as_array())
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let want_procs: Vec<ProcRow> = want["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["type"].as_str().unwrap().to_string(),
                    strs(p.get("command")),
                    strs(p.get("args")),
                    p["direct"].as_bool().unwrap(),
                    p["buildpack-id"].as_str().unwrap().to_string(),
                    p.get("working-dir")
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect();
        let got_procs: Vec<_> = res
            .processes
            .iter()
            .map(|p| {
                (
                    p.kind.clone(),
                    p.command
                        .entries
                        .iter()
                        .map(|c| c.replace(&layers, "<LAYERS>"))
                        .collect::<Vec<_>>(),
                    p.args.clone().unwrap_or_default(),
                    p.direct,
                    p.buildpack_id.clone(),
                    p.working_dir.clone(),
                )
            })
            .collect();
        // later buildpacks replace a type wholesale (procs' web, with args and working-dir, is gone)
        assert_eq!(got_procs, want_procs, "{name}");

        let labels: Vec<(String, String)> = res
            .labels
            .iter()
            .map(|l| (l.key.clone(), l.value.clone()))
            .collect();
        let want_labels: Vec<(String, String)> = want["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["key"].as_str().unwrap().into(),
                    l["value"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(labels, want_labels, "{name}");
        let slices: Vec<Vec<String>> = res.slices.iter().map(|s| s.paths.clone()).collect();
        let want_slices: Vec<Vec<String>> = want["slices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| strs(s.get("paths")))
            .collect();
        assert_eq!(slices, want_slices, "{name}");
        let bps: Vec<String> = want["buildpacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().into())
            .collect();
        assert_eq!(
            res.buildpacks
                .iter()
                .map(|b| b.id.clone())
                .collect::<Vec<_>>(),
            bps,
            "{name}"
        );
    }
}

#[test]
fn unmet_name_not_in_plan_is_a_build_error() {
    let s = Setup::new("detect/app-with-script");
    let err = build_group(
        &group_of(&["cnb-test/lazy"]),
        &Plan::default(),
        &store(),
        &s.inputs,
        &mut StaticEnv(path_env()),
    )
    .unwrap_err();
    let e = err.into_lifecycle_error();
    assert_eq!(e.code, ExitCode::BuildError);
    // the Go builder's exact message for this case (testdata/build/golden/README.md)
    assert_eq!(
        e.message,
        "failed to build: unmet.name 'planet' must match a requested dependency"
    );
}

fn files_under(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in walkdir_like(dir) {
        let rel = e.strip_prefix(dir).unwrap().display().to_string();
        out.insert(rel, std::fs::read_to_string(&e).unwrap());
    }
    out
}

fn walkdir_like(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walkdir_like(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The `<layers>/sbom` tree, byte for byte as the Go builder wrote it for the same buildpack
/// (testdata/build/golden/sbom-tree), and the undeclared-media-type error.
#[test]
fn sbom_tree_matches_go_builder() {
    let s = Setup::new("detect/app-with-script");
    std::fs::create_dir_all(s.inputs.layers_dir.join("sbom/stale")).unwrap();
    build_group(
        &group_of(&["cnb-test/sbom"]),
        &Plan::default(),
        &store(),
        &s.inputs,
        &mut StaticEnv(path_env()),
    )
    .unwrap();
    let got = files_under(&s.inputs.layers_dir.join("sbom"));
    let want = files_under(&root().join("build/golden/sbom-tree"));
    assert_eq!(got, want);

    let s = Setup::new("detect/app-with-script");
    let mut env = path_env();
    env.insert("SBOM_UNDECLARED".into(), "yes".into());
    let err = build_group(
        &group_of(&["cnb-test/sbom"]),
        &Plan::default(),
        &store(),
        &s.inputs,
        &mut StaticEnv(env),
    )
    .unwrap_err()
    .into_lifecycle_error();
    assert_eq!(err.code, ExitCode::BuildError);
    let file = s
        .inputs
        .layers_dir
        .join("cnb-test_sbom/launch.sbom.spdx.json");
    assert_eq!(
        err.message,
        format!(
            "failed to build: validating SBOM file '{}' for buildpack: 'cnb-test/sbom@0.0.1': undeclared SBOM media type: 'application/spdx+json'",
            file.display()
        )
    );
}

/// With `BuildOutput::Inherit` the buildpack writes straight to the lifecycle's stdout, its
/// stderr joined to it. Checked by re-running this test binary as a child and reading its
/// stdout.
#[test]
fn inherited_output_goes_to_stdout() {
    if std::env::var_os("CNB_BP_INHERIT_CHILD").is_some() {
        let mut s = Setup::new("detect/app-with-script");
        s.inputs.output = BuildOutput::Inherit;
        let d = store().lookup("cnb-test/script", "0.0.1").unwrap();
        run_build(&d, &path_env(), &BuildpackPlan::default(), &s.inputs).unwrap();
        let d = store().lookup("cnb-test/failbuild", "0.0.1").unwrap();
        let e = run_build(&d, &path_env(), &BuildpackPlan::default(), &s.inputs).unwrap_err();
        assert_eq!(e, BuildError::Buildpack("exit status 3".into()));
        let d = store().lookup("cnb-test/chatty", "0.0.1").unwrap();
        run_build(&d, &path_env(), &BuildpackPlan::default(), &s.inputs).unwrap();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "inherited_output_goes_to_stdout",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CNB_BP_INHERIT_CHILD", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("script: app.sh will be the web process\n"),
        "{stdout}"
    );
    assert!(stdout.contains("failbuild: giving up\n"), "{stdout}");
    assert!(
        stdout.contains("chatty: to stderr\n"),
        "buildpack stderr goes to stdout: {stdout}"
    );
    assert!(stdout.contains("chatty: last line\n"), "{stdout}");
    assert!(!stderr.contains("chatty"), "{stderr}");
}
