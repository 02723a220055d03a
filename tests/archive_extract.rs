//! Extraction: round trips of our own layers, digest verification, and hostile archives that
//! must be refused with nothing written outside the destination.

mod common;

use cnb::archive::header::{EntryKind, TarHeader};
use cnb::archive::{Compression, Expected, ExtractError, ExtractOptions, Owner, extract};
use cnb::layers::{self, LayerSpec, testtree};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use common::tree::describe_portable as describe;

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn tar_of(entries: &[(TarHeader, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (h, data) in entries {
        out.extend_from_slice(&h.encode());
        out.extend_from_slice(data);
        out.resize(
            out.len() + cnb::archive::header::padding(data.len() as u64),
            0,
        );
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn file(name: &str, data: &[u8]) -> TarHeader {
    let mut h = TarHeader::new(name.as_bytes().to_vec(), EntryKind::Regular, 0o644);
    h.size = data.len() as u64;
    h
}

fn link(name: &str, kind: EntryKind, target: &str) -> TarHeader {
    let mut h = TarHeader::new(name.as_bytes().to_vec(), kind, 0o777);
    h.link_name = target.as_bytes().to_vec();
    h
}

/// A sandbox: `<tmp>/dest` is the extraction root, `<tmp>/outside` must stay untouched.
struct Sandbox {
    tmp: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let tmp = tempfile::tempdir().expect("tmp");
        fs::create_dir(tmp.path().join("dest")).expect("dest");
        fs::create_dir(tmp.path().join("outside")).expect("outside");
        fs::write(tmp.path().join("outside/keep"), b"keep").expect("keep");
        Sandbox { tmp }
    }

    fn dest(&self) -> PathBuf {
        self.tmp.path().join("dest")
    }

    fn opts(&self) -> ExtractOptions {
        ExtractOptions::new(self.dest(), "/layers", "test:layer")
    }

    fn outside_untouched(&self) {
        let names: Vec<_> = fs::read_dir(self.tmp.path())
            .expect("ls")
            .map(|e| e.expect("e").file_name())
            .collect();
        assert_eq!(names.len(), 2, "only dest and outside exist: {names:?}");
        let inside: Vec<_> = fs::read_dir(self.tmp.path().join("outside"))
            .expect("ls")
            .map(|e| e.expect("e").file_name())
            .collect();
        assert_eq!(inside, vec![std::ffi::OsString::from("keep")]);
        assert_eq!(
            fs::read(self.tmp.path().join("outside/keep")).expect("keep"),
            b"keep"
        );
    }

    fn no_temp_files(&self) {
        for e in walkdir::WalkDir::new(self.dest()) {
            let e = e.expect("walk");
            assert!(
                !e.file_name().to_string_lossy().starts_with(".cnb-tmp"),
                "temp left: {}",
                e.path().display()
            );
        }
    }

    fn run(
        &self,
        tar: &[u8],
        opts: &ExtractOptions,
    ) -> Result<cnb::archive::Extracted, ExtractError> {
        extract(tar, None, &Expected::default(), opts)
    }
}

#[test]
fn round_trip_restores_the_tree() {
    let src = tempfile::tempdir().expect("src");
    let layers_dir = src.path().join("layers");
    let layer = layers_dir.join("bp/layer");
    fs::create_dir_all(layers_dir.join("bp")).expect("mkdir");
    let dev = testtree::build_every_case(&layer).expect("fixture");
    let owner = if is_root() {
        Owner::new(1000, 1001)
    } else {
        Owner::new(
            u64::from(unsafe { libc::geteuid() }),
            u64::from(unsafe { libc::getegid() }),
        )
    };
    let spec = LayerSpec::dir(&layer, owner);

    for c in [
        Compression::None,
        Compression::Gzip(1),
        Compression::Zstd(3),
    ] {
        let mut blob = Vec::new();
        let info = layers::write_layer(&spec, c, &mut blob).expect("write");
        let out = tempfile::tempdir().expect("out");
        let mut opts = ExtractOptions::new(out.path(), &layers_dir, "bp:layer");
        opts.allow_devices = true;
        opts.allow_symlinks_out = true; // the fixture links to /etc/passwd
        let expect = Expected {
            digest: Some(info.digest.clone()),
            diff_id: Some(info.diff_id.clone()),
        };
        let got = extract(&blob[..], Some(c.media_type()), &expect, &opts).expect("extract");
        assert_eq!(got.diff_id, info.diff_id);
        assert_eq!(got.digest, info.digest);
        assert_eq!(got.size, blob.len() as u64);

        let mut want = describe(&layer);
        want.remove(&b"socket"[..]); // sockets are not archived
        for v in want.values_mut() {
            // Extracted entries carry the layer's forced owner and normalized mtime.
            v.uid = u32::try_from(owner.uid).expect("uid");
            v.gid = u32::try_from(owner.gid).expect("gid");
            v.mtime = 315532801;
        }
        if !dev {
            want.remove(&b"chardev"[..]);
        }
        let restored = describe(&out.path().join("bp/layer"));
        assert_eq!(restored, want, "{c:?}");
    }
}

#[test]
fn digest_mismatches_are_reported_with_the_layer_name() {
    let sb = Sandbox::new();
    let tar = tar_of(&[(file("/layers/bp/a", b"a"), b"a")]);
    let wrong = cnb::digest::Digest::of(b"nope");
    let e = extract(
        &tar[..],
        None,
        &Expected {
            digest: None,
            diff_id: Some(wrong.clone()),
        },
        &sb.opts(),
    )
    .expect_err("mismatch");
    let msg = e.to_string();
    assert!(
        msg.contains("test:layer") && msg.contains("diffID") && msg.contains(wrong.as_str()),
        "{msg}"
    );
    let ok = extract(
        &tar[..],
        None,
        &Expected {
            digest: Some(cnb::digest::Digest::of(&tar)),
            diff_id: None,
        },
        &sb.opts(),
    );
    assert!(ok.is_ok());
}

#[test]
fn hostile_archives_are_refused() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            tar_of(&[(file("/layers/../outside/evil", b"x"), b"x")]),
            "'..'",
        ),
        (
            "outside prefix",
            tar_of(&[(file("/etc/evil", b"x"), b"x")]),
            "outside",
        ),
        (
            "relative dotdot",
            tar_of(&[(file("layers/bp/../../outside/evil", b"x"), b"x")]),
            "'..'",
        ),
        (
            "symlink out abs",
            tar_of(&[(link("/layers/bp/l", EntryKind::Symlink, "/etc"), b"")]),
            "points outside",
        ),
        (
            "symlink out rel",
            tar_of(&[(
                link("/layers/bp/l", EntryKind::Symlink, "../../outside"),
                b"",
            )]),
            "outside",
        ),
        (
            "symlink dotdot after name",
            tar_of(&[(link("/layers/bp/l", EntryKind::Symlink, "x/../../.."), b"")]),
            "leaves",
        ),
        (
            "hardlink out",
            tar_of(&[(
                link("/layers/bp/h", EntryKind::HardLink, "/etc/passwd"),
                b"",
            )]),
            "outside",
        ),
        (
            "hardlink dotdot",
            tar_of(&[(
                link("/layers/bp/h", EntryKind::HardLink, "/layers/../etc/passwd"),
                b"",
            )]),
            "outside",
        ),
        (
            "device",
            tar_of(&[(
                TarHeader::new(b"/layers/bp/null".to_vec(), EntryKind::CharDevice, 0o666),
                b"",
            )]),
            "device",
        ),
        (
            "whiteout",
            tar_of(&[(file("/layers/bp/.wh.gone", b""), b"")]),
            "whiteout",
        ),
    ];
    for (what, tar, reason) in cases {
        let sb = Sandbox::new();
        let err = sb.run(&tar, &sb.opts()).expect_err(what).to_string();
        assert!(
            err.contains(reason) && err.contains("test:layer"),
            "{what}: {err}"
        );
        sb.outside_untouched();
        sb.no_temp_files();
    }
}

