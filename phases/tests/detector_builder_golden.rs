//! Our detector and builder against the Go lifecycle v0.21.17 on the same buildpacks, app and
//! inputs: every output file of every scenario in `testdata/phases/scenarios` compared with
//! what the Go binaries wrote (`testdata/phases/golden`, README there says how), after the
//! same path normalisation. group.toml, plan.toml and metadata.toml are compared byte for byte,
//! and so are the logs and exit codes.

mod detector_harness;
use detector_harness::{golden, run_scenario};

fn check(name: &str) -> Option<detector_harness::ScenarioOut> {
    let (_sb, ours) = run_scenario(name)?;
    let go = golden(name);
    assert_eq!(
        ours.files.keys().collect::<Vec<_>>(),
        go.files.keys().collect::<Vec<_>>(),
        "{name}: same files written"
    );
    for (k, want) in &go.files {
        assert_eq!(&ours.files[k], want, "{name}/{k}");
    }
    Some(ours)
}

#[test]
fn full_detect_and_build_match_go() {
    let Some(out) = check("full") else { return };
    // Spot checks on top of the byte comparison, so a bad golden cannot hide a regression.
    let md = &out.files["metadata.toml"];
    assert!(
        md.starts_with("buildpack-default-process-type = \"web\"\n"),
        "{md}"
    );
    assert!(!md.contains("processes ="), "{md}");
    assert!(md.contains(
        "  command = [\"./app.sh\"]\n  direct = true\n  buildpack-id = \"cnb-test/script\""
    ));
    let stdout = &out.files["build.stdout"];
    assert!(
        stdout.contains("envprint: CNB_REGISTRY_AUTH=<unset>\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("envprint: DOCKER_CONFIG=<unset>\n"),
        "{stdout}"
    );
    assert!(out.files["detect.stdout"].contains("7 of 8 buildpacks participating\n"));
}

#[test]
fn target_from_analyzed_matches_go() {
    let Some(out) = check("target") else { return };
    let stdout = &out.files["build.stdout"];
    assert!(
        stdout.contains("envprint: CNB_TARGET_DISTRO_NAME=ubuntu|\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("reading /etc/os-release"), "{stdout}");
}

#[test]
fn failed_detection_matches_go() {
    let Some(out) = check("detect-fail") else {
        return;
    };
    assert_eq!(out.files["detect.exit"], "20\n");
}

#[test]
fn erroring_detection_matches_go() {
    let Some(out) = check("detect-error") else {
        return;
    };
    assert_eq!(out.files["detect.exit"], "21\n");
}

#[test]
fn failing_buildpack_matches_go() {
    let Some(out) = check("build-fail") else {
        return;
    };
    assert_eq!(out.files["build.exit"], "51\n");
}

#[test]
fn missing_group_matches_go() {
    let Some(out) = check("build-nogroup") else {
        return;
    };
    assert_eq!(out.files["build.exit"], "1\n");
}

#[test]
fn unsupported_buildpack_api_matches_go() {
    let Some(out) = check("build-oldapi") else {
        return;
    };
    assert_eq!(out.files["build.exit"], "12\n");
}

#[test]
fn chatty_buildpack_output_matches_go() {
    let Some(out) = check("build-chatty") else {
        return;
    };
    assert!(out.files["build.stdout"].contains("chatty: line 200\n"));
}

/// The one deliberate difference: a buildpack's unparsable TOML is reported with the file's
/// path and our parser's wording (Go: "toml: line 2: expected end of table array name
/// delimiter ']', but got '\n' instead", no path). Everything before the error line and the
/// exit code (52) are the same.
#[test]
fn bad_toml_from_a_buildpack_differs_only_in_the_parser_message() {
    let Some((_sb, ours)) = run_scenario("build-badtoml") else {
        return;
    };
    let go = golden("build-badtoml");
    assert_eq!(ours.files["build.exit"], "52\n");
    assert_eq!(go.files["build.exit"], "52\n");
    let (ours_head, ours_err) = split_last_line(&ours.files["build.stdout"]);
    let (go_head, go_err) = split_last_line(&go.files["build.stdout"]);
    assert_eq!(ours_head, go_head);
    let prefix = "ERROR: failed to build: failed to process buildpack layer: failed to decode layer metadata file: ";
    assert!(go_err.starts_with(prefix), "{go_err}");
    assert!(ours_err.starts_with(prefix), "{ours_err}");
    assert!(
        ours_err.contains("<ROOT>/layers/cnb-test_badtoml/launch.toml: toml: line 1: "),
        "names the file: {ours_err}"
    );
}

fn split_last_line(s: &str) -> (&str, &str) {
    let t = s.trim_end_matches('\n');
    match t.rfind('\n') {
        Some(i) => (&t[..=i], &t[i + 1..]),
        None => ("", t),
    }
}

#[test]
fn exec_env_skips_a_production_only_buildpack_like_go() {
    let Some(out) = check("exec-env-test") else {
        return;
    };
    assert!(!out.files["group.toml"].contains("prod-only"));
}

#[test]
fn missing_bin_build_matches_go() {
    let Some(out) = check("exec-env-prod") else {
        return;
    };
    assert_eq!(out.files["build.exit"], "51\n");
    assert!(out.files["build.stdout"].contains(
        "ERROR: failed to build: fork/exec <ROOT>/buildpacks/cnb-test_prod-only/0.0.1/bin/build: no such file or directory\n"
    ));
}

/// Debug-level logs of `full` against the Go binaries' (`golden/full.debug`, captured like the
/// others with `-log-level debug`, then timer times and durations, the detect plan directory
/// and the build host's arch/distro printed by cnb-test/earth replaced; see the README).
#[test]
fn debug_logs_match_go() {
    let Some((_sb, out)) = detector_harness::run_scenario_at("full", "debug") else {
        return;
    };
    let go = golden("full.debug");
    for k in ["detect.exit", "build.exit", "detect.stdout", "build.stdout"] {
        assert_eq!(debug_normalize(&out.files[k]), go.files[k], "{k}");
    }
}

/// The replacements made on the Go debug capture.
fn debug_normalize(s: &str) -> String {
    let host = {
        let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim_matches('"').to_string())
                .unwrap_or_default()
        };
        format!(
            "arch={} distro={}/{}",
            cnb::buildpack::target::host_arch(),
            get("ID="),
            get("VERSION_ID=")
        )
    };
    s.lines()
        .map(|l| {
            let mut l = l.replace(&host, "arch=<ARCH> distro=<DISTRO>");
            if l.starts_with("Timer: ") {
                l = timer_line(&l);
            }
            replace_digits_after(&l, "<ROOT>/tmp/plan.")
        })
        .map(|l| l + "\n")
        .collect()
}

/// "Timer: X started at <T>" / "Timer: X ran for <D> and ended at <T>".
fn timer_line(l: &str) -> String {
    if let Some(i) = l.find(" started at ") {
        return format!("{} started at <T>", &l[..i]);
    }
    match (l.find(" ran for "), l.find(" and ended at ")) {
        (Some(i), Some(_)) => format!("{} ran for <D> and ended at <T>", &l[..i]),
        _ => l.to_string(),
    }
}

fn replace_digits_after(l: &str, mark: &str) -> String {
    let mut out = String::new();
    let mut rest = l;
    while let Some(i) = rest.find(mark) {
        out.push_str(&rest[..i + mark.len()]);
        rest = &rest[i + mark.len()..];
        let n = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if n > 0 {
            out.push_str("<N>");
        }
        rest = &rest[n..];
    }
    out + rest
}

#[test]
fn clear_env_buildpack_gets_no_platform_env_like_go() {
    let Some(out) = check("clear-env") else {
        return;
    };
    let s = &out.files["build.stdout"];
    assert!(s.contains("clearenv: PLATFORM_VAR=<unset>\n"), "{s}");
    assert!(s.contains("clearenv: BC_VAR=from-build-config|\n"), "{s}");
}
