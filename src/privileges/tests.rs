use super::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::PathBuf;
use std::process::Command;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/privileges")
        .join(name)
}

fn os_err(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

/// Ownership tests need root (CI runs as root); say why when skipping.
fn root_or_skip(test: &str) -> bool {
    if !is_root() {
        eprintln!("skipping {test}: needs root to chown");
    }
    is_root()
}

fn owner(p: &Path) -> (u32, u32) {
    let m = fs::symlink_metadata(p).expect("lstat");
    (m.uid(), m.gid())
}

// ---- error texts --------------------------------------------------------------------------

#[test]
fn errors_read_like_go() {
    let cases = [
        (
            PrivilegeError::path("chown", Path::new("/layers"), os_err(libc::EPERM)),
            "chown /layers: operation not permitted",
        ),
        (
            PrivilegeError::path("open", Path::new("/tmp/f"), os_err(libc::ENOTDIR)),
            "open /tmp/f: not a directory",
        ),
        (
            PrivilegeError::path("open", Path::new("/etc/passwd"), os_err(libc::ENOENT)),
            "open /etc/passwd: no such file or directory",
        ),
        (
            PrivilegeError::path("lchown", Path::new("/x"), os_err(libc::EROFS)),
            "lchown /x: read-only file system",
        ),
        (
            PrivilegeError::SetId {
                call: "setresgid",
                source: os_err(libc::EPERM),
            },
            "operation not permitted",
        ),
        (
            PrivilegeError::UnknownUserId(4242),
            "user: unknown userid 4242",
        ),
    ];
    for (err, want) in cases {
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn kernel_ids_keep_the_low_32_bits_like_go() {
    assert_eq!(kernel_id(1000), 1000);
    assert_eq!(kernel_id(-1), u32::MAX);
    assert_eq!(kernel_id((1 << 32) + 7), 7);
}

// ---- can_write ------------------------------------------------------------------------------

#[test]
fn can_write_matches_gos_rule() {
    // (uid, gid, owner, group, mode, writable)
    let table = [
        (1000, 1000, 1000, 0, 0o500, true), // owner is assumed to be able to write
        (1000, 1000, 0, 1000, 0o770, true), // group-write, same gid
        (1000, 1000, 0, 1000, 0o750, false), // same gid, no group-write
        (1000, 1000, 0, 999, 0o770, false), // group-write, other gid
        (1000, 1000, 0, 0, 0o777, true),    // world-write
        (1000, 1000, 0, 0, 0o1777, true),   // sticky + world-write
        (1000, 1000, 0, 0, 0o755, false),
        (0, 0, 0, 0, 0o000, true),
    ];
    for (uid, gid, o, g, mode, want) in table {
        assert_eq!(
            can_write(uid, gid, o, g, mode),
            want,
            "{uid}:{gid} on {o}:{g} {mode:o}"
        );
    }
}

// ---- passwd -------------------------------------------------------------------------------

#[test]
fn passwd_lookup_follows_go_os_user() {
    let passwd = testdata("passwd");
    let found = |uid| lookup_user_id(&passwd, uid).map(|e| (e.username, e.name, e.home_dir));
    let s = |a: &str, b: &str, c: &str| Some((a.to_string(), b.to_string(), c.to_string()));
    let table = [
        (0, s("root", "root", "/root")),
        (1000, s("cnb", "", "/home/cnb")),
        (
            101,
            s(
                "postgres",
                "PostgreSQL administrator",
                "/var/lib/postgresql",
            ),
        ),
        (1001, s("spaced", "Spaced Out", "/home/spaced")),
        (1002, s("dup", "First", "/home/first")),
        (1003, s("colons", "C", "/home/c")),
        (-5, s("neg", "Negative", "/home/neg")),
        (700, None),  // +NIS line
        (701, None),  // -NIS line
        (702, None),  // empty login name
        (703, None),  // fewer than 7 fields
        (704, None),  // gid not a number
        (1004, None), // commented out
        (4242, None),
    ];
    for (uid, want) in table {
        match (found(uid), want) {
            (Ok(got), Some(want)) => assert_eq!(got, want, "uid {uid}"),
            (Err(e), None) => assert_eq!(e.to_string(), format!("user: unknown userid {uid}")),
            (got, want) => panic!("uid {uid}: got {got:?}, want {want:?}"),
        }
    }
    let e = lookup_user_id(&passwd, 1000).expect("cnb");
    assert_eq!((e.uid, e.gid), (1000, 1000));
}

#[test]
fn passwd_missing_file_is_an_open_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("passwd");
    let e = lookup_user_id(&missing, 0).expect_err("missing");
    assert_eq!(
        e.to_string(),
        format!("open {}: no such file or directory", missing.display())
    );
    // A directory opens but cannot be read: Go reports the read.
    let e = lookup_user_id(dir.path(), 0).expect_err("dir");
    assert_eq!(
        e.to_string(),
        format!("read {}: is a directory", dir.path().display())
    );
}

// ---- ensure_owner -------------------------------------------------------------------------

/// A root-owned 0755 tree with a subdir, files, a symlink pointing outside and a dangling one.
fn locked_tree(base: &Path) -> (PathBuf, PathBuf) {
    let outside = base.join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("target"), "t").unwrap();
    let locked = base.join("locked");
    fs::create_dir_all(locked.join("sub/deeper")).unwrap();
    fs::write(locked.join("sub/file"), "f").unwrap();
    fs::write(locked.join("sub/deeper/file"), "f").unwrap();
    symlink(outside.join("target"), locked.join("sub/link")).unwrap();
    symlink(&outside, locked.join("dirlink")).unwrap();
    symlink("/nonexistent/cnb-priv", locked.join("dangling")).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    (locked, outside)
}

#[test]
fn ensure_owner_chowns_unwritable_trees_without_following_links() {
    if !root_or_skip("ensure_owner_chowns_unwritable_trees_without_following_links") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (locked, outside) = locked_tree(tmp.path());
    ensure_owner(1234, 5678, &[&locked]).expect("ensure_owner");
    for rel in [
        "",
        "sub",
        "sub/deeper",
        "sub/deeper/file",
        "sub/file",
        "sub/link",
        "dirlink",
        "dangling",
    ] {
        assert_eq!(owner(&locked.join(rel)), (1234, 5678), "{rel}");
    }
    assert_eq!(owner(&outside), (0, 0), "symlinked dir followed");
    assert_eq!(
        owner(&outside.join("target")),
        (0, 0),
        "symlink target followed"
    );
}

#[test]
fn ensure_owner_leaves_writable_and_missing_dirs_alone() {
    if !root_or_skip("ensure_owner_leaves_writable_and_missing_dirs_alone") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mk = |name: &str, uid: u32, gid: u32, mode: u32| {
        let d = tmp.path().join(name);
        fs::create_dir(&d).unwrap();
        fs::write(d.join("child"), "c").unwrap();
        std::os::unix::fs::chown(&d, Some(uid), Some(gid)).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(mode)).unwrap();
        d
    };
    let owned = mk("owned", 1234, 0, 0o700);
    let group_writable = mk("group-writable", 0, 5678, 0o770);
    let world_writable = mk("world-writable", 0, 0, 0o777);
    let other_group = mk("other-group", 0, 999, 0o770);
    let missing = tmp.path().join("missing");
    ensure_owner(
        1234,
        5678,
        &[
            &owned,
            &group_writable,
            &world_writable,
            Path::new(""),
            &missing,
            &other_group,
        ],
    )
    .expect("ensure_owner");
    // Writable: neither the dir nor (by Go's shortcut) its children are touched.
    assert_eq!(owner(&owned), (1234, 0));
    assert_eq!(owner(&owned.join("child")), (0, 0));
    assert_eq!(owner(&group_writable), (0, 5678));
    assert_eq!(owner(&group_writable.join("child")), (0, 0));
    assert_eq!(owner(&world_writable), (0, 0));
    assert_eq!(owner(&world_writable.join("child")), (0, 0));
    assert!(!missing.exists());
    // Group-writable for another group is not writable for 5678: chowned, children too.
    assert_eq!(owner(&other_group), (1234, 5678));
    assert_eq!(owner(&other_group.join("child")), (1234, 5678));
}

