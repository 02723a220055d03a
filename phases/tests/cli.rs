//! Black-box tests of the command-line contract: the built `lifecycle` binary is run through
//! symlinks, `arg0` and subcommands, and resolved inputs are observed via `CNB_RS_PRINT_INPUTS`.

mod common;

use common::{BIN, command, finish, inputs, lifecycle, run, testdata};
use serde_json::json;
use std::os::unix::process::CommandExt;

const API: (&str, &str) = ("CNB_PLATFORM_API", "0.13");
const NO_COLOR: (&str, &str) = ("CNB_NO_COLOR", "true");

fn is_root() -> bool {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() == 0 }
}

// ---- dispatch ---------------------------------------------------------------------------

#[test]
fn phase_symlinks_dispatch_on_basename() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "analyzer",
            vec!["-daemon", "-run-image", "r.io/run", "r.io/app"],
            32,
            "failed to initialize analyzer: -daemon is not supported",
        ),
        ("restorer", vec![], 1, "failed to read group file: open "),
        (
            "exporter.exe",
            vec!["app"],
            3,
            "failed to resolve inputs: run image not found in analyzed metadata",
        ),
        (
            "rebaser",
            vec!["-daemon", "r.io/app"],
            72,
            "failed to rebase: -daemon is not supported",
        ),
        (
            "creator",
            vec!["-daemon", "-run-image", "r.io/run", "r.io/app"],
            32,
            "failed to initialize analyzer: -daemon is not supported",
        ),
        (
            "extender",
            vec![],
            102,
            "extender phase (image extensions with kaniko) is not supported",
        ),
    ];
    for (name, args, code, msg) in cases {
        let link = dir.path().join(name);
        std::os::unix::fs::symlink(BIN, &link).unwrap();
        let env = [
            API,
            NO_COLOR,
            ("CNB_LAYERS_DIR", dir.path().to_str().unwrap()),
        ];
        let r = finish(command(&link, &env).args(&args).output().unwrap());
        assert_eq!(r.code, code, "{name}: {}", r.stdout);
        assert!(
            r.stdout
                .lines()
                .any(|l| l.starts_with("ERROR: ") && l.contains(msg)),
            "{name}: {}",
            r.stdout
        );
    }
}

#[test]
fn detector_and_builder_refuse_root_or_reach_their_body() {
    for (phase, action, not_root) in [
        (
            "detector",
            "detect",
            "ERROR: failed to initialize detector: reading order: ",
        ),
        (
            "builder",
            "build",
            "ERROR: failed to read group file: open ",
        ),
    ] {
        let r = finish(lifecycle(&[API, NO_COLOR]).arg0(phase).output().unwrap());
        if is_root() {
            assert_eq!(r.code, 1, "{}", r.stdout);
            assert!(
                r.stdout.contains(&format!(
                    "ERROR: failed to {action}: refusing to run as root"
                )),
                "{}",
                r.stdout
            );
        } else {
            // The phase body is reached: no order.toml / group.toml under the default layers.
            assert_eq!(r.code, 1, "{}", r.stdout);
            assert!(r.stdout.contains(not_root), "{}", r.stdout);
        }
    }
}

#[test]
fn arg0_dispatch_and_subcommands_agree() {
    let by_arg0 = finish(
        lifecycle(&[API, NO_COLOR])
            .arg0("/cnb/lifecycle/rebaser")
            .args(["-daemon", "r.io/app"])
            .output()
            .unwrap(),
    );
    let by_sub = run(&[API, NO_COLOR], &["rebase", "-daemon", "r.io/app"]);
    assert_eq!(by_arg0.code, 72);
    assert_eq!(by_sub.code, 72);
    assert_eq!(by_arg0.stdout, by_sub.stdout);
    // `lifecycle rebaser` is not a subcommand name.
    let r = run(&[API, NO_COLOR], &["rebaser"]);
    assert_eq!(r.code, 3);
}

