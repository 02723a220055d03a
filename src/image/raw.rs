//! Manifests and configs as the exact bytes read or written. Digests are always computed over
//! these bytes; parsing never changes them, and a value we did not change is never
//! re-serialized.

use super::config::ImageConfig;
use super::descriptor::Descriptor;
use super::index::Index;
use super::json::to_go_json;
use super::manifest::Manifest;
use super::media_type::MediaType;
use crate::digest::Digest;
use bytes::Bytes;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("failed to parse {what} {digest}: {source}")]
    Parse {
        what: &'static str,
        digest: Digest,
        source: serde_json::Error,
    },
    #[error("failed to serialize {what}: {source}")]
    Serialize {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{digest} has media type '{media_type}', want {want}")]
    WrongMediaType {
        digest: Digest,
        media_type: MediaType,
        want: &'static str,
    },
    #[error("no manifest in index {index} matches platform {platform}")]
    NoMatchingPlatform { index: Digest, platform: String },
    #[error("image has {layers} layers but {diff_ids} diffIDs")]
    LayerCount { layers: usize, diff_ids: usize },
    #[error("index nesting deeper than {0} levels")]
    TooDeep(usize),
}

/// A parsed manifest-like document.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Parsed {
    Manifest(Manifest),
    Index(Index),
}

/// A manifest or index: its exact bytes, media type and digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawManifest {
    bytes: Bytes,
    media_type: MediaType,
    digest: Digest,
}

impl RawManifest {
    /// Wraps `bytes`. The media type is `media_type` when it names a manifest or index (e.g. the
    /// registry's Content-Type, parameters like `; charset=utf-8` ignored, or the descriptor's),
    /// else the document's own `mediaType`, else OCI index/manifest by shape.
    pub fn new(bytes: impl Into<Bytes>, media_type: Option<MediaType>) -> RawManifest {
        let bytes = bytes.into();
        let digest = Digest::of(&bytes);
        let given = media_type.map(|m| match m.as_str().split_once(';') {
            Some((base, _)) => MediaType::new(base.trim()),
            None => m,
        });
        let media_type = given
            .filter(|m| m.is_index() || m.is_manifest() || m.is_schema1())
            .unwrap_or_else(|| sniff_media_type(&bytes));
        RawManifest {
            bytes,
            media_type,
            digest,
        }
    }

    /// Like [`RawManifest::new`], failing when the bytes do not hash to `expected`.
    pub fn verified(
        bytes: impl Into<Bytes>,
        media_type: Option<MediaType>,
        expected: &Digest,
    ) -> Result<RawManifest, ImageError> {
        let raw = RawManifest::new(bytes, media_type);
        if raw.digest != *expected {
            return Err(ImageError::DigestMismatch {
                what: "manifest".into(),
                expected: expected.clone(),
                actual: raw.digest,
            });
        }
        Ok(raw)
    }

    /// Serializes `manifest` the way ggcr does (compact, Go escapes).
    pub fn from_manifest(manifest: &Manifest) -> Result<RawManifest, ImageError> {
        let bytes = to_go_json(manifest).map_err(|source| ImageError::Serialize {
            what: "manifest",
            source,
        })?;
        let mt = if manifest.media_type.is_empty() {
            MediaType::OCI_MANIFEST
        } else {
            manifest.media_type.clone()
        };
        Ok(RawManifest::new(bytes, Some(mt)))
    }

    /// Serializes `index` the way ggcr does (compact, Go escapes).
    pub fn from_index(index: &Index) -> Result<RawManifest, ImageError> {
        let bytes = to_go_json(index).map_err(|source| ImageError::Serialize {
            what: "index",
            source,
        })?;
        let mt = if index.media_type.is_empty() {
            MediaType::OCI_INDEX
        } else {
            index.media_type.clone()
        };
        Ok(RawManifest::new(bytes, Some(mt)))
    }

    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    pub fn media_type(&self) -> &MediaType {
        &self.media_type
    }

    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn is_index(&self) -> bool {
        self.media_type.is_index()
    }

