//! Detection against our own test buildpacks (testdata/buildpacks) and orders
//! (testdata/detect): group/plan contents, exit-code mapping and the Go-format log lines.

use cnb::api::Version;
use cnb::buildpack::detect::{
    DetectConfig, DetectError, Detector, fixed_env, prepare_order, verify_order,
};
use cnb::buildpack::group::{read_group, write_group};
use cnb::buildpack::order::{read_order, read_system};
use cnb::buildpack::plan::{read_plan, write_plan};
use cnb::buildpack::{BaseTarget, BuildpackStore, OsDistro};
use cnb::exit::ExitCode;
use cnb::log::Level;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn store() -> BuildpackStore {
    BuildpackStore::new(root().join("buildpacks"))
}

fn order(name: &str) -> cnb::buildpack::Order {
    read_order(&root().join("detect").join(name)).unwrap().order
}

fn config(platform: &Path, api: Version) -> DetectConfig {
    let mut c = DetectConfig::new(
        root().join("detect/app-with-script"),
        platform,
        store(),
        api,
    );
    c.run_target = Some(BaseTarget {
        os: "linux".into(),
        arch: "amd64".into(),
        distro: Some(OsDistro {
            name: "ubuntu".into(),
            version: "22.04".into(),
        }),
        ..Default::default()
    });
    c
}

fn base_env(count_dir: &Path) -> cnb::buildpack::BuildpackEnv {
    let mut m = BTreeMap::new();
    m.insert("PATH".into(), std::env::var_os("PATH").unwrap_or_default());
    m.insert("CNB_TEST_COUNT_DIR".into(), count_dir.into());
    m
}

fn lines(d: &Detector<'_>) -> Vec<(Level, String)> {
    d.log_entries().to_vec()
}

fn has(lines: &[(Level, String)], level: Level, msg: &str) -> bool {
    lines.iter().any(|(l, m)| *l == level && m == msg)
}

fn output_of(d: &Detector<'_>, id: &str) -> String {
    String::from_utf8(d.run_of(id, "0.0.1").expect("detect ran").output.clone()).unwrap()
}

#[test]
fn composite_group_passes_and_optional_unused_provider_is_dropped() {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let mut d = Detector::new(config(platform.path(), Version::new(0, 12)), &*env);
    let out = d.detect(&order("solar-order.toml")).unwrap();

    let ids: Vec<String> = out.group.group.iter().map(|e| e.to_string()).collect();
    assert_eq!(ids, ["cnb-test/earth@0.0.1", "cnb-test/moon@0.0.1"]);
    assert_eq!(out.group.group[0].api, "0.11");
    assert_eq!(out.group.group[0].homepage, "https://example.invalid/earth");
    assert!(out.group.group.iter().all(|e| !e.optional));

    // Files round-trip: write them, parse the TOML back as plain tables.
    let tmp = tempfile::tempdir().unwrap();
    write_group(&tmp.path().join("group.toml"), &out.group).unwrap();
    write_plan(&tmp.path().join("plan.toml"), &out.plan).unwrap();
    let g: toml::Table =
        toml::from_str(&std::fs::read_to_string(tmp.path().join("group.toml")).unwrap()).unwrap();
    let first = &g["group"].as_array().unwrap()[0];
    assert_eq!(first["id"].as_str(), Some("cnb-test/earth"));
    assert_eq!(first["version"].as_str(), Some("0.0.1"));
    assert_eq!(first["api"].as_str(), Some("0.11"));
    assert!(first.get("optional").is_none());
    let p: toml::Table =
        toml::from_str(&std::fs::read_to_string(tmp.path().join("plan.toml")).unwrap()).unwrap();
    let entries = p["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let providers = entries[0]["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 1);
    assert_eq!(providers[0]["id"].as_str(), Some("cnb-test/earth"));
    assert!(
        providers[0].get("api").is_none(),
        "providers carry only id/version"
    );
    let requires = entries[0]["requires"].as_array().unwrap();
    assert_eq!(requires.len(), 2);
    assert_eq!(requires[0]["name"].as_str(), Some("planet"));
    assert_eq!(requires[0]["metadata"]["kind"].as_str(), Some("rocky"));
    assert_eq!(requires[1]["metadata"]["orbit"].as_str(), Some("inner"));
    assert_eq!(read_plan(&tmp.path().join("plan.toml")).unwrap(), out.plan);
    assert_eq!(
        read_group(&tmp.path().join("group.toml")).unwrap(),
        out.group
    );

    let l = lines(&d);
    assert!(has(&l, Level::Debug, "fail: cnb-test/never@0.0.1"), "{l:?}");
    assert!(
        has(
            &l,
            Level::Debug,
            "skip: cnb-test/extra@0.0.1 provides unused gadget"
        ),
        "{l:?}"
    );
    assert!(
        has(&l, Level::Info, "2 of 3 buildpacks participating"),
        "{l:?}"
    );
    assert!(has(&l, Level::Info, "cnb-test/earth 0.0.1"), "{l:?}");
    assert!(
        has(&l, Level::Info, "cnb-test/moon  0.0.1"),
        "id column padded: {l:?}"
    );
    assert!(has(&l, Level::Debug, "======== Results ========"), "{l:?}");

    // What bin/detect saw: positional args, CNB_* env, target env and cwd.
    let earth = output_of(&d, "cnb-test/earth");
    let bp_dir = root().join("buildpacks/cnb-test_earth/0.0.1");
    assert!(
        earth.contains(&format!(
            "earth detect: platform={} plan=",
            platform.path().display()
        )),
        "{earth}"
    );
    assert!(
        earth.contains(&format!("CNB_BUILDPACK_DIR={}", bp_dir.display())),
        "{earth}"
    );
    assert!(
        earth.contains(&format!("CNB_PLATFORM_DIR={}", platform.path().display())),
        "{earth}"
    );
    assert!(earth.contains("CNB_BUILD_PLAN_PATH=/"), "{earth}");
    assert!(
        earth.contains("earth target: os=linux arch=amd64 distro=ubuntu/22.04"),
        "{earth}"
    );
    let app = root().join("detect/app-with-script");
    assert!(
        earth.contains(&format!("earth cwd: {}", app.display())),
        "{earth}"
    );
}

