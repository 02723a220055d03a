//! The Go lifecycle's layout-mode export, replayed with `cnb::image`: starting from a run image
//! written by imgutil, the same edits must give byte-identical config, manifest and
//! `index.json` (testdata/image/imgutil, see testdata/image/README.md).

use cnb::digest::{Digest, HashingReader};
use cnb::image::{
    BlobSource, Descriptor, History, Image, ImageStore, Layout, LayoutStore, MediaType, Platform,
};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/image/imgutil")
        .join(rel)
}

const CREATED: &str = "2026-01-02T03:04:05Z";
const APP_LAYER: &str = "sha256:ae9d9ae206910a069715fb54b84e0358c8d25145810815e3df9d2427d9e1fe0d";
const APP_DIFF_ID: &str = "sha256:50f9f863ad982b0ac475cf25edb4c46ad95efc512409854bc45e871ed9d45cc6";

#[tokio::test]
async fn layout_export_matches_imgutil_byte_for_byte() {
    // The run image as imgutil saved it (new image, OCI types, one gzip layer).
    let run = Layout::open(fixture("run")).unwrap();
    let run_manifest = run
        .image_manifest(None, &Platform::layout_default())
        .unwrap()
        .unwrap();
    let m = run_manifest.manifest().unwrap();
    let run_config = run.read_config(&m.config).unwrap();
    let mut img = Image::from_raw(&run_manifest, &run_config).unwrap();
    assert_eq!(img.label("io.buildpacks.base.id"), Some("test.run"));
    assert_eq!(img.env("PATH"), Some("/usr/local/bin:/usr/bin:/bin"));

    // The app layer blob Go compressed (gzip bytes are Go's, so reuse them); check its diffID.
    let go_app = Layout::open(fixture("app")).unwrap();
    let app_digest = Digest::parse(APP_LAYER).unwrap();
    let blob = go_app.read_blob(&app_digest).unwrap();
    let mut tar = HashingReader::new(flate2::read::GzDecoder::new(&blob[..]));
    std::io::copy(&mut tar, &mut std::io::sink()).unwrap();
    assert_eq!(tar.finish().1.as_str(), APP_DIFF_ID);

    // What the exporter does through imgutil, in the same order.
    img.set_annotation(cnb::image::ANNOTATION_REF_NAME, "latest");
    img.normalize_history();
    img.append_layer(
        Descriptor::new(
            MediaType::DOCKER_LAYER_GZIP,
            app_digest.clone(),
            blob.len() as u64,
        ),
        Digest::parse(APP_DIFF_ID).unwrap(),
        History {
            created: Some(CREATED.into()),
            created_by: "Application Layer".into(),
            ..Default::default()
        },
    );
    img.set_env("CNB_LAYERS_DIR", "/layers");
    img.set_env(
        "PATH",
        "/cnb/process:/cnb/lifecycle:/usr/local/bin:/usr/bin:/bin",
    );
    img.set_label(
        "io.buildpacks.lifecycle.metadata",
        &format!(r#"{{"app":[{{"sha":"{APP_DIFF_ID}"}}]}}"#),
    );
    img.set_working_dir("/workspace");
    img.set_entrypoint(vec!["/cnb/lifecycle/launcher".into()]);
    img.set_cmd(vec![]);
    img.set_created_at_and_history(CREATED, true);
    let built = img.build().unwrap();

    // Save into a fresh -layout-dir the way the store does for the exporter.
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(dir.path());
    let name = "example.com/app:latest";
    for layer in img.layers() {
        let src = if run.has_blob(&layer.digest) {
            run.blob_path(&layer.digest)
        } else {
            go_app.blob_path(&layer.digest)
        };
        store
            .put_blob(name, BlobSource::Path(src), Some(layer))
            .await
            .unwrap();
    }
    let cfg_desc = built.config.descriptor(MediaType::OCI_CONFIG);
    store
        .put_blob(
            name,
            BlobSource::Bytes(built.config.bytes().clone()),
            Some(&cfg_desc),
        )
        .await
        .unwrap();
    store.put_manifest(name, &built.manifest).await.unwrap();

    let ours = store.path_for(name).unwrap();
    assert_eq!(ours, dir.path().join("example.com/app/latest"));
    let go_dir = fixture("app");
    for file in ["index.json", "oci-layout"] {
        assert_eq!(
            String::from_utf8(fs::read(ours.join(file)).unwrap()).unwrap(),
            String::from_utf8(fs::read(go_dir.join(file)).unwrap()).unwrap(),
            "{file}"
        );
    }
    let mut ours_blobs: Vec<_> = fs::read_dir(ours.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut go_blobs: Vec<_> = fs::read_dir(go_dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    ours_blobs.sort();
    go_blobs.sort();
    assert_eq!(
        ours_blobs, go_blobs,
        "same blob set (so same config and manifest bytes)"
    );
    assert_eq!(
        String::from_utf8_lossy(built.config.bytes()),
        String::from_utf8_lossy(&go_app.read_blob(built.config.digest()).unwrap())
    );
    assert_eq!(
        store.identifier(name, built.manifest.digest()).unwrap(),
        format!(
            "{}@sha256:043142c96ceea38d8118261e517191dd5cd38c2b9f785f693e5246aaec41b969",
            ours.display()
        )
    );

    // And it reads back through the store.
    let back = store
        .manifest(name, &Platform::layout_default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, built.manifest);
    let mut r = store.open_blob(name, &img.layers()[1]).await.unwrap();
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes, blob);
}

#[test]
fn new_image_without_base_matches_imgutil() {
    // Replays how testdata/image/imgutil/run was made (no base, no WithHistory, default created).
    let go_run = Layout::open(fixture("run")).unwrap();
    let go_manifest = go_run
        .image_manifest(None, &Platform::layout_default())
        .unwrap()
        .unwrap();
    let layer = go_manifest.manifest().unwrap().layers[0].clone();
    let mut img = Image::new(&Platform::layout_default(), MediaType::OCI_MANIFEST);
    img.normalize_history();
    img.append_layer(
        Descriptor::new(
            cnb::image::builder::imgutil_layer_media_type(false),
            layer.digest.clone(),
            layer.size,
        ),
        Digest::parse("sha256:2c74dc5fa6d15a90721ab8993eeb3ac9e3c1ba49903214a97ec240d21f5beea7")
            .unwrap(),
        History {
            created: Some(cnb::image::config::DEFAULT_CREATED.into()),
            ..Default::default()
        },
    );
    img.set_env("PATH", "/usr/local/bin:/usr/bin:/bin");
    img.set_label("io.buildpacks.base.id", "test.run");
    img.set_label("io.buildpacks.stack.id", "test.stack");
    img.set_created_at_and_history(cnb::image::config::DEFAULT_CREATED, false);
    let built = img.build().unwrap();
    assert_eq!(built.manifest, go_manifest);
    assert_eq!(
        built.config.bytes().to_vec(),
        go_run.read_blob(built.config.digest()).unwrap()
    );

    let dir = tempfile::tempdir().unwrap();
    let ours = Layout::create(dir.path()).unwrap();
    ours.set_image(&built.manifest, None).unwrap();
    assert_eq!(
        fs::read(ours.root().join("index.json")).unwrap(),
        fs::read(fixture("run/index.json")).unwrap()
    );
}
