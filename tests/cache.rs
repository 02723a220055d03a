//! Volume cache behaviour (lifecycle-spec §6.2): layout, round trips, crash recovery, verification.

use cnb::cache::{Cache, CacheError, METADATA_LABEL, VolumeCache};
use cnb::digest::Digest;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A small, real layer tar with one file.
fn layer_tar(name: &str, body: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(315532801);
    h.set_cksum();
    b.append_data(&mut h, name, body.as_bytes()).unwrap();
    b.into_inner().unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => return vec!["<missing>".into()],
    };
    v.sort();
    v
}

fn tar_name(d: &Digest) -> String {
    format!("{d}.tar")
}

#[test]
fn add_reuse_commit_round_trip_drops_unreused_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        layer_tar("layers/a/f", "alpha"),
        layer_tar("layers/b/f", "bravo"),
        layer_tar("layers/c/f", "charlie"),
    );
    let (da, db, dc) = (Digest::of(&a), Digest::of(&b), Digest::of(&c));

    // First export: nothing cached yet.
    let cache = VolumeCache::open(tmp.path()).unwrap();
    assert!(cache.exists(), "a volume cache always exists once opened");
    assert_eq!(cache.name(), tmp.path().display().to_string());
    assert_eq!(cache.metadata_bytes().unwrap(), None);
    cache.add_layer(&da, &mut &a[..]).unwrap();
    let mut w = cache.layer_writer().unwrap();
    w.write_all(&b).unwrap();
    w.finish(&db).unwrap();
    cache
        .set_metadata(br#"{"sbom":{"sha":""},"buildpacks":[]}"#)
        .unwrap();
    cache.commit().unwrap();
    let committed = tmp.path().join("committed");
    let mut want = vec![METADATA_LABEL.to_string(), tar_name(&da), tar_name(&db)];
    want.sort();
    assert_eq!(names(&committed), want);
    assert_eq!(
        names(tmp.path()),
        vec!["committed"],
        "staging is renamed away, no backup left"
    );
    assert_eq!(
        fs::read(committed.join(METADATA_LABEL)).unwrap(),
        b"{\"sbom\":{\"sha\":\"\"},\"buildpacks\":[]}\n"
    );
    assert!(matches!(
        cache.set_metadata(b"{}"),
        Err(CacheError::Committed)
    ));
    assert!(matches!(cache.commit(), Err(CacheError::Committed)));

    // Second export: reuse a (hard link), add c, drop b.
    let cache = VolumeCache::open(tmp.path()).unwrap();
    assert_eq!(
        cache.metadata_bytes().unwrap().unwrap(),
        br#"{"sbom":{"sha":""},"buildpacks":[]}"#
    );
    cache.verify_layer(&da).unwrap();
    cache.reuse_layer(&da).unwrap();
    cache.reuse_layer(&da).unwrap(); // twice is fine
    let staged = tmp.path().join("staging").join(tar_name(&da));
    assert_eq!(
        fs::metadata(&staged).unwrap().ino(),
        fs::metadata(committed.join(tar_name(&da))).unwrap().ino()
    );
    // Adding what is already staged does not even read the stream.
    cache.add_layer(&da, &mut FailingReader).unwrap();
    cache.add_layer(&dc, &mut &c[..]).unwrap();
    cache.set_metadata(b"{\"n\":2}\n").unwrap();
    cache.commit().unwrap();
    let mut want = vec![METADATA_LABEL.to_string(), tar_name(&da), tar_name(&dc)];
    want.sort();
    assert_eq!(names(&committed), want);
    assert_eq!(
        fs::read(committed.join(METADATA_LABEL)).unwrap(),
        b"{\"n\":2}\n"
    );

    // Third open: retrieve gives the exact bytes back.
    let cache = VolumeCache::open(tmp.path()).unwrap();
    let mut got = Vec::new();
    cache
        .retrieve_layer(&dc)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, c);
    assert!(cache.has_layer(&da).unwrap());
    assert!(!cache.has_layer(&db).unwrap());
}

struct FailingReader;
impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("must not be read"))
    }
}

#[test]
fn staging_is_wiped_on_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let a = layer_tar("x", "x");
    let cache = VolumeCache::open(tmp.path()).unwrap();
    cache.add_layer(&Digest::of(&a), &mut &a[..]).unwrap();
    cache.set_metadata(b"{}").unwrap();
    let _abandoned = cache.layer_writer().unwrap();
    assert_eq!(names(&tmp.path().join("staging")).len(), 3);
    drop(cache); // an export that died before commit
    fs::write(tmp.path().join("staging/stray"), b"junk").unwrap();
    let cache = VolumeCache::open(tmp.path()).unwrap();
    assert!(names(&tmp.path().join("staging")).is_empty());
    assert!(names(&tmp.path().join("committed")).is_empty());
    assert_eq!(cache.metadata_bytes().unwrap(), None);
}