#[test]
fn detect_results_are_memoized_across_groups() {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let mut d = Detector::new(config(platform.path(), Version::new(0, 12)), &*env);
    let out = d.detect(&order("memo-order.toml")).unwrap();
    assert_eq!(out.group.group.len(), 2);
    let runs = std::fs::read_to_string(platform.path().join("earth-detect-runs")).unwrap();
    assert_eq!(
        runs.lines().count(),
        1,
        "earth's bin/detect ran more than once"
    );
}

#[test]
fn failing_detect_maps_to_20_and_shows_output() {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let mut d = Detector::new(config(platform.path(), Version::new(0, 12)), &*env);
    let err = d.detect(&order("fail-order.toml")).unwrap_err();
    assert_eq!(err, DetectError::FailedDetection);
    let l = lines(&d);
    let msgs: Vec<&str> = l.iter().map(|(_, m)| m.as_str()).collect();
    let at = msgs
        .iter()
        .position(|m| *m == "======== Output: cnb-test/never@0.0.1 ========")
        .expect("output header");
    assert_eq!(msgs[at + 1], "never: no marker file here, stepping aside\n");
    assert!(msgs.contains(&"======== Results ========"));
    assert!(msgs.contains(&"fail: cnb-test/never@0.0.1"));
    let e = err.into_lifecycle_error();
    assert_eq!(e.code, ExitCode::FailedDetect);
    assert_eq!(e.message, "failed to detect: no buildpacks participating");
}

#[test]
fn erroring_detect_maps_to_21() {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let mut d = Detector::new(config(platform.path(), Version::new(0, 12)), &*env);
    let err = d.detect(&order("error-order.toml")).unwrap_err();
    assert_eq!(err, DetectError::BuildpackErrors);
    let l = lines(&d);
    assert!(
        has(&l, Level::Info, "err:  cnb-test/broken@0.0.1 (1)"),
        "{l:?}"
    );
    assert!(
        has(
            &l,
            Level::Info,
            "======== Output: cnb-test/broken@0.0.1 ========"
        ),
        "{l:?}"
    );
    assert!(
        has(&l, Level::Info, "broken: detect crashed on purpose\n"),
        "stderr captured: {l:?}"
    );
    let e = err.into_lifecycle_error();
    assert_eq!(e.code, ExitCode::FailedDetectWithErrors);
    assert_eq!(e.message, "failed to detect: buildpack(s) failed with err");
}