#[test]
fn unknown_phase_lists_valid_phases() {
    let r = run(&[API, NO_COLOR], &["frobnicate"]);
    assert_eq!(r.code, 3);
    assert_eq!(
        r.stdout,
        "ERROR: failed to recognize phase: frobnicate \nValid phases: detect, analyze, restore, build, export, rebase, create, extend\n"
    );
    let r = run(&[API, NO_COLOR], &[]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (3, "ERROR: failed to parse arguments\n")
    );
}

#[test]
fn version() {
    // `<crate version>` or `<crate version>+<commit>`, one line.
    let is_version = |out: &str| {
        let line = out.strip_suffix('\n').unwrap_or("");
        !line.contains('\n')
            && (line == env!("CARGO_PKG_VERSION")
                || line.starts_with(concat!(env!("CARGO_PKG_VERSION"), "+")))
    };
    // `lifecycle -version` needs no Platform API.
    let r = run(&[], &["-version"]);
    assert!(r.code == 0 && is_version(&r.stdout), "{}", r.stdout);
    // Through a phase the gate comes first.
    let r = finish(
        lifecycle(&[])
            .arg0("detector")
            .arg("-version")
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 11);
    let r = finish(
        lifecycle(&[API])
            .arg0("detector")
            .arg("-version")
            .output()
            .unwrap(),
    );
    assert!(r.code == 0 && is_version(&r.stdout), "{}", r.stdout);
    let r = run(&[API], &["export", "--version"]);
    assert!(r.code == 0 && is_version(&r.stdout), "{}", r.stdout);
    // `-version` wins over missing positionals and validation (Go checks it right after parsing).
    let r = run(&[API], &["analyze", "-version", "-tag", "a.io/x", "b.io/y"]);
    assert!(r.code == 0 && is_version(&r.stdout), "{}", r.stdout);
}

// ---- Platform API gate ------------------------------------------------------------------

#[test]
fn platform_api_gate() {
    for bad in [
        None,
        Some(""),
        Some("  "),
        Some("garbage"),
        Some("0.3"),
        Some("0.16"),
        Some("1.0"),
    ] {
        let mut env = vec![NO_COLOR];
        if let Some(v) = bad {
            env.push(("CNB_PLATFORM_API", v));
        }
        let r = run(&env, &["analyze", "-version"]);
        assert_eq!(r.code, 11, "{bad:?}: {}", r.stdout);
        assert!(r.stdout.starts_with("ERROR: "), "{bad:?}: {}", r.stdout);
        if bad.is_none_or(|v| v.trim().is_empty()) {
            assert!(
                r.stdout.contains("please set 'CNB_PLATFORM_API'"),
                "{}",
                r.stdout
            );
        } else {
            assert!(
                r.stdout.contains(&format!("'{}'", bad.unwrap())),
                "{}",
                r.stdout
            );
        }
    }
    for good in ["0.12", "0.13", "0.14", "0.15"] {
        let (v, _) = inputs(&[("CNB_PLATFORM_API", good)], &["build"]);
        assert_eq!(v["platform_api"], json!(good));
    }
}

// ---- Go flag syntax ---------------------------------------------------------------------

#[test]
fn every_flag_form() {
    let forms: [&[&str]; 4] = [
        &["-layers", "/x/l"],
        &["-layers=/x/l"],
        &["--layers", "/x/l"],
        &["--layers=/x/l"],
    ];
    for form in forms {
        let mut args = vec!["build"];
        args.extend_from_slice(form);
        let (v, _) = inputs(&[API], &args);
        assert_eq!(v["layers_dir"], json!("/x/l"), "{form:?}");
        assert_eq!(v["group_path"], json!("/x/l/group.toml"), "{form:?}");
    }
}

