//! Buildpacks as the lifecycle sees them (Buildpack API spec, Go lifecycle `buildpack/`,
//! `phase/detector.go`, `phase/builder.go`): descriptors, order/system/group/plan files, the
//! detection algorithm (running `bin/detect`) and the build primitives (running `bin/build`
//! and reading what it wrote).
//!
//! Seams kept narrow on purpose: the buildpack environment arrives as a ready map (see
//! [`detect::EnvProvider`] and [`build::BuildEnvSource`]; [`env_source::LayeredEnv`] is the
//! Go-identical implementation over [`crate::env`] that the phases use); what `bin/build`
//! writes is read through the [`crate::files`] models ([`launch_out`]); TOML output goes through one
//! function per file ([`group::group_to_toml`], [`plan::plan_to_toml`],
//! [`plan::buildpack_plan_to_toml`]) so the serializer can be swapped in one place.

pub mod build;
pub mod build_run;
pub mod descriptor;
pub mod detect;
pub mod detect_run;
mod detect_walk;
pub mod env_source;
pub mod group;
pub mod launch_out;
pub mod lookup;
pub mod order;
pub mod plan;
pub mod resolve;
pub mod sbom;
pub mod target;

pub use descriptor::{BuildpackDescriptor, BuildpackInfo, read_descriptor};
pub use group::{Group, GroupElement};
pub use lookup::{BuildpackStore, escape_id};
pub use order::{Order, OrderFile, System, merge_system, read_order, read_system};
pub use plan::{BuildPlanEntry, BuildpackPlan, DetectPlan, Plan, PlanSections, Provide, Require};
pub use target::{BaseTarget, OsDistro, TargetMetadata};

use std::path::PathBuf;

/// A buildpack's environment: names and values used verbatim (env files may hold any bytes).
pub type BuildpackEnv = std::collections::BTreeMap<std::ffi::OsString, std::ffi::OsString>;

/// Errors reading or writing buildpack-related files. Messages follow the Go lifecycle:
/// "failed to read order file: open <path>: no such file or directory",
/// "failed to read group file: toml: line 1: …". [`FileError::bare`] gives the message
/// without the "failed to read … file: " prefix (used for buildpack descriptors, which Go
/// reports bare).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("failed to read {what} file: {}", self.bare())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to read {what} file: {}", self.bare())]
    Parse {
        what: &'static str,
        path: PathBuf,
        /// "toml: line N: <parser message>"
        message: String,
    },
    #[error("failed to write {what} file: {}: {message}", path.display())]
    Write {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
}

impl FileError {
    /// True when the file simply does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// The cause alone: "open <path>: <os error>" or "toml: line N: <message>".
    pub fn bare(&self) -> String {
        match self {
            FileError::Read { path, source, .. } => {
                format!(
                    "open {}: {}",
                    path.display(),
                    detect_run::go_io_error(source)
                )
            }
            FileError::Parse { message, .. } => message.clone(),
            FileError::Write { path, message, .. } => format!("{}: {message}", path.display()),
        }
    }

    /// The file involved.
    pub fn path(&self) -> &std::path::Path {
        match self {
            FileError::Read { path, .. }
            | FileError::Parse { path, .. }
            | FileError::Write { path, .. } => path,
        }
    }
}

/// A TOML parse error in BurntSushi's shape: "toml: line N: <message>".
pub(crate) fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = one_line(e.message());
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("toml: line {line}: {msg}")
        }
        None => format!("toml: {msg}"),
    }
}

/// Reads and parses one TOML file; `what` names it in errors ("order", "group", "plan"…).
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(
    what: &'static str,
    path: &std::path::Path,
) -> Result<T, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| FileError::Parse {
        what,
        path: path.to_path_buf(),
        message: toml_error(&text, &e),
    })
}

/// Writes `text` to `path` (creating parent directories).
pub(crate) fn write_text(
    what: &'static str,
    path: &std::path::Path,
    text: &str,
) -> Result<(), FileError> {
    let err = |e: std::io::Error| FileError::Write {
        what,
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(path, text).map_err(err)
}

/// toml's errors span several lines (with a source excerpt); keep them on one log line.
pub(crate) fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
