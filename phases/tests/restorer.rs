//! Black-box tests of the restorer phase: the built `lifecycle` binary runs as `restorer`
//! (argv0) against caches produced by the engine (`VolumeCache` / `ImageCache` over a real
//! `docker-registry` on 127.0.0.1) from a layers tree built here, and restores into an EMPTY
//! layers directory at the same absolute path (the fresh-machine case).

mod common;

use cnb::archive::Owner;
use cnb::cache::registry_backend::RegistryCacheBackend;
use cnb::cache::{Cache, CacheCompression, ImageCache, VolumeCache};
use cnb::digest::Digest;
use cnb::files::{Analyzed, LayersMetadata};
use cnb::layers::{LayerSpec, write_tar};
use cnb::registry::{Client, ClientOptions, Credential, Keychain, RemoteStore};
use cnb::testing::{Registry, RegistryOptions, shared_registry};
use common::{BIN, strip_ansi};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BP: &str = "samples/java-maven";
const BP_DIR: &str = "samples_java-maven";

/// A build's layers tree, its tars and the files that describe it.
struct Fixture {
    tmp: tempfile::TempDir,
    layers: PathBuf,
    m2: Digest,
    jdk: Digest,
    sbom: Digest,
    tars: Vec<(Digest, Vec<u8>)>,
}

fn uid_gid() -> (u32, u32) {
    // SAFETY: no preconditions.
    unsafe { (libc::getuid(), libc::getgid()) }
}