#[test]
fn bool_forms_and_false_as_positional() {
    let a = ["-run-image", "r.io/run"];
    let cases: [(&[&str], bool); 5] = [
        (&["-daemon"], true),
        (&["--daemon"], true),
        (&["-daemon=true"], true),
        (&["-daemon=1"], true),
        (&["-daemon=false"], false),
    ];
    for (flag, want) in cases {
        let mut args = vec!["analyze"];
        args.extend_from_slice(flag);
        args.extend_from_slice(&a);
        args.push("r.io/app");
        let (v, _) = inputs(&[API, ("CNB_USE_DAEMON", "true")], &args);
        // -daemon=false overrides CNB_USE_DAEMON=true: flag beats env.
        assert_eq!(v["use_daemon"], json!(want), "{flag:?}");
    }
    // `-daemon false`: `false` is the first positional, so the image becomes the second one.
    let r = run(
        &[API, NO_COLOR],
        &["analyze", "-daemon", "false", "r.io/app"],
    );
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("failed to parse arguments: received 2 arguments, but expected 1")
    );
    let r = run(&[API, NO_COLOR], &["analyze", "-daemon=maybe", "r.io/app"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with(
        "invalid boolean value \"maybe\" for -daemon: parse error\nUsage of lifecycle:\n"
    ));
}

#[test]
fn parsing_stops_at_first_positional_and_after_double_dash() {
    // The image is on a closed loopback port: the rebaser fails fast when it reads it.
    let r = run(&[API, NO_COLOR], &["rebase", "127.0.0.1:1/app", "-daemon"]);
    assert!(r.stdout.starts_with(
        "Warning: Warning: unconsumed flag-like positional arg: \n\t-daemon\n\t This will not be interpreted as a flag.\n\t Did you mean to put this before the first positional argument?\n"
    ), "{}", r.stdout);
    // Docker Hub names, so that `-daemon` (a valid Hub repository) shares their registry.
    let (v, _) = inputs(&[API], &["rebase", "app", "-daemon", "app:2"]);
    assert_eq!(v["use_daemon"], json!(false));
    assert_eq!(v["additional_tags"], json!(["-daemon", "app:2"]));
    let (v, _) = inputs(&[API], &["rebase", "-daemon", "--", "-x.io/app"]);
    assert_eq!(v["use_daemon"], json!(true));
}

#[test]
fn double_dash_ends_flags() {
    // `-notaflag` is the image (a valid Docker Hub name); Go still warns about its dash.
    let (v, out) = inputs(&[API], &["rebase", "--", "-notaflag"]);
    assert_eq!(v["output_image"], json!("-notaflag"));
    assert!(
        out.starts_with("Warning: Warning: unconsumed flag-like positional arg: \n\t-notaflag\n"),
        "{out}"
    );
    let r = run(&[API, NO_COLOR], &["rebase", "--", "-Bad"]);
    assert_eq!(
        (r.code, r.stdout.contains("could not parse reference: -Bad")),
        (3, true),
        "{}",
        r.stdout
    );
}

#[test]
fn repeatable_flags_and_insecure_registries_env() {
    let (v, _) = inputs(
        &[API, ("CNB_INSECURE_REGISTRIES", "e1.io,e2.io")],
        &[
            "analyze",
            "-tag",
            "r.io/app:1",
            "-tag=r.io/app:2",
            "-insecure-registry",
            "f1.io",
            "--insecure-registry=f2.io",
            "-run-image",
            "r.io/run",
            "r.io/app",
        ],
    );
    assert_eq!(v["additional_tags"], json!(["r.io/app:1", "r.io/app:2"]));
    assert_eq!(
        v["insecure_registries"],
        json!(["e1.io", "e2.io", "f1.io", "f2.io"])
    );
}

#[test]
fn empty_value_means_unset() {
    let (v, _) = inputs(
        &[
            API,
            ("CNB_CACHE_IMAGE", "r.io/cache"),
            ("CNB_CACHE_DIR", "/c"),
        ],
        &["restore", "-cache-image=", "-cache-dir", ""],
    );
    assert_eq!(v["cache_image"], json!(null));
    assert_eq!(v["cache_dir"], json!(null));
    let (v, _) = inputs(&[API, ("CNB_CACHE_IMAGE", "r.io/cache")], &["restore"]);
    assert_eq!(v["cache_image"], json!("r.io/cache"));
}

