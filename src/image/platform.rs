//! Platforms (`os/arch[/variant][:os.version]`) and choosing an image out of an index.
//!
//! Selection follows go-containerregistry's `remote` rules, which both the Go lifecycle's
//! registry reads and our layout reads use: the first child whose platform matches wins; a child
//! without a platform counts as `linux/amd64`; os and architecture must be equal; `os.version`,
//! `variant` and (os.)features only constrain when the wanted platform sets them.

use super::descriptor::Descriptor;
use super::index::Index;
use super::json::go;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default, deserialize_with = "go::null_default")]
    pub architecture: String,
    #[serde(default, deserialize_with = "go::null_default")]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(
        rename = "os.features",
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub os_features: Vec<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub variant: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub features: Vec<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str) -> Platform {
        Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            ..Platform::default()
        }
    }

    pub fn with_variant(mut self, variant: &str) -> Platform {
        self.variant = variant.to_string();
        self
    }

    pub fn with_os_version(mut self, os_version: &str) -> Platform {
        self.os_version = os_version.to_string();
        self
    }

    /// `linux/<arch of this build>` in Go spelling, no variant: what the Go lifecycle asks for
    /// when it resolves a base, run or previous image from a registry.
    pub fn current() -> Platform {
        Platform::new(go_os(std::env::consts::OS), go_arch(std::env::consts::ARCH))
    }

    /// The platform a layout image defaults to in imgutil: `linux/amd64`.
    pub fn layout_default() -> Platform {
        Platform::new("linux", "amd64")
    }

    /// Whether `self` (an index entry's platform) satisfies `wanted`.
    pub fn matches(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && (wanted.os_version.is_empty() || self.os_version == wanted.os_version)
            && (wanted.variant.is_empty() || self.variant == wanted.variant)
            && wanted
                .os_features
                .iter()
                .all(|f| self.os_features.contains(f))
            && wanted.features.iter().all(|f| self.features.contains(f))
    }
}

impl fmt::Display for Platform {
    /// `os/arch[/variant][:os.version]`, like ggcr's `Platform.String`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.os.is_empty() {
            return Ok(());
        }
        f.write_str(&self.os)?;
        for part in [&self.architecture, &self.variant] {
            if !part.is_empty() {
                write!(f, "/{part}")?;
            }
        }
        if !self.os_version.is_empty() {
            write!(f, ":{}", self.os_version)?;
        }
        Ok(())
    }
}

/// The first child of `index` whose platform matches `wanted` (missing platform = linux/amd64).
pub fn select_manifest<'a>(index: &'a Index, wanted: &Platform) -> Option<&'a Descriptor> {
    let default = Platform::new("linux", "amd64");
    index
        .manifests
        .iter()
        .find(|d| d.platform.as_ref().unwrap_or(&default).matches(wanted))
}

/// Go's `GOARCH` name for a Rust `std::env::consts::ARCH` value.
pub fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "powerpc" => "ppc",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        "mips" => "mips",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        "mips64" => "mips64",
        "wasm32" => "wasm",
        other => other,
    }
}

/// Go's `GOOS` name for a Rust `std::env::consts::OS` value.
pub fn go_os(rust_os: &str) -> &str {
    match rust_os {
        "macos" => "darwin",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_like_ggcr() {
        assert_eq!(
            Platform::new("linux", "arm64")
                .with_variant("v8")
                .to_string(),
            "linux/arm64/v8"
        );
        assert_eq!(
            Platform::new("windows", "amd64")
                .with_os_version("10.0.17763")
                .to_string(),
            "windows/amd64:10.0.17763"
        );
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert_eq!(go_os("linux"), "linux");
    }

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn selects_like_ggcr() {
        let json = format!(
            r#"{{"schemaVersion":2,"manifests":[
              {{"mediaType":"m","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"arm","variant":"v6"}}}},
              {{"mediaType":"m","digest":"{}","size":2,"platform":{{"os":"linux","architecture":"arm","variant":"v7"}}}},
              {{"mediaType":"m","digest":"{}","size":3,"platform":{{"os":"windows","architecture":"amd64","os.version":"10.0.17763.1"}}}},
              {{"mediaType":"m","digest":"{}","size":4}},
              {{"mediaType":"m","digest":"{}","size":5,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#,
            d('1'),
            d('2'),
            d('3'),
            d('4'),
            d('5')
        );
        let index: Index = serde_json::from_str(&json).unwrap();
        let pick = |p: Platform| select_manifest(&index, &p).map(|c| c.size);
        assert_eq!(pick(Platform::new("linux", "arm")), Some(1), "first match");
        assert_eq!(
            pick(Platform::new("linux", "arm").with_variant("v7")),
            Some(2)
        );
        assert_eq!(
            pick(Platform::new("windows", "amd64").with_os_version("10.0.17763.1")),
            Some(3)
        );
        assert_eq!(
            pick(Platform::new("windows", "amd64").with_os_version("10.0.1")),
            None
        );
        // A child without platform counts as linux/amd64 and comes first here.
        assert_eq!(pick(Platform::new("linux", "amd64")), Some(4));
        assert_eq!(pick(Platform::new("linux", "s390x")), None);
    }
}