fn write(path: &Path, text: &str, mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn tar_of(dir: &Path) -> (Digest, Vec<u8>) {
    let (uid, gid) = uid_gid();
    let bytes = write_tar(
        &LayerSpec::dir(dir, Owner::new(uid.into(), gid.into())),
        Vec::new(),
    )
    .expect("layer tar");
    (Digest::of(&bytes), bytes)
}

/// Builds `<tmp>/layers` with a cache-only layer (`maven_m2`), a launch+cache layer (`jdk`)
/// and the SBOM tree, tars them like the exporter, then empties the layers directory.
fn fixture() -> Fixture {
    fixture_with(|_| {})
}

/// [`fixture`] with group.toml and analyzed.toml written (the app image remembers jdk).
fn fixture_with_inputs() -> Fixture {
    let f = fixture();
    f.write_inputs(false);
    f
}

/// [`fixture`] with `extra` adding entries to the buildpack directory before tarring.
fn fixture_with(extra: impl Fn(&Path)) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let layers = tmp.path().join("layers");
    let bp = layers.join(BP_DIR);
    write(
        &bp.join("maven_m2/repository/org/acme/acme-1.0.jar"),
        "jar bytes\n",
        0o644,
    );
    write(
        &bp.join("maven_m2/bin/mvnw"),
        "#!/bin/sh\necho mvn\n",
        0o755,
    );
    write(&bp.join("maven_m2/settings.xml"), "<settings/>\n", 0o600);
    symlink("repository/org", bp.join("maven_m2/org-link")).unwrap();
    write(&bp.join("jdk/bin/java"), "#!/bin/sh\necho java\n", 0o755);
    write(&bp.join("jdk/lib/libjvm.so"), "elf", 0o640);
    symlink("bin", bp.join("jdk/current")).unwrap();
    symlink("/etc/ssl/certs/ca-certificates.crt", bp.join("jdk/cacerts")).unwrap();
    let sbom = layers.join("sbom");
    write(
        &sbom
            .join("cache")
            .join(BP_DIR)
            .join("maven_m2/sbom.cdx.json"),
        "{\"m2\":1}",
        0o644,
    );
    write(
        &sbom.join("launch").join(BP_DIR).join("jdk/sbom.cdx.json"),
        "{\"jdk\":1}",
        0o644,
    );
    write(
        &sbom.join("launch").join(BP_DIR).join("sbom.cdx.json"),
        "{\"bp\":1}",
        0o644,
    );
    extra(&bp);
    let m2 = tar_of(&bp.join("maven_m2"));
    let jdk = tar_of(&bp.join("jdk"));
    let sb = tar_of(&sbom);
    fs::remove_dir_all(&layers).unwrap();
    fs::create_dir(&layers).unwrap();
    Fixture {
        layers,
        m2: m2.0.clone(),
        jdk: jdk.0.clone(),
        sbom: sb.0.clone(),
        tars: vec![m2, jdk, sb],
        tmp,
    }
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn bp(&self) -> PathBuf {
        self.layers.join(BP_DIR)
    }

    /// The cache label / metadata file (what the exporter writes).
    fn cache_metadata(&self) -> String {
        format!(
            r#"{{"sbom":{{"sha":"{}"}},"buildpacks":[{{"key":"{BP}","version":"0.0.2","layers":{{"jdk":{{"sha":"{}","data":{{"version":"17.0.9"}},"build":false,"launch":true,"cache":true}},"maven_m2":{{"sha":"{}","data":{{"checksum":"ab12"}},"build":true,"launch":false,"cache":true}}}}}}]}}"#,
            self.sbom, self.jdk, self.m2
        )
    }

    /// group.toml, and analyzed.toml with the app image label (jdk unless `without_jdk`).
    fn write_inputs(&self, without_jdk: bool) {
        fs::write(
            self.path("group.toml"),
            format!("[[group]]\n  id = \"{BP}\"\n  version = \"0.0.2\"\n  api = \"0.10\"\n"),
        )
        .unwrap();
        let jdk = if without_jdk {
            String::new()
        } else {
            format!(
                r#""jdk":{{"sha":"{}","data":{{"version":"17.0.9"}},"build":false,"launch":true,"cache":true}}"#,
                self.jdk
            )
        };
        let label = format!(
            r#"{{"buildpacks":[{{"key":"{BP}","version":"0.0.2","layers":{{{jdk}}},"store":{{"metadata":{{"last-run":"2026-08-01","runs":3}}}}}}]}}"#
        );
        let analyzed = Analyzed {
            layers_metadata: LayersMetadata::from_label(&label).unwrap(),
            ..Analyzed::default()
        };
        analyzed.write(&self.path("analyzed.toml")).unwrap();
    }

    /// Records `run_image` as the selected run image in analyzed.toml and writes a run.toml
    /// listing it; returns the run.toml path.
    fn select_run_image(&self, run_image: &str) -> PathBuf {
        let analyzed = fs::read_to_string(self.path("analyzed.toml")).unwrap();
        fs::write(
            self.path("analyzed.toml"),
            format!("{analyzed}\n[run-image]\n  reference = \"\"\n  image = \"{run_image}\"\n"),
        )
        .unwrap();
        let run = self.path("run.toml");
        fs::write(&run, format!("[[images]]\n  image = \"{run_image}\"\n")).unwrap();
        run
    }

    fn volume_cache(&self) -> PathBuf {
        let dir = self.path("cache");
        fs::create_dir_all(&dir).unwrap();
        let c = VolumeCache::open(&dir).unwrap();
        self.fill(&c);
        dir
    }

    fn fill(&self, c: &dyn Cache) {
        for (d, bytes) in &self.tars {
            c.add_layer(d, &mut bytes.as_slice()).unwrap();
        }
        c.set_metadata(self.cache_metadata().as_bytes()).unwrap();
        c.commit().unwrap();
    }

    /// Pushes the cache image `name` with `keychain`.
    fn image_cache(&self, name: &str, keychain: Keychain) {
        self.image_cache_with(name, keychain, Vec::new());
    }

    fn image_cache_with(&self, name: &str, keychain: Keychain, insecure_registries: Vec<String>) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = Client::new(ClientOptions {
            keychain,
            insecure_registries,
            ..ClientOptions::default()
        });
        let backend = rt
            .block_on(RegistryCacheBackend::open(RemoteStore::new(client), name))
            .unwrap();
        let c = ImageCache::new(backend, CacheCompression::Gzip, self.tmp.path(), false).unwrap();
        self.fill(&c);
    }

    fn restorer(&self, api: &str, env: &[(&str, &str)], args: &[&str]) -> Out {
        let (uid, gid) = uid_gid();
        let (uid, gid) = (uid.to_string(), gid.to_string());
        let mut c = Command::new(BIN);
        c.arg0("restorer").env_clear().env("PATH", "/usr/bin:/bin");
        c.env("CNB_PLATFORM_API", api)
            .env("CNB_USER_ID", &uid)
            .env("CNB_GROUP_ID", &gid)
            .env("HOME", self.tmp.path());
        for (k, v) in env {
            c.env(k, v);
        }
        c.arg("-layers")
            .arg(&self.layers)
            .arg("-group")
            .arg(self.path("group.toml"))
            .arg("-analyzed")
            .arg(self.path("analyzed.toml"))
            .args(args);
        let o = c.output().expect("spawn restorer");
        Out {
            code: o.status.code().unwrap_or(-1),
            out: strip_ansi(&String::from_utf8_lossy(&o.stdout))
                + &strip_ansi(&String::from_utf8_lossy(&o.stderr)),
        }
    }

    /// The restorer at Platform API `api` with `-cache-dir <cache>`.
    fn restore_from_dir(&self, api: &str, cache: &Path) -> Out {
        self.restorer(api, &[], &["-cache-dir", cache.to_str().unwrap()])
    }

    /// A clean full restore: every layer, the store and the SBOMs, and the log says so.
    fn assert_everything_restored(&self, out: &Out) {
        out.ok()
            .has("Restoring data for SBOM from cache")
            .lacks("Warning");
        for l in RESTORE_LINES {
            out.has(l);
        }
        self.assert_store_toml();
        self.assert_m2_restored();
        self.assert_jdk_restored();
        self.assert_sboms_restored();
    }

    fn assert_store_toml(&self) {
        let store = fs::read_to_string(self.bp().join("store.toml")).unwrap();
        assert!(store.starts_with("[metadata]\n"), "{store}");
        assert!(store.contains("last-run = \"2026-08-01\""), "{store}");
        assert!(store.contains("runs = 3"), "{store}");
    }

    /// Files, modes, symlinks and toml of the cache-only `maven_m2` layer.
    fn assert_m2_restored(&self) {
        let l = self.bp().join("maven_m2");
        assert_eq!(
            fs::read_to_string(l.join("repository/org/acme/acme-1.0.jar")).unwrap(),
            "jar bytes\n"
        );
        assert_eq!(mode(&l.join("bin/mvnw")), 0o755);
        assert_eq!(mode(&l.join("settings.xml")), 0o600);
        assert_eq!(mode(&l.join("repository/org/acme/acme-1.0.jar")), 0o644);
        assert_eq!(
            fs::read_link(l.join("org-link")).unwrap(),
            Path::new("repository/org")
        );
        assert_eq!(
            fs::read_to_string(self.bp().join("maven_m2.toml")).unwrap(),
            "[metadata]\n  checksum = \"ab12\"\n"
        );
    }

    fn assert_jdk_restored(&self) {
        let l = self.bp().join("jdk");
        assert_eq!(
            fs::read_to_string(l.join("bin/java")).unwrap(),
            "#!/bin/sh\necho java\n"
        );
        assert_eq!(mode(&l.join("bin/java")), 0o755);
        assert_eq!(mode(&l.join("lib/libjvm.so")), 0o640);
        assert_eq!(fs::read_link(l.join("current")).unwrap(), Path::new("bin"));
        assert_eq!(
            fs::read_link(l.join("cacerts")).unwrap(),
            Path::new("/etc/ssl/certs/ca-certificates.crt")
        );
        assert_eq!(
            fs::read_to_string(self.bp().join("jdk.toml")).unwrap(),
            "[metadata]\n  version = \"17.0.9\"\n"
        );
    }

    fn assert_sboms_restored(&self) {
        assert_eq!(
            fs::read_to_string(self.bp().join("maven_m2.sbom.cdx.json")).unwrap(),
            "{\"m2\":1}"
        );
        assert_eq!(
            fs::read_to_string(self.bp().join("jdk.sbom.cdx.json")).unwrap(),
            "{\"jdk\":1}"
        );
        assert!(
            !self.layers.join("sbom").exists(),
            "<layers>/sbom must be removed"
        );
    }

    fn assert_no_layer_dirs(&self) {
        for name in ["maven_m2", "jdk"] {
            assert!(!self.bp().join(name).exists(), "{name} must not exist");
        }
    }

    fn assert_no_layers(&self) {
        for name in ["maven_m2", "maven_m2.toml", "jdk", "jdk.toml"] {
            assert!(!self.bp().join(name).exists(), "{name} must not exist");
        }
    }
}

