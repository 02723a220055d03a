//! Black-box tests of the `launcher` binary against `testdata/launcher/app` (a layers dir with
//! two buildpacks' launch layers and a workspace). Every expectation here was also checked
//! against the Go launcher v0.21.17: run these tests with `CNB_TEST_LAUNCHER=<path to the Go
//! launcher>` to repeat that (they pass unchanged).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn launcher_bin() -> PathBuf {
    std::env::var_os("CNB_TEST_LAUNCHER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_launcher")))
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/launcher/app")
        .canonicalize()
        .unwrap()
}

fn layers() -> PathBuf {
    fixture().join("layers")
}

fn app() -> PathBuf {
    fixture().join("workspace")
}

/// A launcher invocation with a clean environment (like a container's).
struct Run {
    cmd: Command,
    _tmp: tempfile::TempDir,
}

impl Run {
    /// `process`: invoke through a symlink named like the process type (`/cnb/process/<type>`);
    /// `None`: invoke as `launcher`.
    fn new(process: Option<&str>) -> Run {
        let tmp = tempfile::tempdir().unwrap();
        let exe = match process {
            Some(t) => {
                let link = tmp.path().join("process").join(t);
                std::fs::create_dir_all(link.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink(launcher_bin(), &link).unwrap();
                link
            }
            None => launcher_bin(),
        };
        let mut cmd = Command::new(exe);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", "/root")
            .env("CNB_NO_COLOR", "true")
            .env("CNB_PLATFORM_API", "0.12")
            .env("CNB_LAYERS_DIR", layers())
            .env("CNB_APP_DIR", app());
        Run { cmd, _tmp: tmp }
    }

    fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    fn env_remove(mut self, k: &str) -> Self {
        self.cmd.env_remove(k);
        self
    }

    fn args(mut self, a: &[&str]) -> Self {
        self.cmd.args(a);
        self
    }

    fn out(mut self) -> (i32, String) {
        let o: Output = self.cmd.output().unwrap();
        let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
        s.push_str(&String::from_utf8_lossy(&o.stderr));
        let s = s.replace(&fixture().display().to_string(), "F");
        (
            o.status.code().unwrap_or(-1),
            s.replace(&self._tmp.path().display().to_string(), "T"),
        )
    }
}

const EXEC_D_LINE: &str = "exec.d ran in F/workspace\n";

#[test]
fn argv0_selects_the_process_type() {
    assert_eq!(
        Run::new(Some("web")).out(),
        (0, format!("{EXEC_D_LINE}web process\n"))
    );
    assert_eq!(
        Run::new(Some("process.with.period")).out(),
        (0, format!("{EXEC_D_LINE}period process\n"))
    );
}

#[test]
fn multi_entry_command_keeps_fixed_args_and_user_args_replace_the_rest() {
    assert_eq!(
        Run::new(Some("args")).out().1,
        format!("{EXEC_D_LINE}[default-a]\n[default-b]\n")
    );
    assert_eq!(
        Run::new(Some("args")).args(&["x", "y"]).out().1,
        format!("{EXEC_D_LINE}[x]\n[y]\n")
    );
    // command ["echo", "web process"]: "web process" is fixed, user args follow.
    assert_eq!(
        Run::new(Some("web")).args(&["a", "b"]).out().1,
        format!("{EXEC_D_LINE}web process a b\n")
    );
}

#[test]
fn user_args_replace_at_bp_api_0_9_and_append_below() {
    // acme/new (API 0.10): args ["<%s>\n", "x"] replaced.
    assert_eq!(
        Run::new(Some("single")).out().1,
        format!("{EXEC_D_LINE}<x>\n")
    );
    assert_eq!(
        Run::new(Some("single")).args(&["u %s\n", "z"]).out().1,
        format!("{EXEC_D_LINE}u z\n")
    );
    // acme/old (API 0.8), shell process: appended, each token eval-expanded after the profiles.
    let (code, out) = Run::new(Some("legacy")).args(&["extra", "$NEW_VAR"]).out();
    assert_eq!(code, 0);
    let tail = "sourced bp profile\nsourced legacy profile for T/process/legacy\nsourced app profile\n\
                {some-bp-val} {bp-profile} {extra} {new-default} ";
    assert_eq!(out, format!("{EXEC_D_LINE}{tail}"));
}

#[test]
fn shell_script_process_sources_profiles_in_the_app_dir() {
    assert_eq!(
        Run::new(Some("legacy-script")).out(),
        (
            0,
            format!(
                "{EXEC_D_LINE}sourced bp profile\nsourced app profile\nscript:some-bp-val:app:F/workspace\n"
            )
        )
    );
}

#[test]
fn working_dir_of_a_direct_process() {
    assert_eq!(
        Run::new(Some("pwd")).out(),
        (0, format!("{EXEC_D_LINE}/\n"))
    );
}

#[test]
fn process_specific_env_dir_applies_only_to_that_process() {
    assert_eq!(
        Run::new(Some("worker")).out().1,
        format!("{EXEC_D_LINE}sourced bp profile\nsourced app profile\nworker:worker-val\n")
    );
    assert_eq!(
        Run::new(None)
            .args(&["echo $SOME_VAR $OTHER_VAR $WORKER_VAR"])
            .out()
            .1,
        format!(
            "{EXEC_D_LINE}sourced bp profile\nsourced app profile\nsome-bp-val other-bp-val worker-no-process-val\n"
        )
    );
}

#[test]
fn launch_env_from_layers_and_user_env() {
    let (code, out) = Run::new(None)
        .env("OTHER_VAR", "user")
        .env("NO_DELIM", "u")
        .env("DEFAULTED", "user")
        .env("SOME_USER_VAR", "s")
        .env("CNB_DEPRECATION_MODE", "quiet")
        .env("PATH", "/cnb/process:/usr/bin:/cnb/lifecycle:/bin")
        .args(&["--", "env"])
        .out();
    assert_eq!(code, 0, "{out}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "",
            "CNB_NO_COLOR=true",
            "DEFAULTED=user",
            "FROM_EXEC_D=from-exec-d",
            "HOME=/root",
            "LD_LIBRARY_PATH=F/layers/acme_old/base/lib",
            "NEW_VAR=new-default",
            "NO_DELIM=und",
            "OTHER_VAR=user**other-bp-val",
            "PATH=F/layers/acme_old/zlayer/bin:F/layers/acme_old/base/bin:F/layers/acme_new/runtime/bin:/usr/bin:/bin",
            "PATH_LIKE=pre",
            "SOME_USER_VAR=s",
            "SOME_VAR=some-bp-val",
            "TRAILING=line",
            "WORKER_VAR=worker-no-process-val",
            "exec.d ran in F/workspace",
        ]
    );
}

