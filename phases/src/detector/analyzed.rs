//! analyzed.toml as the detector and builder read it (Go `files.Handler.ReadAnalyzed`): a
//! missing file is a warning `No analyzed metadata found at path "<path>"` and empty data;
//! only the run-image target is used (for `CNB_TARGET_*` and target matching).

use cnb::buildpack::BaseTarget;
use cnb::files::Analyzed;
use std::path::Path;

/// What the detector and builder take from analyzed.toml.
#[derive(Clone, Debug, Default)]
pub struct AnalyzedInfo {
    pub run_target: Option<BaseTarget>,
}

/// Reads `path`; the error text is the file error ("failed to read analyzed file: …").
pub fn read(path: &Path) -> Result<AnalyzedInfo, String> {
    let analyzed = match Analyzed::read_optional(path) {
        Ok(Some(a)) => a,
        Ok(None) => {
            cnb::warn!(
                "No analyzed metadata found at path {}",
                crate::cli::goflag::go_quote(&path.display().to_string())
            );
            return Ok(AnalyzedInfo::default());
        }
        Err(e) => return Err(go_message(&e)),
    };
    Ok(AnalyzedInfo {
        run_target: analyzed.run_image.and_then(|r| r.target),
    })
}

/// Go's shape: "failed to read analyzed file: toml: line N: …" or "… open <path>: <os error>".
fn go_message(e: &cnb::files::Error) -> String {
    let cause = match e {
        cnb::files::Error::Parse { path, source, .. } => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            format!(
                "toml: {}",
                cnb::files::metadata::toml_error_text(&text, source)
            )
        }
        cnb::files::Error::Read { path, source, .. } => {
            format!("open {}: {}", path.display(), cnb::env::go_io_error(source))
        }
        other => return other.to_string(),
    };
    format!("failed to read analyzed file: {cause}")
}
