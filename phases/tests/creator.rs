//! The creator's phase sequence against a real registry, for the paths that end before the
//! export: banners in Go's order, sub-phase exit codes passed through, extensions refused,
//! and the in-process detect/build running as the dropped-to user (1000:1000) although the
//! binary starts as root.

mod e2e_support;

use cnb::testing::{FixtureOptions, push_busybox_fixture_with, shared_registry};
use e2e_support::{Workspace, root_or_skip};
use std::os::unix::fs::MetadataExt;

fn run_image(tag: &str) -> String {
    let reg = shared_registry();
    let opts = FixtureOptions {
        label: Some(tag.into()),
        ..FixtureOptions::default()
    };
    push_busybox_fixture_with(&reg.host(), &format!("run-{tag}:latest"), &opts).reference
}

fn order_of(id: &str) -> String {
    format!("[[order]]\n\n  [[order.group]]\n    id = \"{id}\"\n    version = \"0.0.1\"\n")
}

#[test]
fn build_failure_passes_through_after_restoring_as_the_build_user() {
    if !root_or_skip("build_failure_passes_through_after_restoring_as_the_build_user") {
        return;
    }
    let run = run_image("failbuild");
    let ws = Workspace::new(
        "hello",
        &["buildpacks/cnb-test_failbuild"],
        Some(&order_of("cnb-test/failbuild")),
    );
    let app = format!("{}/app-failbuild", shared_registry().host());
    let r = ws.creator(&["-run-image", &run], &app);
    assert_eq!(r.code, 51, "{}", r.all());
    assert_eq!(
        r.banners(),
        ["ANALYZING", "DETECTING", "RESTORING", "BUILDING"]
    );
    assert!(r.stdout.contains("failbuild: giving up"), "{}", r.all());
    assert!(
        r.all().contains("failed to build: exit status 3"),
        "{}",
        r.all()
    );
    // analyzed.toml and group.toml were written after the drop to 1000:1000.
    for f in ["analyzed.toml", "group.toml", "plan.toml"] {
        let md = std::fs::metadata(ws.layers.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!((md.uid(), md.gid()), (1000, 1000), "{f}");
    }
    let analyzed = std::fs::read_to_string(ws.layers.join("analyzed.toml")).unwrap();
    assert!(analyzed.contains(&run), "{analyzed}");
}

#[test]
fn failed_detection_passes_through_without_restoring() {
    if !root_or_skip("failed_detection_passes_through_without_restoring") {
        return;
    }
    let run = run_image("never");
    let ws = Workspace::new(
        "hello",
        &["buildpacks/cnb-test_never"],
        Some(&order_of("cnb-test/never")),
    );
    let app = format!("{}/app-never", shared_registry().host());
    let r = ws.creator(&["-run-image", &run], &app);
    assert_eq!(r.code, 20, "{}", r.all());
    assert_eq!(r.banners(), ["ANALYZING", "DETECTING"]);
    assert!(
        r.all().contains("No buildpack groups passed detection."),
        "{}",
        r.all()
    );
}

#[test]
fn extensions_are_refused_with_exit_22() {
    if !root_or_skip("extensions_are_refused_with_exit_22") {
        return;
    }
    let run = run_image("ext");
    let order = format!(
        "{}\n[[order-extensions]]\n\n  [[order-extensions.group]]\n    id = \"cnb-test/ext\"\n    version = \"0.0.1\"\n",
        order_of("cnb-test/cache-demo")
    );
    let ws = Workspace::new(
        "hello",
        &["creator/buildpacks/cnb-test_cache-demo"],
        Some(&order),
    );
    let app = format!("{}/app-ext", shared_registry().host());
    let r = ws.creator(&["-run-image", &run], &app);
    assert_eq!(r.code, 22, "{}", r.all());
    assert_eq!(r.banners(), ["ANALYZING", "DETECTING"]);
    assert!(
        r.all().contains(
            "ERROR: failed to detect: detected order contains extensions which is not supported by the creator"
        ),
        "{}",
        r.all()
    );
}

/// Go ≥ 0.10: with `-skip-restore` the restore step still runs (store.toml) but restores no
/// layer metadata or data ("Skipping buildpack layer analysis"), so a build on an empty
/// layers dir starts from scratch although the cache image holds the layers.
#[test]
fn skip_restore_still_restores_but_skips_layers() {
    if !root_or_skip("skip_restore_still_restores_but_skips_layers") {
        return;
    }
    let run = run_image("skip");
    let ws = Workspace::new("hello", &["creator/buildpacks/cnb-test_cache-demo"], None);
    let host = shared_registry().host();
    let app = format!("{host}/app-skip");
    let cache = format!("{host}/cache-skip:latest");
    let launcher = env!("CARGO_BIN_EXE_launcher");
    let flags = [
        "-cache-image",
        &cache,
        "-run-image",
        &run,
        "-launcher",
        launcher,
    ];
    let all = [
        "ANALYZING",
        "DETECTING",
        "RESTORING",
        "BUILDING",
        "EXPORTING",
    ];

    let r = ws.creator(&flags, &app);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(r.banners(), all);

    ws.empty_layers();
    let mut skip = flags.to_vec();
    skip.push("-skip-restore");
    let r = ws.creator(&skip, &app);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(r.banners(), all);
    assert!(
        r.stdout.contains("Skipping buildpack layer analysis"),
        "{}",
        r.all()
    );
    assert!(
        r.stdout.contains("cache-demo: m2 not restored"),
        "{}",
        r.all()
    );
    assert!(
        r.stdout.contains("cache-demo: runtime not restored"),
        "{}",
        r.all()
    );
    assert!(!r.stdout.contains("restored from cache"), "{}", r.all());
}
