//! Black-box harness for the detector and builder: a sandbox holding copies of the test
//! buildpacks, app, platform and build-config dirs, owned by uid/gid 1000 (both phases refuse
//! root, and CI runs tests as root), and the phase run as that user through the real
//! `lifecycle` binary. Also the scenario runner that mirrors exactly how the Go goldens in
//! `testdata/phases/golden` were captured (see that directory's README).
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_lifecycle");
pub const UID: u32 = 1000;
pub const API: &str = "0.15";

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

pub fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// `None` (with the reason printed) when the tests cannot switch to uid 1000.
pub fn sandbox() -> Option<Sandbox> {
    if !is_root() {
        eprintln!("SKIP: not root, cannot run the detector/builder as uid {UID}");
        return None;
    }
    Some(Sandbox::new())
}

pub struct Sandbox {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    /// Extra environment for the phase (besides the fixed base).
    pub env: Vec<(String, String)>,
    /// `CNB_PLATFORM_API` (default [`API`]).
    pub api: String,
    /// `-log-level` (default `info`).
    pub log_level: String,
}

fn cp(from: &Path, to: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(st.success(), "cp {} {}", from.display(), to.display());
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
}

impl Sandbox {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().to_path_buf();
        let td = testdata();
        cp(&td.join("buildpacks"), &root.join("buildpacks"));
        for d in ["app", "platform", "build-config"] {
            cp(&td.join("phases").join(d), &root.join(d));
        }
        for d in ["layers", "tmp", "home"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        Sandbox {
            _tmp: tmp,
            root,
            env: Vec::new(),
            api: API.to_string(),
            log_level: "info".to_string(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn layers(&self) -> PathBuf {
        self.path("layers")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        let p = self.path(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Gives everything to uid/gid 1000 (call after writing fixtures, before running).
    pub fn chown(&self) {
        let st = Command::new("chown")
            .arg("-R")
            .arg(format!("{UID}:{UID}"))
            .arg(&self.root)
            .status()
            .expect("chown");
        assert!(st.success());
    }

    /// The common directory flags of both phases.
    pub fn dir_flags(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (flag, dir) in [
            ("-buildpacks", "buildpacks"),
            ("-app", "app"),
            ("-platform", "platform"),
            ("-build-config", "build-config"),
            ("-layers", "layers"),
        ] {
            v.push(flag.to_string());
            v.push(self.path(dir).display().to_string());
        }
        v.extend(["-log-level", &self.log_level, "-no-color"].map(String::from));
        v
    }

    /// The phase command as uid 1000, invoked as `argv0` (`detector`, `builder`, or
    /// `lifecycle` with a subcommand in `args`), with the lifecycle's credentials set in its
    /// environment (they must never reach a buildpack).
    pub fn command(&self, argv0: &str, args: &[String]) -> Command {
        self.chown();
        let mut c = Command::new(BIN);
        c.arg0(argv0)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.path("home"))
            .env("TMPDIR", self.path("tmp"))
            .env(
                "CNB_REGISTRY_AUTH",
                r#"{"registry.example":"Basic c2VjcmV0"}"#,
            )
            .env("DOCKER_CONFIG", self.path("docker"))
            .env("CNB_PLATFORM_API", &self.api)
            .current_dir(&self.root)
            .uid(UID)
            .gid(UID)
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, argv0: &str, args: &[String]) -> Run {
        let out = self
            .command(argv0, args)
            .stderr(Stdio::inherit())
            .output()
            .expect("spawn lifecycle");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        }
    }

    pub fn detect(&self, extra: &[&str]) -> Run {
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        args.extend(self.dir_flags());
        self.run("detector", &args)
    }

    pub fn build(&self, extra: &[&str]) -> Run {
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        args.extend(self.dir_flags());
        self.run("builder", &args)
    }

    /// Replaces this sandbox's paths and host-specific values like the golden capture did:
    /// the root → `<ROOT>`, `<ROOT>/tmp/<name>-<digits>` → `<ROOT>/tmp/<name>-<N>`, the build
    /// host's distro in `CNB_TARGET_DISTRO_NAME=…|` → `<DISTRO>`.
    pub fn normalize(&self, s: &str) -> String {
        let s = s.replace(&self.root.display().to_string(), "<ROOT>");
        let s = collapse_tmp_suffix(&s);
        match host_distro() {
            Some(d) if !d.is_empty() => s.replace(
                &format!("CNB_TARGET_DISTRO_NAME={d}|"),
                "CNB_TARGET_DISTRO_NAME=<DISTRO>|",
            ),
            _ => s,
        }
    }
}

/// `ID` of /etc/os-release.
pub fn host_distro() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("ID="))
        .map(|v| v.trim_matches('"').to_string())
}

fn collapse_tmp_suffix(s: &str) -> String {
    const MARK: &str = "<ROOT>/tmp/";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i + MARK.len()]);
        rest = &rest[i + MARK.len()..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        let after = &rest[name_len..];
        let digits = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        if name.ends_with('-') && digits > 0 {
            out.push_str(name);
            out.push_str("<N>");
            rest = &after[digits..];
        } else {
            out.push_str(name);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The outputs of one scenario, like `testdata/phases/golden/<scenario>/`.
#[derive(Debug, Default, PartialEq)]
pub struct ScenarioOut {
    pub files: std::collections::BTreeMap<String, String>,
}

/// Runs `testdata/phases/scenarios/<name>` the way the goldens were captured: with
/// `order.toml` the detector runs (then the builder when it succeeded); with `group.toml` it
/// is copied to `<layers>/group.toml` beside an empty plan.toml and only the builder runs;
/// with neither only the builder runs. `analyzed.toml` goes to `<layers>/analyzed.toml`;
/// `env` holds `KEY=VALUE` lines added to both phases' environment.
pub fn run_scenario(name: &str) -> Option<(Sandbox, ScenarioOut)> {
    run_scenario_at(name, "info")
}

/// [`run_scenario`] with another `-log-level`.
pub fn run_scenario_at(name: &str, log_level: &str) -> Option<(Sandbox, ScenarioOut)> {
    let mut sb = sandbox()?;
    sb.log_level = log_level.to_string();
    let sd = testdata().join("phases/scenarios").join(name);
    let mut out = ScenarioOut::default();
    let put = |out: &mut ScenarioOut, k: &str, v: String| {
        out.files.insert(k.to_string(), v);
    };
    if let Ok(text) = std::fs::read_to_string(sd.join("env")) {
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (k, v) = line.split_once('=').expect("KEY=VALUE");
            sb.env.push((k.to_string(), v.to_string()));
        }
    }
    if sd.join("analyzed.toml").is_file() {
        std::fs::copy(sd.join("analyzed.toml"), sb.layers().join("analyzed.toml")).unwrap();
    }
    if sd.join("group.toml").is_file() {
        std::fs::copy(sd.join("group.toml"), sb.layers().join("group.toml")).unwrap();
        std::fs::write(sb.layers().join("plan.toml"), "").unwrap();
    }
    if sd.join("order.toml").is_file() {
        std::fs::copy(sd.join("order.toml"), sb.path("order.toml")).unwrap();
        let order = sb.path("order.toml").display().to_string();
        let r = sb.detect(&["-order", &order]);
        put(&mut out, "detect.exit", format!("{}\n", r.code));
        put(&mut out, "detect.stdout", sb.normalize(&r.stdout));
        for f in ["group.toml", "plan.toml"] {
            if let Ok(t) = std::fs::read_to_string(sb.layers().join(f)) {
                put(&mut out, f, sb.normalize(&t));
            }
        }
        if r.code != 0 {
            return Some((sb, out));
        }
    }
    let r = sb.build(&[]);
    put(&mut out, "build.exit", format!("{}\n", r.code));
    put(&mut out, "build.stdout", sb.normalize(&r.stdout));
    if let Ok(t) = std::fs::read_to_string(sb.layers().join("config/metadata.toml")) {
        put(&mut out, "metadata.toml", sb.normalize(&t));
    }
    Some((sb, out))
}

/// The Go lifecycle's outputs for a scenario (`testdata/phases/golden/<name>/`).
pub fn golden(name: &str) -> ScenarioOut {
    let dir = testdata().join("phases/golden").join(name);
    let mut out = ScenarioOut::default();
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        let k = p.file_name().unwrap().to_string_lossy().into_owned();
        out.files.insert(k, std::fs::read_to_string(&p).unwrap());
    }
    out
}

/// `lifecycle <subcommand>` run as root (the test user) fails with exit 1 and
/// "failed to <action>: refusing to run as root"; skipped when not root.
pub fn assert_refuses_root(subcommand: &str, action: &str) {
    if !is_root() {
        eprintln!("SKIP: not root, cannot check the root refusal");
        return;
    }
    let out = Command::new(BIN)
        .arg(subcommand)
        .env_clear()
        .env("CNB_PLATFORM_API", API)
        .output()
        .expect("spawn lifecycle");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("failed to {action}: refusing to run as root")),
        "{stdout}"
    );
}
