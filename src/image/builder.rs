//! [`Image`]: a working copy of an image being built (exporter, rebaser, cache): a base
//! manifest + config, layers appended or removed, config edits, then serialized into config
//! and manifest bytes with correct digests and sizes.
//!
//! Serialization matches go-containerregistry's `mutate` (what imgutil, and so the Go
//! lifecycle, does): the config is written compactly in ggcr's field order, the manifest keeps
//! the base's media types and annotations, `config.digest/size` are updated (and an embedded
//! `config.data` refreshed), and `subject` is dropped as ggcr's mutation drops it.

use super::config::{ContainerConfig, History, ImageConfig};
use super::descriptor::Descriptor;
use super::manifest::Manifest;
use super::media_type::MediaType;
use super::platform::Platform;
use super::raw::{ImageError, RawConfig, RawManifest};
use crate::digest::Digest;
use base64::Engine as _;

/// The media type imgutil gives a layer it adds: OCI gzip for an image without a base (imgutil
/// picks OCI types then), else ggcr's tarball default, Docker gzip, whatever the base's types
/// (so an OCI base yields mixed types, as the Go lifecycle produces).
pub fn imgutil_layer_media_type(has_base: bool) -> MediaType {
    if has_base {
        MediaType::DOCKER_LAYER_GZIP
    } else {
        MediaType::OCI_LAYER_GZIP
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    manifest: Manifest,
    config: ImageConfig,
}

/// The serialized result of [`Image::build`].
#[derive(Clone, Debug, PartialEq)]
pub struct Built {
    pub config: RawConfig,
    pub manifest: RawManifest,
}

impl Image {
    /// An image with no layers (ggcr's `empty.Image`), with manifest type `manifest_type`
    /// (`MediaType::DOCKER_MANIFEST` like ggcr, or `MediaType::OCI_MANIFEST`) and the config type
    /// that goes with it.
    pub fn empty(manifest_type: MediaType) -> Image {
        let config_type = manifest_type.config_for_manifest();
        let empty_digest = Digest::of(b"");
        Image {
            manifest: Manifest::new(manifest_type, Descriptor::new(config_type, empty_digest, 0)),
            config: ImageConfig::default(),
        }
    }

    /// A new image without a base, as imgutil makes one (`emptyV1`): platform fields set,
    /// empty (non-null) `diff_ids`. imgutil uses OCI types for these (`MediaType::OCI_MANIFEST`).
    pub fn new(platform: &Platform, manifest_type: MediaType) -> Image {
        let mut img = Image::empty(manifest_type);
        img.set_platform(platform);
        img.config.rootfs.diff_ids = Some(Vec::new());
        img
    }

    /// Starts from a base image.
    pub fn from_parts(mut manifest: Manifest, config: ImageConfig) -> Image {
        manifest.subject = None;
        Image { manifest, config }
    }

    /// Starts from a base image read from a store.
    pub fn from_raw(manifest: &RawManifest, config: &RawConfig) -> Result<Image, ImageError> {
        let mut m = manifest.manifest()?;
        if m.media_type.is_empty() {
            m.media_type = manifest.media_type().clone();
        }
        Ok(Image::from_parts(m, config.parse()?))
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn manifest_mut(&mut self) -> &mut Manifest {
        &mut self.manifest
    }

    pub fn config(&self) -> &ImageConfig {
        &self.config
    }

    pub fn config_mut(&mut self) -> &mut ImageConfig {
        &mut self.config
    }

    pub fn container_config_mut(&mut self) -> &mut ContainerConfig {
        &mut self.config.config
    }

    pub fn media_type(&self) -> &MediaType {
        &self.manifest.media_type
    }

    pub fn layers(&self) -> &[Descriptor] {
        &self.manifest.layers
    }

    pub fn diff_ids(&self) -> &[Digest] {
        self.config.rootfs.diff_ids.as_deref().unwrap_or_default()
    }

    /// The diffID of the top layer (the run image's `topLayer` in lifecycle metadata).
    pub fn top_layer_diff_id(&self) -> Option<&Digest> {
        self.diff_ids().last()
    }

    /// The layer descriptor whose diffID is `diff_id`.
    pub fn layer_by_diff_id(&self, diff_id: &Digest) -> Option<&Descriptor> {
        let i = self.diff_ids().iter().position(|d| d == diff_id)?;
        self.manifest.layers.get(i)
    }

    /// Appends a layer: its descriptor in the manifest, its diffID in `rootfs.diff_ids` and
    /// `history` in the config history.
    pub fn append_layer(&mut self, desc: Descriptor, diff_id: Digest, history: History) {
        self.manifest.layers.push(desc);
        self.config
            .rootfs
            .diff_ids
            .get_or_insert_with(Vec::new)
            .push(diff_id);
        self.config.history.push(history);
    }

    /// Removes the layer at `index` (and its history entry when the history has exactly one
    /// non-empty entry per layer). Returns its descriptor and diffID.
    pub fn remove_layer(&mut self, index: usize) -> Option<(Descriptor, Digest)> {
        let diff_ids = self.config.rootfs.diff_ids.as_mut()?;
        if index >= diff_ids.len() || index >= self.manifest.layers.len() {
            return None;
        }
        let non_empty: Vec<usize> = self
            .config
            .history
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.empty_layer)
            .map(|(i, _)| i)
            .collect();
        if non_empty.len() == diff_ids.len() {
            self.config.history.remove(non_empty[index]);
        }
        let diff_id = diff_ids.remove(index);
        Some((self.manifest.layers.remove(index), diff_id))
    }

    /// Keeps the bottom `keep` layers, removing the rest (top first).
    pub fn truncate_layers(&mut self, keep: usize) {
        while self.layers().len() > keep {
            if self.remove_layer(self.layers().len() - 1).is_none() {
                break;
            }
        }
    }

    /// Sets `KEY=value` in `Env`, replacing an existing entry for `key` (key compared without
    /// case for Windows images, as imgutil does).
    pub fn set_env(&mut self, key: &str, value: &str) {
        if self.config.os == "windows" {
            let entry = format!("{key}={value}");
            let env = &mut self.config.config.env;
            match env.iter_mut().find(|e| {
                e.split('=')
                    .next()
                    .is_some_and(|k| k.eq_ignore_ascii_case(key))
            }) {
                Some(e) => *e = entry,
                None => env.push(entry),
            }
        } else {
            self.config.config.set_env_var(key, value);
        }
    }

    pub fn env(&self, key: &str) -> Option<&str> {
        self.config.config.env_var(key)
    }

    pub fn set_label(&mut self, key: &str, value: &str) {
        self.config
            .config
            .labels
            .insert(key.to_string(), value.to_string());
    }

    pub fn remove_label(&mut self, key: &str) -> Option<String> {
        self.config.config.labels.remove(key)
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.config.config.labels.get(key).map(String::as_str)
    }

    /// Empty clears it (written as absent, like Go's nil).
    pub fn set_entrypoint(&mut self, entrypoint: Vec<String>) {
        self.config.config.entrypoint = entrypoint;
    }

    /// Empty clears it (written as absent, like Go's nil).
    pub fn set_cmd(&mut self, cmd: Vec<String>) {
        self.config.config.cmd = cmd;
    }

    pub fn set_working_dir(&mut self, dir: &str) {
        self.config.config.working_dir = dir.to_string();
    }

    pub fn set_user(&mut self, user: &str) {
        self.config.config.user = user.to_string();
    }

    /// The config's `created` (RFC 3339, e.g. [`rfc3339_utc`](super::config::rfc3339_utc)).
    pub fn set_created(&mut self, created: &str) {
        self.config.created = Some(created.to_string());
    }

    /// Rewrites `created` of every history entry.
    pub fn set_history_created(&mut self, created: &str) {
        for h in &mut self.config.history {
            h.created = Some(created.to_string());
        }
    }

    /// imgutil's `NormalizedHistory`: drops `empty_layer` entries when the rest match the layers
    /// one-to-one, else replaces the history with one blank entry per layer.
    pub fn normalize_history(&mut self) {
        let layers = self.diff_ids().len();
        let kept: Vec<History> = self
            .config
            .history
            .iter()
            .filter(|h| !h.empty_layer)
            .cloned()
            .collect();
        self.config.history = if kept.len() == layers {
            kept
        } else {
            vec![History::default(); layers]
        };
    }

    /// imgutil's save-time `SetCreatedAtAndHistory`: config `created` = `created`, `container`
    /// cleared, history normalized, and every entry's `created` = `created` (entries blanked
    /// first unless `preserve_history`).
    pub fn set_created_at_and_history(&mut self, created: &str, preserve_history: bool) {
        self.config.created = Some(created.to_string());
        self.config.container.clear();
        self.normalize_history();
        for h in &mut self.config.history {
            if !preserve_history {
                *h = History::default();
            }
            h.created = Some(created.to_string());
        }
    }

    /// Sets os, architecture, variant and os.version of the config.
    pub fn set_platform(&mut self, platform: &Platform) {
        self.config.os = platform.os.clone();
        self.config.architecture = platform.architecture.clone();
        self.config.variant = platform.variant.clone();
        self.config.os_version = platform.os_version.clone();
    }

    pub fn set_annotation(&mut self, key: &str, value: &str) {
        self.manifest
            .annotations
            .insert(key.to_string(), value.to_string());
    }

    /// Drops every field go-containerregistry does not model (config, manifest, descriptors)
    /// and re-formats times like Go, so the bytes equal what the Go lifecycle would write for
    /// this image. Without it, unknown fields of the base image are carried over.
    pub fn ggcr_compatible(&mut self) {
        self.config.make_ggcr_compatible();
        let m = &mut self.manifest;
        m.extra.clear();
        for d in std::iter::once(&mut m.config).chain(m.layers.iter_mut()) {
            d.extra.clear();
            if let Some(p) = &mut d.platform {
                p.extra.clear();
            }
        }
    }

    /// Serializes config and manifest. Fails when layers and diffIDs disagree in number.
    pub fn build(&self) -> Result<Built, ImageError> {
        if self.layers().len() != self.diff_ids().len() {
            return Err(ImageError::LayerCount {
                layers: self.layers().len(),
                diff_ids: self.diff_ids().len(),
            });
        }
        let config = RawConfig::from_config(&self.config)?;
        let mut manifest = self.manifest.clone();
        if manifest.schema_version == 0 {
            manifest.schema_version = 2;
        }
        if manifest.config.media_type.is_empty() {
            manifest.config.media_type = manifest.media_type.config_for_manifest();
        }
        manifest.config.digest = config.digest().clone();
        manifest.config.size = config.size();
        if manifest.config.data.is_some() {
            manifest.config.data =
                Some(base64::engine::general_purpose::STANDARD.encode(config.bytes()));
        }
        Ok(Built {
            config,
            manifest: RawManifest::from_manifest(&manifest)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(n: u8) -> (Descriptor, Digest) {
        (
            Descriptor::new(MediaType::OCI_LAYER_GZIP, Digest::of(&[n, 0]), 10),
            Digest::of(&[n]),
        )
    }

    #[test]
    fn append_remove_truncate_keep_history_aligned() {
        let mut img = Image::new(&Platform::new("linux", "amd64"), MediaType::OCI_MANIFEST);
        img.config_mut().history.push(History {
            created_by: "ENV".into(),
            empty_layer: true,
            ..Default::default()
        });
        for n in 0..4 {
            let (d, id) = layer(n);
            img.append_layer(
                d,
                id,
                History {
                    created_by: format!("layer {n}"),
                    ..Default::default()
                },
            );
        }
        assert_eq!(img.top_layer_diff_id(), Some(&Digest::of(&[3])));
        assert_eq!(
            img.layer_by_diff_id(&Digest::of(&[2]))
                .map(|d| d.digest.clone()),
            Some(Digest::of(&[2, 0]))
        );
        let (d, id) = img.remove_layer(1).unwrap();
        assert_eq!((d.digest, id), (Digest::of(&[1, 0]), Digest::of(&[1])));
        let by: Vec<_> = img
            .config()
            .history
            .iter()
            .map(|h| h.created_by.as_str())
            .collect();
        assert_eq!(by, ["ENV", "layer 0", "layer 2", "layer 3"]);
        img.truncate_layers(1);
        assert_eq!(img.diff_ids(), [Digest::of(&[0])]);
        assert_eq!(img.layers().len(), 1);
        assert!(img.remove_layer(5).is_none());
        let built = img.build().unwrap();
        let m = built.manifest.manifest().unwrap();
        assert_eq!(
            (m.config.digest.clone(), m.config.size),
            (built.config.digest().clone(), built.config.size())
        );
    }

    #[test]
    fn build_rejects_misaligned_layers() {
        let mut img = Image::empty(MediaType::DOCKER_MANIFEST);
        img.manifest_mut().layers.push(layer(0).0);
        assert!(matches!(
            img.build(),
            Err(ImageError::LayerCount {
                layers: 1,
                diff_ids: 0
            })
        ));
    }

    #[test]
    fn history_normalization_like_imgutil() {
        let mut img = Image::new(&Platform::new("linux", "amd64"), MediaType::OCI_MANIFEST);
        let (d, id) = layer(0);
        img.append_layer(
            d,
            id,
            History {
                created_by: "kept".into(),
                ..Default::default()
            },
        );
        img.config_mut().history.push(History {
            created_by: "extra".into(),
            ..Default::default()
        });
        img.set_created_at_and_history("2000-01-01T00:00:00Z", true);
        assert_eq!(
            img.config().history,
            [History {
                created: Some("2000-01-01T00:00:00Z".into()),
                ..Default::default()
            }]
        );
        img.config_mut().container = "abc".into();
        img.config_mut().history[0].created_by = "x".into();
        img.set_created_at_and_history("2001-01-01T00:00:00Z", false);
        assert!(img.config().container.is_empty());
        assert_eq!(img.config().history[0].created_by, "");
    }

    #[test]
    fn windows_env_is_case_insensitive() {
        let mut img = Image::new(&Platform::new("windows", "amd64"), MediaType::OCI_MANIFEST);
        img.set_env("Path", "C:\\a");
        img.set_env("PATH", "C:\\b");
        assert_eq!(img.config().config.env, ["PATH=C:\\b"]);
    }
}
