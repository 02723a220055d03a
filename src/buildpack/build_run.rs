//! Running one buildpack's `bin/build` (Go `buildpack/build.go`): arguments
//! `<layers>/<escaped-id> <platform> <plan-path>`, cwd = app dir, stdout and stderr both
//! forwarded live to the lifecycle's stdout, then the files it wrote are read.

use super::descriptor::BuildpackDescriptor;
use super::detect_run::{go_io_error, make_temp_dir};
use super::launch_out::{BuildLayer, process_layers, read_build_toml, read_launch_toml};
use super::lookup::escape_id;
use super::plan::{BuildpackPlan, buildpack_plan_to_toml};
use super::sbom::{BomEntry, BomFile, collect_sbom_files, validate_bom};
use crate::api::Version;
use crate::exit::{ExitCode, LifecycleError};
use crate::files::metadata::Process;
use crate::files::{Label, Slice};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// Where `bin/build` output goes.
#[derive(Clone, Default)]
pub enum BuildOutput {
    /// The child writes straight to the lifecycle's stdout (stderr joined to it).
    #[default]
    Inherit,
    /// Output is forwarded to this writer chunk by chunk as it arrives.
    Sink(Arc<Mutex<dyn Write + Send>>),
}

impl std::fmt::Debug for BuildOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BuildOutput::Inherit => "Inherit",
            BuildOutput::Sink(_) => "Sink",
        })
    }
}

/// What every `bin/build` of one build gets (besides its environment and plan).
#[derive(Clone, Debug, Default)]
pub struct BuildInputs {
    pub app_dir: PathBuf,
    /// The layers root (`CNB_LAYERS_DIR` of the lifecycle); each buildpack gets `<root>/<bp>`.
    pub layers_dir: PathBuf,
    pub platform_dir: PathBuf,
    /// `CNB_TARGET_*` pairs (Buildpack API ≥ 0.10).
    pub target_env: Vec<(String, String)>,
    /// `CNB_EXEC_ENV` (Buildpack API ≥ 0.12, when non-empty).
    pub exec_env: String,
    pub output: BuildOutput,
}

/// What one `bin/build` produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildOutputs {
    /// `<layers>/<escaped-id>`.
    pub bp_layers_dir: PathBuf,
    /// Every `<name>.toml` of the buildpack's layers dir, in name order.
    pub layers: Vec<BuildLayer>,
    pub labels: Vec<Label>,
    pub processes: Vec<Process>,
    pub slices: Vec<Slice>,
    /// Plan entry names this buildpack met (its plan minus `[[unmet]]`).
    pub met_requires: Vec<String>,
    /// SBOM files to copy into `<layers>/sbom/…`.
    pub sbom_files: Vec<BomFile>,
    /// Deprecated `[[bom]]` of build.toml / launch.toml, with this buildpack filled in.
    pub build_bom: Vec<BomEntry>,
    pub launch_bom: Vec<BomEntry>,
}

impl BuildOutputs {
    /// Directories of `build = true` layers in name order: these feed the environment of
    /// the buildpacks that follow.
    pub fn build_layer_dirs(&self) -> Vec<PathBuf> {
        self.layers
            .iter()
            .filter(|l| l.types.build)
            .map(|l| l.dir.clone())
            .collect()
    }
}

/// A failed build: the buildpack itself (exit 51) or anything around it (exit 52).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Buildpack(String),
    #[error("{0}")]
    Other(String),
}

impl BuildError {
    /// "failed to build: …" with exit 51 or 52.
    pub fn into_lifecycle_error(self) -> LifecycleError {
        match self {
            BuildError::Buildpack(m) => {
                LifecycleError::failed(ExitCode::FailedBuildWithErrors, "build", m)
            }
            BuildError::Other(m) => LifecycleError::failed(ExitCode::BuildError, "build", m),
        }
    }
}

/// The environment of a `bin/build`: `env`, then the lifecycle's variables.
pub fn build_env(
    d: &BuildpackDescriptor,
    env: &super::BuildpackEnv,
    inputs: &BuildInputs,
    bp_layers_dir: &Path,
    plan_path: &Path,
) -> super::BuildpackEnv {
    super::detect_run::with_lifecycle_vars(
        d,
        env,
        &[
            ("CNB_PLATFORM_DIR", &inputs.platform_dir),
            ("CNB_BP_PLAN_PATH", plan_path),
            ("CNB_LAYERS_DIR", bp_layers_dir),
        ],
        &inputs.target_env,
        &inputs.exec_env,
    )
}