#[test]
fn defaults_apply_in_buildpack_order() {
    // acme/new's DEFAULTED.default is applied first; acme/old's then sees a value.
    let (_, out) = Run::new(None).args(&["--", "printenv", "DEFAULTED"]).out();
    assert_eq!(out, format!("{EXEC_D_LINE}from-new\n"));
}

#[test]
fn exec_d_output_is_merged_in_order() {
    assert_eq!(
        Run::new(Some("execd-checker")).out(),
        (0, format!("{EXEC_D_LINE}from-exec-d\nfrom-exec-d+proc\n"))
    );
}

#[test]
fn layer_bin_dirs_are_on_path_later_layers_first() {
    let direct = Run::new(None).args(&["--", "bp-executable", "x"]).out();
    assert_eq!(direct, (0, format!("{EXEC_D_LINE}zlayer bp-executable\n")));
    let shell = Run::new(None).args(&["new-tool", "y"]).out();
    assert_eq!(
        shell,
        (
            0,
            format!("{EXEC_D_LINE}sourced bp profile\nsourced app profile\nnew-tool y\n")
        )
    );
}

#[test]
fn child_exit_code_passes_through() {
    assert_eq!(
        Run::new(Some("exit-code")).out(),
        (7, EXEC_D_LINE.to_string())
    );
    assert_eq!(
        Run::new(None).args(&["--", "sh", "-c", "exit 3"]).out().0,
        3
    );
}

#[test]
fn cnb_process_type_is_ignored_with_warnings() {
    assert_eq!(
        Run::new(None).env("CNB_PROCESS_TYPE", "web").out(),
        (
            82,
            "Warning: CNB_PROCESS_TYPE is not supported in Platform API 0.12\n\
             Warning: Run with ENTRYPOINT 'web' to invoke the 'web' process type\n\
             ERROR: failed to launch: determine start command: when there is no default process a command is required\n"
                .to_string()
        )
    );
}

#[test]
fn exec_env_filters_processes_from_platform_0_15() {
    let run = |api: &str, exec_env: Option<&str>, t: &str| {
        let mut r = Run::new(Some(t)).env("CNB_PLATFORM_API", api);
        if let Some(e) = exec_env {
            r = r.env("CNB_EXEC_ENV", e);
        }
        r.out()
    };
    assert_eq!(
        run("0.12", None, "test-only"),
        (0, format!("{EXEC_D_LINE}test only\n"))
    );
    assert_eq!(
        run("0.15", None, "test-only"),
        (82, "ERROR: failed to launch: determine start command: process type test-only was not found\n".into())
    );
    assert_eq!(
        run("0.15", None, "prod-only"),
        (0, format!("{EXEC_D_LINE}prod only\n"))
    );
    assert_eq!(
        run("0.15", Some("test"), "test-only"),
        (0, format!("{EXEC_D_LINE}test only\n"))
    );
    assert_eq!(run("0.15", Some("test"), "prod-only").0, 82);
}

