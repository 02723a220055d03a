//! Cross-compatibility with the Go lifecycle's volume cache. The fixture
//! `testdata/cache/go-written/` was produced by the Go lifecycle v0.21.17 `cache.VolumeCache`
//! (see its README). The `#[ignore]`d test writes a cache dir for the Go side to read, by hand.

use cnb::cache::{Cache, METADATA_LABEL, VolumeCache, metadata_layer_diff_ids};
use cnb::digest::Digest;
use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::Path;

const GO_A: &str = "sha256:3bbd2b295e08a440fae9a15765e7d68f96ee7d723fe173d03216a0fd0698568a";
const GO_C: &str = "sha256:2c4a104772ee1679514895a736402f93c4b2ecef76f263f99b04e352dd6791b4";

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn entries(mut r: impl Read) -> Vec<(String, String)> {
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).unwrap();
    let mut ar = tar::Archive::new(&bytes[..]);
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut body = String::new();
            e.read_to_string(&mut body).unwrap();
            (name, body)
        })
        .collect()
}

#[test]
fn reads_a_cache_written_by_the_go_lifecycle() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cache/go-written");
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture.join("committed"), &tmp.path().join("committed"));

    let cache = VolumeCache::open(tmp.path()).unwrap();
    let on_disk = fs::read(fixture.join("committed").join(METADATA_LABEL)).unwrap();
    assert_eq!(
        on_disk.last(),
        Some(&b'\n'),
        "Go's json.Encoder ends the file with a newline"
    );
    let meta = cache.metadata_bytes().unwrap().expect("metadata");
    assert_eq!(meta, on_disk[..on_disk.len() - 1]);

    let (a, c) = (Digest::parse(GO_A).unwrap(), Digest::parse(GO_C).unwrap());
    assert_eq!(
        metadata_layer_diff_ids(&meta),
        BTreeSet::from([a.clone(), c.clone()])
    );
    for d in [&a, &c] {
        cache.verify_layer(d).unwrap();
    }
    assert_eq!(
        entries(cache.retrieve_layer(&a).unwrap()),
        vec![
            ("layers/".into(), "".into()),
            ("layers/samples_a/".into(), "".into()),
            ("layers/samples_a/deps/".into(), "".into()),
            ("layers/samples_a/deps/a.txt".into(), "alpha\n".into()),
        ]
    );
    let c_entries = entries(cache.retrieve_layer(&c).unwrap());
    assert_eq!(
        c_entries.last().unwrap(),
        &(
            "layers/samples_b/new/c.txt".to_string(),
            "charlie <&> é\n".to_string()
        )
    );

    // The layer "b" of the Go run's first export was not reused by its second: gone.
    let b =
        Digest::parse("sha256:b1bf090351e82e83606ca6dc3501e252acdff8f89a555b83db8fcbce96d1f728")
            .unwrap();
    assert!(!cache.has_layer(&b).unwrap());

    // And we can carry the Go cache forward: reuse a, drop c.
    cache.reuse_layer(&a).unwrap();
    cache.set_metadata(&meta).unwrap();
    cache.commit().unwrap();
    let reopened = VolumeCache::open(tmp.path()).unwrap();
    reopened.verify_layer(&a).unwrap();
    assert!(!reopened.has_layer(&c).unwrap());
    assert_eq!(
        fs::read(tmp.path().join("committed").join(METADATA_LABEL)).unwrap(),
        on_disk
    );
}

