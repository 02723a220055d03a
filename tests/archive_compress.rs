//! Pins the compressed bytes our encoders produce for a fixed input, so a backend or
//! library upgrade that changes manifest digests is noticed. These goldens are our own
//! output (compressed digests never matched Go's `compress/gzip` anyway; diffIDs do).

use cnb::archive::compress::{self, Compression, Decoder};
use cnb::digest::Digest;
use cnb::layers::testtree::pseudo_random;
use std::io::{BufReader, Read, Write};

fn input() -> Vec<u8> {
    let mut v = pseudo_random(42, 256 * 1024);
    for i in 0..2000 {
        v.extend_from_slice(
            format!("line {i}: the quick brown fox jumps over the lazy dog\n").as_bytes(),
        );
    }
    v
}

fn encode(c: Compression, data: &[u8]) -> Vec<u8> {
    let mut e = c.encoder(Vec::new()).expect("encoder");
    e.write_all(data).expect("write");
    e.finish().expect("finish")
}

fn decode(media_type: Option<&str>, blob: &[u8]) -> Vec<u8> {
    let mut d = Decoder::new(media_type, BufReader::new(blob)).expect("decoder");
    let mut out = Vec::new();
    d.read_to_end(&mut out).expect("decode");
    out
}

#[test]
fn compressed_digests_are_pinned() {
    let data = input();
    // flate2 1.1.11 (zlib-rs backend), zstd 0.14.4 (libzstd 1.5.7, multithreaded mode).
    // The input (~350 KB) fits in one zstd job, so these did not change when the job size
    // was fixed at 1 MiB; the multi-job pin is in the next test.
    let cases = [
        (
            Compression::None,
            "sha256:f0c977c2ce633361a26b64ddd7ee6f913474bd460738573e32d07d4e1a2aed14",
        ),
        (
            Compression::Gzip(1),
            "sha256:52a2bb0a1cb15042a1eca2d1842d0c7f005e38b539ff84b54176e8c7af889851",
        ),
        (
            Compression::Gzip(6),
            "sha256:207eae8fd5255d23a2d89c5ad41b8ecf923facbe07b60cd2ff30c0cc81647f62",
        ),
        (
            Compression::Zstd(3),
            "sha256:904bf212fa8c5f53b590393fe34102705789746ad12dfed2461d85020105bd96",
        ),
        (
            Compression::Zstd(1),
            "sha256:44e462c6c622caee72f7200eef933d5a11601977203d6d976a44698f20451ce3",
        ),
    ];
    let mut got = Vec::new();
    for (c, _) in &cases {
        let blob = encode(*c, &data);
        assert_eq!(
            decode(Some(c.media_type()), &blob),
            data,
            "{c:?} round trip by media type"
        );
        assert_eq!(decode(None, &blob), data, "{c:?} round trip by magic bytes");
        got.push(format!("{c:?} {}", Digest::of(&blob)));
    }
    let want: Vec<String> = cases.iter().map(|(c, d)| format!("{c:?} {d}")).collect();
    assert_eq!(got, want);
}

#[test]
fn zstd_output_does_not_depend_on_worker_count() {
    let data = input();
    let mut blobs = Vec::new();
    for workers in [1, 2, 4] {
        let mut e = compress::zstd_encoder(Vec::new(), 3, workers).expect("encoder");
        e.write_all(&data).expect("write");
        blobs.push(e.finish().expect("finish"));
    }
    assert_eq!(blobs[0], blobs[1]);
    assert_eq!(blobs[0], blobs[2]);
}

