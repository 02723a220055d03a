//! Go `copyBuildpacksioSBOMs` (Platform API ≥ 0.11).

use super::Inputs;
use std::path::Path;

/// Go `copyBuildpacksioSBOMs`: the lifecycle's and the launcher's own SBOM files into
/// `<layers>/sbom/{build,launch}/buildpacksio_lifecycle/…`.
pub(super) fn copy_lifecycle_sboms(inputs: &Inputs) -> Result<(), String> {
    const DEFAULT_DIR: &str = "/cnb/lifecycle";
    const EXTS: [&str; 3] = ["sbom.cdx.json", "sbom.spdx.json", "sbom.syft.json"];
    let esc = "buildpacksio_lifecycle";
    let sbom = inputs.layers_dir.join("sbom");
    let copy_default = |component: &str, dst: &Path| -> Result<(), String> {
        for ext in EXTS {
            let name = format!("{component}.{ext}");
            let src = Path::new(DEFAULT_DIR).join(&name);
            match std::fs::metadata(&src) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    cnb::warn!("Did not find SBOM {name} in {DEFAULT_DIR}");
                    continue;
                }
                Err(e) => return Err(e.to_string()),
                Ok(_) => {}
            }
            std::fs::create_dir_all(dst).map_err(|e| e.to_string())?;
            let to = dst.join(ext);
            cnb::debug!("Copying SBOM {name} to {}", to.display());
            std::fs::copy(&src, &to).map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    copy_default("lifecycle", &sbom.join("build").join(esc))?;
    let launch_dst = sbom.join("launch").join(esc).join("launcher");
    let dir = &inputs.launcher_sbom_dir;
    if dir.as_os_str().is_empty() || dir == Path::new(DEFAULT_DIR) {
        return copy_default("launcher", &launch_dst);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        cnb::warn!("Failed to list contents of directory {}", dir.display());
        e.to_string()
    })?;
    std::fs::create_dir_all(&launch_dst).map_err(|e| e.to_string())?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if EXTS.iter().any(|x| name.ends_with(x)) {
            std::fs::copy(e.path(), launch_dst.join(&name)).map_err(|err| {
                cnb::warn!(
                    "failed while copying SBOM from {} to {}",
                    e.path().display(),
                    launch_dst.join(&name).display()
                );
                err.to_string()
            })?;
        }
    }
    Ok(())
}
