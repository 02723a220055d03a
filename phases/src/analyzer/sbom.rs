//! Restoring the previous image's launch SBOM layer (Go `DefaultSBOMRestorer.RestoreFromPrevious`):
//! the layer with the label's `sbom.sha` diffID is extracted at `/` like Go does (its entries
//! are absolute, `<layers>/sbom/launch/…`), for the restorer to copy into the buildpack layers.
//! Digest and diffID are verified while streaming; ownership is not restored (as Go).

use cnb::archive::{Expected, ExtractOptions, extract};
use cnb::digest::Digest;
use cnb::image::{ImageConfig, ImageStore, Manifest};

pub async fn restore_from_previous<S: ImageStore>(
    store: &S,
    name: &str,
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
    let layer = manifest
        .layers
        .get(index)
        .ok_or_else(|| format!("image manifest has no layer {index} for diff ID {diff_id}"))?
        .clone();
    let expected = Expected {
        digest: Some(layer.digest.clone()),
        diff_id: Some(Digest::parse(diff_id).map_err(|e| e.to_string())?),
    };
    let reader = store
        .open_blob(name, &layer)
        .await
        .map_err(|e| e.to_string())?;
    let mut opts = ExtractOptions::new("/", "/", "sbom");
    opts.restore_owner = false;
    let media_type = layer.media_type.as_str().to_string();
    tokio::task::spawn_blocking(move || extract(reader, Some(&media_type), &expected, &opts))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(())
}
