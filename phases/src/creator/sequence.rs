//! Go `createCmd.Exec`: the five phases in-process, in order, each behind its banner.
//! Privileges were dropped (and the keychain resolved) by `creator::privileges` before this
//! runs, so the detector's and builder's own root checks (in their `privileges`, not called
//! here) are not needed: buildpacks run as `-uid`/`-gid`.

use super::{Inputs, phases};
use crate::{analyzer, builder, detector, exporter, restorer};
use cnb::exit::{ExitCode, LifecycleError};
use cnb::files::Analyzed;
use cnb::log::phase_header;

const EXTENSIONS_UNSUPPORTED: &str =
    "detected order contains extensions which is not supported by the creator";

pub fn run(inputs: &Inputs) -> Result<(), LifecycleError> {
    phase_header("ANALYZING");
    analyzer::run(&phases::analyzer(inputs))?;

    phase_header("DETECTING");
    if order_has_extensions(inputs) {
        return Err(extensions_error());
    }
    detector::run(&phases::detector(inputs))?;
    if group_has_extensions(inputs) {
        return Err(extensions_error());
    }

    // Go: `if !SkipLayers || PlatformAPI >= 0.10` — always at the APIs we support (≥ 0.12):
    // the restorer also restores store.toml; `-skip-restore` reaches it as skip-layers.
    if !inputs.skip_restore || inputs.platform_api.at_least("0.10") {
        phase_header("RESTORING");
        restorer::run(&phases::restorer(inputs))?;
    }

    phase_header("BUILDING");
    builder::run(&phases::builder(inputs))?;

    phase_header("EXPORTING");
    let run_image = analyzed_run_image(inputs)?;
    exporter::run(&phases::exporter(inputs, run_image))
}

fn extensions_error() -> LifecycleError {
    LifecycleError::failed(ExitCode::DetectError, "detect", EXTENSIONS_UNSUPPORTED)
}

/// The detection engine runs no extensions, so an order with `[[order-extensions]]` is
/// refused before detecting (Go refuses once the detected group holds one; with no extension
/// support every such order ends there or in the detector's own refusal). An unreadable
/// order is left to the detector, which reports it in Go's words.
fn order_has_extensions(inputs: &Inputs) -> bool {
    cnb::buildpack::read_order(&inputs.order_path)
        .map(|o| !o.order_extensions.is_empty())
        .unwrap_or(false)
}

fn group_has_extensions(inputs: &Inputs) -> bool {
    cnb::buildpack::group::read_group(&inputs.group_path)
        .map(|g| !g.group_extensions.is_empty())
        .unwrap_or(false)
}

/// analyzed.toml's `run-image.reference`, which the exporter builds on (Go passes the
/// analyzed metadata along in memory).
fn analyzed_run_image(inputs: &Inputs) -> Result<String, LifecycleError> {
    let analyzed = Analyzed::read(&inputs.analyzed_path)
        .map_err(|e| LifecycleError::failed(ExitCode::Failed, "read analyzed metadata", e))?;
    let reference = analyzed.run_image_ref();
    if reference.is_empty() {
        return Err(LifecycleError::failed(
            ExitCode::ExportError,
            "export",
            "run image not found in analyzed metadata",
        ));
    }
    Ok(reference.to_string())
}