    /// A descriptor for this document (no annotations or platform).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(self.media_type.clone(), self.digest.clone(), self.size())
    }

    pub fn parse(&self) -> Result<Parsed, ImageError> {
        if self.is_index() {
            self.index().map(Parsed::Index)
        } else {
            self.manifest().map(Parsed::Manifest)
        }
    }

    /// Parses as an image manifest (fails for indexes).
    pub fn manifest(&self) -> Result<Manifest, ImageError> {
        if self.is_index() {
            return Err(self.wrong_type("an image manifest"));
        }
        serde_json::from_slice(&self.bytes).map_err(|source| ImageError::Parse {
            what: "manifest",
            digest: self.digest.clone(),
            source,
        })
    }

    /// Parses as an index / manifest list (fails for image manifests).
    pub fn index(&self) -> Result<Index, ImageError> {
        if !self.is_index() {
            return Err(self.wrong_type("an image index"));
        }
        serde_json::from_slice(&self.bytes).map_err(|source| ImageError::Parse {
            what: "index",
            digest: self.digest.clone(),
            source,
        })
    }

    fn wrong_type(&self, want: &'static str) -> ImageError {
        ImageError::WrongMediaType {
            digest: self.digest.clone(),
            media_type: self.media_type.clone(),
            want,
        }
    }
}

/// An image config blob: exact bytes and digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawConfig {
    bytes: Bytes,
    digest: Digest,
}

impl RawConfig {
    pub fn new(bytes: impl Into<Bytes>) -> RawConfig {
        let bytes = bytes.into();
        RawConfig {
            digest: Digest::of(&bytes),
            bytes,
        }
    }

    pub fn verified(bytes: impl Into<Bytes>, expected: &Digest) -> Result<RawConfig, ImageError> {
        let raw = RawConfig::new(bytes);
        if raw.digest != *expected {
            return Err(ImageError::DigestMismatch {
                what: "config".into(),
                expected: expected.clone(),
                actual: raw.digest,
            });
        }
        Ok(raw)
    }

    /// Serializes `config` the way ggcr does (compact, Go field order and escapes).
    pub fn from_config(config: &ImageConfig) -> Result<RawConfig, ImageError> {
        let bytes = to_go_json(config).map_err(|source| ImageError::Serialize {
            what: "config",
            source,
        })?;
        Ok(RawConfig::new(bytes))
    }

    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn parse(&self) -> Result<ImageConfig, ImageError> {
        serde_json::from_slice(&self.bytes).map_err(|source| ImageError::Parse {
            what: "config",
            digest: self.digest.clone(),
            source,
        })
    }

    /// A descriptor for this config with the given media type.
    pub fn descriptor(&self, media_type: MediaType) -> Descriptor {
        Descriptor::new(media_type, self.digest.clone(), self.size())
    }
}

/// The media type a manifest-like document declares, else guessed from its shape.
fn sniff_media_type(bytes: &[u8]) -> MediaType {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType", default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(Probe {
            media_type: Some(mt),
            ..
        }) if !mt.is_empty() => MediaType::new(mt),
        Ok(Probe {
            manifests: Some(_), ..
        }) => MediaType::OCI_INDEX,
        _ => MediaType::OCI_MANIFEST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_from_content_type_or_document() {
        let docker = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"a","size":1,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},"layers":[]}"#;
        let ct =
            MediaType::new("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8");
        assert_eq!(
            RawManifest::new(&docker[..], Some(ct)).media_type(),
            &MediaType::DOCKER_MANIFEST
        );
        let generic = RawManifest::new(&docker[..], Some(MediaType::new("application/json")));
        assert_eq!(generic.media_type(), &MediaType::DOCKER_MANIFEST);
        assert!(generic.manifest().is_ok() && generic.index().is_err());
        let oci_index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(
            RawManifest::new(&oci_index[..], None).media_type(),
            &MediaType::OCI_INDEX
        );
        let oci = br#"{"schemaVersion":2,"config":{"mediaType":"a","size":1,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},"layers":[]}"#;
        assert_eq!(
            RawManifest::new(&oci[..], None).media_type(),
            &MediaType::OCI_MANIFEST
        );
        let raw = RawManifest::new(&oci[..], None);
        assert!(RawManifest::verified(&oci[..], None, raw.digest()).is_ok());
        assert!(RawManifest::verified(&oci_index[..], None, raw.digest()).is_err());
    }
}
