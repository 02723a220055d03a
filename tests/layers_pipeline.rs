//! The one-pass pipeline: tar → diffID → compressor → digest → sink, its async stream face,
//! and parallel mapping. Checked against independent tools (`gzip -dc`, `zstd -dc`, `sha256`
//! of the sink bytes).

use cnb::archive::{Compression, Owner};
use cnb::digest::Digest;
use cnb::layers::{self, LayerSpec, testtree};
use futures_util::StreamExt;
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

    for c in [Compression::None, Compression::Gzip(1), Compression::Gzip(6), Compression::Zstd(3)] {
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
    let listing = String::from_utf8(run_filter("tar", &["-tvf", "-", "--numeric-owner"], &tar)).expect("utf8");
    let dir = tmp.path().join("layers/bp/layer").display().to_string();
    assert!(listing.contains(&format!("{dir}/ünïcødé-名前.txt")), "{listing}");
    assert!(listing.contains(&format!("{dir}/{}", "x".repeat(150))));
    assert!(listing.contains("1000/1000"));
    assert!(!listing.contains("socket"), "sockets are skipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_stream_yields_the_same_bytes() {
    let (_tmp, spec) = tree();
    let mut want = Vec::new();
    let want_info = layers::write_layer(&spec, Compression::Zstd(3), &mut want).expect("sync");

    let mut ls = layers::stream::layer_stream_sized(spec, Compression::Zstd(3), 64 * 1024, 2);
    let mut got = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = ls.stream.next().await {
        let chunk = chunk.expect("chunk");
        assert!(chunk.len() <= 64 * 1024);
        got.extend_from_slice(&chunk);
        chunks += 1;
    }
    let info = ls.finish().await.expect("info");
    assert!(chunks > 1);
    assert_eq!(got, want);
    assert_eq!(info, want_info);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_stream_reports_errors() {
    let spec = LayerSpec::dir("/nonexistent/cnb-layer-dir", Owner::ROOT);
    let mut ls = layers::layer_stream(spec, Compression::Gzip(1));
    let mut saw_err = false;
    while let Some(chunk) = ls.stream.next().await {
        saw_err |= chunk.is_err();
    }
    assert!(saw_err);
    let err = ls.finish().await.expect_err("must fail");
    assert!(err.to_string().contains("/nonexistent"), "{err}");
}

#[test]
fn parallel_map_matches_sequential() {
    let (_tmp, spec) = tree();
    let specs = vec![spec.clone(), LayerSpec::Files(Vec::new()), spec];
    let seq: Vec<_> = specs.iter().map(|s| layers::diff_id(s).expect("diff")).collect();
    let par = layers::map_parallel(specs, 0, |s| {
        let mut sink = std::io::sink();
        layers::write_layer(&s, Compression::Gzip(1), &mut sink).expect("write").diff_id
    });
    assert_eq!(par, seq);
    assert_eq!(
        seq[1].as_str(),
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
        "empty layer = 1024 zero bytes"
    );
}