#[test]
fn unmet_require_fails_the_group() {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let mut d = Detector::new(config(platform.path(), Version::new(0, 12)), &*env);
    assert_eq!(
        d.detect(&order("moon-alone-order.toml")).unwrap_err(),
        DetectError::FailedDetection
    );
    assert!(has(
        &lines(&d),
        Level::Debug,
        "fail: cnb-test/moon@0.0.1 requires planet"
    ));
}

#[test]
fn target_mismatch_is_an_error_unless_optional() {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let mut d = Detector::new(config(platform.path(), Version::new(0, 12)), &*env);
    assert_eq!(
        d.detect(&order("target-order.toml")).unwrap_err(),
        DetectError::BuildpackErrors
    );
    let l = lines(&d);
    assert!(
        has(&l, Level::Info, "err:  cnb-test/windows-only@0.0.1"),
        "{l:?}"
    );
    let msg = r#"unable to satisfy target os/arch constraints; run image: {"os":"linux","arch":"amd64","distro":{"name":"ubuntu","version":"22.04"}}, buildpack: [{"os":"windows","arch":"amd64"}]"#;
    assert!(has(&l, Level::Info, msg), "{l:?}");

    // Optional: the buildpack is simply run (it passes and stays in the group).
    let mut d = Detector::new(config(platform.path(), Version::new(0, 12)), &*env);
    let out = d.detect(&order("target-optional-order.toml")).unwrap();
    let ids: Vec<&str> = out.group.group.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["cnb-test/windows-only", "cnb-test/earth"]);

    // Below Platform 0.12 targets are not checked.
    let mut d = Detector::new(config(platform.path(), Version::new(0, 11)), &*env);
    assert_eq!(
        d.detect(&order("target-order.toml"))
            .unwrap()
            .group
            .group
            .len(),
        2
    );
}

#[test]
fn run_image_without_distro_uses_os_release() {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let mut c = config(platform.path(), Version::new(0, 12));
    c.run_target = Some(BaseTarget {
        os: "linux".into(),
        arch: "arm64".into(),
        ..Default::default()
    });
    c.os_release = root().join("detect/os-release");
    let mut d = Detector::new(c, &*env);
    d.detect(&order("solar-order.toml")).unwrap();
    let earth = output_of(&d, "cnb-test/earth");
    assert!(
        earth.contains("earth target: os=linux arch=arm64 distro=testlinux/7.1"),
        "{earth}"
    );
}

#[test]
fn exec_env_skips_buildpacks_at_platform_0_15() {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let mut c = config(platform.path(), Version::new(0, 15));
    c.exec_env = "test".into();
    let mut d = Detector::new(c, &*env);
    let out = d.detect(&order("exec-env-order.toml")).unwrap();
    let ids: Vec<&str> = out.group.group.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["cnb-test/earth"]);
    assert!(
        d.run_of("cnb-test/prod-only", "0.0.1").is_none(),
        "skipped buildpacks do not run"
    );

    let mut c = config(platform.path(), Version::new(0, 15));
    c.exec_env = "production".into();
    let mut d = Detector::new(c, &*env);
    let out = d.detect(&order("exec-env-order.toml")).unwrap();
    assert_eq!(out.group.group.len(), 2);
    assert_eq!(
        output_of(&d, "cnb-test/prod-only"),
        "prod-only: CNB_EXEC_ENV=production\n"
    );
}

#[test]
fn order_verification_codes() {
    let e = verify_order(&order("old-api-order.toml"), &store()).unwrap_err();
    assert_eq!(e.code, ExitCode::IncompatibleBuildpackApi);
    assert_eq!(
        e.message,
        "failed to set API for Buildpack 'cnb-test/old-api@0.0.1': buildpack API version '0.1' is incompatible with the lifecycle"
    );
    let e = verify_order(&order("missing-order.toml"), &store()).unwrap_err();
    assert_eq!(e.code, ExitCode::Failed);
    assert!(
        e.message
            .starts_with("failed to initialize detector: open "),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("cnb-test_not-there/9.9.9/buildpack.toml"),
        "{}",
        e.message
    );
    verify_order(&order("solar-order.toml"), &store()).unwrap();
}