#[test]
fn never_writes_through_symlinks() {
    // A symlink in the archive (allowed out), then a file below it.
    let sb = Sandbox::new();
    let outside = sb.tmp.path().join("outside");
    let tar = tar_of(&[
        (
            link(
                "/layers/bp",
                EntryKind::Symlink,
                outside.to_str().expect("utf8"),
            ),
            b"",
        ),
        (file("/layers/bp/evil", b"x"), b"x"),
    ]);
    let mut opts = sb.opts();
    opts.allow_symlinks_out = true;
    let err = sb
        .run(&tar, &opts)
        .expect_err("through symlink")
        .to_string();
    assert!(
        err.contains("refusing to follow") && err.contains("/layers/bp/evil"),
        "{err}"
    );
    sb.outside_untouched();

    // A symlink already on disk.
    let sb = Sandbox::new();
    std::os::unix::fs::symlink(sb.tmp.path().join("outside"), sb.dest().join("bp"))
        .expect("symlink");
    let tar = tar_of(&[(file("/layers/bp/evil", b"x"), b"x")]);
    let err = sb
        .run(&tar, &sb.opts())
        .expect_err("pre-existing symlink")
        .to_string();
    assert!(err.contains("refusing to follow"), "{err}");
    sb.outside_untouched();

    // A file entry replacing an existing symlink replaces the link, not its target.
    let sb = Sandbox::new();
    fs::create_dir(sb.dest().join("bp")).expect("bp");
    std::os::unix::fs::symlink(sb.tmp.path().join("outside/keep"), sb.dest().join("bp/f"))
        .expect("symlink");
    let tar = tar_of(&[(file("/layers/bp/f", b"new"), b"new")]);
    sb.run(&tar, &sb.opts()).expect("replace link");
    assert_eq!(fs::read(sb.dest().join("bp/f")).expect("f"), b"new");
    assert!(
        !sb.dest()
            .join("bp/f")
            .symlink_metadata()
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    sb.outside_untouched();

    // A file never replaces a directory.
    let sb = Sandbox::new();
    let tar = tar_of(&[
        (
            TarHeader::new(b"/layers/d".to_vec(), EntryKind::Directory, 0o755),
            b"",
        ),
        (file("/layers/d", b"x"), b"x"),
    ]);
    let err = sb
        .run(&tar, &sb.opts())
        .expect_err("dir in the way")
        .to_string();
    assert!(err.contains("/layers/d"), "{err}");
    assert!(sb.dest().join("d").is_dir());
    sb.no_temp_files();
}

#[test]
fn truncated_archive_leaves_no_partial_file() {
    let sb = Sandbox::new();
    let data = vec![7u8; 100_000];
    let mut tar = tar_of(&[(file("/layers/bp/big", &data), &data)]);
    tar.truncate(512 + 50_000);
    let err = sb.run(&tar, &sb.opts()).expect_err("truncated").to_string();
    assert!(
        err.contains("test:layer") && err.contains("/layers/bp/big"),
        "{err}"
    );
    assert!(!sb.dest().join("bp/big").exists());
    sb.no_temp_files();
}

#[test]
fn ancestors_of_the_prefix_are_skipped_and_hard_links_inside_work() {
    let sb = Sandbox::new();
    let mut d = TarHeader::new(b"/layers".to_vec(), EntryKind::Directory, 0o700);
    d.uid = 0;
    let tar = tar_of(&[
        (d, b""),
        (
            TarHeader::new(b"/layers/bp".to_vec(), EntryKind::Directory, 0o750),
            b"",
        ),
        (file("/layers/bp/a", b"a"), b"a"),
        (
            link("/layers/bp/b", EntryKind::HardLink, "/layers/bp/a"),
            b"",
        ),
        (link("/layers/bp/s", EntryKind::Symlink, "a"), b""),
        (
            TarHeader::new(b"/layers/bp/p".to_vec(), EntryKind::Fifo, 0o640),
            b"",
        ),
    ]);
    let got = sb.run(&tar, &sb.opts()).expect("extract");
    assert_eq!(got.entries, 6);
    let a = sb.dest().join("bp/a").metadata().expect("a");
    let b = sb.dest().join("bp/b").metadata().expect("b");
    assert_eq!(a.ino(), b.ino());
    assert_eq!(
        fs::read_link(sb.dest().join("bp/s")).expect("s"),
        Path::new("a")
    );
    assert!(
        sb.dest()
            .join("bp/p")
            .symlink_metadata()
            .expect("p")
            .file_type()
            .is_fifo()
    );
    assert_eq!(
        sb.dest().join("bp").metadata().expect("bp").mode() & 0o7777,
        0o750
    );
    assert_eq!(a.mtime(), 315_532_801);
}

/// Random archives built from hostile name parts: whatever happens, nothing appears
/// outside the destination and no temporary file is left behind.
#[test]
fn random_hostile_archives_stay_inside() {
    let parts = [
        "..", ".", "", "layers", "bp", "a", "b", "outside", "etc", ".wh.x", "dest",
    ];
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for round in 0..300 {
        let sb = Sandbox::new();
        let mut entries: Vec<(TarHeader, Vec<u8>)> = Vec::new();
        for _ in 0..rng.random_range(1..6) {
            let mut name = if rng.random_bool(0.8) {
                "/layers/".to_string()
            } else {
                String::new()
            };
            let n = rng.random_range(1..5);
            let comps: Vec<&str> = (0..n)
                .map(|_| parts[rng.random_range(0..parts.len())])
                .collect();
            name.push_str(&comps.join("/"));
            let target = {
                let n = rng.random_range(1..5);
                let t: Vec<&str> = (0..n)
                    .map(|_| parts[rng.random_range(0..parts.len())])
                    .collect();
                let abs = rng.random_bool(0.5);
                format!("{}{}", if abs { "/" } else { "" }, t.join("/"))
            };
            let h = match rng.random_range(0..5) {
                0 => TarHeader::new(name.into_bytes(), EntryKind::Directory, 0o755),
                1 => link(&name, EntryKind::Symlink, &target),
                2 => link(&name, EntryKind::HardLink, &target),
                _ => file(&name, b"data"),
            };
            let data = if h.kind == EntryKind::Regular {
                b"data".to_vec()
            } else {
                Vec::new()
            };
            entries.push((h, data));
        }
        let refs: Vec<(TarHeader, &[u8])> =
            entries.iter().map(|(h, d)| (h.clone(), &d[..])).collect();
        let tar = tar_of(&refs);
        let mut opts = sb.opts();
        opts.allow_symlinks_out = round % 2 == 0;
        let _ = sb.run(&tar, &opts);
        sb.outside_untouched();
        sb.no_temp_files();
    }
}

/// Random trees: write → extract → compare.
#[test]
fn random_trees_round_trip() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..20 {
        let src = tempfile::tempdir().expect("src");
        let layers_dir = src.path().join("layers");
        let layer = layers_dir.join("bp/l");
        fs::create_dir_all(&layer).expect("mkdir");
        let mut dirs = vec![layer.clone()];
        for i in 0..rng.random_range(1..40) {
            let parent = dirs[rng.random_range(0..dirs.len())].clone();
            let name = format!("n{i}{}", ["", "-x", ".txt", "é"][rng.random_range(0..4)]);
            let p = parent.join(&name);
            match rng.random_range(0..4) {
                0 => {
                    fs::create_dir(&p).expect("dir");
                    dirs.push(p);
                }
                1 => std::os::unix::fs::symlink(format!("n{}", rng.random_range(0..i + 1)), &p)
                    .expect("link"),
                _ => {
                    let len = rng.random_range(0..3000);
                    fs::write(&p, testtree::pseudo_random(i as u64 + 1, len)).expect("file");
                }
            }
        }
        let owner = Owner::new(
            u64::from(unsafe { libc::geteuid() }),
            u64::from(unsafe { libc::getegid() }),
        );
        let mut blob = Vec::new();
        let info = layers::write_layer(
            &LayerSpec::dir(&layer, owner),
            Compression::Gzip(1),
            &mut blob,
        )
        .expect("write");
        let out = tempfile::tempdir().expect("out");
        let opts = ExtractOptions::new(out.path(), &layers_dir, "bp:l");
        let got = extract(
            &blob[..],
            None,
            &Expected {
                digest: Some(info.digest),
                diff_id: Some(info.diff_id),
            },
            &opts,
        )
        .expect("extract");
        assert!(got.entries > 0);
        let strip = |mut m: BTreeMap<Vec<u8>, common::tree::Node>| {
            for v in m.values_mut() {
                v.mtime = 0;
            }
            m
        };
        assert_eq!(
            strip(describe(&out.path().join("bp/l"))),
            strip(describe(&layer))
        );
    }
}

