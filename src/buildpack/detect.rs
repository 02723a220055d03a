//! The detection algorithm (Go `phase/detector.go`): walk the order, expand composite
//! buildpacks, check targets and exec-env, run every new `bin/detect` of a candidate group
//! concurrently (memoized across groups), resolve, and report in the Go log format.

use super::descriptor::BuildpackDescriptor;
use super::detect_run::DetectOutputs;
use super::group::{Group, GroupElement};
use super::lookup::BuildpackStore;
use super::order::{Order, OrderFile, System, merge_system};
use super::plan::Plan;
use super::resolve::{Failure, MemLog, key_for};
use super::target::{BaseTarget, OS_RELEASE};
use crate::api::{Mode, Version, buildpack_gate};
use crate::exit::{ExitCode, LifecycleError};
use crate::log::Level;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Gives the buildpack environment for one buildpack (the caller applies the include-list,
/// platform `env/` unless `clear-env`, build-config `env/`). The lifecycle's `CNB_*`
/// variables are added on top by the runner.
pub type EnvProvider =
    dyn Fn(&BuildpackDescriptor) -> Result<super::BuildpackEnv, String> + Send + Sync;

/// An [`EnvProvider`] that gives every buildpack the same map.
pub fn fixed_env(map: super::BuildpackEnv) -> Box<EnvProvider> {
    Box::new(move |_| Ok(map.clone()))
}

/// Inputs of one detection run.
#[derive(Clone, Debug)]
pub struct DetectConfig {
    pub app_dir: PathBuf,
    pub platform_dir: PathBuf,
    pub store: BuildpackStore,
    pub platform_api: Version,
    /// `CNB_EXEC_ENV` (Platform ≥ 0.15 filters buildpacks by it).
    pub exec_env: String,
    /// analyzed.toml `[run-image.target]`, if any.
    pub run_target: Option<BaseTarget>,
    /// Where the build host's distro is read when the run image has none (`/etc/os-release`).
    pub os_release: PathBuf,
}

impl DetectConfig {
    pub fn new(
        app_dir: impl Into<PathBuf>,
        platform_dir: impl Into<PathBuf>,
        store: BuildpackStore,
        platform_api: Version,
    ) -> Self {
        Self {
            app_dir: app_dir.into(),
            platform_dir: platform_dir.into(),
            store,
            platform_api,
            exec_env: String::new(),
            run_target: None,
            os_release: PathBuf::from(OS_RELEASE),
        }
    }
}

/// What detection chose: group.toml and plan.toml contents.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DetectOutcome {
    pub group: Group,
    pub plan: Plan,
}

/// Why detection failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DetectError {
    /// No group passed (exit 20).
    FailedDetection,
    /// No group passed, some buildpack errored (exit 21).
    BuildpackErrors,
    /// Anything else during detection, e.g. a missing nested descriptor (exit 22).
    Other(String),
    /// A buildpack reached through a composite declares an unsupported API (exit 12).
    Api(LifecycleError),
}

impl DetectError {
    /// Logs the Go detector's ERROR lines for this failure and returns the error `main`
    /// prints and exits with ("failed to detect: …", 20/21/22).
    pub fn into_lifecycle_error(self) -> LifecycleError {
        for l in self.error_lines() {
            crate::error!("{l}");
        }
        match self {
            DetectError::FailedDetection => LifecycleError::failed(
                ExitCode::FailedDetect,
                "detect",
                "no buildpacks participating",
            ),
            DetectError::BuildpackErrors => LifecycleError::failed(
                ExitCode::FailedDetectWithErrors,
                "detect",
                "buildpack(s) failed with err",
            ),
            DetectError::Other(m) => LifecycleError::failed(ExitCode::DetectError, "detect", m),
            DetectError::Api(e) => e,
        }
    }

    /// The ERROR lines the Go detector logs for this failure before its final error.
    pub fn error_lines(&self) -> Vec<&'static str> {
        match self {
            DetectError::FailedDetection => vec![
                "No buildpack groups passed detection.",
                "Please check that you are running against the correct path.",
            ],
            DetectError::BuildpackErrors => vec!["No buildpack groups passed detection."],
            _ => Vec::new(),
        }
    }
}

/// Builds the order detection walks: the platform's order, plus (Platform ≥ 0.15) the
/// system buildpacks around every group. Logs the system merge at debug level.
pub fn prepare_order(file: &OrderFile, system: Option<&System>, platform_api: Version) -> Order {
    match system {
        Some(sys) if platform_api.at_least("0.15") => {
            let (order, logs) = merge_system(&file.order, sys);
            for l in logs {
                crate::debug!("{l}");
            }
            order
        }
        _ => file.order.clone(),
    }
}