#[test]
fn system_buildpacks_are_prepended_at_0_15_only() {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let file = read_order(&root().join("detect/moon-alone-order.toml")).unwrap();
    let sys = read_system(&root().join("detect/system.toml")).unwrap();

    let o = prepare_order(&file, sys.as_ref(), Version::new(0, 15));
    let mut d = Detector::new(config(platform.path(), Version::new(0, 15)), &*env);
    let out = d.detect(&o).unwrap();
    let ids: Vec<&str> = out.group.group.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["cnb-test/earth", "cnb-test/moon"]);

    let o = prepare_order(&file, sys.as_ref(), Version::new(0, 14));
    let mut d = Detector::new(config(platform.path(), Version::new(0, 14)), &*env);
    assert_eq!(d.detect(&o).unwrap_err(), DetectError::FailedDetection);
}

#[test]
fn inline_style_buildpack_detects_on_app_contents() {
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let mut d = Detector::new(config(platform.path(), Version::new(0, 12)), &*env);
    let out = d.detect(&order("script-order.toml")).unwrap();
    assert_eq!(out.group.group[0].id, "cnb-test/script");
    assert!(out.plan.entries.is_empty());

    let mut c = config(platform.path(), Version::new(0, 12));
    c.app_dir = root().join("detect/empty-app");
    let mut d = Detector::new(c, &*env);
    assert_eq!(
        d.detect(&order("script-order.toml")).unwrap_err(),
        DetectError::FailedDetection
    );
}