fn tar_without_trailer(entries: &[(TarHeader, &[u8])]) -> Vec<u8> {
    let mut t = tar_of(entries);
    t.truncate(t.len() - 1024);
    t
}

/// umoci 0.4 (and other writers) may end a layer without the two zero blocks; the Go
/// lifecycle accepts that, so do we, as long as the stream ends where a header would start.
#[test]
fn archive_without_end_blocks_is_accepted() {
    let sb = Sandbox::new();
    let tar = tar_without_trailer(&[
        (
            TarHeader::new(b"/layers/bp".to_vec(), EntryKind::Directory, 0o755),
            b"",
        ),
        (file("/layers/bp/a", b"abc"), b"abc"),
    ]);
    let got = extract(
        &tar[..],
        None,
        &Expected {
            digest: None,
            diff_id: Some(cnb::digest::Digest::of(&tar)),
        },
        &sb.opts(),
    )
    .expect("no end blocks");
    assert_eq!(got.entries, 2);
    assert_eq!(got.diff_id, cnb::digest::Digest::of(&tar));
    assert_eq!(fs::read(sb.dest().join("bp/a")).expect("a"), b"abc");
}

/// tar-rs reads PAX records line by line; Go honours each record's length. A PAX path
/// holding a newline would be dropped by tar-rs (the entry written under its USTAR name) and
/// its tail could even read as a `size` record Go never sees: such entries are refused.
#[test]
fn pax_value_with_a_newline_is_refused() {
    // Our writer emits PAX `path` for non-ASCII names; this one also holds a newline.
    let name = "/layers/bp/é\n9 size=5".as_bytes().to_vec();
    let h = TarHeader {
        size: 3,
        ..TarHeader::new(name, EntryKind::Regular, 0o644)
    };
    let sb = Sandbox::new();
    let tar = tar_of(&[(h, b"abc")]);
    let err = sb
        .run(&tar, &sb.opts())
        .expect_err("newline in PAX")
        .to_string();
    assert!(
        err.contains("malformed PAX record") && err.contains("test:layer"),
        "{err}"
    );
    assert_eq!(
        fs::read_dir(sb.dest()).expect("ls").count(),
        0,
        "nothing written"
    );
    sb.outside_untouched();
}