fn committed_cache_with(tmp: &Path, body: &str) -> Digest {
    let a = layer_tar("f", body);
    let cache = VolumeCache::open(tmp).unwrap();
    cache.add_layer(&Digest::of(&a), &mut &a[..]).unwrap();
    cache
        .set_metadata(format!("{{\"v\":\"{body}\"}}").as_bytes())
        .unwrap();
    cache.commit().unwrap();
    Digest::of(&a)
}

#[test]
fn crash_between_the_two_renames_recovers_the_previous_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let d = committed_cache_with(tmp.path(), "old");
    // Crash after committed → committed-backup, before staging → committed.
    fs::rename(
        tmp.path().join("committed"),
        tmp.path().join("committed-backup"),
    )
    .unwrap();
    fs::create_dir(tmp.path().join("staging")).unwrap();
    let cache = VolumeCache::open(tmp.path()).unwrap();
    assert_eq!(names(tmp.path()), vec!["committed", "staging"]);
    assert_eq!(cache.metadata_bytes().unwrap().unwrap(), b"{\"v\":\"old\"}");
    cache.verify_layer(&d).unwrap();
}

#[test]
fn crash_after_the_second_rename_keeps_the_new_cache() {
    let tmp = tempfile::tempdir().unwrap();
    committed_cache_with(tmp.path(), "new");
    let backup = tmp.path().join("committed-backup");
    fs::create_dir(&backup).unwrap();
    fs::write(backup.join(METADATA_LABEL), b"{\"v\":\"old\"}\n").unwrap();
    let cache = VolumeCache::open(tmp.path()).unwrap();
    assert_eq!(names(tmp.path()), vec!["committed", "staging"]);
    assert_eq!(cache.metadata_bytes().unwrap().unwrap(), b"{\"v\":\"new\"}");
}

#[test]
fn verify_detects_a_flipped_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let d = committed_cache_with(tmp.path(), "payload");
    let path = tmp.path().join("committed").join(tar_name(&d));
    let mut bytes = fs::read(&path).unwrap();
    bytes[600] ^= 0x01;
    let found = Digest::of(&bytes);
    fs::write(&path, &bytes).unwrap();
    let cache = VolumeCache::open(tmp.path()).unwrap();
    let err = cache.verify_layer(&d).unwrap_err();
    assert_eq!(err.read_err_kind(), Some(cnb::cache::ReadErrKind::Corrupt));
    assert_eq!(
        err.to_string(),
        format!("expected layer contents to have SHA '{d}'; found '{found}'")
    );
}

#[test]
fn add_rejects_a_stream_with_the_wrong_digest_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = VolumeCache::open(tmp.path()).unwrap();
    let a = layer_tar("f", "real");
    let claimed = Digest::of(b"something else");
    let err = cache.add_layer(&claimed, &mut &a[..]).unwrap_err();
    match &err {
        CacheError::DigestMismatch { expected, found } => {
            assert_eq!(expected, &claimed);
            assert_eq!(found, &Digest::of(&a));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.is_read_err());
    let mut w = cache.layer_writer().unwrap();
    w.write_all(&a).unwrap();
    assert!(w.finish(&claimed).is_err());
    assert!(names(&tmp.path().join("staging")).is_empty());
    cache.commit().unwrap();
    assert!(names(&tmp.path().join("committed")).is_empty());
}

#[test]
fn metadata_missing_or_garbage_is_none() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = VolumeCache::open(tmp.path()).unwrap();
    assert_eq!(cache.metadata_bytes().unwrap(), None);
    let file = tmp.path().join("committed").join(METADATA_LABEL);
    for garbage in [
        &b"not json"[..],
        b"{\"truncated\":",
        b"[1,2]",
        b"",
        b"\x00\xff",
    ] {
        fs::write(&file, garbage).unwrap();
        assert_eq!(cache.metadata_bytes().unwrap(), None, "{garbage:?}");
    }
    // Like Go's json.Decoder: the first value counts, whatever follows it.
    fs::write(&file, b"{\"a\":1}\n{\"b\":2}\n").unwrap();
    assert_eq!(cache.metadata_bytes().unwrap().unwrap(), b"{\"a\":1}");
}

#[test]
fn missing_layers_are_read_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = VolumeCache::open(tmp.path()).unwrap();
    let d = Digest::of(b"absent");
    let want = format!("failed to find cache layer with SHA '{d}'");
    for err in [
        cache.reuse_layer(&d).unwrap_err(),
        cache.retrieve_layer(&d).err().unwrap(),
        cache.verify_layer(&d).unwrap_err(),
    ] {
        assert_eq!(
            err.read_err_kind(),
            Some(cnb::cache::ReadErrKind::NotFound),
            "{err:?}"
        );
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn a_missing_cache_dir_is_the_go_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nope");
    let err = VolumeCache::open(&dir).err().unwrap();
    assert!(matches!(err, CacheError::VolumeDir { .. }));
    assert_eq!(
        err.to_string(),
        format!("stat {}: no such file or directory", dir.display())
    );
    assert_eq!(
        cnb::exit::LifecycleError::failed(cnb::exit::ExitCode::Failed, "create volume cache", &err)
            .message,
        format!(
            "failed to create volume cache: stat {}: no such file or directory",
            dir.display()
        )
    );
}

