//! The restorer on the volume cache written by the Go lifecycle (`testdata/cache/go-written`),
//! compared with what the Go restorer v0.21.17 did on the same inputs
//! (`testdata/restorer/go-written/<scenario>/expected.{log,tree}`, see the README there).
//!
//! The cached tars name `/layers/...`, so the restorer must run with `-layers /layers`: each
//! run happens in a private mount namespace (`unshare -m`) and a chroot on a tmpfs holding
//! `/usr`, `/etc` (bind mounts), the binary, the inputs and a copy of the cache. Needs root;
//! skipped otherwise. With `CNB_GO_LIFECYCLE` set to a Go `lifecycle` binary, Go is run live
//! the same way and compared too.

mod common;

use common::BIN;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `sh -c SCRIPT sh <binary> <scenario dir> <cache committed dir> <out prefix> [cache flags]`
/// (default `-cache-dir /cache`): writes
/// `<out>.log` (stdout+stderr, then `exit=<code>`) and `<out>.tree` (every path under
/// `/layers` with type, mode, owner and link target, then every file's content).
const SCRIPT: &str = r#"
BIN=$1; SC=$2; CACHE=$3; OUT=$4; CACHE_FLAGS=${5:--cache-dir /cache}
R=$(mktemp -d)
unshare -m sh -c "
set -e
mount -t tmpfs none $R
mkdir -p $R/usr $R/etc $R/layers $R/cache $R/w $R/tmp
mount --bind /usr $R/usr
mount --bind /etc $R/etc
ln -s usr/bin $R/bin; ln -s usr/lib $R/lib; ln -s usr/lib64 $R/lib64
cp -a $CACHE $R/cache/committed
cp $BIN $R/w/lifecycle; ln -s lifecycle $R/w/restorer
cp $SC/group.toml $SC/analyzed.toml $R/w/
chown -R 1000:1000 $R/w
set +e
env -i PATH=/usr/bin:/usr/sbin CNB_PLATFORM_API=0.14 CNB_USER_ID=1000 CNB_GROUP_ID=1000 CNB_NO_COLOR=true /usr/sbin/chroot $R /w/restorer -layers /layers -cache-dir /cache -group /w/group.toml -analyzed /w/analyzed.toml $CACHE_FLAGS > $OUT.log 2>&1; echo exit=\$? >> $OUT.log
cd $R/layers && { find . -printf '%p %y %m %U:%G %l\n' | sort; find . -type f | sort | while read f; do echo \"== \$f\"; cat \"\$f\"; done; } > $OUT.tree
"
rmdir $R
"#;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

fn can_run() -> bool {
    // SAFETY: no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tools = Path::new("/usr/bin/unshare").exists() && Path::new("/usr/sbin/chroot").exists();
    if !root || !tools {
        eprintln!("skipping: needs root, unshare and chroot");
    }
    root && tools
}

/// Runs `bin` on `scenario`; returns (log lines sorted, tree). Log lines are sorted because
/// the Go restorer logs a buildpack's app-image layers in Go map order (random).
fn restore(bin: &Path, scenario: &str, out: &Path) -> (Vec<String>, String) {
    restore_with(bin, scenario, out, "-cache-dir /cache")
}

fn restore_with(
    bin: &Path,
    scenario: &str,
    out: &Path,
    cache_flags: &str,
) -> (Vec<String>, String) {
    let sc = testdata().join("restorer/go-written").join(scenario);
    let cache = testdata().join("cache/go-written/committed");
    let prefix = out.join(scenario);
    let status = Command::new("sh")
        .args(["-c", SCRIPT, "sh"])
        .arg(bin)
        .arg(&sc)
        .arg(&cache)
        .arg(&prefix)
        .arg(cache_flags)
        .status()
        .expect("run sh");
    assert!(status.success());
    let log = std::fs::read_to_string(prefix.with_extension("log")).unwrap();
    let tree = std::fs::read_to_string(prefix.with_extension("tree")).unwrap();
    (sorted_lines(&log), tree)
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn go_written_cache_dir_restores_like_go() {
    if !can_run() {
        return;
    }
    let go = std::env::var_os("CNB_GO_LIFECYCLE").map(PathBuf::from);
    for scenario in ["from-cache", "from-app-image"] {
        let tmp = tempfile::tempdir().unwrap();
        let (log, tree) = restore(Path::new(BIN), scenario, tmp.path());
        let golden = testdata().join("restorer/go-written").join(scenario);
        let want_log = std::fs::read_to_string(golden.join("expected.log")).unwrap();
        let want_tree = std::fs::read_to_string(golden.join("expected.tree")).unwrap();
        assert_eq!(log, sorted_lines(&want_log), "{scenario}: log");
        assert_eq!(tree, want_tree, "{scenario}: tree");
        if let Some(go) = &go {
            let gtmp = tempfile::tempdir().unwrap();
            let (glog, gtree) = restore(go, scenario, gtmp.path());
            assert_eq!(log, glog, "{scenario}: log vs live Go");
            assert_eq!(tree, gtree, "{scenario}: tree vs live Go");
        }
    }
}

/// The Go-written cache's layers pushed as a cache image by our engine (`ImageCache` over the
/// registry client): our restorer restores exactly what Go restored from the volume cache,
/// and (live, with `CNB_GO_LIFECYCLE`) so does the Go restorer reading our cache image.
#[test]
fn engine_cache_image_of_go_layers_restores_like_go() {
    use cnb::cache::registry_backend::RegistryCacheBackend;
    use cnb::cache::{Cache, CacheCompression, ImageCache, VolumeCache};
    use cnb::registry::{Client, ClientOptions, RemoteStore};
    if !can_run() {
        return;
    }
    let reg = cnb::testing::shared_registry();
    let name = format!("{}/restorer-go/cache:1", reg.host());
    let tmp = tempfile::tempdir().unwrap();
    // Read the Go-written volume cache (a copy: opening a volume cache resets staging/).
    let vol = tmp.path().join("vol");
    std::fs::create_dir(&vol).unwrap();
    let copied = Command::new("cp")
        .arg("-a")
        .arg(testdata().join("cache/go-written/committed"))
        .arg(&vol)
        .status()
        .unwrap();
    assert!(copied.success());
    let source = VolumeCache::open(&vol).unwrap();
    let meta = source.metadata_bytes().unwrap().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::new(ClientOptions::default());
    let backend = rt
        .block_on(RegistryCacheBackend::open(RemoteStore::new(client), &name))
        .unwrap();
    let image = ImageCache::new(backend, CacheCompression::Gzip, tmp.path(), false).unwrap();
    for d in cnb::cache::metadata_layer_diff_ids(&meta) {
        let mut r = source.retrieve_layer(&d).unwrap();
        image.add_layer(&d, &mut r).unwrap();
    }
    image.set_metadata(&meta).unwrap();
    image.commit().unwrap();

    let flags = format!("-cache-image {name}");
    let golden = testdata().join("restorer/go-written/from-cache");
    let want_tree = std::fs::read_to_string(golden.join("expected.tree")).unwrap();
    let want_log = std::fs::read_to_string(golden.join("expected.log")).unwrap();
    let rs = tmp.path().join("rs");
    std::fs::create_dir(&rs).unwrap();
    let (log, tree) = restore_with(Path::new(BIN), "from-cache", &rs, &flags);
    assert_eq!(tree, want_tree, "tree; log: {log:#?}");
    assert_eq!(log, sorted_lines(&want_log), "log");
    if let Some(go) = std::env::var_os("CNB_GO_LIFECYCLE") {
        let gdir = tmp.path().join("go");
        std::fs::create_dir(&gdir).unwrap();
        let (glog, gtree) = restore_with(Path::new(&go), "from-cache", &gdir, &flags);
        assert_eq!(tree, gtree, "tree vs live Go");
        assert_eq!(log, glog, "log vs live Go");
    }
}