/// Runs `bin/build` of `d` with environment `env` and Buildpack Plan `plan`, then reads and
/// validates the files it wrote.
pub fn run_build(
    d: &BuildpackDescriptor,
    env: &super::BuildpackEnv,
    plan: &BuildpackPlan,
    inputs: &BuildInputs,
) -> Result<BuildOutputs, BuildError> {
    let other = |e: std::io::Error| BuildError::Other(go_io_error(&e));
    let escaped = escape_id(&d.buildpack.id);
    crate::debug!("Creating plan directory");
    let plan_root = make_temp_dir(&format!("{escaped}-")).map_err(other)?;
    let result = (|| {
        crate::debug!("Preparing paths");
        let bp_layers_dir = inputs.layers_dir.join(&escaped);
        std::fs::create_dir_all(&bp_layers_dir).map_err(other)?;
        let plan_dir = plan_root.join(&escaped);
        std::fs::create_dir_all(&plan_dir).map_err(other)?;
        let plan_path = plan_dir.join("plan.toml");
        let text = buildpack_plan_to_toml(plan).map_err(BuildError::Other)?;
        std::fs::write(&plan_path, text).map_err(other)?;

        crate::debug!("Running build command");
        execute(
            d,
            &build_env(d, env, inputs, &bp_layers_dir, &plan_path),
            inputs,
            &bp_layers_dir,
            &plan_path,
        )?;

        crate::debug!("Processing layers");
        let layers = process_layers(&bp_layers_dir).map_err(BuildError::Other)?;
        // Go updates the shared environment here; [`super::build::build_group`] applies the
        // build layers (from the returned outputs) right after this returns, which only
        // differs when reading the output files fails, and then the build stops anyway.
        crate::debug!("Updating environment");
        crate::debug!("Reading output files");
        read_outputs(d, bp_layers_dir, plan, layers)
    })();
    let _ = std::fs::remove_dir_all(&plan_root);
    result
}

fn read_outputs(
    d: &BuildpackDescriptor,
    bp_layers_dir: PathBuf,
    plan: &BuildpackPlan,
    layers: Vec<BuildLayer>,
) -> Result<BuildOutputs, BuildError> {
    let (id, version) = (&d.buildpack.id, &d.buildpack.version);
    let names: Vec<String> = plan.entries.iter().map(|r| r.name.clone()).collect();
    let build =
        read_build_toml(&bp_layers_dir.join("build.toml"), &names).map_err(BuildError::Other)?;
    let build_bom =
        validate_bom(&build.bom, &bp_layers_dir, id, version).map_err(BuildError::Other)?;
    let met_requires = names
        .iter()
        .filter(|n| !build.unmet.contains(n))
        .cloned()
        .collect();
    let sbom_files = collect_sbom_files(
        &bp_layers_dir,
        id,
        &d.key(),
        &layers,
        &d.buildpack.sbom_formats,
    )
    .map_err(BuildError::Other)?;
    let api = d.api_version().unwrap_or(Version::new(0, 0));
    let launch = read_launch_toml(&bp_layers_dir.join("launch.toml"), api, id)
        .map_err(BuildError::Other)?
        .unwrap_or_default();
    let launch_bom =
        validate_bom(&launch.bom, &bp_layers_dir, id, version).map_err(BuildError::Other)?;
    Ok(BuildOutputs {
        bp_layers_dir,
        layers,
        labels: launch.labels,
        processes: launch.processes,
        slices: launch.slices,
        met_requires,
        sbom_files,
        build_bom,
        launch_bom,
    })
}

/// Go's text for a non-zero exit: "exit status N" or "signal: <name>".
fn status_text(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(c) = status.code() {
        return format!("exit status {c}");
    }
    let sig = status.signal().unwrap_or(0);
    let name = match sig {
        1 => "hangup".to_string(),
        2 => "interrupt".to_string(),
        6 => "aborted".to_string(),
        9 => "killed".to_string(),
        11 => "segmentation fault".to_string(),
        13 => "broken pipe".to_string(),
        15 => "terminated".to_string(),
        n => format!("signal {n}"),
    };
    format!("signal: {name}")
}

fn execute(
    d: &BuildpackDescriptor,
    env: &super::BuildpackEnv,
    inputs: &BuildInputs,
    bp_layers_dir: &Path,
    plan_path: &Path,
) -> Result<(), BuildError> {
    use std::os::fd::AsFd;
    let path = d.build_path();
    let spawn_err = |e: &std::io::Error| {
        BuildError::Buildpack(format!("fork/exec {}: {}", path.display(), go_io_error(e)))
    };
    let mut cmd = Command::new(&path);
    cmd.arg(bp_layers_dir)
        .arg(&inputs.platform_dir)
        .arg(plan_path)
        .current_dir(&inputs.app_dir)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null());
    let status = match &inputs.output {
        BuildOutput::Inherit => {
            let _ = std::io::stdout().flush();
            let dup = std::io::stdout()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| spawn_err(&e))?;
            cmd.stdout(Stdio::inherit()).stderr(Stdio::from(dup));
            let mut child = cmd.spawn().map_err(|e| spawn_err(&e))?;
            drop(cmd);
            child
                .wait()
                .map_err(|e| BuildError::Other(go_io_error(&e)))?
        }
        BuildOutput::Sink(sink) => {
            let (mut reader, writer) = std::io::pipe().map_err(|e| spawn_err(&e))?;
            let writer2 = writer.try_clone().map_err(|e| spawn_err(&e))?;
            cmd.stdout(writer).stderr(writer2);
            let spawned = cmd.spawn();
            drop(cmd); // our copies of the write end must close for EOF
            let mut child = spawned.map_err(|e| spawn_err(&e))?;
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if let Ok(mut w) = sink.lock() {
                            let _ = w.write_all(&buf[..n]);
                            let _ = w.flush();
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            child
                .wait()
                .map_err(|e| BuildError::Other(go_io_error(&e)))?
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::Buildpack(status_text(status)))
    }
}