#[test]
fn detect_runs_concurrently() {
    // Two buildpacks that each sleep; run together they take about one sleep, not two.
    use std::os::unix::fs::PermissionsExt;
    let bps = tempfile::tempdir().unwrap();
    for id in ["a", "b"] {
        let dir = bps.path().join(format!("sleepy_{id}")).join("1");
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(
            dir.join("buildpack.toml"),
            format!("api = \"0.11\"\n[buildpack]\nid = \"sleepy/{id}\"\nversion = \"1\"\n"),
        )
        .unwrap();
        let script = dir.join("bin/detect");
        std::fs::write(&script, "#!/usr/bin/env bash\nsleep 1\nexit 0\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let o: cnb::buildpack::OrderFile = toml::from_str(
        "[[order]]\n[[order.group]]\nid = \"sleepy/a\"\nversion = \"1\"\n[[order.group]]\nid = \"sleepy/b\"\nversion = \"1\"\n",
    )
    .unwrap();
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(base_env(platform.path()));
    let mut c = config(platform.path(), Version::new(0, 12));
    c.store = BuildpackStore::new(bps.path());
    let mut d = Detector::new(c, &*env);
    let t = std::time::Instant::now();
    let out = d.detect(&o.order).unwrap();
    let took = t.elapsed();
    assert_eq!(out.group.group.len(), 2);
    assert!(
        took < std::time::Duration::from_millis(1900),
        "took {took:?}"
    );
}

/// Our detector against the Go lifecycle's output for the same buildpacks and orders
/// (testdata/detect/golden, see its README): exit code, printed lines, group and plan.
#[test]
fn matches_go_lifecycle_golden_output() {
    for name in [
        "solar-order",
        "memo-order",
        "fail-order",
        "error-order",
        "lazy-order",
        "moon-alone-order",
        "either-order",
    ] {
        let golden = root().join("detect/golden");
        let read = |ext: &str| std::fs::read_to_string(golden.join(format!("{name}.{ext}")));
        let platform = tempfile::tempdir().unwrap();
        let env = fixed_env(path_only());
        let mut c = config(platform.path(), Version::new(0, 12));
        c.run_target = None; // like the golden run: no analyzed.toml
        let mut d = Detector::new(c, &*env);
        let res = d.detect(&order(&format!("{name}.toml")));

        let want_exit: i32 = read("exit").unwrap().trim().parse().unwrap();
        let mut printed: Vec<String> = Vec::new();
        for (_, msg) in d.visible_entries(res.is_err()) {
            let msg = msg.strip_suffix('\n').unwrap_or(&msg).to_string();
            printed.extend(msg.split('\n').map(str::to_string));
        }
        match &res {
            Ok(out) => {
                assert_eq!(want_exit, 0, "{name}");
                let g: cnb::buildpack::Group =
                    toml::from_str(&read("group.toml").unwrap()).unwrap();
                assert_eq!(out.group, g, "{name} group");
                // group.toml is written byte for byte as the Go detector wrote it.
                assert_eq!(
                    cnb::buildpack::group::group_to_toml(&out.group).unwrap(),
                    read("group.toml").unwrap(),
                    "{name} group.toml bytes"
                );
                let p: cnb::buildpack::Plan = toml::from_str(&read("plan.toml").unwrap()).unwrap();
                assert_eq!(out.plan, p, "{name} plan");
            }
            Err(e) => {
                let lines: Vec<String> = e
                    .error_lines()
                    .iter()
                    .map(|l| format!("ERROR: {l}"))
                    .collect();
                printed.extend(lines);
                let le = e.clone().into_lifecycle_error();
                assert_eq!(le.code.code(), want_exit, "{name}");
                printed.push(format!("ERROR: {}", le.message));
            }
        }
        let stdout = read("stdout").unwrap();
        let want: Vec<&str> = stdout.lines().skip(2).collect();
        let plan_dir = regex_free_plan_dir(&printed);
        let got: Vec<String> = printed
            .iter()
            .map(|l| {
                l.replace(
                    &root().join("buildpacks").display().to_string(),
                    "<BUILDPACKS>",
                )
                .replace(&platform.path().display().to_string(), "<PLATFORM>")
                .replace(
                    &root().join("detect/app-with-script").display().to_string(),
                    "<APP>",
                )
                .replace(&plan_dir, "<PLANDIR>")
            })
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

fn path_only() -> cnb::buildpack::BuildpackEnv {
    BTreeMap::from([("PATH".into(), std::env::var_os("PATH").unwrap_or_default())])
}

/// The temp plan dir printed by a buildpack (`<tmp>/plan.<n>`), or a string never found.
fn regex_free_plan_dir(lines: &[String]) -> String {
    for l in lines {
        if let Some(i) = l.find("/plan.") {
            let start = l[..i].rfind([' ', '=']).map(|j| j + 1).unwrap_or(0);
            let rest = &l[i + 1..];
            let end = rest.find('/').map(|j| i + 1 + j).unwrap_or(l.len());
            return l[start..end].to_string();
        }
    }
    "\u{0}".to_string()
}

#[test]
fn cyclic_composites_stop_with_a_detect_error() {
    let bps = tempfile::tempdir().unwrap();
    for (id, other) in [("a", "b"), ("b", "a")] {
        let dir = bps.path().join(format!("loop_{id}")).join("1");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("buildpack.toml"),
            format!(
                "api = \"0.11\"\n[buildpack]\nid = \"loop/{id}\"\nversion = \"1\"\n[[order]]\n[[order.group]]\nid = \"loop/{other}\"\nversion = \"1\"\n"
            ),
        )
        .unwrap();
    }
    let o: cnb::buildpack::OrderFile =
        toml::from_str("[[order]]\n[[order.group]]\nid = \"loop/a\"\nversion = \"1\"\n").unwrap();
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(path_only());
    let mut c = config(platform.path(), Version::new(0, 12));
    c.store = BuildpackStore::new(bps.path());
    let mut d = Detector::new(c, &*env);
    let DetectError::Other(msg) = d.detect(&o.order).unwrap_err() else {
        panic!()
    };
    assert!(msg.contains("nests more than 64 orders deep"), "{msg}");
    let e = DetectError::Other(msg).into_lifecycle_error();
    assert_eq!(e.code, ExitCode::DetectError);
}

#[test]
fn missing_nested_descriptor_is_a_detect_error_22() {
    let bps = tempfile::tempdir().unwrap();
    let dir = bps.path().join("meta").join("1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("buildpack.toml"),
        "api = \"0.11\"\n[buildpack]\nid = \"meta\"\nversion = \"1\"\n[[order]]\n[[order.group]]\nid = \"absent\"\nversion = \"1\"\n",
    )
    .unwrap();
    let o: cnb::buildpack::OrderFile =
        toml::from_str("[[order]]\n[[order.group]]\nid = \"meta\"\nversion = \"1\"\n").unwrap();
    let store = BuildpackStore::new(bps.path());
    verify_order(&o.order, &store).unwrap();
    let platform = tempfile::tempdir().unwrap();
    let env = fixed_env(path_only());
    let mut c = config(platform.path(), Version::new(0, 12));
    c.store = store;
    let mut d = Detector::new(c, &*env);
    let e = d.detect(&o.order).unwrap_err().into_lifecycle_error();
    assert_eq!(e.code, ExitCode::DetectError);
    assert!(
        e.message.starts_with("failed to detect: open "),
        "{}",
        e.message
    );
}

#[test]
fn load_order_messages_and_system_merge() {
    let missing = root().join("detect/no-such-order.toml");
    let e = cnb::buildpack::detect::load_order(&missing, None, Version::new(0, 12), &store())
        .unwrap_err();
    assert_eq!(e.code, ExitCode::Failed);
    assert_eq!(
        e.message,
        format!(
            "failed to initialize detector: reading order: failed to read order file: open {}: no such file or directory",
            missing.display()
        )
    );
    let sys = root().join("detect/system.toml");
    let order_path = root().join("detect/moon-alone-order.toml");
    let (o, ext) =
        cnb::buildpack::detect::load_order(&order_path, Some(&sys), Version::new(0, 15), &store())
            .unwrap();
    assert!(!ext);
    let ids: Vec<&str> = o[0].group.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["cnb-test/earth", "cnb-test/moon"]);
    let (o, _) = cnb::buildpack::detect::load_order(
        &order_path,
        Some(&missing),
        Version::new(0, 15),
        &store(),
    )
    .unwrap();
    assert_eq!(o[0].group.len(), 1, "missing system.toml is a no-op");
    let e = cnb::buildpack::detect::load_order(
        &root().join("detect/old-api-order.toml"),
        None,
        Version::new(0, 12),
        &store(),
    )
    .unwrap_err();
    assert_eq!(e.code, ExitCode::IncompatibleBuildpackApi);
}

/// At debug level every in-memory entry is printed: compare all of them with the Go
/// detector's debug output (the part between the target-completion/"Checking for match"
/// lines and the closing "Timer:" line).
#[test]
fn debug_entries_match_go_lifecycle() {
    for name in ["either-order", "solar-order"] {
        let golden =
            std::fs::read_to_string(root().join(format!("detect/golden/{name}.debug.stdout")))
                .unwrap();
        let want: Vec<&str> = golden
            .lines()
            .skip_while(|l| !l.starts_with("target distro name/version labels not found"))
            .skip(1)
            .skip_while(|l| l.starts_with("Checking for match against descriptor: "))
            .take_while(|l| !l.starts_with("Timer: Detector ran"))
            .collect();
        let platform = tempfile::tempdir().unwrap();
        let env = fixed_env(path_only());
        let mut c = config(platform.path(), Version::new(0, 12));
        c.run_target = None;
        let mut d = Detector::new(c, &*env);
        d.detect(&order(&format!("{name}.toml"))).unwrap();
        let mut got: Vec<String> = Vec::new();
        for (_, msg) in d.log_entries() {
            let msg = msg.strip_suffix('\n').unwrap_or(msg);
            got.extend(msg.split('\n').map(str::to_string));
        }
        let plan_dir = regex_free_plan_dir(&got);
        let got: Vec<String> = got
            .iter()
            .map(|l| {
                l.replace(
                    &root().join("buildpacks").display().to_string(),
                    "<BUILDPACKS>",
                )
                .replace(&platform.path().display().to_string(), "<PLATFORM>")
                .replace(
                    &root().join("detect/app-with-script").display().to_string(),
                    "<APP>",
                )
                .replace(&plan_dir, "<PLANDIR>")
            })
            .collect();
        // earth prints the build host's arch and distro (from /etc/os-release): placeholders
        let host = {
            let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
            let (n, v) = cnb::buildpack::target::parse_os_release(&text);
            let distro = if n.is_empty() && v.is_empty() {
                "none/none".to_string()
            } else {
                format!("{n}/{v}")
            };
            format!(
                "arch={} distro={distro}",
                cnb::buildpack::target::host_arch()
            )
        };
        let got: Vec<String> = got
            .iter()
            .map(|l| l.replace(&host, "arch=<ARCH> distro=<DISTRO>"))
            .collect();
        assert_eq!(got, want, "{name}");
    }
}
