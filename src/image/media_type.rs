//! Media types of the OCI image spec and Docker's v2 schema 2, as a string newtype so unknown
//! types round-trip unchanged.

use std::borrow::Cow;
use std::fmt;

/// A media type string (`application/vnd.oci.image.manifest.v1+json`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MediaType(Cow<'static, str>);

/// How a layer blob is compressed, as told by its media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl MediaType {
    pub const OCI_MANIFEST: MediaType =
        MediaType::from_static("application/vnd.oci.image.manifest.v1+json");
    pub const OCI_INDEX: MediaType =
        MediaType::from_static("application/vnd.oci.image.index.v1+json");
    pub const OCI_CONFIG: MediaType =
        MediaType::from_static("application/vnd.oci.image.config.v1+json");
    pub const OCI_DESCRIPTOR: MediaType =
        MediaType::from_static("application/vnd.oci.descriptor.v1+json");
    pub const OCI_EMPTY: MediaType = MediaType::from_static("application/vnd.oci.empty.v1+json");
    pub const OCI_LAYER_TAR: MediaType =
        MediaType::from_static("application/vnd.oci.image.layer.v1.tar");
    pub const OCI_LAYER_GZIP: MediaType =
        MediaType::from_static("application/vnd.oci.image.layer.v1.tar+gzip");
    pub const OCI_LAYER_ZSTD: MediaType =
        MediaType::from_static("application/vnd.oci.image.layer.v1.tar+zstd");
    pub const OCI_RESTRICTED_LAYER_TAR: MediaType =
        MediaType::from_static("application/vnd.oci.image.layer.nondistributable.v1.tar");
    pub const OCI_RESTRICTED_LAYER_GZIP: MediaType =
        MediaType::from_static("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip");
    pub const OCI_RESTRICTED_LAYER_ZSTD: MediaType =
        MediaType::from_static("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd");

    pub const DOCKER_MANIFEST: MediaType =
        MediaType::from_static("application/vnd.docker.distribution.manifest.v2+json");
    pub const DOCKER_MANIFEST_LIST: MediaType =
        MediaType::from_static("application/vnd.docker.distribution.manifest.list.v2+json");
    pub const DOCKER_MANIFEST_SCHEMA1: MediaType =
        MediaType::from_static("application/vnd.docker.distribution.manifest.v1+json");
    pub const DOCKER_MANIFEST_SCHEMA1_SIGNED: MediaType =
        MediaType::from_static("application/vnd.docker.distribution.manifest.v1+prettyjws");
    pub const DOCKER_CONFIG: MediaType =
        MediaType::from_static("application/vnd.docker.container.image.v1+json");
    pub const DOCKER_LAYER_GZIP: MediaType =
        MediaType::from_static("application/vnd.docker.image.rootfs.diff.tar.gzip");
    pub const DOCKER_LAYER_TAR: MediaType =
        MediaType::from_static("application/vnd.docker.image.rootfs.diff.tar");
    pub const DOCKER_FOREIGN_LAYER: MediaType =
        MediaType::from_static("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
    pub const DOCKER_PLUGIN_CONFIG: MediaType =
        MediaType::from_static("application/vnd.docker.plugin.v1+json");

    pub const fn from_static(s: &'static str) -> MediaType {
        MediaType(Cow::Borrowed(s))
    }

    pub fn new(s: impl Into<String>) -> MediaType {
        MediaType(Cow::Owned(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An image index or Docker manifest list.
    pub fn is_index(&self) -> bool {
        *self == Self::OCI_INDEX || *self == Self::DOCKER_MANIFEST_LIST
    }

    /// A single-image manifest (OCI or Docker v2 schema 2).
    pub fn is_manifest(&self) -> bool {
        *self == Self::OCI_MANIFEST || *self == Self::DOCKER_MANIFEST
    }

    pub fn is_schema1(&self) -> bool {
        *self == Self::DOCKER_MANIFEST_SCHEMA1 || *self == Self::DOCKER_MANIFEST_SCHEMA1_SIGNED
    }

    /// An image config (OCI or Docker).
    pub fn is_config(&self) -> bool {
        *self == Self::OCI_CONFIG || *self == Self::DOCKER_CONFIG
    }

    pub fn is_docker(&self) -> bool {
        self.0.starts_with("application/vnd.docker.")
    }

    pub fn is_oci(&self) -> bool {
        self.0.starts_with("application/vnd.oci.")
    }

    /// A layer media type we know (OCI, Docker, foreign/non-distributable).
    pub fn is_layer(&self) -> bool {
        self.layer_compression().is_some()
    }

    /// Foreign (Docker) and non-distributable (OCI) layers must not be pushed.
    pub fn is_distributable(&self) -> bool {
        !(*self == Self::DOCKER_FOREIGN_LAYER
            || *self == Self::OCI_RESTRICTED_LAYER_TAR
            || *self == Self::OCI_RESTRICTED_LAYER_GZIP
            || *self == Self::OCI_RESTRICTED_LAYER_ZSTD)
    }

    /// The compression of a layer blob of this type; `None` when this is not a known layer type.
    pub fn layer_compression(&self) -> Option<Compression> {
        Some(match self.as_str() {
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar" => Compression::None,
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Compression::Gzip,
            "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => Compression::Zstd,
            _ => return None,
        })
    }

    /// The layer media type of the same family (OCI or Docker) as the manifest type `self`
    /// with the given compression. Docker has no zstd layer type; OCI's is used then.
    pub fn layer_for(&self, compression: Compression) -> MediaType {
        let docker = self.is_docker();
        match (docker, compression) {
            (true, Compression::Gzip) => Self::DOCKER_LAYER_GZIP,
            (true, Compression::None) => Self::DOCKER_LAYER_TAR,
            (false, Compression::Gzip) => Self::OCI_LAYER_GZIP,
            (false, Compression::None) => Self::OCI_LAYER_TAR,
            (_, Compression::Zstd) => Self::OCI_LAYER_ZSTD,
        }
    }

    /// The config media type that goes with the manifest type `self`.
    pub fn config_for_manifest(&self) -> MediaType {
        if self.is_docker() {
            Self::DOCKER_CONFIG
        } else {
            Self::OCI_CONFIG
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for MediaType {
    fn from(s: &str) -> Self {
        MediaType::new(s)
    }
}

impl From<String> for MediaType {
    fn from(s: String) -> Self {
        MediaType::new(s)
    }
}

impl PartialEq<str> for MediaType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for MediaType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for MediaType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for MediaType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(MediaType::new(
            Option::<String>::deserialize(d)?.unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(MediaType::OCI_INDEX.is_index() && MediaType::DOCKER_MANIFEST_LIST.is_index());
        assert!(MediaType::new("application/vnd.oci.image.manifest.v1+json").is_manifest());
        assert!(!MediaType::OCI_CONFIG.is_manifest() && MediaType::DOCKER_CONFIG.is_config());
        assert_eq!(
            MediaType::DOCKER_LAYER_GZIP.layer_compression(),
            Some(Compression::Gzip)
        );
        assert_eq!(
            MediaType::OCI_LAYER_ZSTD.layer_compression(),
            Some(Compression::Zstd)
        );
        assert_eq!(
            MediaType::OCI_LAYER_TAR.layer_compression(),
            Some(Compression::None)
        );
        assert_eq!(MediaType::OCI_CONFIG.layer_compression(), None);
        assert!(
            !MediaType::DOCKER_FOREIGN_LAYER.is_distributable()
                && MediaType::DOCKER_LAYER_TAR.is_distributable()
        );
        assert_eq!(
            MediaType::DOCKER_MANIFEST.layer_for(Compression::Gzip),
            MediaType::DOCKER_LAYER_GZIP
        );
        assert_eq!(
            MediaType::OCI_MANIFEST.config_for_manifest(),
            MediaType::OCI_CONFIG
        );
    }
}