struct Out {
    code: i32,
    out: String,
}

impl Out {
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "output:\n{}", self.out);
        self
    }

    fn has(&self, line: &str) -> &Self {
        assert!(
            self.out.contains(line),
            "missing {line:?} in:\n{}",
            self.out
        );
        self
    }

    fn lacks(&self, line: &str) -> &Self {
        assert!(
            !self.out.contains(line),
            "unexpected {line:?} in:\n{}",
            self.out
        );
        self
    }
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

const RESTORE_LINES: [&str; 4] = [
    "Restoring metadata for \"samples/java-maven:jdk\" from app image",
    "Restoring metadata for \"samples/java-maven:maven_m2\" from cache",
    "Restoring data for \"samples/java-maven:jdk\" from cache",
    "Restoring data for \"samples/java-maven:maven_m2\" from cache",
];

#[test]
fn restores_everything_from_a_cache_dir_into_empty_layers() {
    for api in ["0.12", "0.13", "0.14", "0.15"] {
        let f = fixture_with_inputs();
        let cache = f.volume_cache();
        f.assert_everything_restored(&f.restore_from_dir(api, &cache));
    }
}

#[test]
fn restores_everything_from_a_cache_image() {
    let reg = shared_registry();
    let f = fixture_with_inputs();
    let name = format!("{}/restorer/cache:full", reg.host());
    f.image_cache(&name, Keychain::anonymous());
    let out = f.restorer("0.14", &[], &["-cache-image", &name]);
    f.assert_everything_restored(&out);

    // By digest reference, `-cache-image` winning over a `-cache-dir` that does not exist.
    // (A fresh fixture: cached tars name the absolute paths of the tree they were made from.)
    let h = fixture_with_inputs();
    let name_h = format!("{}/restorer/cache-h:1", reg.host());
    h.image_cache(&name_h, Keychain::anonymous());
    let raw = cnb::testing::skopeo_inspect_raw(&name_h, None);
    let by_digest = format!("{}/restorer/cache-h@{}", reg.host(), Digest::of(&raw));
    let bogus = h.path("no-such-cache-dir");
    h.restorer(
        "0.15",
        &[],
        &[
            "-cache-image",
            &by_digest,
            "-cache-dir",
            bogus.to_str().unwrap(),
        ],
    )
    .ok()
    .lacks("Warning");
    h.assert_m2_restored();
    h.assert_jdk_restored();
}