#[test]
fn help_prints_go_usage_and_exits_zero() {
    let cases = [
        ("analyze", "0.12"),
        ("analyze", "0.13"),
        ("detect", "0.14"),
        ("detect", "0.15"),
        ("restore", "0.13"),
        ("restore", "0.14"),
        ("build", "0.12"),
        ("export", "0.12"),
        ("export", "0.13"),
        ("rebase", "0.13"),
        ("create", "0.15"),
    ];
    for (phase, api) in cases {
        let want = std::fs::read_to_string(testdata().join(format!("cli/usage/{phase}-{api}.txt")))
            .unwrap();
        for h in ["-h", "-help", "--help"] {
            let r = run(&[("CNB_PLATFORM_API", api)], &[phase, h]);
            assert_eq!(r.code, 0, "{phase} {api} {h}");
            assert_eq!(r.stderr, want, "{phase} {api} {h}");
            assert_eq!(r.stdout, "");
        }
    }
    let want = std::fs::read_to_string(testdata().join("cli/usage/create-0.13-env.txt")).unwrap();
    let env = [
        API,
        ("CNB_USER_ID", "1000"),
        ("CNB_LAYERS_DIR", "/l"),
        ("CNB_INSECURE_REGISTRIES", "a,b"),
        ("CNB_USE_DAEMON", "true"),
    ];
    assert_eq!(run(&env, &["create", "-h"]).stderr, want);
}

