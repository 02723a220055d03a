//! The detector phase through the binary, as uid 1000: group.toml / plan.toml, logs and exit
//! codes, compared with the Go detector's outputs in testdata/detect/golden where they exist.

mod detector_harness;
use detector_harness::{Sandbox, sandbox, testdata};

/// Runs the detector on `testdata/detect/<order>.toml` at Platform 0.12, as the goldens in
/// testdata/detect/golden were captured (see the README there); the layers path is
/// normalised to `<LAYERS>`.
fn detect_order(order: &str) -> Option<(Sandbox, i32, String)> {
    let mut sb = sandbox()?;
    sb.api = "0.12".into();
    std::fs::copy(
        testdata().join("detect").join(format!("{order}.toml")),
        sb.path("order.toml"),
    )
    .unwrap();
    let order_path = sb.path("order.toml").display().to_string();
    let r = sb.detect(&["-order", &order_path]);
    let out = r
        .stdout
        .replace(&sb.layers().display().to_string(), "<LAYERS>");
    Some((sb, r.code, out))
}

#[test]
fn orders_match_the_go_detector_goldens() {
    let golden = testdata().join("detect/golden");
    for order in [
        "solar-order",
        "memo-order",
        "fail-order",
        "error-order",
        "lazy-order",
        "moon-alone-order",
        "either-order",
    ] {
        let Some((sb, code, out)) = detect_order(order) else {
            return;
        };
        let read = |ext: &str| std::fs::read_to_string(golden.join(format!("{order}.{ext}")));
        assert_eq!(format!("{code}\n"), read("exit").unwrap(), "{order} exit");
        assert_eq!(out, read("stdout").unwrap(), "{order} stdout");
        for f in ["group.toml", "plan.toml"] {
            let ours = std::fs::read_to_string(sb.layers().join(f)).ok();
            assert_eq!(ours, read(f).ok(), "{order} {f}");
        }
    }
}

#[test]
fn writes_group_and_plan_and_logs_participants() {
    let Some((sb, code, out)) = detect_order("solar-order") else {
        return;
    };
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        sb.read("layers/group.toml"),
        "[[group]]\n  id = \"cnb-test/earth\"\n  version = \"0.0.1\"\n  api = \"0.11\"\n  homepage = \"https://example.invalid/earth\"\n\n[[group]]\n  id = \"cnb-test/moon\"\n  version = \"0.0.1\"\n  api = \"0.11\"\n"
    );
    let plan: toml::Table = toml::from_str(&sb.read("layers/plan.toml")).unwrap();
    let entries = plan["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["providers"][0]["id"].as_str(),
        Some("cnb-test/earth")
    );
    assert_eq!(entries[0]["requires"][0]["name"].as_str(), Some("planet"));
    assert!(
        out.contains(
            "2 of 3 buildpacks participating\ncnb-test/earth 0.0.1\ncnb-test/moon  0.0.1\n"
        ),
        "{out}"
    );
    assert!(!out.contains("======== Results ========"), "{out}");
}

#[test]
fn failure_exit_codes_and_error_lines() {
    let Some((sb, code, out)) = detect_order("fail-order") else {
        return;
    };
    assert_eq!(code, 20);
    assert!(out.ends_with("ERROR: No buildpack groups passed detection.\nERROR: Please check that you are running against the correct path.\nERROR: failed to detect: no buildpacks participating\n"), "{out}");
    assert!(!sb.layers().join("group.toml").exists());
    let Some((_, code, out)) = detect_order("error-order") else {
        return;
    };
    assert_eq!(code, 21);
    assert!(out.contains("err:  cnb-test/broken@0.0.1 (1)\n"), "{out}");
    assert!(
        out.ends_with("ERROR: failed to detect: buildpack(s) failed with err\n"),
        "{out}"
    );
    let Some((_, code, out)) = detect_order("old-api-order") else {
        return;
    };
    assert_eq!(code, 12, "{out}");
    assert!(
        out.contains("buildpack API version '0.1' is incompatible with the lifecycle"),
        "{out}"
    );
}

#[test]
fn initialization_errors_exit_1() {
    let Some(sb) = sandbox() else { return };
    let missing = sb.path("nope/order.toml").display().to_string();
    let r = sb.detect(&["-order", &missing]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.ends_with(&format!("ERROR: failed to initialize detector: reading order: failed to read order file: open {missing}: no such file or directory\n")),
        "{}",
        r.stdout
    );
    sb.write(
        "order.toml",
        "[[order]]\n[[order.group]]\nid = \"cnb-test/earth\"\nversion = \"0.0.1\"\n",
    );
    sb.write("layers/analyzed.toml", "[run-image\n");
    let order = sb.path("order.toml").display().to_string();
    let r = sb.detect(&["-order", &order]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "ERROR: failed to initialize detector: failed to read analyzed file: toml: line 1: "
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn system_buildpacks_at_0_15_and_env_inputs_with_the_subcommand() {
    let Some(mut sb) = sandbox() else { return };
    std::fs::copy(
        testdata().join("detect/moon-alone-order.toml"),
        sb.layers().join("order.toml"),
    )
    .unwrap();
    std::fs::copy(
        testdata().join("detect/system.toml"),
        sb.path("system.toml"),
    )
    .unwrap();
    // Only environment variables (CNB_LAYERS_DIR puts order.toml, group.toml, plan.toml in it).
    for (k, d) in [
        ("CNB_LAYERS_DIR", "layers"),
        ("CNB_BUILDPACKS_DIR", "buildpacks"),
        ("CNB_APP_DIR", "app"),
        ("CNB_PLATFORM_DIR", "platform"),
        ("CNB_BUILD_CONFIG_DIR", "build-config"),
        ("CNB_SYSTEM_PATH", "system.toml"),
    ] {
        sb.env.push((k.into(), sb.path(d).display().to_string()));
    }
    sb.env.push(("CNB_LOG_LEVEL".into(), "debug".into()));
    let r = sb.run("lifecycle", &["detect".to_string()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("Prepending 1 system buildpack(s) to group"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Timer: Detector started at "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Timer: Detector ran for "),
        "{}",
        r.stdout
    );
    let group = sb.read("layers/group.toml");
    assert!(
        group.contains("id = \"cnb-test/earth\"") && group.contains("id = \"cnb-test/moon\""),
        "{group}"
    );
    assert!(sb.layers().join("plan.toml").is_file());
}

#[test]
fn order_extensions_are_refused() {
    let Some(sb) = sandbox() else { return };
    sb.write(
        "order.toml",
        "[[order]]\n[[order.group]]\nid = \"cnb-test/earth\"\nversion = \"0.0.1\"\n\n[[order-extensions]]\n[[order-extensions.group]]\nid = \"x/ext\"\nversion = \"1\"\n",
    );
    let order = sb.path("order.toml").display().to_string();
    let r = sb.detect(&["-order", &order]);
    assert_eq!(r.code, 22, "{}", r.stdout);
    assert!(r.stdout.contains("not supported"), "{}", r.stdout);
}

#[test]
fn refuses_root() {
    detector_harness::assert_refuses_root("detect", "detect");
}
