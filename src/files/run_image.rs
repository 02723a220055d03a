//! Run image choice (Go `platform/run_image.go`), as pure functions. Name parsing and
//! registry access are supplied by the caller as closures:
//! - `registry_of(ref)`: the registry of a reference as go-containerregistry prints it
//!   (`index.docker.io` for Docker Hub), `None` if it does not parse;
//! - `normalize(ref)`: Go `name.ParseMaybe` (digest stripped, `:latest` added, Docker Hub
//!   expanded); used to compare names;
//! - `readable(ref)`: the read-access check (remote: manifest readable; daemon/layout: true).

use super::layers_metadata::{LayersMetadata, RunImageForExport};
use super::run::Run;

/// Why no run image could be chosen (messages are Go's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunImageError {
    #[error("-run-image is required when there is no run metadata available")]
    NoRunMetadata,
    #[error("missing run image metadata (-run-image)")]
    MissingImage,
    #[error("failed to find accessible run image")]
    NoneAccessible,
    #[error("no run image metadata available")]
    NoMetadata,
    #[error("selected run image '{0}' is not accessible")]
    SelectedNotAccessible(String),
}

/// The analyzer/creator candidate set when `-run-image` is not given (Platform ≥ 0.12):
/// only the first `[[images]]` entry of run.toml is considered.
pub fn run_toml_candidates(run: &Run) -> Result<&RunImageForExport, RunImageError> {
    run.images.first().ok_or(RunImageError::NoRunMetadata)
}

/// Go `BestRunImageMirrorFor`: among `image` + `mirrors`, the first one on
/// `target_registry` that is readable, else the first readable one.
pub fn best_run_image_mirror(
    target_registry: &str,
    run_image: &RunImageForExport,
    registry_of: impl Fn(&str) -> Option<String>,
    mut readable: impl FnMut(&str) -> bool,
) -> Result<String, RunImageError> {
    if run_image.image.is_empty() {
        return Err(RunImageError::MissingImage);
    }
    for candidate in run_image.candidates() {
        if registry_of(candidate).as_deref() == Some(target_registry) && readable(candidate) {
            return Ok(candidate.to_owned());
        }
    }
    for candidate in run_image.candidates() {
        if readable(candidate) {
            return Ok(candidate.to_owned());
        }
    }
    Err(RunImageError::NoneAccessible)
}

/// Go `GetRunImageForExport` for Platform ≥ 0.12 (the label's `runImage.image/mirrors`):
/// the first run.toml entry naming the analyzed `run-image.image`; else, when extensions
/// were used (metadata.toml lists extensions), just that image; else `images[0]`; empty
/// when run.toml has no images. (Below 0.12 the caller uses stack.toml's `[run-image]`.)
pub fn run_image_for_export(
    run: &Run,
    analyzed_run_image: &str,
    used_extensions: bool,
    normalize: impl Fn(&str) -> String,
) -> RunImageForExport {
    let Some(first) = run.images.first() else {
        return RunImageForExport::default();
    };
    if let Some(found) = run.find_by_ref(analyzed_run_image, &normalize) {
        return found.clone();
    }
    if used_extensions {
        return RunImageForExport {
            image: analyzed_run_image.to_owned(),
            mirrors: Vec::new(),
        };
    }
    first.clone()
}

/// Go `GetRunImageFromMetadata` (rebaser): the app image label's `runImage` (Platform
/// ≥ 0.12 and set), else the legacy `stack.runImage`.
pub fn run_image_from_metadata(
    platform_at_least_0_12: bool,
    md: &LayersMetadata,
) -> Result<RunImageForExport, RunImageError> {
    if platform_at_least_0_12 && !md.run_image.image.is_empty() {
        return Ok(md.run_image.for_export());
    }
    match &md.stack {
        Some(stack) if !stack.run_image.image.is_empty() => Ok(stack.run_image.clone()),
        _ => Err(RunImageError::NoMetadata),
    }
}

/// Go `ResolveRunImageFromAnalyzed` (restorer, Platform ≥ 0.14): an analyzed run image
/// that run.toml lists must still be readable; one it does not list is kept as is.
pub fn resolve_run_image_from_analyzed(
    analyzed_run_image: &str,
    run: &Run,
    normalize: impl Fn(&str) -> String,
    mut readable: impl FnMut(&str) -> bool,
) -> Result<String, RunImageError> {
    if !run.contains(analyzed_run_image, normalize) || readable(analyzed_run_image) {
        return Ok(analyzed_run_image.to_owned());
    }
    Err(RunImageError::SelectedNotAccessible(
        analyzed_run_image.to_owned(),
    ))
}
