//! Building a whole group (Go `phase/builder.go` Build loop): for each buildpack in order,
//! its slice of the plan, `bin/build`, plan filtering, environment growth, and the merged
//! processes, labels and slices, the `<layers>/sbom` tree (Platform ≥ 0.9 layout, with the
//! legacy BOM files). Writing metadata.toml is left to the caller (`cnb::files`).

use super::build_run::{BuildError, BuildInputs, BuildOutputs, run_build};
use super::descriptor::BuildpackDescriptor;
use super::detect::check_api;
use super::group::{Group, GroupElement};
use super::launch_out::ProcessMap;
use super::lookup::BuildpackStore;
use super::plan::Plan;
use super::sbom::{copy_sbom_files, write_legacy_bom};
use crate::exit::LifecycleError;
use crate::files::metadata::Process;
use crate::files::{Label, Slice};
use std::path::Path;

/// The buildpack environment across one build: the caller's `cnb::env` goes behind this.
pub trait BuildEnvSource {
    /// The environment for `bp` (include-list + build layers so far + platform env unless
    /// clear-env + build-config env). The runner adds the `CNB_*` variables.
    fn env_for(&mut self, bp: &BuildpackDescriptor) -> Result<super::BuildpackEnv, String>;
    /// A `build = true` layer of `bp` (called in layer-name order after its build): add its
    /// root dirs and `env/`, `env.build/` for later buildpacks.
    fn add_build_layer(&mut self, bp: &BuildpackDescriptor, layer_dir: &Path)
    -> Result<(), String>;
}

/// A fixed environment (no layer contributions): for tests and simple callers.
#[derive(Clone, Debug, Default)]
pub struct StaticEnv(pub super::BuildpackEnv);

impl BuildEnvSource for StaticEnv {
    fn env_for(&mut self, _: &BuildpackDescriptor) -> Result<super::BuildpackEnv, String> {
        Ok(self.0.clone())
    }
    fn add_build_layer(&mut self, _: &BuildpackDescriptor, _: &Path) -> Result<(), String> {
        Ok(())
    }
}

/// What the whole group produced (the inputs of metadata.toml).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildResult {
    pub buildpacks: Vec<GroupElement>,
    pub extensions: Vec<GroupElement>,
    /// Sorted by type, `default` cleared (the caller applies the Platform API with
    /// [`Process::with_platform_api`]).
    pub processes: Vec<Process>,
    /// `buildpack-default-process-type` ("" when none).
    pub default_process_type: String,
    pub labels: Vec<Label>,
    pub slices: Vec<Slice>,
    /// Per buildpack, in group order.
    pub outputs: Vec<BuildOutputs>,
}

/// Checks the Buildpack API recorded in group.toml for each element (exit 12).
pub fn verify_group(group: &Group) -> Result<(), LifecycleError> {
    for el in &group.group {
        let d = BuildpackDescriptor {
            api: el.api.clone(),
            ..Default::default()
        };
        check_api(&d, el)?;
    }
    Ok(())
}

/// Runs every buildpack of `group` in order.
pub fn build_group(
    group: &Group,
    plan: &Plan,
    store: &BuildpackStore,
    inputs: &BuildInputs,
    env: &mut dyn BuildEnvSource,
) -> Result<BuildResult, BuildError> {
    let sbom = inputs.layers_dir.join("sbom");
    if let Err(e) = std::fs::remove_dir_all(&sbom)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(BuildError::Other(format!(
            "cleaning layers SBOM directory: {e}"
        )));
    }
    let mut procs = ProcessMap::default();
    let mut result = BuildResult::default();
    let mut filtered = plan.clone();
    for el in &group.group {
        crate::debug!("Running build for buildpack {el}");
        crate::debug!("Looking up buildpack");
        let d = store
            .lookup(&el.id, &el.version)
            .map_err(|e| BuildError::Other(e.bare()))?;
        crate::debug!("Finding plan");
        let bp_plan = filtered.find(&el.id);
        let bp_env = env.env_for(&d).map_err(BuildError::Other)?;
        let out = run_build(&d, &bp_env, &bp_plan, inputs)?;
        for dir in out.build_layer_dirs() {
            env.add_build_layer(&d, &dir).map_err(BuildError::Other)?;
        }
        crate::debug!("Updating buildpack processes");
        filtered = filtered.filter(&out.met_requires);
        result.labels.extend(out.labels.iter().cloned());
        result.slices.extend(out.slices.iter().cloned());
        crate::debug!("Updating process list");
        if let Some(w) = procs.add(&out.processes) {
            crate::warn!("{w}");
        }
        result.outputs.push(out);
        crate::debug!("Finished running build for buildpack {el}");
    }
    crate::debug!("Copying SBOM files");
    let files: Vec<_> = result
        .outputs
        .iter()
        .flat_map(|o| o.sbom_files.iter().cloned())
        .collect();
    copy_sbom_files(&inputs.layers_dir, &files).map_err(BuildError::Other)?;
    crate::debug!("Creating SBOM files for legacy BOM");
    let launch_bom: Vec<_> = result
        .outputs
        .iter()
        .flat_map(|o| o.launch_bom.iter().cloned())
        .collect();
    let build_bom: Vec<_> = result
        .outputs
        .iter()
        .flat_map(|o| o.build_bom.iter().cloned())
        .collect();
    write_legacy_bom(&inputs.layers_dir, &launch_bom, &build_bom).map_err(BuildError::Other)?;
    crate::debug!("Listing processes");
    result.processes = procs.list();
    result.default_process_type = procs.default_type().to_string();
    result.buildpacks = group.group.clone();
    result.extensions = group
        .group_extensions
        .iter()
        .cloned()
        .map(|e| e.no_extension().no_opt())
        .collect();
    Ok(result)
}