/// Builds a one-layer image with umoci from a rootfs holding `/layers/bp/l/{a,big,s->a,sub/}`
/// and returns (layer blob, its media type, digest and diffID as umoci recorded them).
fn umoci_layer(work: &Path) -> (Vec<u8>, String, cnb::digest::Digest, cnb::digest::Digest) {
    use std::process::Command;
    cnb::testing::require_tool("umoci", "umoci");
    let run = |args: &[&str]| {
        let out = Command::new("umoci")
            .args(args)
            .output()
            .expect("run umoci");
        assert!(out.status.success(), "umoci {args:?}: {out:?}");
    };
    let layout = work.join("layout");
    let image = format!("{}:t", layout.display());
    let bundle = work.join("bundle");
    run(&["init", "--layout", layout.to_str().expect("utf8")]);
    run(&["new", "--image", &image]);
    run(&[
        "unpack",
        "--rootless",
        "--image",
        &image,
        bundle.to_str().expect("utf8"),
    ]);
    let l = bundle.join("rootfs/layers/bp/l");
    fs::create_dir_all(l.join("sub")).expect("mkdir");
    fs::write(l.join("a"), b"abc").expect("a");
    fs::write(l.join("big"), testtree::pseudo_random(3, 5000)).expect("big");
    std::os::unix::fs::symlink("a", l.join("s")).expect("s");
    run(&["repack", "--image", &image, bundle.to_str().expect("utf8")]);

    let json = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&fs::read(p).expect("read json")).expect("json")
    };
    let blob_path = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let index = json(layout.join("index.json"));
    let manifest = json(blob_path(
        index["manifests"][0]["digest"]
            .as_str()
            .expect("manifest digest"),
    ));
    let layer = &manifest["layers"][0];
    let digest = layer["digest"].as_str().expect("layer digest");
    let config = json(blob_path(
        manifest["config"]["digest"].as_str().expect("config"),
    ));
    let diff_id = config["rootfs"]["diff_ids"][0].as_str().expect("diff_id");
    (
        fs::read(blob_path(digest)).expect("blob"),
        layer["mediaType"].as_str().expect("media type").to_string(),
        digest.parse().expect("digest"),
        diff_id.parse().expect("diff_id"),
    )
}