#[test]
fn unknown_flag_exits_2_with_go_message() {
    let want = std::fs::read_to_string(testdata().join("cli/usage/analyze-0.13-unknown-flag.txt"))
        .unwrap();
    let r = run(&[API], &["analyze", "-nope", "x"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, want);
    assert_eq!(r.stdout, "");
    let r = run(&[API], &["analyze", "-uid", "abc", "x"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("invalid value \"abc\" for flag -uid: parse error\n")
    );
    let r = run(&[API], &["analyze", "-layers"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("flag needs an argument: -layers\n"));
}

#[test]
fn flags_are_gated_by_platform_api() {
    let at = |api, args: &[&str]| run(&[("CNB_PLATFORM_API", api), NO_COLOR], args).code;
    let analyze = [
        "analyze",
        "-insecure-registry",
        "i.io",
        "-run-image",
        "r.io/run",
        "r.io/app",
    ];
    assert_eq!(at("0.12", &analyze), 2);
    assert_eq!(at("0.13", &analyze), 32);
    assert_eq!(at("0.14", &["detect", "-system", "/s.toml", "-help"]), 2);
    assert_eq!(
        inputs(
            &[("CNB_PLATFORM_API", "0.15")],
            &["detect", "-system", "/s.toml"]
        )
        .0["system_path"],
        json!("/s.toml")
    );
    assert_eq!(at("0.13", &["restore", "-run", "/r.toml"]), 2);
    // Past flag parsing: fails reading the (missing) group.toml, exit 1 as in Go.
    assert_eq!(at("0.14", &["restore", "-run", "/r.toml"]), 1);
    // `-stack` exists only below 0.12 on the analyzer, but at every API on the creator.
    assert_eq!(at("0.12", &["analyze", "-stack", "/s", "x"]), 2);
    assert_eq!(
        inputs(
            &[API],
            &[
                "create",
                "-stack",
                "/s.toml",
                "-run-image",
                "r.io/run",
                "r.io/app"
            ]
        )
        .0["stack_path"],
        json!("/s.toml")
    );
    // The exporter has no `-tag`; the creator has no `-image`.
    assert_eq!(at("0.13", &["export", "-tag", "x", "y"]), 2);
    assert_eq!(at("0.13", &["create", "-image", "r.io/run", "r.io/app"]), 2);
}

// ---- precedence and env parsing ---------------------------------------------------------

#[test]
fn precedence_flag_env_default() {
    let (v, _) = inputs(&[API], &["build"]);
    assert_eq!(v["app_dir"], json!("/workspace"));
    let (v, _) = inputs(&[API, ("CNB_APP_DIR", "/env/app")], &["build"]);
    assert_eq!(v["app_dir"], json!("/env/app"));
    let (v, _) = inputs(
        &[API, ("CNB_APP_DIR", "/env/app")],
        &["build", "-app", "/flag/app"],
    );
    assert_eq!(v["app_dir"], json!("/flag/app"));
    // An empty variable is unset.
    let (v, _) = inputs(&[API, ("CNB_APP_DIR", "")], &["build"]);
    assert_eq!(v["app_dir"], json!("/workspace"));
}

#[test]
fn env_values_parse_like_go() {
    let cases = [
        (
            vec![("CNB_USER_ID", "1000"), ("CNB_GROUP_ID", "1001")],
            1000,
            1001,
        ),
        (vec![("CNB_USER_ID", "x"), ("CNB_GROUP_ID", "0x10")], 0, 0),
        (vec![], 0, 0),
    ];
    for (env, uid, gid) in cases {
        let mut env = env;
        env.push(API);
        let (v, _) = inputs(&env, &["restore"]);
        assert_eq!(
            (v["uid"].clone(), v["gid"].clone()),
            (json!(uid), json!(gid)),
            "{env:?}"
        );
    }
    let (v, _) = inputs(
        &[API, ("CNB_USER_ID", "1000")],
        &["restore", "-uid", "0x20"],
    );
    assert_eq!(v["uid"], json!(32));
    for (val, want) in [
        ("1", true),
        ("T", true),
        ("TRUE", true),
        ("yes", false),
        ("", false),
        ("0", false),
    ] {
        let (v, _) = inputs(&[API, ("CNB_SKIP_LAYERS", val)], &["restore"]);
        assert_eq!(v["skip_layers"], json!(want), "{val:?}");
    }
    let (v, _) = inputs(
        &[API, ("CNB_SKIP_RESTORE", "true")],
        &["create", "-run-image", "r.io/run", "r.io/app"],
    );
    assert_eq!(v["skip_restore"], json!(true));
}

// ---- paths ------------------------------------------------------------------------------

#[test]
fn placeholders_follow_the_final_layers_dir() {
    let (v, _) = inputs(
        &[API, ("CNB_LAYERS_DIR", "/env/layers")],
        &["build", "-layers", "/flag/layers"],
    );
    assert_eq!(v["analyzed_path"], json!("/flag/layers/analyzed.toml"));
    assert_eq!(v["plan_path"], json!("/flag/layers/plan.toml"));
    let (v, _) = inputs(&[API, ("CNB_GROUP_PATH", "/g.toml")], &["build"]);
    assert_eq!(v["group_path"], json!("/g.toml"));
    let (v, _) = inputs(&[API], &["rebase", "r.io/app"]);
    assert_eq!(v["report_path"], json!("/layers/report.toml"));
}

#[test]
fn order_falls_back_to_cnb_only_for_the_default() {
    let layers = tempfile::tempdir().unwrap();
    let l = layers.path().to_str().unwrap();
    let (v, _) = inputs(&[API], &["detect", "-layers", l]);
    assert_eq!(v["order_path"], json!("/cnb/order.toml"));
    std::fs::write(layers.path().join("order.toml"), "").unwrap();
    let (v, _) = inputs(&[API], &["detect", "-layers", l]);
    assert_eq!(v["order_path"], json!(format!("{l}/order.toml")));
    let (v, _) = inputs(&[API], &["detect", "-order", "/missing/order.toml"]);
    assert_eq!(v["order_path"], json!("/missing/order.toml"));
}

#[test]
fn relative_directories_become_absolute() {
    let cwd = tempfile::tempdir().unwrap();
    let mut c = lifecycle(&[API, ("CNB_RS_PRINT_INPUTS", "1")]);
    c.current_dir(cwd.path()).args([
        "build",
        "-app",
        "src/../app",
        "-layers",
        "./l",
        "-platform=p/",
    ]);
    let r = finish(c.output().unwrap());
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let base = cwd.path().canonicalize().unwrap();
    let base = base.to_str().unwrap();
    assert_eq!(v["app_dir"], json!(format!("{base}/app")));
    assert_eq!(v["layers_dir"], json!(format!("{base}/l")));
    assert_eq!(v["platform_dir"], json!(format!("{base}/p")));
    // Placeholders are filled before directories are made absolute, as in Go.
    assert_eq!(v["group_path"], json!("./l/group.toml"));
}

// ---- validations ------------------------------------------------------------------------

#[test]
fn analyzer_defaults_and_run_toml() {
    let dir = tempfile::tempdir().unwrap();
    let run_toml = dir.path().join("run.toml");
    std::fs::write(
        &run_toml,
        "[[images]]\nimage = \"a.io/run\"\nmirrors = [\"r.io/run\"]\n",
    )
    .unwrap();
    let rt = run_toml.to_str().unwrap();
    let (v, _) = inputs(&[API], &["analyze", "-run", rt, "r.io/app"]);
    assert_eq!(v["previous_image"], json!("r.io/app"));
    assert_eq!(v["run_image"], json!(null));
    assert_eq!(v["run_image_candidates"], json!(["r.io/run", "a.io/run"]));
    let (v, _) = inputs(
        &[API],
        &[
            "analyze",
            "-daemon",
            "-run",
            rt,
            "-previous-image",
            "p.io/old",
            "r.io/app",
        ],
    );
    assert_eq!(v["run_image"], json!("r.io/run"));
    assert_eq!(v["previous_image"], json!("p.io/old"));
    let r = run(
        &[API, NO_COLOR],
        &["analyze", "-run", "/nonexistent/run.toml", "r.io/app"],
    );
    assert_eq!(r.code, 3);
    assert_eq!(
        r.stdout,
        "No run metadata found at path \"/nonexistent/run.toml\"\nERROR: failed to resolve inputs: -run-image is required when there is no run metadata available\n"
    );
}

#[test]
fn one_registry_unless_daemon() {
    let args = [
        "analyze",
        "-run-image",
        "r.io/run",
        "-tag",
        "other.io/app:1",
        "r.io/app",
    ];
    let r = run(&[API, NO_COLOR], &args);
    assert_eq!(r.code, 3);
    assert_eq!(
        r.stdout,
        "ERROR: failed to resolve inputs: writing to multiple registries is unsupported\n"
    );
    let mut daemon = args.to_vec();
    daemon.insert(1, "-daemon");
    inputs(&[API], &daemon);
    let r = run(&[API, NO_COLOR], &["rebase", "r.io/app", "other.io/app"]);
    assert_eq!(r.code, 3);
    let r = run(
        &[API, NO_COLOR],
        &[
            "analyze",
            "-run-image",
            "r.io/run",
            "-cache-image",
            "Bad:Ref",
            "r.io/app",
        ],
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            3,
            "ERROR: failed to resolve inputs: could not parse reference: Bad:Ref\n"
        )
    );
}

#[test]
fn exporter_run_image_rules() {
    let layers = tempfile::tempdir().unwrap();
    let l = layers.path().to_str().unwrap();
    std::fs::write(layers.path().join("analyzed.toml"), "[run-image]\nreference = \"r.io/run@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\n").unwrap();
    let (v, _) = inputs(
        &[API, ("CNB_CACHE_DIR", "/c")],
        &["export", "-layers", l, "r.io/app", "r.io/app:2"],
    );
    assert_eq!(
        v["run_image"],
        json!("r.io/run@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
    );
    assert_eq!(v["additional_tags"], json!(["r.io/app:2"]));
    let r = run(
        &[API, NO_COLOR],
        &["export", "-layers", l, "-run-image", "x.io/run", "r.io/app"],
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            3,
            "ERROR: failed to resolve inputs: -run-image is unsupported\n"
        )
    );
    // The same value as $CNB_RUN_IMAGE is tolerated.
    inputs(
        &[API, ("CNB_RUN_IMAGE", "x.io/run")],
        &["export", "-layers", l, "-run-image", "x.io/run", "r.io/app"],
    );
    let r = run(
        &[API, NO_COLOR],
        &["export", "-layers", l, "-image", "x.io/run", "r.io/app"],
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            3,
            "ERROR: failed to resolve inputs: -image is unsupported\n"
        )
    );
    let r = run(
        &[API, NO_COLOR],
        &["export", "-layers", "/nonexistent", "r.io/app"],
    );
    assert_eq!(r.code, 3);
    assert!(
        r.stdout.contains(
            "Warning: No analyzed metadata found at path \"/nonexistent/analyzed.toml\"\n"
        )
    );
}

#[test]
fn rebaser_deprecated_image_flag() {
    let (v, _) = inputs(&[API], &["rebase", "-image", "r.io/run", "r.io/app"]);
    assert_eq!(v["run_image"], json!("r.io/run"));
    let r = run(
        &[API, NO_COLOR],
        &[
            "rebase",
            "-image",
            "r.io/run",
            "-run-image",
            "r.io/run2",
            "r.io/app",
        ],
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            3,
            "ERROR: failed to resolve inputs: supply only one of -run-image or (deprecated) -image\n"
        )
    );
}

