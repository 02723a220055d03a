//! Golden diffIDs from the Go lifecycle v0.21.17 (see testdata/layers/README.md for how
//! they were produced). The fixture trees are built by deterministic Rust code at fixed
//! absolute paths because entry names (and ancestor ownership) are part of the tar bytes.

use cnb::archive::Owner;
use cnb::layers::{self, LayerSpec, Slice, testtree};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const BASE: &str = "/tmp/cnb-layers-golden";

fn goldens() -> BTreeMap<String, String> {
    let text = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/layers/goldens.txt")).expect("goldens");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut it = l.split_whitespace();
            (it.next().expect("name").to_string(), it.next().expect("digest").to_string())
        })
        .collect()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn fresh(sub: &str) -> PathBuf {
    let base = Path::new(BASE);
    fs::create_dir_all(base).expect("base");
    fs::set_permissions(base, fs::Permissions::from_mode(0o755)).expect("chmod base");
    let dir = base.join(sub);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).expect("mkdir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn keep() -> bool {
    std::env::var_os("CNB_KEEP_GOLDEN_FIXTURES").is_some()
}

/// Builds /tmp/cnb-layers-golden/every/layers/bp/layer; `layers` is owned by 3000000:3000001
/// (an ancestor keeps real ownership, so this exercises PAX uid/gid records there).
fn every_case_tree() -> PathBuf {
    let root = fresh("every");
    let layers_dir = root.join("layers");
    fs::create_dir(&layers_dir).expect("layers");
    fs::set_permissions(&layers_dir, fs::Permissions::from_mode(0o750)).expect("chmod");
    fs::create_dir(layers_dir.join("bp")).expect("bp");
    fs::set_permissions(layers_dir.join("bp"), fs::Permissions::from_mode(0o755)).expect("chmod");
    let layer = layers_dir.join("bp/layer");
    let dev = testtree::build_every_case(&layer).expect("fixture");
    assert!(dev, "the golden fixture needs a character device (run as root with CAP_MKNOD)");
    testtree::lchown(&layers_dir, 3_000_000, 3_000_001).expect("chown");
    layer
}

#[test]
fn dir_layer_matches_go_lifecycle() {
    if !is_root() {
        eprintln!("skipping: golden fixtures need root (chown, mknod) and were made as root");
        return;
    }
    let g = goldens();
    let layer = every_case_tree();
    for (name, owner) in
        [("dir-1000-1001", Owner::new(1000, 1001)), ("dir-3000000-4000000", Owner::new(3_000_000, 4_000_000))]
    {
        let got = layers::diff_id(&LayerSpec::dir(&layer, owner)).expect("diff id");
        if keep() {
            let out = fs::File::create(format!("/tmp/cnb-layers-golden/{name}.tar")).expect("dump");
            layers::write_tar(&LayerSpec::dir(&layer, owner), out).expect("dump tar");
        }
        assert_eq!(Some(got.as_str()), g.get(name).map(String::as_str), "{name}");
    }
    if !keep() {
        let _ = fs::remove_dir_all(Path::new(BASE).join("every"));
    }
}

#[test]
fn app_slices_match_go_lifecycle() {
    if !is_root() {
        eprintln!("skipping: golden fixtures were made as root");
        return;
    }
    let g = goldens();
    let root = fresh("app");
    let app = root.join("workspace");
    testtree::build_app(&app).expect("app");
    let slices: Vec<Slice> = testtree::app_slices()
        .into_iter()
        .map(|ps| Slice { paths: ps.into_iter().map(String::from).collect() })
        .collect();
    let specs = layers::slice_layers(&app, &slices, Owner::new(1000, 1001)).expect("slices");
    assert_eq!(specs.len(), slices.len() + 1);
    let mut failures = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let name = format!("slice-{}", i + 1);
        let got = layers::diff_id(spec).expect("diff id");
        if keep() {
            let out = fs::File::create(format!("/tmp/cnb-layers-golden/{name}.tar")).expect("dump");
            layers::write_tar(spec, out).expect("dump tar");
        }
        if Some(got.as_str()) != g.get(&name).map(String::as_str) {
            failures.push(format!("{name}: got {got}"));
        }
    }
    // No slices: a single "Application Layer" with everything.
    let all = layers::slice_layers(&app, &[], Owner::new(1000, 1001)).expect("no slices");
    assert_eq!(all.len(), 1);
    let got = layers::diff_id(&all[0]).expect("diff id");
    if Some(got.as_str()) != g.get("app-no-slices").map(String::as_str) {
        failures.push(format!("app-no-slices: got {got}"));
    }
    assert!(failures.is_empty(), "{failures:#?}");
    if !keep() {
        let _ = fs::remove_dir_all(&root);
    }
}

/// Manual differential check against the Go lifecycle (used while developing; prints the
/// diffIDs of `CNB_DIFF_APP` sliced by the JSON `CNB_DIFF_SLICES`, uid/gid 1000:1001):
/// `CNB_DIFF_APP=/tmp/app CNB_DIFF_SLICES='[["a/*"]]' cargo test -p cnb --test layers_golden -- --ignored --nocapture`
#[test]
#[ignore]
fn print_slice_diff_ids_for_env() {
    let (Some(app), Some(slices)) = (std::env::var_os("CNB_DIFF_APP"), std::env::var("CNB_DIFF_SLICES").ok()) else {
        return;
    };
    let paths: Vec<Vec<String>> = serde_json::from_str(&slices).expect("slices json");
    let slices: Vec<Slice> = paths.into_iter().map(|paths| Slice { paths }).collect();
    let specs = layers::slice_layers(Path::new(&app), &slices, Owner::new(1000, 1001)).expect("slices");
    for (i, s) in specs.iter().enumerate() {
        println!("RESULT slice-{} {}", i + 1, layers::diff_id(s).expect("diff id"));
    }
}
