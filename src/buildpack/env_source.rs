//! The buildpack environment over [`crate::env`], as the Go detector and builder build it
//! (`env.NewBuildEnv(os.Environ())`, then per buildpack `WithOverrides(platform, build-config)`):
//! the lifecycle's own environment filtered to the include-list (so `CNB_REGISTRY_AUTH`,
//! `DOCKER_CONFIG` and the platform's `CNB_*` never reach a buildpack), the layer
//! contributions of earlier buildpacks' `build = true` layers, `<platform>/env/` (skipped for
//! `clear-env = true` buildpacks) and `<build-config>/env/`. The runner adds the `CNB_*`
//! variables of the Buildpack API last.

use super::build::BuildEnvSource;
use super::descriptor::BuildpackDescriptor;
use super::detect::EnvProvider;
use crate::env::Env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// One build's (or detection's) buildpack environment.
#[derive(Clone, Debug)]
pub struct LayeredEnv {
    base: Env,
    platform_dir: PathBuf,
    build_config_dir: PathBuf,
}

impl LayeredEnv {
    /// `environ` is the lifecycle's environment (`std::env::vars_os()`); it is filtered here.
    pub fn new(
        environ: impl IntoIterator<Item = (OsString, OsString)>,
        platform_dir: impl Into<PathBuf>,
        build_config_dir: impl Into<PathBuf>,
    ) -> Self {
        LayeredEnv {
            base: Env::new_build(environ),
            platform_dir: platform_dir.into(),
            build_config_dir: build_config_dir.into(),
        }
    }

    /// The base environment so far (include-list + build layers), without overrides.
    pub fn base(&self) -> &Env {
        &self.base
    }

    /// The environment for `bp` before the lifecycle's `CNB_*` variables.
    pub fn for_buildpack(&self, bp: &BuildpackDescriptor) -> Result<super::BuildpackEnv, String> {
        let platform = (!bp.buildpack.clear_env).then_some(self.platform_dir.as_path());
        let env = self
            .base
            .with_overrides(platform, Some(&self.build_config_dir))
            .map_err(|e| e.to_string())?;
        Ok(env.vars().clone())
    }

    /// A detection [`EnvProvider`] (detection adds no layers, so the env is fixed per
    /// buildpack).
    pub fn into_provider(self) -> Box<EnvProvider> {
        Box::new(move |bp| self.for_buildpack(bp))
    }
}

impl BuildEnvSource for LayeredEnv {
    fn env_for(&mut self, bp: &BuildpackDescriptor) -> Result<super::BuildpackEnv, String> {
        self.for_buildpack(bp)
    }

    fn add_build_layer(
        &mut self,
        _bp: &BuildpackDescriptor,
        layer_dir: &Path,
    ) -> Result<(), String> {
        self.base
            .add_build_layer(layer_dir)
            .map_err(|e| e.to_string())
    }
}