#[test]
fn ensure_owner_follows_a_symlinked_top_dir_like_go() {
    if !root_or_skip("ensure_owner_follows_a_symlinked_top_dir_like_go") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (locked, _) = locked_tree(tmp.path());
    let link = tmp.path().join("volume");
    symlink(&locked, &link).unwrap();
    ensure_owner(1234, 5678, &[&link]).expect("ensure_owner");
    assert_eq!(owner(&link), (0, 0), "the link itself");
    assert_eq!(owner(&locked), (1234, 5678));
    assert_eq!(owner(&locked.join("sub/file")), (1234, 5678));
}

#[test]
fn ensure_owner_errors_read_like_go() {
    if !root_or_skip("ensure_owner_errors_read_like_go") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // A file given as a volume: chowned, then listing it fails (what the Go binary prints:
    // "failed to chown volumes: open <path>: not a directory").
    let file = tmp.path().join("afile");
    fs::write(&file, "x").unwrap();
    let e = ensure_owner(1234, 5678, &[&file]).expect_err("file");
    assert_eq!(
        e.to_string(),
        format!("open {}: not a directory", file.display())
    );
    assert_eq!(owner(&file), (1234, 5678));
    // A path below a file: stat fails with ENOTDIR, which is not "does not exist".
    let below = file.join("x");
    let e = ensure_owner(1234, 5678, &[&below]).expect_err("below file");
    assert_eq!(
        e.to_string(),
        format!("stat {}: not a directory", below.display())
    );
}