#[test]
fn layout_is_experimental() {
    let args = ["analyze", "-layout", "-run-image", "r.io/run", "r.io/app"];
    let r = run(&[API, NO_COLOR], &args);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout,
        "ERROR: Platform requested experimental feature 'export to OCI layout format'\nERROR: experimental features are disabled by CNB_EXPERIMENTAL_MODE=error\n"
    );
    let (_, out) = inputs(&[API, ("CNB_EXPERIMENTAL_MODE", "warn")], &args);
    assert!(
        out.starts_with(
            "Warning: Platform requested experimental feature 'export to OCI layout format'\n"
        ),
        "{out}"
    );
    let (v, out) = inputs(
        &[
            API,
            ("CNB_EXPERIMENTAL_MODE", "quiet"),
            ("CNB_USE_LAYOUT", "true"),
        ],
        &["analyze", "-run-image", "r.io/run", "r.io/app"],
    );
    assert!(out.starts_with('{'), "{out}");
    assert_eq!(v["use_layout"], json!(true));
}

#[test]
fn warnings_for_caches() {
    let (_, out) = inputs(
        &[API],
        &[
            "analyze",
            "-launch-cache",
            "/lc",
            "-run-image",
            "r.io/run",
            "r.io/app",
        ],
    );
    assert!(
        out.starts_with("Warning: Ignoring -launch-cache, only intended for use with -daemon\n"),
        "{out}"
    );
    let (_, out) = inputs(&[API], &["restore"]);
    assert!(
        out.starts_with("Warning: No cached data will be used, no cache specified.\n"),
        "{out}"
    );
    let (_, out) = inputs(
        &[API, ("CNB_PARALLEL_EXPORT", "true")],
        &["create", "-run-image", "r.io/run", "r.io/app"],
    );
    assert!(out.contains("Warning: Parallel export has been enabled, but it has not taken effect because no cache has been specified.\n"), "{out}");
}

