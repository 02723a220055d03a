use super::*;
use std::fs;
use std::path::Path;

fn os(s: &str) -> OsString {
    OsString::from(s)
}

fn env_of(pairs: &[(&str, &str)], roots: RootDirMap) -> Env {
    Env::from_vars(pairs.iter().map(|(k, v)| (os(k), os(v))), roots)
}

fn list(e: &Env) -> Vec<String> {
    e.list()
        .into_iter()
        .map(|s| s.into_string().unwrap())
        .collect()
}

fn write(dir: &Path, name: &str, data: &str) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name), data).unwrap();
}

#[test]
fn build_env_keeps_only_the_include_list_and_path_vars() {
    let input = [
        "CNB_STACK_ID=s=1",
        "HOSTNAME=h",
        "HOME=/home",
        "HTTPS_PROXY=a",
        "https_proxy=b",
        "HTTP_PROXY=c",
        "http_proxy=d",
        "NO_PROXY=e",
        "no_proxy=f",
        "PATH=/bin",
        "LD_LIBRARY_PATH=l",
        "LIBRARY_PATH=lp",
        "CPATH=c",
        "PKG_CONFIG_PATH=p",
        "CNB_REGISTRY_AUTH=secret",
        "DOCKER_CONFIG=/d",
        "USER=u",
        "Path=x",
    ];
    let e = Env::new_build(input.iter().map(|kv| {
        let (k, v) = kv.split_once('=').unwrap();
        (os(k), os(v))
    }));
    assert_eq!(
        list(&e),
        [
            "CNB_STACK_ID=s=1",
            "CPATH=c",
            "HOME=/home",
            "HOSTNAME=h",
            "HTTPS_PROXY=a",
            "HTTP_PROXY=c",
            "LD_LIBRARY_PATH=l",
            "LIBRARY_PATH=lp",
            "NO_PROXY=e",
            "PATH=/bin",
            "PKG_CONFIG_PATH=p",
            "http_proxy=d",
            "https_proxy=b",
            "no_proxy=f",
        ]
    );
    assert_eq!(e.root_dirs(), POSIX_BUILD_ENV);
}

#[test]
fn launch_env_drops_platform_vars_and_cnb_path_entries() {
    let e = Env::new_launch(
        [
            ("CNB_APP_DIR", "x"),
            ("CNB_LAYERS_DIR", "x"),
            ("CNB_PROCESS_TYPE", "x"),
            ("CNB_PLATFORM_API", "x"),
            ("CNB_DEPRECATION_MODE", "x"),
            ("CNB_FOO", "a=b"),
            ("PATH", "/cnb/process:/usr/bin:/cnb/lifecycle:/bin"),
        ]
        .map(|(k, v)| (os(k), os(v))),
        "/cnb/process",
        "/cnb/lifecycle",
    );
    assert_eq!(list(&e), ["CNB_FOO=a=b", "PATH=/usr/bin:/bin"]);
    assert_eq!(e.root_dirs(), POSIX_LAUNCH_ENV);
}

#[test]
fn root_dirs_prepend_absolute_paths() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("bin")).unwrap();
    fs::create_dir_all(t.path().join("lib")).unwrap();
    fs::create_dir_all(t.path().join("include")).unwrap();
    let mut e = env_of(
        &[("PATH", "some"), ("LD_LIBRARY_PATH", "some-ld")],
        POSIX_BUILD_ENV,
    );
    e.add_root_dir(t.path()).unwrap();
    let d = t.path().display();
    assert_eq!(
        list(&e),
        [
            format!("CPATH={d}/include"),
            format!("LD_LIBRARY_PATH={d}/lib:some-ld"),
            format!("LIBRARY_PATH={d}/lib"),
            format!("PATH={d}/bin:some"),
        ]
    );
    // Launch roots: lib feeds only LD_LIBRARY_PATH; a second layer ends up first.
    let t2 = tempfile::tempdir().unwrap();
    fs::create_dir_all(t2.path().join("bin")).unwrap();
    let mut l = env_of(&[], POSIX_LAUNCH_ENV);
    l.add_root_dir(t.path()).unwrap();
    l.add_root_dir(t2.path()).unwrap();
    assert_eq!(
        l.get("PATH"),
        os(&format!("{}/bin:{d}/bin", t2.path().display())).as_os_str()
    );
    assert!(l.lookup("LIBRARY_PATH").is_none());
}

