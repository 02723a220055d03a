//! Black-box tests of the phases' privilege step (lifecycle-spec §1.4): the built `lifecycle`
//! binary chowns the volumes, drops to `-uid`/`-gid`, and only then reaches the phase body
//! (which still exits with its own "not implemented yet" code). The expected messages are
//! what the Go lifecycle v0.21.17 binary printed for the same invocations (run by hand
//! against /work/golc/bin/links/*, registries on 127.0.0.1).
//!
//! Most tests need root (CI runs as root) and print why they skip otherwise. The drop itself
//! is observed with `strace` when it is installed and allowed to trace.

mod common;

use common::{BIN, Run, finish, lifecycle};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const API: (&str, &str) = ("CNB_PLATFORM_API", "0.13");
const NO_COLOR: (&str, &str) = ("CNB_NO_COLOR", "true");
const UID: u32 = 1234;
const GID: u32 = 5678;
/// A run image and an app image on a loopback port where nothing listens: the analyzer's
/// registry access check is the first thing after the drop, and fails.
const IMAGES: [&str; 3] = ["-run-image", "127.0.0.1:1/run", "127.0.0.1:1/app"];

/// How the analyzer body fails on [`IMAGES`] (proof that it was reached).
const ANALYZER_BODY: &str = "failed to initialize analyzer: validating registry read access: failed to ensure registry read access to 127.0.0.1:1/app";

fn is_root() -> bool {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() == 0 }
}

fn root_or_skip(test: &str) -> bool {
    if !is_root() {
        eprintln!("skipping {test}: needs root (chown and setresuid)");
    }
    is_root()
}

fn owner(p: &Path) -> (u32, u32) {
    let m = fs::symlink_metadata(p).expect("lstat");
    (m.uid(), m.gid())
}

fn mode(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).expect("chmod");
}

/// Everything the process printed (log lines go to stdout, errors too).
fn output(r: &Run) -> String {
    format!("{}{}", r.stdout, r.stderr)
}

/// A root-owned 0755 volume holding a subdir, a file and a symlink to a file outside it.
struct Volume {
    dir: PathBuf,
    outside: PathBuf,
}

impl Volume {
    fn new(base: &Path, name: &str) -> Volume {
        let dir = base.join(name);
        let outside = base.join(format!("{name}-outside"));
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("sub/file"), "f").unwrap();
        fs::write(&outside, "target").unwrap();
        symlink(&outside, dir.join("sub/link")).unwrap();
        mode(&dir, 0o755);
        Volume { dir, outside }
    }

    fn assert_owned_by(&self, want: (u32, u32), why: &str) {
        for rel in ["", "sub", "sub/file", "sub/link"] {
            assert_eq!(owner(&self.dir.join(rel)), want, "{why}: {rel}");
        }
        assert_eq!(owner(&self.outside), (0, 0), "{why}: symlink target");
    }
}

/// A root-owned world-writable dir with a root-owned child: must be left as it is.
fn writable_dir(base: &Path, name: &str) -> PathBuf {
    let d = base.join(name);
    fs::create_dir(&d).unwrap();
    fs::write(d.join("child"), "c").unwrap();
    mode(&d, 0o777);
    d
}

fn base() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    mode(t.path(), 0o755);
    t
}

