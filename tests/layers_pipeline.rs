//! The one-pass pipeline: tar → diffID → compressor → digest → sink, its async stream face,
//! and parallel mapping. Checked against independent tools (`gzip -dc`, `zstd -dc`, `sha256`
//! of the sink bytes).

use cnb::archive::{Compression, Owner};
use cnb::digest::Digest;
use cnb::layers::{self, LayerSpec, testtree};
use std::io::Write;
use std::process::{Command, Stdio};

fn tree() -> (tempfile::TempDir, LayerSpec) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("layers/bp/layer");
    std::fs::create_dir_all(dir.parent().expect("parent")).expect("mkdir");
    testtree::build_every_case(&dir).expect("fixture");
    (tmp, LayerSpec::dir(dir, Owner::new(1000, 1000)))
}

fn run_filter(cmd: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("join").expect("write");
    assert!(out.status.success(), "{cmd} failed");
    out.stdout
}

#[test]
fn one_pass_reports_both_digests_for_every_compression() {
    let (_tmp, spec) = tree();
    let tar = layers::write_tar(&spec, Vec::new()).expect("tar");
    let diff_id = layers::diff_id(&spec).expect("diff id");
    assert_eq!(Digest::of(&tar), diff_id);
    assert!(tar.ends_with(&[0u8; 1024]));
    assert_eq!(tar.len() % 512, 0);

    for c in [
        Compression::None,
        Compression::Gzip(1),
        Compression::Gzip(6),
        Compression::Zstd(3),
    ] {
        let mut blob = Vec::new();
        let info = layers::write_layer(&spec, c, &mut blob).expect("write layer");
        assert_eq!(info.diff_id, diff_id, "{c:?}");
        assert_eq!(info.digest, Digest::of(&blob), "{c:?}");
        assert_eq!(info.size, blob.len() as u64);
        assert_eq!(info.tar_size, tar.len() as u64);
        assert_eq!(info.media_type, c.media_type());
        let plain = match c {
            Compression::None => blob.clone(),
            Compression::Gzip(_) => run_filter("gzip", &["-dc"], &blob),
            Compression::Zstd(_) => run_filter("zstd", &["-dc"], &blob),
        };
        assert_eq!(plain, tar, "{c:?}: decompressed bytes are the tar");
    }
}

#[test]
fn external_tar_reads_our_layer() {
    let (tmp, spec) = tree();
    let tar = layers::write_tar(&spec, Vec::new()).expect("tar");
    let listing = String::from_utf8(run_filter("tar", &["-tvf", "-", "--numeric-owner"], &tar))
        .expect("utf8");
    let dir = tmp.path().join("layers/bp/layer").display().to_string();
    assert!(
        listing.contains(&format!("{dir}/ünïcødé-名前.txt")),
        "{listing}"
    );
    assert!(listing.contains(&format!("{dir}/{}", "x".repeat(150))));
    assert!(listing.contains("1000/1000"));
    assert!(!listing.contains("socket"), "sockets are skipped");
}

#[test]
fn parallel_map_matches_sequential() {
    let (_tmp, spec) = tree();
    let specs = vec![spec.clone(), LayerSpec::Files(Vec::new()), spec];
    let seq: Vec<_> = specs
        .iter()
        .map(|s| layers::diff_id(s).expect("diff"))
        .collect();
    let par = layers::map_parallel(specs, 0, |s| {
        let mut sink = std::io::sink();
        layers::write_layer(&s, Compression::Gzip(1), &mut sink)
            .expect("write")
            .diff_id
    });
    assert_eq!(par, seq);
    assert_eq!(
        seq[1].as_str(),
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
        "empty layer = 1024 zero bytes"
    );
}

/// Hand-built entries (the exporter's launcher layer: `/cnb`, `/cnb/lifecycle`,
/// `/cnb/lifecycle/launcher`, all root) go through the same pipeline.
#[test]
fn hand_built_entries_use_the_same_pipeline() {
    use cnb::archive::{EntryKind, TarHeader};
    let launcher = b"#!/bin/sh\necho launcher\n".to_vec();
    let mut blob = Vec::new();
    let info = layers::write_layer_with(Compression::Gzip(1), &mut blob, |tw| {
        for d in ["/cnb", "/cnb/lifecycle"] {
            tw.append_header(&TarHeader::new(
                d.as_bytes().to_vec(),
                EntryKind::Directory,
                0o755,
            ))
            .map_err(layers::LayerError::Write)?;
        }
        let mut h = TarHeader::new(
            b"/cnb/lifecycle/launcher".to_vec(),
            EntryKind::Regular,
            0o755,
        );
        h.size = launcher.len() as u64;
        tw.append(&h, &mut &launcher[..])
            .map_err(layers::LayerError::Write)
    })
    .expect("launcher layer");
    let tar = run_filter("gzip", &["-dc"], &blob);
    assert_eq!(Digest::of(&tar), info.diff_id);
    let listing = String::from_utf8(run_filter("tar", &["-tvf", "-", "--numeric-owner"], &tar))
        .expect("utf8");
    assert!(listing.contains("drwxr-xr-x 0/0"), "{listing}");
    assert!(
        listing.contains("-rwxr-xr-x 0/0") && listing.contains("/cnb/lifecycle/launcher"),
        "{listing}"
    );
}

#[test]
fn slices_deserialize_from_launch_toml() {
    let launch: std::collections::BTreeMap<String, Vec<layers::Slice>> =
        toml::from_str("[[slices]]\npaths = [\"*.jar\", \"lib\"]\n[[slices]]\npaths = []\n")
            .expect("toml");
    assert_eq!(
        launch["slices"][0].paths,
        vec!["*.jar".to_string(), "lib".to_string()]
    );
    assert!(launch["slices"][1].paths.is_empty());
}

/// `write_layer` (tar made on a helper thread, handed over in 1 MiB blocks) and
/// `write_layer_with` (one thread) feed the encoder the same blocks, so the same entries give
/// the same blob, also for gzip whose output depends on how its input is cut into writes.
#[test]
fn threaded_and_single_threaded_writers_make_the_same_blob() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("layers/bp/layer");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // Several blocks, with file boundaries that do not fall on block boundaries.
    std::fs::write(dir.join("big.bin"), testtree::pseudo_random(3, 2_500_000)).expect("big");
    for i in 0..300 {
        std::fs::write(
            dir.join(format!("f{i:03}.txt")),
            format!("{i}\n").repeat(i * 7),
        )
        .expect("small");
    }
    let spec = LayerSpec::dir(&dir, Owner::new(1000, 1000));
    for c in [
        Compression::None,
        Compression::Gzip(1),
        Compression::Zstd(3),
    ] {
        let mut threaded = Vec::new();
        let a = layers::write_layer(&spec, c, &mut threaded).expect("threaded");
        let mut single = Vec::new();
        let b = layers::write_layer_with(c, &mut single, |tw| layers::append_spec(&spec, tw))
            .expect("single");
        assert_eq!(a, b, "{c:?}");
        assert!(threaded == single, "{c:?}: blobs differ");
        assert!(a.tar_size > 2 * 1024 * 1024);
    }
}

/// A sink that fails stops the helper thread and reports the sink's error.
#[test]
fn sink_error_is_reported() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (_tmp, spec) = tree();
    let err = layers::write_layer(&spec, Compression::None, Full).expect_err("must fail");
    assert!(err.to_string().contains("disk full"), "{err}");
    let err = layers::write_tar(&spec, Full)
        .map(|_| ())
        .expect_err("must fail");
    assert!(err.to_string().contains("disk full"), "{err}");
}
