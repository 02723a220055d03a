//! Which layers the exporter hashes before deciding on them. Hashing first (the diffID, nothing
//! written) pays only when a previous image or cache may already hold the layer: then a
//! reused layer is never written. A layer nothing can reuse is new everywhere, so it is
//! written straight away and its diffID comes from that write (one pass over its files
//! instead of two). At debug level every layer is hashed first, so that Go's
//! "Layer '…' SHA: …" lines come where Go prints them, before "Saving …".

use cnb::files::{BuildpackLayersMetadata, CacheMetadata, LayersMetadata};

/// A layer the exporter may produce.
#[derive(Clone, Copy, Debug)]
pub enum Layer<'a> {
    /// A buildpack's layer: buildpack id, layer name.
    Buildpack(&'a str, &'a str),
    LaunchSbom,
    CacheSbom,
    /// An app slice (reused when any previous app layer has its diffID).
    Slice,
    Launcher,
    Config,
    ProcessTypes,
}

/// What the previous image (analyzed.toml `[metadata]`) and the previous cache hold.
pub struct Candidates<'a> {
    all: bool,
    image: &'a LayersMetadata,
    cache: Option<&'a CacheMetadata>,
}

impl<'a> Candidates<'a> {
    /// `previous_cache`: `None` without a cache, `Some(None)` for a cache whose metadata
    /// could not be read (then every layer is hashed first: nothing is assumed new).
    pub fn new(
        image: &'a LayersMetadata,
        previous_cache: Option<&'a Option<CacheMetadata>>,
        debug: bool,
    ) -> Candidates<'a> {
        Candidates {
            all: debug || matches!(previous_cache, Some(None)),
            image,
            cache: previous_cache.and_then(Option::as_ref),
        }
    }

    /// Whether `layer` is to be hashed before the decisions.
    pub fn hash_first(&self, layer: Layer<'_>) -> bool {
        let known = |sha: Option<&str>| sha.is_some_and(|s| !s.is_empty());
        let in_bp = |bps: Option<&BuildpackLayersMetadata>, name: &str| {
            known(bps.and_then(|b| b.layers.get(name)).map(|l| l.sha.as_str()))
        };
        self.all
            || match layer {
                Layer::Buildpack(bp, name) => {
                    in_bp(self.image.for_buildpack(bp), name)
                        || in_bp(self.cache.and_then(|c| c.for_buildpack(bp)), name)
                }
                Layer::LaunchSbom => known(self.image.sbom.as_ref().map(|s| s.sha.as_str())),
                Layer::CacheSbom => known(self.cache.map(|c| c.sbom.sha.as_str())),
                Layer::Slice => !self.image.app.is_empty(),
                Layer::Launcher => known(Some(&self.image.launcher.sha)),
                Layer::Config => known(Some(&self.image.config.sha)),
                Layer::ProcessTypes => known(Some(&self.image.process_types.sha)),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cnb::files::{BuildpackLayerMetadata, LayerMetadata};
    use std::collections::BTreeMap;

    const SHA: &str = "sha256:4355a46b19d348dc2f57c046f8ef63d4538ebb936000f3c9ee954a27460dd865";

    fn bp(id: &str, layer: &str) -> BuildpackLayersMetadata {
        BuildpackLayersMetadata {
            id: id.into(),
            version: "1".into(),
            layers: BTreeMap::from([(
                layer.to_string(),
                BuildpackLayerMetadata {
                    sha: SHA.into(),
                    ..Default::default()
                },
            )]),
            store: None,
        }
    }

    const ALL: [Layer<'static>; 8] = [
        Layer::Buildpack("a/bp", "jdk"),
        Layer::Buildpack("a/bp", "m2"),
        Layer::LaunchSbom,
        Layer::CacheSbom,
        Layer::Slice,
        Layer::Launcher,
        Layer::Config,
        Layer::ProcessTypes,
    ];

    fn hashed(c: &Candidates<'_>) -> Vec<bool> {
        ALL.iter().map(|l| c.hash_first(*l)).collect()
    }

    #[test]
    fn a_cold_export_hashes_nothing_first() {
        let image = LayersMetadata::default();
        let empty_cache = Some(CacheMetadata::default());
        for cache in [None, Some(&empty_cache)] {
            assert_eq!(hashed(&Candidates::new(&image, cache, false)), [false; 8]);
        }
    }

    #[test]
    fn debug_level_or_an_unreadable_cache_hashes_everything_first() {
        let image = LayersMetadata::default();
        assert_eq!(hashed(&Candidates::new(&image, None, true)), [true; 8]);
        assert_eq!(
            hashed(&Candidates::new(&image, Some(&None), false)),
            [true; 8]
        );
    }

    #[test]
    fn a_layer_is_hashed_first_when_the_image_or_the_cache_has_its_name() {
        let image = LayersMetadata {
            buildpacks: vec![bp("a/bp", "jdk")],
            app: vec![LayerMetadata::new(SHA.to_string())],
            sbom: Some(LayerMetadata::new(SHA.to_string())),
            launcher: LayerMetadata::new(SHA.to_string()),
            ..Default::default()
        };
        let cache = Some(CacheMetadata {
            buildpacks: vec![bp("a/bp", "m2")],
            ..Default::default()
        });
        assert_eq!(
            hashed(&Candidates::new(&image, Some(&cache), false)),
            [true, true, true, false, true, true, false, false]
        );
        // the same image without a cache: the cache-only layer is new
        assert_eq!(
            hashed(&Candidates::new(&image, None, false)),
            [true, false, true, false, true, true, false, false]
        );
        // another buildpack's layer of the same name is not a candidate
        assert!(!Candidates::new(&image, None, false).hash_first(Layer::Buildpack("b/bp", "jdk")));
    }
}