#[test]
fn no_cache_and_missing_cache_image() {
    let reg = shared_registry();
    let f = fixture_with_inputs();
    f.restorer("0.14", &[], &[])
        .ok()
        .has("No cached data will be used, no cache specified.");
    f.assert_store_toml();
    f.assert_no_layers();

    let g = fixture_with_inputs();
    let missing = format!("{}/restorer/never-pushed:latest", reg.host());
    g.restorer("0.14", &[], &["-cache-image", &missing])
        .ok()
        .has("Layer cache not found");
    g.assert_store_toml();
    g.assert_no_layers();
}

/// The digest of the first layer of the image `name` (as the registry serves its manifest).
fn first_layer_digest(name: &str) -> String {
    let manifest: serde_json::Value =
        serde_json::from_slice(&cnb::testing::skopeo_inspect_raw(name, None)).unwrap();
    manifest["layers"][0]["digest"].as_str().unwrap().to_owned()
}

/// Registry API: DELETE /v2/<repo>/blobs/<digest>.
fn delete_blob(reg: &Registry, repo: &str, digest: &str) {
    let url = format!("http://{}/v2/{repo}/blobs/{digest}", reg.host());
    let o = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "202", "{url}");
}

#[test]
fn cache_image_with_a_deleted_blob_is_ignored() {
    let reg = shared_registry();
    let f = fixture_with_inputs();
    let name = format!("{}/restorer/broken:1", reg.host());
    f.image_cache(&name, Keychain::anonymous());
    // Layers are in the order added: maven_m2 first.
    delete_blob(reg, "restorer/broken", &first_layer_digest(&name));
    let out = f.restorer("0.14", &[], &["-cache-image", &name]);
    out.ok().has(&format!(
        "Ignoring cache image \"{name}\" because it was corrupt"
    ));
    f.assert_store_toml();
    f.assert_no_layers();
}