#[test]
fn every_suffix_does_its_action() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    fs::create_dir_all(d.join("some-dir")).unwrap();
    for (n, v) in [
        ("VAR_APPEND.append", "value-append"),
        ("VAR_APPEND_NEW.append", "value-append"),
        ("VAR_APPEND_DELIM.append", "value-append-delim"),
        ("VAR_APPEND_DELIM.delim", "[]"),
        ("VAR_PREPEND.prepend", "value-prepend"),
        ("VAR_PREPEND_NEW.prepend", "value-prepend"),
        ("VAR_PREPEND_DELIM.prepend", "value-prepend-delim"),
        ("VAR_PREPEND_DELIM.delim", "[]"),
        ("VAR_DEFAULT.default", "value-default"),
        ("VAR_DEFAULT_NEW.default", "value-default"),
        ("VAR_DEFAULT_EMPTY.default", "value-default"),
        ("VAR_OVERRIDE.override", "value-override"),
        ("VAR_IGNORE.ignore", "value-ignore"),
        ("VAR_PLAIN", "plain\n"),
        ("VAR_PATHLIKE.", "new"),
    ] {
        write(d, n, v);
    }
    let mut e = env_of(
        &[
            ("VAR_APPEND", "orig"),
            ("VAR_APPEND_DELIM", "orig"),
            ("VAR_PREPEND", "orig"),
            ("VAR_PREPEND_DELIM", "orig"),
            ("VAR_DEFAULT", "orig"),
            ("VAR_DEFAULT_EMPTY", ""),
            ("VAR_OVERRIDE", "orig"),
            ("VAR_PLAIN", "orig"),
            ("VAR_PATHLIKE", "old"),
        ],
        POSIX_LAUNCH_ENV,
    );
    e.add_env_dir(d, Action::Override).unwrap();
    assert_eq!(
        list(&e),
        [
            "VAR_APPEND=origvalue-append",
            "VAR_APPEND_DELIM=orig[]value-append-delim",
            "VAR_APPEND_NEW=value-append",
            "VAR_DEFAULT=orig",
            "VAR_DEFAULT_EMPTY=value-default",
            "VAR_DEFAULT_NEW=value-default",
            "VAR_OVERRIDE=value-override",
            "VAR_PATHLIKE=new:old",
            "VAR_PLAIN=plain\n",
            "VAR_PREPEND=value-prependorig",
            "VAR_PREPEND_DELIM=value-prepend-delim[]orig",
            "VAR_PREPEND_NEW=value-prepend",
        ]
    );
}

#[test]
fn no_suffix_uses_the_given_default_action() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "VAR_NORMAL", "new");
    write(t.path(), "VAR_DELIM", "new");
    write(t.path(), "VAR_DELIM.delim", "[]");
    let base = [("VAR_NORMAL", "orig"), ("VAR_DELIM", "orig")];
    let mut e = env_of(&base, POSIX_LAUNCH_ENV);
    e.add_env_dir(t.path(), Action::PrependPath).unwrap();
    assert_eq!(list(&e), ["VAR_DELIM=new[]orig", "VAR_NORMAL=new:orig"]);
    let mut e = env_of(&base, POSIX_LAUNCH_ENV);
    e.add_env_dir(t.path(), Action::Default).unwrap();
    assert_eq!(list(&e), ["VAR_DELIM=orig", "VAR_NORMAL=orig"]);
    let mut e = env_of(&base, POSIX_LAUNCH_ENV);
    e.add_env_dir(t.path(), Action::Override).unwrap();
    assert_eq!(list(&e), ["VAR_DELIM=new", "VAR_NORMAL=new"]);
}

#[test]
fn files_apply_in_name_order() {
    // A.append then A.prepend (name order: "A.append" < "A.prepend").
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "A.prepend", "p");
    write(t.path(), "A.append", "a");
    write(t.path(), "A.delim", ",");
    let mut e = env_of(&[("A", "o")], POSIX_LAUNCH_ENV);
    e.add_env_dir(t.path(), Action::Override).unwrap();
    assert_eq!(list(&e), ["A=p,o,a"]);
}

#[test]
fn missing_dir_is_nothing_and_dangling_symlink_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    let mut e = env_of(&[], POSIX_LAUNCH_ENV);
    e.add_env_dir(&t.path().join("nope"), Action::Override)
        .unwrap();
    assert!(e.vars().is_empty());
    std::os::unix::fs::symlink(t.path().join("missing"), t.path().join("BROKEN")).unwrap();
    let err = e
        .add_env_dir(t.path(), Action::Override)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "apply env files from dir '{0}': stat {0}/BROKEN: no such file or directory",
            t.path().display()
        )
    );
}