/// Everything the Go detector does with the order before detecting: read order.toml, read
/// and merge system.toml (Platform ≥ 0.15; a missing file is a debug line), look up and
/// API-check every top-level element. Returns the order and whether order.toml has
/// `[[order-extensions]]` (which this engine does not run). Errors are the detector's
/// "failed to initialize detector: …" (exit 1, or 12 for an unsupported Buildpack API).
pub fn load_order(
    order_path: &std::path::Path,
    system_path: Option<&std::path::Path>,
    platform_api: Version,
    store: &BuildpackStore,
) -> Result<(Order, bool), LifecycleError> {
    let init =
        |cause: String| LifecycleError::failed(ExitCode::Failed, "initialize detector", cause);
    let file =
        super::order::read_order(order_path).map_err(|e| init(format!("reading order: {e}")))?;
    let mut system = None;
    if platform_api.at_least("0.15")
        && let Some(p) = system_path
    {
        system = super::order::read_system(p).map_err(|e| init(format!("reading system: {e}")))?;
        if system.is_none() {
            crate::debug!(
                "No system buildpacks found at path {:?}",
                p.display().to_string()
            );
        }
    }
    let order = prepare_order(&file, system.as_ref(), platform_api);
    verify_order(&order, store)?;
    Ok((order, !file.order_extensions.is_empty()))
}

/// The Buildpack API gate for one descriptor, with the Go detector's wording.
pub fn check_api(desc: &BuildpackDescriptor, el: &GroupElement) -> Result<(), LifecycleError> {
    let name = el.to_string();
    let gate = buildpack_gate(
        "Buildpack",
        Some(&desc.api),
        &name,
        Mode::deprecation_from_env(),
    )?;
    if let Some(w) = gate.warning {
        crate::warn!("{w}");
    }
    Ok(())
}

/// Looks up and API-checks every element of the top-level order, as the Go detector does
/// before detecting. Missing descriptor → exit 1 "failed to initialize detector: …"; bad
/// API → exit 12.
pub fn verify_order(order: &Order, store: &BuildpackStore) -> Result<(), LifecycleError> {
    for g in order {
        for el in g.group.iter().filter(|e| !e.extension) {
            let d = store.lookup(&el.id, &el.version).map_err(|e| {
                LifecycleError::failed(ExitCode::Failed, "initialize detector", e.bare())
            })?;
            check_api(&d, el)?;
        }
    }
    Ok(())
}

/// One detection run: holds the memo of `bin/detect` results and the in-memory log.
pub struct Detector<'a> {
    pub(super) cfg: DetectConfig,
    pub(super) env: &'a EnvProvider,
    pub(super) target: BaseTarget,
    pub(super) target_logged: bool,
    pub(super) runs: BTreeMap<String, DetectOutputs>,
    pub(super) log: MemLog,
    pub(super) api_error: Option<LifecycleError>,
    pub(super) depth: usize,
}

/// Composite buildpacks referring to each other would recurse forever (and crash the Go
/// lifecycle); stop with a detect error instead.
pub(super) const MAX_COMPOSITE_DEPTH: usize = 64;

impl<'a> Detector<'a> {
    pub fn new(cfg: DetectConfig, env: &'a EnvProvider) -> Self {
        let target = cfg.run_target.clone().unwrap_or_default();
        Self {
            cfg,
            env,
            target,
            target_logged: false,
            runs: BTreeMap::new(),
            log: MemLog::default(),
            api_error: None,
            depth: 0,
        }
    }

    /// Detects, then prints the in-memory log: entries at or above the log level on success,
    /// all of them (debug shown as info) on failure.
    pub fn detect(&mut self, order: &Order) -> Result<DetectOutcome, DetectError> {
        let res = self.detect_order(order, &[], &[], false);
        for (level, msg) in self.visible_entries(res.is_err()) {
            crate::log::log(level, &msg);
        }
        match res {
            Ok((found, entries)) => Ok(DetectOutcome {
                group: Group {
                    group: found
                        .into_iter()
                        .filter(|e| !e.extension)
                        .map(|e| e.no_opt())
                        .collect(),
                    group_extensions: Vec::new(),
                },
                plan: Plan { entries },
            }),
            Err(Failure::FailedDetection) => Err(DetectError::FailedDetection),
            Err(Failure::Buildpack) => Err(DetectError::BuildpackErrors),
            Err(Failure::Other(m)) => Err(self
                .api_error
                .take()
                .map(DetectError::Api)
                .unwrap_or(DetectError::Other(m))),
        }
    }

    /// What [`Detector::detect`] prints from the in-memory log: on failure every entry
    /// (debug shown as info), on success the entries enabled at the current log level.
    pub fn visible_entries(&self, failed: bool) -> Vec<(Level, String)> {
        self.log
            .entries
            .iter()
            .filter(|(l, _)| failed || crate::log::enabled(*l))
            .map(|(l, m)| (if failed { (*l).max(Level::Info) } else { *l }, m.clone()))
            .collect()
    }

    /// The in-memory log (level, message) as recorded so far.
    pub fn log_entries(&self) -> &[(Level, String)] {
        &self.log.entries
    }

    /// The memoized result of `bin/detect` for `id@version`, if it ran.
    pub fn run_of(&self, id: &str, version: &str) -> Option<&DetectOutputs> {
        self.runs.get(&key_for(&GroupElement::new(id, version)))
    }
}