#[test]
fn corrupt_or_missing_cached_layer_is_a_warning_and_leaves_no_layer_dir() {
    let f = fixture_with_inputs();
    let cache = f.volume_cache();
    let m2_tar = cache.join("committed").join(format!("{}.tar", f.m2));
    // Same size, one byte changed inside file data: extraction succeeds, the diffID fails.
    let mut bytes = fs::read(&m2_tar).unwrap();
    let at = bytes.windows(9).position(|w| w == b"jar bytes").unwrap();
    bytes[at] = b'J';
    fs::write(&m2_tar, &bytes).unwrap();
    let jdk_tar = cache.join("committed").join(format!("{}.tar", f.jdk));
    fs::remove_file(&jdk_tar).unwrap();
    let out = f.restore_from_dir("0.14", &cache);
    out.ok()
        .has(&format!(
            "Warning: Skipping restore for layer samples/java-maven:maven_m2: expected layer contents to have SHA '{}'; found '",
            f.m2
        ))
        .has(&format!(
            "Warning: Skipping restore for layer samples/java-maven:jdk: failed to find cache layer with SHA '{}'",
            f.jdk
        ));
    assert!(!f.bp().join("maven_m2").exists(), "no half-restored layer");
    assert!(!f.bp().join("jdk").exists());
    f.assert_sboms_restored();
}

#[test]
fn skip_layers_writes_only_store_toml() {
    let f = fixture_with_inputs();
    let cache = f.volume_cache();
    let out = f.restorer(
        "0.14",
        &[],
        &["-cache-dir", cache.to_str().unwrap(), "-skip-layers"],
    );
    out.ok()
        .has("Skipping buildpack layer analysis")
        .lacks("Restoring");
    f.assert_store_toml();
    f.assert_no_layers();
    assert!(!f.bp().join("maven_m2.sbom.cdx.json").exists());
}

#[test]
fn launch_cache_layer_missing_from_app_metadata_needs_api_0_14() {
    let f = fixture();
    f.write_inputs(true);
    let cache = f.volume_cache();
    f.restore_from_dir("0.13", &cache)
        .ok()
        .lacks("samples/java-maven:jdk");
    assert!(!f.bp().join("jdk.toml").exists());
    assert!(!f.bp().join("jdk").exists());
    f.assert_m2_restored();

    let g = fixture();
    g.write_inputs(true);
    let cache = g.volume_cache();
    g.restore_from_dir("0.14", &cache)
        .ok()
        .has("Restoring metadata for \"samples/java-maven:jdk\" from cache")
        .has("Restoring data for \"samples/java-maven:jdk\" from cache");
    g.assert_jdk_restored();
}