/// Runs `lifecycle <args>` under `strace` (when usable), returning the run and the traced
/// chown/setres* calls in order.
fn run_traced(env: &[(&str, &str)], args: &[&str]) -> (Run, Option<Vec<String>>) {
    let trace = tempfile::NamedTempFile::new().unwrap();
    let strace = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(trace.path())
        .args([
            "-e",
            "trace=chown,lchown,fchownat,setresuid,setresgid",
            "/bin/true",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !strace {
        eprintln!("strace unavailable or not allowed: the privilege drop is not traced");
        return (finish(lifecycle(env).args(args).output().unwrap()), None);
    }
    let mut c = common::command(Path::new("strace"), env);
    c.env("PATH", "/usr/bin:/bin");
    c.args(["-f", "-qq", "-o"]).arg(trace.path());
    c.args(["-e", "trace=chown,lchown,fchownat,setresuid,setresgid", BIN]);
    let r = finish(c.args(args).output().unwrap());
    let text = fs::read_to_string(trace.path()).unwrap();
    // "<pid> setresuid(1234, 1234, 1234) = 0" → "setresuid(1234, 1234, 1234) = 0"
    let calls = text
        .lines()
        .map(|l| {
            let rest = l.split_once(' ').map_or(l, |(_, rest)| rest);
            rest.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect();
    (r, Some(calls))
}

/// The chowns happen first, then the group, then the user id is dropped.
fn assert_dropped(calls: &Option<Vec<String>>) {
    let Some(calls) = calls else { return };
    let gid = format!("setresgid({GID}, {GID}, {GID}) = 0");
    let uid = format!("setresuid({UID}, {UID}, {UID}) = 0");
    let pos = |want: &str| calls.iter().position(|c| c == want);
    let (Some(g), Some(u)) = (pos(&gid), pos(&uid)) else {
        panic!("no {gid} / {uid} in {calls:#?}");
    };
    assert!(g < u, "group dropped before user: {calls:#?}");
    let last_chown = calls.iter().rposition(|c| c.contains("chown"));
    assert!(
        last_chown.is_none_or(|c| c < g),
        "chown after drop: {calls:#?}"
    );
}

#[test]
fn analyzer_and_restorer_chown_their_volumes_then_drop() {
    if !root_or_skip("analyzer_and_restorer_chown_their_volumes_then_drop") {
        return;
    }
    let (uid, gid) = (UID.to_string(), GID.to_string());
    for phase in ["analyze", "restore"] {
        let tmp = base();
        let layers = Volume::new(tmp.path(), "layers");
        let cache = Volume::new(tmp.path(), "cache");
        let open = writable_dir(tmp.path(), "launch-cache");
        let l = layers.dir.to_str().unwrap();
        let (c, lc) = (cache.dir.to_str().unwrap(), open.to_str().unwrap());
        let mut args = vec![phase, "-uid", &uid, "-gid", &gid, "-layers", l];
        let mut env = vec![API, NO_COLOR];
        let (code, msg) = if phase == "analyze" {
            // The analyzer takes the cache dir from the environment only.
            env.push(("CNB_CACHE_DIR", c));
            args.extend(["-launch-cache", lc]);
            args.extend(IMAGES);
            (32, ANALYZER_BODY)
        } else {
            args.extend(["-cache-dir", c]);
            // The body runs after the drop and stops at the missing group.toml (Go: exit 1).
            (1, "failed to read group file: open ")
        };
        let (r, calls) = run_traced(&env, &args);
        assert_eq!(r.code, code, "{phase}: {}", output(&r));
        assert!(output(&r).contains(msg), "{phase}: {}", output(&r));
        layers.assert_owned_by((UID, GID), phase);
        cache.assert_owned_by((UID, GID), phase);
        assert_eq!(owner(&open), (0, 0), "{phase}: writable dir chowned");
        assert_eq!(
            owner(&open.join("child")),
            (0, 0),
            "{phase}: writable dir child"
        );
        assert_dropped(&calls);
    }
}

#[test]
fn exporter_chowns_caches_but_not_layers() {
    if !root_or_skip("exporter_chowns_caches_but_not_layers") {
        return;
    }
    let tmp = base();
    let layers = Volume::new(tmp.path(), "layers");
    let cache = Volume::new(tmp.path(), "cache");
    let launch = Volume::new(tmp.path(), "launch-cache");
    fs::write(
        layers.dir.join("analyzed.toml"),
        "[run-image]\nreference = \"127.0.0.1:1/run\"\n",
    )
    .unwrap();
    let (uid, gid) = (UID.to_string(), GID.to_string());
    let args = [
        "export",
        "-uid",
        &uid,
        "-gid",
        &gid,
        "-layers",
        layers.dir.to_str().unwrap(),
        "-cache-dir",
        cache.dir.to_str().unwrap(),
        "-launch-cache",
        launch.dir.to_str().unwrap(),
        "127.0.0.1:1/app",
    ];
    let (r, calls) = run_traced(&[API, NO_COLOR], &args);
    assert_eq!(r.code, 62, "{}", output(&r));
    assert!(output(&r).contains("failed to export: exporter is not implemented yet"));
    cache.assert_owned_by((UID, GID), "cache");
    launch.assert_owned_by((UID, GID), "launch cache");
    layers.assert_owned_by((0, 0), "layers (the exporter does not chown them)");
    assert_dropped(&calls);
}

#[test]
fn creator_chowns_drops_and_needs_a_passwd_entry() {
    if !root_or_skip("creator_chowns_drops_and_needs_a_passwd_entry") {
        return;
    }
    // A uid that /etc/passwd does not have: Go fails after the drop, with os/user's message.
    let missing: u32 = 3_999_917;
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    if passwd.contains(&format!(":{missing}:")) {
        eprintln!("skipping creator_chowns_drops_and_needs_a_passwd_entry: uid {missing} exists");
        return;
    }
    let tmp = base();
    let layers = Volume::new(tmp.path(), "layers");
    let (uid, gid) = (missing.to_string(), GID.to_string());
    let mut args = vec!["create", "-uid", &uid, "-gid", &gid];
    args.extend(["-layers", layers.dir.to_str().unwrap()]);
    args.extend(IMAGES);
    let r = common::run(&[API, NO_COLOR], &args);
    assert_eq!(r.code, 1, "{}", output(&r));
    assert!(
        output(&r).contains(&format!(
            "ERROR: failed to set environment for user {missing}: user: unknown userid {missing}"
        )),
        "{}",
        output(&r)
    );
    layers.assert_owned_by((missing, GID), "creator layers");
    // With a known user (root here) the creator gets through to its body.
    let r = common::run(
        &[API, NO_COLOR],
        &[
            "create",
            "-uid",
            "0",
            "-gid",
            "0",
            "-layers",
            "/nonexistent/layers",
            "-run-image",
            "127.0.0.1:1/run",
            "127.0.0.1:1/app",
        ],
    );
    assert!(output(&r).contains("===> ANALYZING"), "{}", output(&r));
    assert_eq!(r.code, 32, "{}", output(&r));
    assert!(
        output(&r).contains("failed to initialize analyzer"),
        "{}",
        output(&r)
    );
}

/// `lifecycle <args>` started as 4321:4321 with no supplementary groups.
fn run_unprivileged(args: &[&str]) -> Run {
    let mut c = lifecycle(&[API, NO_COLOR]);
    // SAFETY: only async-signal-safe syscalls between fork and exec.
    unsafe {
        c.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setresgid(4321, 4321, 4321) != 0
                || libc::setresuid(4321, 4321, 4321) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    finish(c.args(args).output().expect("spawn"))
}

#[test]
fn unprivileged_callers_get_gos_errors() {
    if !root_or_skip("unprivileged_callers_get_gos_errors") {
        return;
    }
    let tmp = base();
    let locked = tmp.path().join("locked");
    fs::create_dir(&locked).unwrap();
    mode(&locked, 0o755);
    let l = locked.to_str().unwrap();
    let none = "/nonexistent/layers";
    let ids = ["-uid", "1000", "-gid", "1000"];
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        // Cannot chown a root-owned volume.
        (
            [&["analyze"][..], &ids, &["-layers", l], &IMAGES].concat(),
            1,
            format!("ERROR: failed to chown volumes: chown {l}: operation not permitted"),
        ),
        // Nothing to chown, but cannot change ids.
        (
            [&["restore"][..], &ids, &["-layers", none]].concat(),
            1,
            "ERROR: failed to exec as user 1000:1000: operation not permitted".to_string(),
        ),
        (
            [&["rebase"][..], &ids, &["127.0.0.1:1/app"]].concat(),
            1,
            "ERROR: failed to exec as user 1000:1000: operation not permitted".to_string(),
        ),
        // Already that user: RunAs is a no-op and the body is reached.
        (
            [
                &["analyze", "-uid", "4321", "-gid", "4321", "-layers", none][..],
                &IMAGES,
            ]
            .concat(),
            32,
            ANALYZER_BODY.to_string(),
        ),
        // Detector and builder run as non-root users.
        (
            vec!["detect", "-layers", none],
            1,
            "ERROR: failed to initialize detector: reading order: failed to read order file: open /cnb/order.toml: no such file or directory".to_string(),
        ),
    ];
    for (args, code, msg) in cases {
        let r = run_unprivileged(&args);
        assert_eq!(r.code, code, "{args:?}: {}", output(&r));
        assert!(output(&r).contains(&msg), "{args:?}: {}", output(&r));
    }
    assert_eq!(owner(&locked), (0, 0));
}

#[test]
fn detector_and_builder_refuse_root() {
    if !root_or_skip("detector_and_builder_refuse_root") {
        return;
    }
    for (phase, msg) in [
        ("detect", "ERROR: failed to detect: refusing to run as root"),
        ("build", "ERROR: failed to build: refusing to run as root"),
    ] {
        let r = common::run(&[API, NO_COLOR], &[phase]);
        assert_eq!(r.code, 1, "{phase}: {}", output(&r));
        assert!(output(&r).contains(msg), "{phase}: {}", output(&r));
    }
}