#[test]
fn layer_writers_work_from_other_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = VolumeCache::open(tmp.path()).unwrap();
    let layers: Vec<Vec<u8>> = (0..4)
        .map(|i| layer_tar("f", &format!("layer {i}")))
        .collect();
    std::thread::scope(|s| {
        for l in &layers {
            let mut w = cache.layer_writer().unwrap();
            s.spawn(move || {
                for chunk in l.chunks(100) {
                    w.write_all(chunk).unwrap();
                }
                w.finish(&Digest::of(l)).unwrap();
            });
        }
    });
    cache.commit().unwrap();
    for l in &layers {
        assert!(
            tmp.path()
                .join("committed")
                .join(tar_name(&Digest::of(l)))
                .is_file()
        );
    }
}

#[test]
fn reuse_copies_when_committed_is_on_another_device() {
    // committed/ as a symlink to tmpfs makes link(2) fail with EXDEV.
    let shm = Path::new("/dev/shm");
    let tmp = tempfile::tempdir().unwrap();
    let Ok(other) = tempfile::tempdir_in(shm) else {
        return;
    };
    if fs::metadata(shm).unwrap().dev() == fs::metadata(tmp.path()).unwrap().dev() {
        eprintln!("skipped: /dev/shm is on the same device as the temp dir");
        return;
    }
    std::os::unix::fs::symlink(other.path(), tmp.path().join("committed")).unwrap();
    let d = committed_cache_with(tmp.path(), "far away");
    // After the commit committed/ is a real dir again; point it back at tmpfs.
    fs::remove_dir_all(other.path()).unwrap();
    fs::rename(tmp.path().join("committed"), other.path()).unwrap_or_else(|_| {
        fs::create_dir(other.path()).unwrap();
        for e in fs::read_dir(tmp.path().join("committed")).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), other.path().join(e.file_name())).unwrap();
        }
        fs::remove_dir_all(tmp.path().join("committed")).unwrap();
    });
    std::os::unix::fs::symlink(other.path(), tmp.path().join("committed")).unwrap();
    let cache = VolumeCache::open(tmp.path()).unwrap();
    cache.reuse_layer(&d).unwrap();
    let staged = tmp.path().join("staging").join(tar_name(&d));
    assert_eq!(
        Digest::of(&fs::read(&staged).unwrap()),
        d,
        "copied, verified"
    );
    assert_eq!(fs::metadata(&staged).unwrap().nlink(), 1);
}

#[test]
fn add_layer_file_copies_and_checks_a_tar_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let a = layer_tar("f", "from a file");
    let path = src.path().join("layer.tar");
    fs::write(&path, &a).unwrap();
    let cache = VolumeCache::open(tmp.path()).unwrap();
    cache.add_layer_file(&Digest::of(&a), &path).unwrap();
    let staged = tmp.path().join("staging").join(tar_name(&Digest::of(&a)));
    assert_eq!(fs::read(&staged).unwrap(), a);
    assert_ne!(
        fs::metadata(&staged).unwrap().ino(),
        fs::metadata(&path).unwrap().ino(),
        "a copy, not a link"
    );
    let missing = src.path().join("missing.tar");
    let err = cache
        .add_layer_file(&Digest::of(b"m"), &missing)
        .unwrap_err();
    assert!(!err.is_read_err());
    assert_eq!(
        err.to_string(),
        format!(
            "caching layer ({}): open {}: no such file or directory",
            Digest::of(b"m"),
            missing.display()
        )
    );
}

#[test]
fn checked_retrieval_flags_corruption_in_one_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let d = committed_cache_with(tmp.path(), "single pass");
    let cache = VolumeCache::open(tmp.path()).unwrap();
    let r = cache.retrieve_layer_checked(&d).unwrap();
    let mut ar = tar::Archive::new(r);
    assert_eq!(ar.entries().unwrap().count(), 1);
    ar.into_inner().drain_and_check().unwrap();

    let path = tmp.path().join("committed").join(tar_name(&d));
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] = 1; // in the end-of-archive padding a tar reader never looks at
    fs::write(&path, &bytes).unwrap();
    let mut ar = tar::Archive::new(cache.retrieve_layer_checked(&d).unwrap());
    assert_eq!(
        ar.entries().unwrap().count(),
        1,
        "the tar itself still reads fine"
    );
    let err = ar.into_inner().drain_and_check().unwrap_err();
    assert!(err.is_read_err());
    assert!(
        err.to_string()
            .starts_with(&format!("expected layer contents to have SHA '{d}'"))
    );
}