#[test]
fn wrong_sha_removes_the_layer() {
    let f = fixture_with_inputs();
    let cache = f.volume_cache();
    // The app image remembers another jdk than the cache holds.
    let analyzed = fs::read_to_string(f.path("analyzed.toml")).unwrap();
    let other = Digest::of(b"other jdk");
    fs::write(
        f.path("analyzed.toml"),
        analyzed.replace(f.jdk.as_str(), other.as_str()),
    )
    .unwrap();
    f.restore_from_dir("0.14", &cache)
        .ok()
        .has("Removing \"samples/java-maven:jdk\", wrong sha");
    assert!(!f.bp().join("jdk").exists());
    assert!(!f.bp().join("jdk.toml").exists());
    f.assert_m2_restored();
}

#[test]
fn layer_already_on_a_reused_volume_is_not_downloaded() {
    let f = fixture_with_inputs();
    let cache = f.volume_cache();
    let arg = ["-cache-dir", cache.to_str().unwrap()];
    f.restorer("0.14", &[], &arg).ok();
    // Second build on the same volume: the cached tars are gone, the layer dirs match.
    for d in [&f.m2, &f.jdk] {
        fs::remove_file(cache.join("committed").join(format!("{d}.tar"))).unwrap();
    }
    f.restorer("0.14", &[], &arg)
        .ok()
        .has("Layer data for \"samples/java-maven:maven_m2\" already present")
        .has("Layer data for \"samples/java-maven:jdk\" already present")
        .lacks("Warning: Skipping restore");
    f.assert_m2_restored();
    f.assert_jdk_restored();
}

/// A registry of its own that needs user/pass (basic auth).
fn basic_auth_registry() -> Registry {
    common::basic_auth_registry("user", "pass")
}

fn basic_auth_keychain(reg: &Registry) -> Keychain {
    Keychain::anonymous().with(&reg.host(), Credential::basic("user", "pass"))
}

/// `CNB_REGISTRY_AUTH` for [`basic_auth_registry`].
fn basic_auth_env(reg: &Registry) -> String {
    common::registry_auth_env(&reg.host(), "user", "pass")
}

#[test]
fn basic_auth_registry_with_cnb_registry_auth() {
    let reg = basic_auth_registry();
    let f = fixture_with_inputs();
    let name = format!("{}/restorer/private:1", reg.host());
    f.image_cache(&name, basic_auth_keychain(&reg));
    // Without credentials the image cannot be read: Go treats 401 as "not found".
    f.restorer("0.14", &[], &["-cache-image", &name])
        .ok()
        .has("Layer cache not found");
    f.assert_no_layers();

    let g = fixture_with_inputs();
    // g has its own paths, so push g's tars to another tag.
    let name_g = format!("{}/restorer/private:2", reg.host());
    g.image_cache(&name_g, basic_auth_keychain(&reg));
    let auth = basic_auth_env(&reg);
    g.restorer(
        "0.14",
        &[("CNB_REGISTRY_AUTH", &auth)],
        &["-cache-image", &name_g],
    )
    .ok()
    .lacks("Warning");
    g.assert_m2_restored();
    g.assert_jdk_restored();
    g.assert_sboms_restored();
}

#[test]
fn selected_run_image_must_be_readable_from_0_14() {
    let reg = shared_registry();
    let f = fixture_with_inputs();
    let run_image = format!("{}/restorer/no-such-run:latest", reg.host());
    let run = f.select_run_image(&run_image);
    // A 404 counts as readable (Go's check only fails on 401/403 or transport errors).
    f.restorer("0.14", &[], &["-run", run.to_str().unwrap()])
        .ok();
    f.assert_store_toml();
}

