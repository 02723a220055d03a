//! Black-box test of the progress lines of long blob transfers (issue #7): the built
//! `lifecycle` binary is run as `exporter` against a real registry (`cnb::testing`, 127.0.0.1
//! only) with a launch layer of a few MB of incompressible bytes. With
//! `CNB_RS_PROGRESS_INTERVAL_MS=0` every chunk counts as "long", so the upload must report
//! `Uploading sha256:…` lines ending at 100%; with the default (5 s) a local export is fast and
//! its output has no progress line at all (the Go-identical log is unchanged).

mod common;

use cnb::files::metadata::{self as md, Metadata};
use cnb::files::{Analyzed, RunImage};
use cnb::testing::{push_busybox_fixture, shared_registry};
use common::{BIN, strip_ansi};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const LAYER_BYTES: usize = 3 * 1024 * 1024;

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, data).expect("write");
}

fn chmod_tree(p: &Path) {
    let meta = fs::symlink_metadata(p).expect("stat");
    let mode = if meta.is_dir() { 0o777 } else { 0o666 };
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
    if meta.is_dir() {
        for e in fs::read_dir(p).expect("read dir") {
            chmod_tree(&e.expect("entry").path());
        }
    }
}

/// Pseudo-random bytes (xorshift64*), so gzip cannot shrink the layer below a few MB.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(n);
    out
}

/// A work dir: run image in the registry, one buildpack with a big launch layer, metadata,
/// analyzed.toml, an app dir and a launcher file.
fn setup(name: &str, seed: u64, layer_bytes: usize) -> PathBuf {
    let reg = shared_registry();
    let fixture = push_busybox_fixture(&reg.host(), &format!("{name}-run:latest"));
    let dir = tempfile::tempdir().expect("work").keep();
    let bp = dir.join("layers/example_bp");
    write(&bp.join("big/blob.bin"), &noise(layer_bytes, seed));
    write(&bp.join("big.toml"), b"[types]\nlaunch = true\n");
    write(
        &dir.join("layers/group.toml"),
        b"[[group]]\nid = \"example/bp\"\nversion = \"1.0.0\"\napi = \"0.10\"\n",
    );
    let meta = Metadata {
        buildpacks: vec![md::GroupElement {
            id: "example/bp".into(),
            version: "1.0.0".into(),
            api: "0.10".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    md::write_metadata(&dir.join("layers/config/metadata.toml"), &meta).expect("metadata");
    write(&dir.join("workspace/main.txt"), b"main\n");
    write(&dir.join("launcher"), b"#!/bin/sh\necho launcher\n");
    let analyzed = Analyzed {
        run_image: Some(RunImage {
            reference: format!("{}/{name}-run@{}", reg.host(), fixture.manifest_digest),
            image: format!("{}/{name}-run:latest", reg.host()),
            ..Default::default()
        }),
        ..Default::default()
    };
    analyzed
        .write(&dir.join("analyzed.toml"))
        .expect("analyzed");
    chmod_tree(&dir);
    dir
}

fn export(dir: &Path, image: &str, interval: Option<&str>) -> (i32, String) {
    let s = |rel: &str| dir.join(rel).to_string_lossy().into_owned();
    let mut c = Command::new(BIN);
    c.arg0("exporter").env_clear();
    c.env("PATH", "/usr/bin:/bin")
        .env("HOME", dir.join("home"))
        .env("CNB_PLATFORM_API", "0.15")
        .env("CNB_NO_COLOR", "true");
    if let Some(ms) = interval {
        c.env("CNB_RS_PROGRESS_INTERVAL_MS", ms);
    }
    c.args(["-layers", &s("layers")])
        .args(["-app", &s("workspace")])
        .args(["-group", &s("layers/group.toml")])
        .args(["-analyzed", &s("analyzed.toml")])
        .args(["-launcher", &s("launcher")])
        .args(["-report", &s("report.toml")])
        .args(["-uid", "1234", "-gid", "2345"])
        .arg(image);
    let out = c.output().expect("spawn exporter");
    (
        out.status.code().unwrap_or(-1),
        strip_ansi(&format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    )
}

fn progress_lines(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.starts_with("Uploading ") || l.starts_with("Downloading "))
        .collect()
}

#[test]
fn zero_interval_reports_every_upload_up_to_100_percent() {
    let dir = setup("prog1", 0x1234_5678, LAYER_BYTES);
    let image = format!("{}/prog1-app:v1", shared_registry().host());
    let (code, output) = export(&dir, &image, Some("0"));
    assert_eq!(code, 0, "{output}");
    if std::env::var_os("CNB_PROGRESS_SHOW").is_some() {
        eprintln!("{output}");
    }
    let lines = progress_lines(&output);
    // The big layer streams into its upload while it is compressed, so its digest and size
    // are known only at the end: rising "a blob" lines in MB, then one line naming the blob
    // at 100%.
    let streamed: Vec<u64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("Uploading a blob: "))
        .filter(|rest| rest.ends_with(" MB"))
        .map(|rest| (rest.trim_end_matches(" MB").parse::<f64>().expect("MB") * 10.0) as u64)
        .collect();
    assert!(streamed.len() >= 3, "too few progress lines:\n{output}");
    assert!(streamed.windows(2).all(|w| w[0] <= w[1]), "{streamed:?}");
    let done: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("Uploading sha256:") && l.contains(" MB / "))
        .collect();
    assert_eq!(done.len(), 1, "{output}");
    let last = done[0];
    assert!(last.ends_with("(100%)"), "{last}");
    let blob = last.split(':').take(2).collect::<Vec<_>>().join(":");
    assert!(blob.ends_with('…'), "{blob}");
    let (done, total) = last
        .rsplit_once(": ")
        .expect(": ")
        .1
        .split_once(" (")
        .expect(" (")
        .0
        .split_once(" / ")
        .expect(" / ");
    assert_eq!(done, total, "{last}");
    let final_mb = (done.trim_end_matches(" MB").parse::<f64>().expect("MB") * 10.0) as u64;
    assert!(
        streamed.iter().all(|&n| n <= final_mb),
        "{streamed:?} {final_mb}"
    );
    assert!(output.contains(&format!("Saving {image}...")), "{output}");
    // downloads report too: the run image's config blob is read from the registry
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Downloading sha256:") && l.ends_with("(100%)")),
        "{output}"
    );
}

#[test]
fn default_interval_prints_nothing_for_a_fast_export() {
    // a small layer: its upload ends long before the first line would be due, even on a
    // loaded machine
    let dir = setup("prog2", 0x9abc_def0, 256 * 1024);
    let image = format!("{}/prog2-app:v1", shared_registry().host());
    let (code, output) = export(&dir, &image, None);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains(&format!("Saving {image}...")), "{output}");
    assert_eq!(progress_lines(&output), Vec::<&str>::new(), "{output}");
}