#[test]
fn platform_and_build_config_overrides() {
    let t = tempfile::tempdir().unwrap();
    let platform = t.path().join("platform");
    let penv = platform.join("env");
    write(&penv, "VAR_DNE", "value-platform-dne");
    write(&penv, "VAR_PLATFORM_DEFAULT", "value-platform-override");
    write(&penv, "VAR_CHANGE", "value-platform-change");
    write(&penv, "VAR_OVERRIDE", "value-platform");
    write(&penv, "PATH", "value-path");
    write(&penv, "LIBRARY_PATH", "value-library-path");
    fs::create_dir_all(penv.join("some-dir")).unwrap();
    std::os::unix::fs::symlink(penv.join("some-dir"), penv.join("some-sym-dir")).unwrap();
    std::os::unix::fs::symlink(penv.join("VAR_DNE"), penv.join("VAR_SYM")).unwrap();
    let base = t.path().join("base");
    let benv = base.join("env");
    write(&benv, "VAR_NORMAL", "value-normal");
    write(&benv, "VAR_OVERRIDE.override", "value-override");
    write(&benv, "VAR_DNE.default", "value-dne");
    write(&benv, "VAR_EXIST.default", "value-override");
    write(&benv, "VAR_DEFAULT", "value-default");
    write(&benv, "VAR_CHANGE.prepend", "value-prepend");
    write(&benv, "VAR_CHANGE.delim", ":");
    write(&benv, "VAR_CHANGE.append", "value-append");
    let e = env_of(
        &[
            ("VAR_EMPTY", ""),
            ("VAR_EXIST", "value-exist"),
            ("VAR_DEFAULT", "orig"),
            ("PATH", "value-path-orig"),
        ],
        POSIX_BUILD_ENV,
    );
    let out = e.with_overrides(Some(&platform), Some(&base)).unwrap();
    assert_eq!(
        list(&out),
        [
            "LIBRARY_PATH=value-library-path",
            "PATH=value-path:value-path-orig",
            "VAR_CHANGE=value-prepend:value-platform-change:value-append",
            "VAR_DEFAULT=orig",
            "VAR_DNE=value-platform-dne",
            "VAR_EMPTY=",
            "VAR_EXIST=value-exist",
            "VAR_NORMAL=value-normal",
            "VAR_OVERRIDE=value-override",
            "VAR_PLATFORM_DEFAULT=value-platform-override",
            "VAR_SYM=value-platform-dne",
        ]
    );
    // The receiver is unchanged.
    assert_eq!(e.get("PATH"), "value-path-orig");
    assert_eq!(e.with_overrides(None, None).unwrap(), e);
}

#[test]
fn non_utf8_contents_are_kept() {
    use std::os::unix::ffi::OsStrExt;
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("RAW"), b"\xff\xfe\n").unwrap();
    let mut e = env_of(&[], POSIX_LAUNCH_ENV);
    e.add_env_dir(t.path(), Action::Override).unwrap();
    assert_eq!(e.get("RAW").as_bytes(), b"\xff\xfe\n");
}

#[test]
fn go_clean_matches_filepath_clean() {
    for (i, o) in [
        ("", "."),
        ("/", "/"),
        ("a/b/../c", "a/c"),
        ("/../a", "/a"),
        ("../../a", "../../a"),
        ("a//b/./", "a/b"),
        ("/layers/", "/layers"),
        ("a/..", "."),
        ("./x", "x"),
    ] {
        assert_eq!(go_clean(Path::new(i)), Path::new(o), "{i}");
    }
}

#[test]
fn build_layer_applies_roots_env_and_env_build_but_not_env_launch() {
    let t = tempfile::tempdir().unwrap();
    let layer = t.path().join("jdk");
    fs::create_dir_all(layer.join("bin")).unwrap();
    fs::create_dir_all(layer.join("pkgconfig")).unwrap();
    write(&layer.join("env"), "JAVA_HOME", "/jdk");
    write(&layer.join("env.build"), "MAVEN_OPTS.default", "-Xmx1g");
    write(&layer.join("env.launch"), "JAVA_OPTS", "launch-only");
    let mut e = env_of(&[("PATH", "/usr/bin")], POSIX_BUILD_ENV);
    e.add_build_layer(&layer).unwrap();
    let d = layer.display();
    assert_eq!(
        list(&e),
        [
            "JAVA_HOME=/jdk".to_string(),
            "MAVEN_OPTS=-Xmx1g".into(),
            format!("PATH={d}/bin:/usr/bin"),
            format!("PKG_CONFIG_PATH={d}/pkgconfig"),
        ]
    );
}

#[test]
fn launch_env_dirs_include_the_process_dir_only_with_a_type() {
    let t = tempfile::tempdir().unwrap();
    write(&t.path().join("env"), "A", "env");
    write(&t.path().join("env.launch"), "B", "launch");
    write(&t.path().join("env.launch/web"), "B", "web");
    write(&t.path().join("env.build"), "C", "build");
    let mut e = env_of(&[], POSIX_LAUNCH_ENV);
    e.add_launch_env_dirs(t.path(), "").unwrap();
    assert_eq!(list(&e), ["A=env", "B=launch"]);
    e.add_launch_env_dirs(t.path(), "web").unwrap();
    assert_eq!(list(&e), ["A=env", "B=web"]);
}