#[test]
fn build_image_digest_goes_to_analyzed_toml() {
    let reg = shared_registry();
    let build = cnb::testing::push_busybox_fixture(&reg.host(), "restorer/build:1");
    let f = fixture_with_inputs();
    f.restorer("0.14", &[], &["-build-image", &build.reference])
        .ok();
    let analyzed = fs::read_to_string(f.path("analyzed.toml")).unwrap();
    let want = format!(
        "[build-image]\n  reference = \"{}/restorer/build@{}\"\n",
        reg.host(),
        build.manifest_digest
    );
    assert!(analyzed.contains(&want), "{analyzed}");
    f.assert_store_toml();

    let missing = format!("{}/restorer/no-build:1", reg.host());
    let out = f.restorer("0.14", &[], &["-build-image", &missing]);
    assert_eq!(out.code, 1, "{}", out.out);
    out.has(&format!(
        "ERROR: failed to pull builder image {missing}: failed to get remote image"
    ));
}

#[test]
fn corrupt_blob_in_the_registry_is_a_warning_and_leaves_no_layer_dir() {
    let reg = shared_registry();
    let f = fixture_with_inputs();
    let name = format!("{}/restorer/corrupt:1", reg.host());
    f.image_cache(&name, Keychain::anonymous());
    // Layers are in the order added: maven_m2 first. Damage its stored gzip bytes in place.
    let blob = reg.blob_data_path(&first_layer_digest(&name));
    let mut bytes = fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 8] {
        *b ^= 0xff;
    }
    fs::write(&blob, &bytes).unwrap();
    let out = f.restorer("0.14", &[], &["-cache-image", &name]);
    out.ok()
        .has("Warning: Skipping restore for layer samples/java-maven:maven_m2: ");
    assert!(!f.bp().join("maven_m2").exists(), "no half-restored layer");
    f.assert_jdk_restored();
    f.assert_sboms_restored();
}

#[test]
fn unreadable_selected_run_image_fails_from_0_14_but_not_with_layout() {
    let reg = basic_auth_registry();
    let f = fixture_with_inputs();
    let run_image = format!("{}/restorer/private-run:latest", reg.host());
    let run = f.select_run_image(&run_image);
    let run = run.to_str().unwrap();
    // No credentials: 401 → not readable.
    let out = f.restorer("0.14", &[], &["-run", run]);
    assert_eq!(out.code, 1, "{}", out.out);
    out.has(&format!(
        "ERROR: selected run image '{run_image}' is not accessible"
    ));
    // Below 0.14 there is no check.
    f.restorer("0.13", &[], &[]).ok();
    // With a layout every image counts as readable (Go's nop checker).
    let layout = f.path("layout");
    f.restorer(
        "0.14",
        &[("CNB_EXPERIMENTAL_MODE", "silent")],
        &[
            "-run",
            run,
            "-layout",
            "-layout-dir",
            layout.to_str().unwrap(),
        ],
    )
    .ok();
    // With credentials it is readable.
    let auth = basic_auth_env(&reg);
    f.restorer("0.14", &[("CNB_REGISTRY_AUTH", &auth)], &["-run", run])
        .ok();
}

#[test]
fn cache_of_another_layers_dir_is_a_warning() {
    let f = fixture_with_inputs();
    let cache = f.volume_cache();
    // g restores f's cache: its tars name f's layers directory.
    let g = fixture_with_inputs();
    let out = g.restore_from_dir("0.14", &cache);
    out.ok()
        .has("Warning: Skipping restore for layer samples/java-maven:maven_m2: failed to extract layer 'samples/java-maven:maven_m2': entry '")
        .has("Removing \"samples/java-maven:jdk\", wrong sha")
        .has("Warning: Skipping restore for SBOM layer: ");
    g.assert_no_layer_dirs();
    assert!(!f.bp().exists(), "nothing written to the other layers dir");
}

