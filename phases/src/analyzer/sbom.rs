//! Restoring the previous image's launch SBOM layer (Go `DefaultSBOMRestorer.RestoreFromPrevious`):
//! the layer with the label's `sbom.sha` diffID is extracted at `/`, recreating
//! `<layers>/sbom/launch/…` for the restorer to copy into the buildpack layers.

use cnb::image::{ImageConfig, ImageStore, Manifest};

pub async fn restore_from_previous<S: ImageStore>(
    _store: &S,
    _name: &str,
    manifest: &Manifest,
    config: &ImageConfig,
    diff_id: &str,
) -> Result<(), String> {
    cnb::info!("Restoring data for SBOM from previous image");
    cnb::debug!("Retrieving previous image SBOM layer for {diff_id:?}");
    let index = config
        .rootfs
        .diff_ids
        .as_deref()
        .unwrap_or_default()
        .iter()
        .position(|d| d.as_str() == diff_id)
        .ok_or_else(|| format!("failed to find layer with diff ID {diff_id:?}"))?;
    let _layer = manifest
        .layers
        .get(index)
        .ok_or_else(|| format!("image manifest has no layer {index} for diff ID {diff_id}"))?;
    // TODO(archive): stream `_store.open_blob(_name, _layer)` through the decoder for its media
    // type and extract it at "/" with `cnb::archive::extract` once the `layers` branch (safe
    // extraction) is merged. Until then the SBOM files are not restored; the build continues
    // as Go's would without a previous SBOM.
    cnb::warn!(
        "Restoring the SBOM layer {diff_id} is not implemented yet in cnb-lifecycle-rs; continuing without it"
    );
    Ok(())
}
