//! TO BE REPLACED by the `cnb::files` readers: the two platform files input resolution must
//! peek at before any phase runs (Go `files.Handler.ReadRun` / `ReadStack` / `ReadAnalyzed`).
//! Only the keys resolution needs are read; a missing file is not an error, as in Go.

use std::io::ErrorKind;

/// `[[images]]` of run.toml (or `[run-image]` of stack.toml): the image and its mirrors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunImageForExport {
    pub image: String,
    pub mirrors: Vec<String>,
}

fn read_table(path: &str, what: &str) -> Result<Option<toml::Table>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("failed to read {what} file: open {path}: {e}")),
    };
    text.parse::<toml::Table>()
        .map(Some)
        .map_err(|e| format!("failed to read {what} file: {e}"))
}

fn run_image_of(t: &toml::Table) -> RunImageForExport {
    let image = t
        .get("image")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let mirrors = t
        .get("mirrors")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    RunImageForExport { image, mirrors }
}

/// run.toml `images` (Platform API ≥ 0.12). A missing file logs like Go and reads as empty.
pub fn read_run_images(path: &str) -> Result<Vec<RunImageForExport>, String> {
    let Some(t) = read_table(path, "run")? else {
        cnb::info!("No run metadata found at path {path:?}");
        return Ok(Vec::new());
    };
    Ok(t.get("images")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|i| i.as_table().map(run_image_of))
                .collect()
        })
        .unwrap_or_default())
}

/// stack.toml `[run-image]` (Platform API < 0.12).
pub fn read_stack_run_image(path: &str) -> Result<RunImageForExport, String> {
    let Some(t) = read_table(path, "stack")? else {
        cnb::info!("No stack metadata found at path {path:?}");
        return Ok(RunImageForExport::default());
    };
    Ok(t.get("run-image")
        .and_then(|v| v.as_table())
        .map(run_image_of)
        .unwrap_or_default())
}

/// analyzed.toml `run-image.reference` ("" when absent; a missing file warns like Go).
pub fn read_analyzed_run_image_reference(path: &str) -> Result<String, String> {
    let Some(t) = read_table(path, "analyzed")? else {
        cnb::warn!("No analyzed metadata found at path {path:?}");
        return Ok(String::new());
    };
    Ok(t.get("run-image")
        .and_then(|v| v.get("reference"))
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_resolution_needs() {
        let d = tempfile::tempdir().unwrap();
        let p = |n: &str| d.path().join(n).to_string_lossy().into_owned();
        std::fs::write(p("run.toml"), "[[images]]\nimage = \"r/run\"\nmirrors = [\"m.io/run\"]\n[[images]]\nimage = \"x/y\"\n").unwrap();
        std::fs::write(p("stack.toml"), "[run-image]\nimage = \"s/run\"\n").unwrap();
        std::fs::write(
            p("analyzed.toml"),
            "[run-image]\nreference = \"r/run@sha256:00\"\n",
        )
        .unwrap();
        std::fs::write(p("bad.toml"), "[[images]\n").unwrap();
        let imgs = read_run_images(&p("run.toml")).unwrap();
        assert_eq!(
            imgs[0],
            RunImageForExport {
                image: "r/run".into(),
                mirrors: vec!["m.io/run".into()]
            }
        );
        assert_eq!(imgs.len(), 2);
        assert!(read_run_images(&p("missing.toml")).unwrap().is_empty());
        assert!(
            read_run_images(&p("bad.toml"))
                .unwrap_err()
                .starts_with("failed to read run file: ")
        );
        assert_eq!(
            read_stack_run_image(&p("stack.toml")).unwrap().image,
            "s/run"
        );
        assert_eq!(
            read_analyzed_run_image_reference(&p("analyzed.toml")).unwrap(),
            "r/run@sha256:00"
        );
        assert_eq!(
            read_analyzed_run_image_reference(&p("missing.toml")).unwrap(),
            ""
        );
    }
}