#[test]
fn device_node_in_a_cached_layer_fails_the_restore_with_42() {
    if uid_gid().0 != 0 {
        eprintln!("skipping: mknod needs root");
        return;
    }
    let f = fixture_with(|bp| {
        cnb::layers::testtree::mkchardev(&bp.join("maven_m2/null"), 0o600, 1, 3).unwrap();
    });
    f.write_inputs(false);
    let cache = f.volume_cache();
    let out = f.restore_from_dir("0.14", &cache);
    assert_eq!(out.code, 42, "{}", out.out);
    out.has(
        "ERROR: failed to restore: restoring data: restoring layer samples/java-maven:maven_m2: ",
    )
    .has("device nodes are not allowed");
    assert!(!f.bp().join("maven_m2").exists(), "no half-restored layer");
}

#[test]
fn cache_image_on_a_self_signed_tls_registry_needs_insecure_registry() {
    let reg = Registry::start(RegistryOptions {
        tls: true,
        ..RegistryOptions::default()
    });
    let f = fixture_with_inputs();
    let name = format!("{}/restorer/tls:1", reg.host());
    f.image_cache_with(&name, Keychain::anonymous(), vec![reg.host()]);
    // Without -insecure-registry the certificate is refused: like Go ("connect to repo
    // store"), opening the cache fails with exit 1.
    let out = f.restorer("0.15", &[], &["-cache-image", &name]);
    assert_eq!(out.code, 1, "{}", out.out);
    out.has("ERROR: failed to create image cache: ");
    assert!(out.out.contains("certificate"), "{}", out.out);
    f.assert_no_layer_dirs();
    f.restorer(
        "0.15",
        &[],
        &["-insecure-registry", &reg.host(), "-cache-image", &name],
    )
    .ok()
    .lacks("Warning");
    f.assert_m2_restored();
    f.assert_jdk_restored();
}

/// By hand: `CNB_RESTORER_PERF_MB=512 cargo test --release -p lifecycle --test restorer perf
/// -- --ignored --nocapture` prints how long restoring a big layer (one large file plus 5000
/// small ones) takes from a cache image and from a cache dir.
#[test]
#[ignore]
fn perf_big_layer() {
    let mb: usize = std::env::var("CNB_RESTORER_PERF_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let f = fixture_with(|bp| {
        let big = bp.join("maven_m2/big.bin");
        fs::write(&big, cnb::layers::testtree::pseudo_random(7, mb << 20)).unwrap();
        for i in 0..5000 {
            write(
                &bp.join(format!("maven_m2/many/{}/f{i}.txt", i % 50)),
                &"x".repeat(i % 300),
                0o644,
            );
        }
    });
    f.write_inputs(false);
    let reg = shared_registry();
    let name = format!("{}/restorer/perf:1", reg.host());
    let t = std::time::Instant::now();
    f.image_cache(&name, Keychain::anonymous());
    eprintln!("push cache image: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    f.restorer("0.14", &[], &["-cache-image", &name])
        .ok()
        .lacks("Warning");
    eprintln!(
        "restore {mb} MiB + 5000 files from the cache image: {:?}",
        t.elapsed()
    );
    f.assert_m2_restored();
    fs::remove_dir_all(&f.layers).unwrap();
    fs::create_dir(&f.layers).unwrap();
    let cache = f.volume_cache();
    let t = std::time::Instant::now();
    f.restore_from_dir("0.14", &cache).ok().lacks("Warning");
    eprintln!(
        "restore {mb} MiB + 5000 files from the cache dir: {:?}",
        t.elapsed()
    );
    let t = std::time::Instant::now();
    f.restore_from_dir("0.14", &cache)
        .ok()
        .has("already present");
    eprintln!(
        "second restore on the same volume (no download): {:?}",
        t.elapsed()
    );
}