// ---- logging ----------------------------------------------------------------------------

#[test]
fn log_level_and_debug_lines() {
    let r = run(
        &[API, NO_COLOR],
        &["rebase", "-log-level", "loud", "r.io/app"],
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (1, "ERROR: failed to parse log level: invalid level\n")
    );
    // `-daemon` makes the rebaser stop in its privileges step, before any registry access.
    let refused = "ERROR: failed to rebase: -daemon is not supported by cnb-lifecycle-rs (images are read from and written to registries)\n";
    let r = run(
        &[API, NO_COLOR, ("CNB_LOG_LEVEL", "debug")],
        &["rebase", "-daemon", "r.io/app"],
    );
    assert_eq!(
        r.stdout,
        format!("Starting rebase...\nParsing inputs...\nEnsuring privileges...\n{refused}")
    );
    let r = run(
        &[API, NO_COLOR, ("CNB_LOG_LEVEL", "debug")],
        &["rebase", "-log-level=warn", "-daemon", "r.io/app"],
    );
    assert_eq!(r.stdout, refused);
    // Colour is on unless disabled.
    let r = run(&[API], &["rebase", "-daemon", "r.io/app"]);
    assert!(r.raw_stdout.starts_with("\x1b["), "{:?}", r.raw_stdout);
    let r = run(&[API], &["rebase", "-no-color", "-daemon", "r.io/app"]);
    assert!(r.raw_stdout.starts_with("ERROR: "), "{:?}", r.raw_stdout);
}
