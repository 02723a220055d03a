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

/// `sh -c SCRIPT sh <binary> <scenario dir> <cache committed dir> <out prefix>`: writes
/// `<out>.log` (stdout+stderr, then `exit=<code>`) and `<out>.tree` (every path under
/// `/layers` with type, mode, owner and link target, then every file's content).
const SCRIPT: &str = r#"
BIN=$1; SC=$2; CACHE=$3; OUT=$4
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
env -i PATH=/usr/bin:/usr/sbin CNB_PLATFORM_API=0.14 CNB_USER_ID=1000 CNB_GROUP_ID=1000 CNB_NO_COLOR=true /usr/sbin/chroot $R /w/restorer -layers /layers -cache-dir /cache -group /w/group.toml -analyzed /w/analyzed.toml > $OUT.log 2>&1; echo exit=\$? >> $OUT.log
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
    let sc = testdata().join("restorer/go-written").join(scenario);
    let cache = testdata().join("cache/go-written/committed");
    let prefix = out.join(scenario);
    let status = Command::new("sh")
        .args(["-c", SCRIPT, "sh"])
        .arg(bin)
        .arg(&sc)
        .arg(&cache)
        .arg(&prefix)
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