// ---- run_as -------------------------------------------------------------------------------

#[test]
fn run_as_current_ids_is_a_no_op() {
    // SAFETY: plain getters.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    run_as(uid, gid).expect("no-op");
    // SAFETY: plain getters.
    assert_eq!(unsafe { (libc::getuid(), libc::getgid()) }, (uid, gid));
}

const CHILD_ENV: &str = "CNB_PRIV_TEST_CHILD_DIR";

/// Runs the `#[ignore]`d child test below in a fresh process of this test binary: dropping
/// privileges cannot be undone, so it must not happen in the test harness itself.
#[test]
fn run_as_drops_real_effective_and_saved_ids() {
    if !root_or_skip("run_as_drops_real_effective_and_saved_ids") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "privileges::tests::run_as_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .output()
        .expect("spawn test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The file the child created after the drop belongs to the new ids.
    assert_eq!(owner(&dir.path().join("made-after-drop")), (1234, 5678));
}

fn groups() -> Vec<libc::gid_t> {
    let mut buf = vec![0 as libc::gid_t; 256];
    // SAFETY: buf has room for 256 entries and we pass that length.
    let n = unsafe { libc::getgroups(256, buf.as_mut_ptr()) };
    assert!(n >= 0, "getgroups");
    buf.truncate(n as usize);
    buf
}

#[test]
#[ignore = "run by run_as_drops_real_effective_and_saved_ids in its own process"]
fn run_as_child() {
    let dir = PathBuf::from(std::env::var_os(CHILD_ENV).expect("run from the parent test"));
    let supplementary = groups();
    run_as(1234, 5678).expect("run_as");
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: pointers to live locals.
    assert_eq!(unsafe { libc::getresuid(&mut r, &mut e, &mut s) }, 0);
    assert_eq!((r, e, s), (1234, 1234, 1234));
    // SAFETY: as above.
    assert_eq!(unsafe { libc::getresgid(&mut r, &mut e, &mut s) }, 0);
    assert_eq!((r, e, s), (5678, 5678, 5678));
    // Go leaves the supplementary groups alone; so do we.
    assert_eq!(groups(), supplementary);
    fs::write(dir.join("made-after-drop"), "x").expect("write as 1234");
    // The saved uid is gone too: root cannot be regained.
    let e = run_as(0, 0).expect_err("regain root");
    assert_eq!(e.to_string(), "operation not permitted");
    assert!(!is_root());
}

// ---- set_environment_for_user -------------------------------------------------------------

const ENV_CHILD: &str = "CNB_PRIV_TEST_ENV_CHILD";

/// Writing the environment is only sound without other threads reading it, so the child test
/// below does it in its own process of this test binary.
#[test]
fn user_environment_comes_from_passwd() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "privileges::tests::user_environment_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env(ENV_CHILD, "1")
        .env("HOME", "/before")
        .env("USER", "before")
        .output()
        .expect("spawn test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by user_environment_comes_from_passwd in its own process"]
fn user_environment_child() {
    assert!(
        std::env::var_os(ENV_CHILD).is_some(),
        "run from the parent test"
    );
    let passwd = testdata("passwd");
    let env = || {
        (
            std::env::var("HOME").unwrap(),
            std::env::var("USER").unwrap(),
        )
    };
    // SAFETY: this process runs only this test; nothing else reads the environment.
    unsafe { set_environment_from(&passwd, 101) }.expect("postgres");
    // USER is the GECOS name, as Go's `user.Name`.
    assert_eq!(
        env(),
        (
            "/var/lib/postgresql".to_string(),
            "PostgreSQL administrator".to_string()
        )
    );
    // SAFETY: as above.
    unsafe { set_environment_from(&passwd, 1000) }.expect("cnb");
    assert_eq!(env(), ("/home/cnb".to_string(), String::new()));
    // SAFETY: as above.
    let e = unsafe { set_environment_from(&passwd, 4242) }.expect_err("unknown");
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            ExitCode::Failed,
            "failed to set environment for user 4242: user: unknown userid 4242"
        )
    );
    assert_eq!(
        env(),
        ("/home/cnb".to_string(), String::new()),
        "unchanged on error"
    );
}