/// Several libzstd jobs' worth of input (jobs are `ZSTD_JOB_SIZE` = 1 MiB): the output must
/// still not depend on the worker count, and its digest is pinned because it depends on the
/// job size (changing `ZSTD_JOB_SIZE` changes every multi-MiB zstd blob, not diffIDs).
#[test]
fn zstd_multi_job_output_is_pinned_and_independent_of_workers() {
    let mut data = pseudo_random(7, 3 * 1024 * 1024);
    let text = input();
    while data.len() < 6 * 1024 * 1024 + 1234 {
        data.extend_from_slice(&text[256 * 1024..]);
    }
    assert!(data.len() as u64 > 5 * u64::from(compress::ZSTD_JOB_SIZE));
    let mut blobs = Vec::new();
    for workers in [1, 2, 4] {
        let mut e = compress::zstd_encoder(Vec::new(), 3, workers).expect("encoder");
        // Fed in uneven writes, as the layer pipeline never does: output must not care.
        for part in data.chunks(300_001) {
            e.write_all(part).expect("write");
        }
        blobs.push(e.finish().expect("finish"));
    }
    let mut e = compress::zstd_encoder(Vec::new(), 3, 2).expect("encoder");
    e.write_all(&data).expect("write");
    blobs.push(e.finish().expect("finish"));
    assert_eq!(blobs[0], blobs[1]);
    assert_eq!(blobs[0], blobs[2]);
    assert_eq!(blobs[0], blobs[3], "one write or many");
    assert_eq!(decode(None, &blobs[0]), data);
    // Our own output (zstd 0.14.4 / libzstd 1.5.7, level 3, 1 MiB jobs, checksum on, no
    // content size), recorded when ZSTD_JOB_SIZE was introduced.
    assert_eq!(
        Digest::of(&blobs[0]).as_str(),
        "sha256:6bf2a495429905352866143dbd472e34f5828af189ae3b6e0ec3b8ddc2b905ee"
    );
}

/// The cache's encoder (zstd on the writing thread): reproducible whatever the writes, and
/// pinned, since changing it changes every zstd cache blob (not diffIDs).
#[test]
fn zstd_inline_output_is_pinned_and_independent_of_writes() {
    let mut data = pseudo_random(7, 3 * 1024 * 1024);
    data.extend_from_slice(&input());
    let mut blobs = Vec::new();
    for chunk in [300_001, data.len()] {
        let mut e = compress::zstd_encoder_inline(Vec::new(), 3).expect("encoder");
        for part in data.chunks(chunk) {
            e.write_all(part).expect("write");
        }
        blobs.push(e.finish().expect("finish"));
    }
    assert_eq!(blobs[0], blobs[1], "one write or many");
    assert_eq!(decode(None, &blobs[0]), data);
    // Our own output (zstd 0.14.4 / libzstd 1.5.7, level 3, single-threaded, checksum on, no
    // content size), recorded when the cache moved to this encoder.
    assert_eq!(
        Digest::of(&blobs[0]).as_str(),
        "sha256:205969cb6a33011db6d6d75824e2461bc5363ddbb6afd0314bfffd7ff0fd18e5"
    );
}

#[test]
fn media_types_match_bytes() {
    assert_eq!(
        Compression::None.media_type(),
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_eq!(
        Compression::Gzip(1).media_type(),
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_eq!(
        Compression::Zstd(3).media_type(),
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    let data = input();
    assert!(encode(Compression::Gzip(1), &data).starts_with(&[0x1f, 0x8b]));
    assert!(encode(Compression::Zstd(3), &data).starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
    assert_eq!(compress::detect(None, b"abcd"), compress::Detected::Tar);
}

#[test]
fn compression_parses_from_config_strings() {
    assert_eq!("none".parse(), Ok(Compression::None));
    assert_eq!("gzip".parse(), Ok(Compression::Gzip(1)));
    assert_eq!("gzip:6".parse(), Ok(Compression::Gzip(6)));
    assert_eq!("zstd".parse(), Ok(Compression::Zstd(3)));
    assert_eq!("zstd:19".parse(), Ok(Compression::Zstd(19)));
    assert!("gzip:10".parse::<Compression>().is_err());
    assert!("zstd:0".parse::<Compression>().is_err());
    assert!("brotli".parse::<Compression>().is_err());
}
