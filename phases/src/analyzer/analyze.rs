//! The analysis proper (Go `phase.Analyzer.Analyze`), generic over the image store: previous
//! image identifier and lifecycle metadata label, SBOM layer restore, run image identifier
//! and target data. Names are what the store understands (image references for a registry,
//! paths inside `-layout-dir` for a layout).

use super::sbom;
use cnb::api::Version;
use cnb::files::{
    Analyzed, ImageIdentifier, LIFECYCLE_METADATA_LABEL, LayersMetadata, RunImage, TargetMetadata,
};
use cnb::image::store::read_image;
use cnb::image::{ImageConfig, ImageStore, Manifest, Platform, RawManifest};

/// What to analyze.
#[derive(Clone, Debug)]
pub struct Request {
    pub platform_api: Version,
    /// Store name of the previous image (`None`: none, as Go with an empty ref).
    pub previous_image: Option<String>,
    /// Store name of the run image; also written as `run-image.image` (≥ 0.12).
    pub run_image: Option<String>,
    /// Platform to pick from indexes and the one an image that does not exist gets (imgutil
    /// gives a missing base image an empty config with this OS/architecture).
    pub platform: Platform,
    /// Platform API ≥ 0.8 and no `-skip-layers`: restore the previous image's SBOM layer.
    pub restore_sbom: bool,
}

/// Failures, already in Go's wording; `init` ones are reported as "failed to initialize
/// analyzer: …", the others as "failed to analyze: …" (both exit 32).
#[derive(Debug)]
pub enum Failure {
    Init(String),
    Analyze(String),
}

/// An image as the analysis sees it: `None` when it does not exist.
struct Found {
    manifest: RawManifest,
    config: ImageConfig,
    parsed: Manifest,
}

async fn open<S: ImageStore>(
    store: &S,
    name: &str,
    platform: &Platform,
) -> Result<Option<Found>, String> {
    let Some((manifest, parsed, config)) = read_image(store, name, platform)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let config = config.parse().map_err(|e| e.to_string())?;
    Ok(Some(Found {
        manifest,
        config,
        parsed,
    }))
}

/// Go `getImageIdentifier`: logs when the image is missing, returns "" then.
fn identifier<S: ImageStore>(
    store: &S,
    name: &str,
    image: Option<&Found>,
) -> Result<String, String> {
    let Some(found) = image else {
        cnb::info!("Image with name {name:?} not found");
        return Ok(String::new());
    };
    let id = store
        .identifier(name, found.manifest.digest())
        .map_err(|e| e.to_string())?;
    cnb::debug!("Found image with identifier {id:?}");
    Ok(id)
}

pub async fn analyze<S: ImageStore>(store: &S, req: &Request) -> Result<Analyzed, Failure> {
    // Go opens both images while constructing the analyzer, then starts its timer.
    let previous = match &req.previous_image {
        Some(name) => Some((
            name.as_str(),
            open(store, name, &req.platform)
                .await
                .map_err(|e| Failure::Init(format!("getting previous image: {e}")))?,
        )),
        None => None,
    };
    let run = match &req.run_image {
        Some(name) => Some((
            name.as_str(),
            open(store, name, &req.platform)
                .await
                .map_err(|e| Failure::Init(format!("getting run image: {e}")))?,
        )),
        None => None,
    };

    let _timer = crate::common::timer::Measurement::start("Analyzer");
    let (metadata, previous_ref) = match &previous {
        None => (LayersMetadata::default(), String::new()),
        Some((name, image)) => app_metadata(store, name, image.as_ref())
            .map_err(|e| Failure::Analyze(format!("identifying previous image: {e}")))?,
    };

    if req.restore_sbom
        && let Some((name, Some(image))) = &previous
        && let Some(sha) = metadata.sbom.as_ref().map(|s| s.sha.as_str())
        && !sha.is_empty()
    {
        sbom::restore_from_previous(store, name, &image.parsed, &image.config, sha)
            .await
            .map_err(|e| Failure::Analyze(format!("retrieving launch SBOM layer: {e}")))?;
    }

    let mut run_image = RunImage::default();
    if let Some((name, image)) = &run {
        run_image.reference = identifier(store, name, image.as_ref())
            .map_err(|e| Failure::Analyze(format!("identifying run image: {e}")))?;
        if req.platform_api.at_least("0.12") {
            run_image.image = name.to_string();
            let target = match image {
                Some(f) => TargetMetadata::from_image(
                    &f.config.os,
                    &f.config.architecture,
                    &f.config.variant,
                    &f.config.config.labels,
                ),
                None => TargetMetadata::from_image(
                    &req.platform.os,
                    &req.platform.architecture,
                    &req.platform.variant,
                    &Default::default(),
                ),
            }
            .map_err(|e| Failure::Analyze(e.to_string()))?;
            run_image.target = Some(target);
        }
    }

    Ok(Analyzed {
        previous_image: Some(ImageIdentifier::new(previous_ref)),
        build_image: None,
        layers_metadata: metadata,
        run_image: Some(run_image),
    })
}

/// Go `retrieveAppMetadata`: identifier + label; an undecodable label means "no previous
/// image" (empty metadata and reference), silently.
fn app_metadata<S: ImageStore>(
    store: &S,
    name: &str,
    image: Option<&Found>,
) -> Result<(LayersMetadata, String), String> {
    let reference = identifier(store, name, image)?;
    let Some(found) = image else {
        return Ok((LayersMetadata::default(), reference));
    };
    match found.config.config.labels.get(LIFECYCLE_METADATA_LABEL) {
        None => Ok((LayersMetadata::default(), reference)),
        Some(label) if label.is_empty() => Ok((LayersMetadata::default(), reference)),
        Some(label) => match LayersMetadata::from_label(label) {
            Ok(md) => Ok((md, reference)),
            // Go continues silently when the label cannot be decoded.
            Err(_) => Ok((LayersMetadata::default(), String::new())),
        },
    }
}
