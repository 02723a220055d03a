//! Running one buildpack's `bin/detect` (Go `buildpack/detect.go`): arguments
//! `<platform> <plan-path>`, cwd = app dir, stdout and stderr captured into one buffer, exit
//! 0 = pass, 100 = fail, anything else = error.

use super::descriptor::BuildpackDescriptor;
use super::plan::DetectPlan;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const CODE_DETECT_PASS: i32 = 0;
pub const CODE_DETECT_FAIL: i32 = 100;

/// What every `bin/detect` of one detection run gets.
#[derive(Clone, Debug, Default)]
pub struct DetectInputs {
    pub app_dir: PathBuf,
    pub platform_dir: PathBuf,
    /// `CNB_TARGET_*` pairs (given to buildpacks with API ≥ 0.10).
    pub target_env: Vec<(String, String)>,
    /// `CNB_EXEC_ENV` (given to buildpacks with API ≥ 0.12 when non-empty).
    pub exec_env: String,
}

/// The outcome of one `bin/detect`. `code` is -1 when the buildpack could not be run, was
/// killed, or its output was rejected (then `err` says why).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DetectOutputs {
    pub code: i32,
    pub output: Vec<u8>,
    pub err: Option<String>,
    pub plan: DetectPlan,
}

impl DetectOutputs {
    pub fn error(err: impl Into<String>) -> Self {
        Self {
            code: -1,
            err: Some(err.into()),
            ..Default::default()
        }
    }
}

/// Go-like text of an OS error ("no such file or directory", no "(os error N)").
pub(crate) use crate::env::go_io_error;

/// A fresh private directory under the system temp dir (`<tmp>/<prefix><random>`).
pub(crate) fn make_temp_dir(prefix: &str) -> std::io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for _ in 0..16 {
        let n: u64 = rand::random();
        let p = base.join(format!("{prefix}{n}"));
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "could not create a temporary directory",
    ))
}

/// The environment of a `bin/detect`: the buildpack environment `env`, then the lifecycle's
/// own variables (later entries win, like Go's exec env de-duplication).
pub fn detect_env(
    d: &BuildpackDescriptor,
    env: &super::BuildpackEnv,
    inputs: &DetectInputs,
    plan_path: &Path,
) -> super::BuildpackEnv {
    with_lifecycle_vars(
        d,
        env,
        &[
            ("CNB_PLATFORM_DIR", &inputs.platform_dir),
            ("CNB_BUILD_PLAN_PATH", plan_path),
        ],
        &inputs.target_env,
        &inputs.exec_env,
    )
}

/// The lifecycle's variables on top of the buildpack environment `env`, Go order (later
/// wins): `CNB_BUILDPACK_DIR`; Buildpack API ≥ 0.8 the `api_0_8` paths; ≥ 0.10 the
/// `CNB_TARGET_*` pairs; ≥ 0.12 `CNB_EXEC_ENV` when non-empty. Shared by detect and build.
pub(crate) fn with_lifecycle_vars(
    d: &BuildpackDescriptor,
    env: &super::BuildpackEnv,
    api_0_8: &[(&str, &Path)],
    target_env: &[(String, String)],
    exec_env: &str,
) -> super::BuildpackEnv {
    let mut e = env.clone();
    e.insert("CNB_BUILDPACK_DIR".into(), d.root_dir.clone().into());
    if d.api_at_least("0.8") {
        for (k, p) in api_0_8 {
            e.insert(k.into(), p.as_os_str().to_owned());
        }
    }
    if d.api_at_least("0.10") {
        for (k, v) in target_env {
            e.insert(k.into(), v.into());
        }
    }
    if d.api_at_least("0.12") && !exec_env.is_empty() {
        e.insert("CNB_EXEC_ENV".into(), exec_env.into());
    }
    e
}

/// Runs `bin/detect` of `d` with the buildpack environment `env`, and on a pass reads and
/// validates the Build Plan it wrote.
pub fn run_detect(
    d: &BuildpackDescriptor,
    env: &super::BuildpackEnv,
    inputs: &DetectInputs,
) -> DetectOutputs {
    let plan_dir = match make_temp_dir("plan.") {
        Ok(p) => p,
        Err(e) => return DetectOutputs::error(go_io_error(&e)),
    };
    let out = run_in(d, env, inputs, &plan_dir);
    let _ = std::fs::remove_dir_all(&plan_dir);
    out
}

fn run_in(
    d: &BuildpackDescriptor,
    env: &super::BuildpackEnv,
    inputs: &DetectInputs,
    plan_dir: &Path,
) -> DetectOutputs {
    let plan_path = plan_dir.join("plan.toml");
    if let Err(e) = std::fs::write(&plan_path, b"") {
        return DetectOutputs::error(go_io_error(&e));
    }
    let (mut code, output, err) = execute(d, env, inputs, &plan_path);
    if err.is_some() || code != CODE_DETECT_PASS {
        return DetectOutputs {
            code,
            output,
            err,
            plan: DetectPlan::default(),
        };
    }
    let text = match std::fs::read_to_string(&plan_path) {
        Ok(t) => t,
        Err(e) => {
            return DetectOutputs {
                code: -1,
                output,
                err: Some(go_io_error(&e)),
                ..Default::default()
            };
        }
    };
    let plan: DetectPlan = match toml::from_str(&text) {
        Ok(p) => p,
        Err(e) => {
            let msg = super::toml_error(&text, &e);
            return DetectOutputs {
                code: -1,
                output,
                err: Some(msg),
                ..Default::default()
            };
        }
    };
    let mut err = None;
    if let Some(msg) = plan.validate(&d.buildpack.id) {
        code = -1;
        err = Some(msg);
    }
    DetectOutputs {
        code,
        output,
        err,
        plan,
    }
}

/// Spawns the process with stdout and stderr on one pipe and collects everything it writes.
fn execute(
    d: &BuildpackDescriptor,
    env: &super::BuildpackEnv,
    inputs: &DetectInputs,
    plan_path: &Path,
) -> (i32, Vec<u8>, Option<String>) {
    let path = d.detect_path();
    let fail = |e: &std::io::Error| {
        (
            -1,
            Vec::new(),
            Some(format!("fork/exec {}: {}", path.display(), go_io_error(e))),
        )
    };
    let (mut reader, writer) = match std::io::pipe() {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let writer2 = match writer.try_clone() {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let mut cmd = Command::new(&path);
    cmd.arg(&inputs.platform_dir)
        .arg(plan_path)
        .current_dir(&inputs.app_dir)
        .env_clear()
        .envs(detect_env(d, env, inputs, plan_path))
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2);
    let spawned = cmd.spawn();
    drop(cmd); // closes our copies of the pipe's write end
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mut output = Vec::new();
    let read_err = reader.read_to_end(&mut output).err();
    let status = match child.wait() {
        Ok(s) => s,
        Err(e) => return (-1, output, Some(go_io_error(&e))),
    };
    if let Some(e) = read_err {
        return (-1, output, Some(go_io_error(&e)));
    }
    // Killed by a signal: Go's WaitStatus.ExitStatus() is -1 and no error is recorded.
    (status.code().unwrap_or(-1), output, None)
}