fn layer(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_mtime(315532801);
        h.set_uid(1000);
        h.set_gid(1000);
        if name.ends_with('/') {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
        } else {
            h.set_mode(0o644);
            h.set_size(body.len() as u64);
        }
        h.set_cksum();
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

/// By hand: `CNB_CACHE_RS_OUT=/tmp/rs-written cargo test -p cnb --test cache_go_compat -- --ignored`
/// then run the Go reader on that dir (testdata/cache/go-written/README.md).
#[test]
#[ignore]
fn write_a_cache_for_the_go_lifecycle_to_read() {
    let out = std::env::var("CNB_CACHE_RS_OUT").expect("set CNB_CACHE_RS_OUT");
    let out = Path::new(&out);
    fs::create_dir_all(out).unwrap();
    let a = layer(&[
        ("layers/", ""),
        ("layers/rs_a/", ""),
        ("layers/rs_a/deps/", ""),
        ("layers/rs_a/deps/a.txt", "from rust\n"),
    ]);
    let b = layer(&[
        ("layers/", ""),
        ("layers/rs_b/", ""),
        ("layers/rs_b/old/", ""),
        ("layers/rs_b/old/b.txt", "dropped\n"),
    ]);
    let c = layer(&[
        ("layers/", ""),
        ("layers/rs_b/", ""),
        ("layers/rs_b/new/", ""),
        ("layers/rs_b/new/c.txt", "kept\n"),
    ]);
    let (da, db, dc) = (Digest::of(&a), Digest::of(&b), Digest::of(&c));

    let cache = VolumeCache::open(out).unwrap();
    cache.add_layer(&da, &mut &a[..]).unwrap();
    cache.add_layer(&db, &mut &b[..]).unwrap();
    cache.set_metadata(b"{}").unwrap();
    cache.commit().unwrap();

    let cache = VolumeCache::open(out).unwrap();
    cache.verify_layer(&da).unwrap();
    cache.reuse_layer(&da).unwrap();
    cache.add_layer(&dc, &mut &c[..]).unwrap();
    let meta = format!(
        r#"{{"sbom":{{"sha":""}},"buildpacks":[{{"key":"rs/a","version":"1.0.0","layers":{{"deps":{{"sha":"{da}","data":{{"v":1}},"build":true,"launch":false,"cache":true}}}}}},{{"key":"rs/b","version":"1.0.0","layers":{{"new":{{"sha":"{dc}","data":null,"build":false,"launch":true,"cache":true}}}}}}]}}"#
    );
    cache.set_metadata(meta.as_bytes()).unwrap();
    cache.commit().unwrap();
    println!("a {da}\nb {db}\nc {dc}");
}

fn json(path: &Path) -> (Vec<u8>, serde_json::Value) {
    let bytes = fs::read(path).unwrap();
    let v = serde_json::from_slice(&bytes).unwrap();
    (bytes, v)
}

#[test]
fn empty_layer_matches_the_go_cache_image() {
    use cnb::cache::{CacheCompression, EMPTY_LAYER_DIFF_ID, EMPTY_LAYER_SIZE, empty_layer_tar};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cache/go-image");
    let (_, manifest) = json(&dir.join("empty-manifest.json"));
    let (config_bytes, config) = json(&dir.join("empty-config.json"));
    assert_eq!(
        manifest["config"]["digest"].as_str().unwrap(),
        Digest::of(&config_bytes).as_str()
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["digest"].as_str().unwrap(), EMPTY_LAYER_DIFF_ID);
    assert_eq!(layers[0]["size"].as_u64().unwrap(), EMPTY_LAYER_SIZE);
    assert_eq!(
        layers[0]["mediaType"].as_str().unwrap(),
        CacheCompression::Gzip.media_type()
    );
    assert_eq!(Digest::of(&empty_layer_tar()).as_str(), EMPTY_LAYER_DIFF_ID);
    assert_eq!(
        config["rootfs"]["diff_ids"],
        serde_json::json!([EMPTY_LAYER_DIFF_ID])
    );
    assert_eq!(
        config["config"]["Labels"][METADATA_LABEL],
        "{\"sbom\":{\"sha\":\"\"},\"buildpacks\":null}"
    );
}

#[test]
fn reads_a_layer_blob_the_go_lifecycle_pushed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cache/go-image");
    let (_, manifest) = json(&dir.join("one-layer-manifest.json"));
    let (_, config) = json(&dir.join("one-layer-config.json"));
    let blob = fs::read(dir.join("one-layer-blob.tar.gz")).unwrap();
    assert_eq!(
        manifest["layers"][0]["digest"].as_str().unwrap(),
        Digest::of(&blob).as_str()
    );
    let mut tar = Vec::new();
    cnb::cache::decompressing_reader(&blob[..])
        .unwrap()
        .read_to_end(&mut tar)
        .unwrap();
    assert_eq!(
        config["rootfs"]["diff_ids"][0].as_str().unwrap(),
        Digest::of(&tar).as_str()
    );
    let label = config["config"]["Labels"][METADATA_LABEL].as_str().unwrap();
    assert_eq!(
        metadata_layer_diff_ids(label.as_bytes()),
        BTreeSet::from([Digest::of(&tar)])
    );
    assert_eq!(
        entries(&tar[..]).last().unwrap(),
        &(
            "layers/samples_a/deps/a.txt".to_string(),
            "alpha\n".to_string()
        )
    );
}
