//! `<layers>/config/metadata.toml` from what the group built (Go `phase.Builder.Build`'s
//! `files.BuildMetadata`): the group's buildpacks and extensions, processes sorted by type
//! with `default` cleared and `command` shaped for the Platform API, the default process
//! type, labels and slices in buildpack order. The legacy `bom` is always empty (Platform
//! ≥ 0.9 moves it to `<layers>/sbom/launch/sbom.legacy.json`).

use cnb::api::Version;
use cnb::buildpack::GroupElement;
use cnb::buildpack::build::BuildResult;
use cnb::files::metadata::{self as md, Metadata};

fn element(e: &GroupElement) -> md::GroupElement {
    md::GroupElement {
        id: e.id.clone(),
        version: e.version.clone(),
        api: e.api.clone(),
        homepage: e.homepage.clone(),
        extension: e.extension,
        optional: e.optional,
    }
}

/// The metadata.toml value for `result` at `platform_api`.
pub fn from_result(result: &BuildResult, platform_api: Version) -> Metadata {
    Metadata {
        bom: Vec::new(),
        buildpacks: result.buildpacks.iter().map(element).collect(),
        extensions: result.extensions.iter().map(element).collect(),
        labels: result
            .labels
            .iter()
            .map(|l| md::Label {
                key: l.key.clone(),
                value: l.value.clone(),
            })
            .collect(),
        processes: result
            .processes
            .iter()
            .cloned()
            .map(|p| p.no_default().with_platform_api(platform_api))
            .collect(),
        slices: result
            .slices
            .iter()
            .map(|s| md::Slice {
                paths: s.paths.clone(),
            })
            .collect(),
        buildpack_default_process_type: result.default_process_type.clone(),
    }
}