/// A layer written by a third-party writer (umoci: relative names, a `.` entry, real
/// mtimes) extracts with the digest and diffID umoci recorded. The same tar without its two
/// end blocks is accepted too (the stream ends where a header would start; Go's
/// archive/tar accepts that as well), its diffID computed over the bytes that were there;
/// cut inside a header or inside file data it is an error naming the entry, and no
/// half-written file remains.
#[test]
fn umoci_layer_extracts_with_and_without_end_blocks() {
    let work = tempfile::tempdir().expect("work");
    let (blob, media_type, digest, diff_id) = umoci_layer(work.path());
    let check_tree = |out: &Path| {
        let l = out.join("bp/l");
        assert_eq!(fs::read(l.join("a")).expect("a"), b"abc");
        assert_eq!(
            fs::read(l.join("big")).expect("big"),
            testtree::pseudo_random(3, 5000)
        );
        assert_eq!(fs::read_link(l.join("s")).expect("s"), Path::new("a"));
        assert!(l.join("sub").is_dir());
    };

    let out = tempfile::tempdir().expect("out");
    let opts = ExtractOptions::new(out.path(), "/layers", "umoci:layer");
    let expect = Expected {
        digest: Some(digest.clone()),
        diff_id: Some(diff_id.clone()),
    };
    let got = extract(&blob[..], Some(&media_type), &expect, &opts).expect("umoci layer");
    assert_eq!((got.digest, got.diff_id), (digest, diff_id.clone()));
    check_tree(out.path());

    // The uncompressed tar, its end-of-archive blocks removed.
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&blob[..]), &mut tar)
        .expect("gunzip");
    assert_eq!(cnb::digest::Digest::of(&tar), diff_id);
    let mut bare = tar.clone();
    while bare.len() >= 512 && bare[bare.len() - 512..].iter().all(|&b| b == 0) {
        bare.truncate(bare.len() - 512);
    }
    assert!(bare.len() + 1024 <= tar.len(), "umoci wrote end blocks");
    let out = tempfile::tempdir().expect("out");
    let opts = ExtractOptions::new(out.path(), "/layers", "umoci:layer");
    let expect = Expected {
        digest: None,
        diff_id: Some(cnb::digest::Digest::of(&bare)),
    };
    let got = extract(&bare[..], None, &expect, &opts).expect("no end blocks");
    assert_eq!(got.diff_id, cnb::digest::Digest::of(&bare));
    check_tree(out.path());

    // Cut inside a header: the stream ends 100 bytes into what should be a header block.
    let mut cut = bare.clone();
    cut.extend_from_slice(&tar[..100]);
    let out = tempfile::tempdir().expect("out");
    let opts = ExtractOptions::new(out.path(), "/layers", "umoci:layer");
    let err = extract(&cut[..], None, &Expected::default(), &opts)
        .expect_err("cut in a header")
        .to_string();
    assert!(
        err.contains("umoci:layer") && err.contains("after entry 'layers/"),
        "{err}"
    );

    // Cut inside the data of `big`.
    let big_at = (0..bare.len() / 512)
        .map(|i| i * 512)
        .find(|&o| bare[o..o + 100].starts_with(b"layers/bp/l/big\0"))
        .expect("big's header");
    let cut = &bare[..big_at + 512 + 1000];
    let out = tempfile::tempdir().expect("out");
    let opts = ExtractOptions::new(out.path(), "/layers", "umoci:layer");
    let err = extract(cut, None, &Expected::default(), &opts)
        .expect_err("cut in data")
        .to_string();
    assert!(
        err.contains("umoci:layer") && err.contains("entry 'layers/bp/l/big'"),
        "{err}"
    );
    assert!(
        !out.path().join("bp/l/big").exists(),
        "no half-written file"
    );
    for e in walkdir::WalkDir::new(out.path()) {
        let name = e.expect("walk").file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".cnb-tmp"), "temporary left: {name}");
    }
}
