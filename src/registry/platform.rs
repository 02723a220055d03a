//! Picking one image out of an index (OCI image index / Docker manifest list) by platform,
//! like go-containerregistry: `os` and `architecture` must match; `variant` and `os.version`
//! only when the wanted platform sets them; the first match wins.

use super::error::RegistryError;
use crate::digest::Digest;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub os_version: Option<String>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str) -> Platform {
        Platform {
            os: os.into(),
            architecture: architecture.into(),
            ..Default::default()
        }
    }

    /// `linux/<architecture of this build>` in Go's names (`amd64`, `arm64`, ...).
    pub fn current() -> Platform {
        Platform::new("linux", go_arch(std::env::consts::ARCH))
    }

    fn satisfied_by(&self, p: &IndexPlatform) -> bool {
        p.os == self.os
            && p.architecture == self.architecture
            && self
                .variant
                .as_ref()
                .is_none_or(|v| p.variant.as_deref() == Some(v.as_str()))
            && self
                .os_version
                .as_ref()
                .is_none_or(|v| p.os_version.as_deref() == Some(v.as_str()))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        if let Some(v) = &self.os_version {
            write!(f, ":{v}")?;
        }
        Ok(())
    }
}

/// Rust's `std::env::consts::ARCH` → Go's `GOARCH`.
pub fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "riscv64" | "riscv64gc" => "riscv64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// One child of an index, as much as platform selection needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexChild {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    pub platform: Option<Platform>,
}

#[derive(serde::Deserialize)]
struct IndexJson {
    #[serde(default)]
    manifests: Vec<ChildJson>,
}

#[derive(serde::Deserialize)]
struct ChildJson {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: Digest,
    #[serde(default)]
    size: u64,
    platform: Option<IndexPlatform>,
}

#[derive(serde::Deserialize)]
struct IndexPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    variant: Option<String>,
    #[serde(rename = "os.version")]
    os_version: Option<String>,
}

/// The children of an index, in order.
pub fn index_children(index: &[u8], what: &str) -> Result<Vec<IndexChild>, RegistryError> {
    let idx: IndexJson = serde_json::from_slice(index)
        .map_err(|e| RegistryError::protocol(format!("parsing index {what}"), e.to_string()))?;
    Ok(idx
        .manifests
        .into_iter()
        .map(|c| IndexChild {
            media_type: c.media_type,
            digest: c.digest,
            size: c.size,
            platform: c.platform.map(|p| Platform {
                os: p.os,
                architecture: p.architecture,
                variant: p.variant,
                os_version: p.os_version,
            }),
        })
        .collect())
}

/// The first child of `index` for `want`, or `NoMatchingPlatform`.
pub fn select_platform(
    index: &[u8],
    want: &Platform,
    what: &str,
) -> Result<IndexChild, RegistryError> {
    let idx: IndexJson = serde_json::from_slice(index)
        .map_err(|e| RegistryError::protocol(format!("parsing index {what}"), e.to_string()))?;
    let pos = idx
        .manifests
        .iter()
        .position(|c| c.platform.as_ref().is_some_and(|p| want.satisfied_by(p)));
    match pos {
        Some(i) => Ok(index_children(index, what)?.swap_remove(i)),
        None => Err(RegistryError::NoMatchingPlatform {
            platform: want.to_string(),
            reference: what.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn selects_like_ggcr() {
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[
              {{"mediaType":"m","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"arm","variant":"v6"}}}},
              {{"mediaType":"m","digest":"{}","size":2,"platform":{{"os":"linux","architecture":"arm","variant":"v7"}}}},
              {{"mediaType":"m","digest":"{}","size":3,"platform":{{"os":"windows","architecture":"amd64","os.version":"10.0.17763.1"}}}},
              {{"mediaType":"m","digest":"{}","size":4,"platform":{{"os":"linux","architecture":"amd64"}}}},
              {{"mediaType":"m","digest":"{}","size":5}}]}}"#,
            d('1'),
            d('2'),
            d('3'),
            d('4'),
            d('5')
        );
        let pick = |p: Platform| select_platform(index.as_bytes(), &p, "idx").map(|c| c.size);
        assert_eq!(pick(Platform::new("linux", "amd64")).unwrap(), 4);
        assert_eq!(
            pick(Platform::new("linux", "arm")).unwrap(),
            1,
            "first match without variant"
        );
        assert_eq!(
            pick(Platform {
                variant: Some("v7".into()),
                ..Platform::new("linux", "arm")
            })
            .unwrap(),
            2
        );
        assert_eq!(
            pick(Platform {
                os_version: Some("10.0.17763.1".into()),
                ..Platform::new("windows", "amd64")
            })
            .unwrap(),
            3
        );
        let e = pick(Platform::new("linux", "s390x")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no child with platform linux/s390x in index idx"
        );
        assert_eq!(index_children(index.as_bytes(), "idx").unwrap().len(), 5);
        assert_eq!(go_arch("x86_64"), "amd64");
    }
}