#[test]
fn launch_errors_exit_82() {
    assert_eq!(
        Run::new(None).args(&["--", "does-not-exist"]).out(),
        (
            82,
            format!(
                "{EXEC_D_LINE}ERROR: failed to launch: path lookup: exec: \"does-not-exist\": executable file not found in $PATH\n"
            )
        )
    );
    assert_eq!(
        Run::new(None).env("CNB_APP_DIR", "/nonexistent-app").args(&["--", "env"]).out(),
        (82, "ERROR: failed to launch: change to app directory: chdir /nonexistent-app: no such file or directory\n".into())
    );
}

#[test]
fn platform_api_gate_comes_first() {
    let (code, out) = Run::new(None).env_remove("CNB_PLATFORM_API").out();
    assert_eq!(code, 11);
    assert_eq!(
        out,
        "ERROR: failed to get platform API version; please set 'CNB_PLATFORM_API' to specify the desired platform API version\n"
    );
    assert_eq!(Run::new(None).env("CNB_PLATFORM_API", "0.3").out().0, 11);
}

#[test]
fn missing_metadata_fails_with_code_1_like_go() {
    let t = tempfile::tempdir().unwrap();
    let (code, out) = Run::new(None)
        .env("CNB_LAYERS_DIR", t.path())
        .args(&["--", "env"])
        .out();
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "ERROR: failed to read metadata: open {}/config/metadata.toml: no such file or directory\n",
            t.path().display()
        )
    );
}

#[test]
fn unsupported_buildpack_api_exits_12() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("config")).unwrap();
    let write = |api: &str| {
        std::fs::write(
            t.path().join("config/metadata.toml"),
            format!("[[buildpacks]]\nid = \"a/b\"\nversion = \"1\"\napi = \"{api}\"\n"),
        )
        .unwrap()
    };
    write("0.2");
    assert_eq!(
        Run::new(None).env("CNB_LAYERS_DIR", t.path()).args(&["--", "env"]).out(),
        (
            12,
            "ERROR: failed to set API for buildpack 'a/b': buildpack API version '0.2' is incompatible with the lifecycle\n"
                .into()
        )
    );
    write("x");
    assert_eq!(
        Run::new(None)
            .env("CNB_LAYERS_DIR", t.path())
            .args(&["--", "env"])
            .out(),
        (
            12,
            "ERROR: failed to parse buildpack API '<nil>' for buildpack 'a/b'\n".into()
        )
    );
}

#[test]
fn exec_d_failures_exit_82() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("config")).unwrap();
    std::fs::write(
        t.path().join("config/metadata.toml"),
        "[[buildpacks]]\nid = \"a/b\"\nversion = \"1\"\napi = \"0.10\"\n",
    )
    .unwrap();
    let helper = t.path().join("a_b/l/exec.d/helper");
    std::fs::create_dir_all(helper.parent().unwrap()).unwrap();
    let run = |script: &str, mode: u32| {
        std::fs::write(&helper, script).unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(mode)).unwrap();
        let (code, out) = Run::new(None)
            .env("CNB_LAYERS_DIR", t.path())
            .args(&["--", "true"])
            .out();
        (code, out.replace(&t.path().display().to_string(), "L"))
    };
    let prefix = "ERROR: failed to launch: exec.d: failed to";
    assert_eq!(
        run("#!/bin/sh\necho bad\nexit 4\n", 0o755),
        (
            82,
            format!(
                "bad\n{prefix} execute exec.d file at path 'L/a_b/l/exec.d/helper': exit status 4\n"
            )
        )
    );
    assert_eq!(
        run("#!/bin/sh\n", 0o644),
        (
            82,
            format!(
                "{prefix} execute exec.d file at path 'L/a_b/l/exec.d/helper': fork/exec L/a_b/l/exec.d/helper: permission denied\n"
            )
        )
    );
    let (code, out) = run("#!/bin/sh\necho 'X = 1' >&3\n", 0o755);
    assert_eq!(code, 82);
    assert!(
        out.starts_with(&format!(
            "{prefix} decode output from exec.d file at path 'L/a_b/l/exec.d/helper': toml: line 1"
        )),
        "{out}"
    );
    // A helper that writes nothing changes nothing.
    assert_eq!(run("#!/bin/sh\n", 0o755), (0, String::new()));
}
