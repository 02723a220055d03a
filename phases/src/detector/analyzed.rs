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
        Err(e) => return Err(one_line(&e.to_string())),
    };
    Ok(AnalyzedInfo {
        run_target: analyzed.run_image.and_then(|r| r.target),
    })
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
