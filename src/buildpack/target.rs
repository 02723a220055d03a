//! Targets: what a buildpack declares (`[[targets]]` in buildpack.toml) and what the run image
//! is (analyzed.toml `[run-image.target]`), the build-time match between them and the
//! `CNB_TARGET_*` variables given to buildpacks (Go `platform/target_data.go`).

use serde::{Deserialize, Serialize};
use std::path::Path;

/// One `[[targets]]` entry of buildpack.toml. Empty strings match anything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetMetadata {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub arch: String,
    #[serde(
        default,
        rename = "arch-variant",
        skip_serializing_if = "String::is_empty"
    )]
    pub arch_variant: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distros: Vec<OsDistro>,
}

pub use crate::files::target::OsDistro;

/// The run image's target as recorded by the analyzer (analyzed.toml `[run-image.target]`):
/// the platform-file model itself.
pub type BaseTarget = crate::files::TargetMetadata;

pub const OS_RELEASE: &str = "/etc/os-release";
pub const OS_RELEASE_INFO: &str =
    "target distro name/version labels not found, reading /etc/os-release file";

/// Fills missing data the way the Go lifecycle does before matching or exporting
/// `CNB_TARGET_*`: os defaults to linux, arch to the build host's, and the distro is read
/// from `os_release` (`ID`, `VERSION_ID`). Returns true when the os-release file was
/// consulted (the caller logs [`OS_RELEASE_INFO`] once).
pub fn complete_from_host(t: &mut BaseTarget, os_release: &Path) -> bool {
    if t.distro.is_some() {
        return false;
    }
    if t.os.is_empty() {
        t.os = "linux".to_string();
    }
    if t.arch.is_empty() {
        t.arch = host_arch().to_string();
    }
    if let Ok(text) = std::fs::read_to_string(os_release) {
        let d = crate::files::target::parse_os_release(&text);
        if !d.name.is_empty() || !d.version.is_empty() {
            t.distro = Some(d);
        }
    }
    true
}

/// `CNB_TARGET_OS`, `CNB_TARGET_ARCH` always; variant and distro only when non-empty (of a
/// target already completed with [`complete_from_host`]).
pub fn target_env(t: &BaseTarget) -> Vec<(String, String)> {
    let mut out = vec![
        ("CNB_TARGET_OS".to_string(), t.os.clone()),
        ("CNB_TARGET_ARCH".to_string(), t.arch.clone()),
    ];
    let (name, version) = match &t.distro {
        Some(d) => (d.name.as_str(), d.version.as_str()),
        None => ("", ""),
    };
    for (k, v) in [
        ("CNB_TARGET_ARCH_VARIANT", t.arch_variant.as_str()),
        ("CNB_TARGET_DISTRO_NAME", name),
        ("CNB_TARGET_DISTRO_VERSION", version),
    ] {
        if !v.is_empty() {
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

/// The `CNB_TARGET_*` variables for the builder (Go `platform.EnvVarsFor`): the run image's
/// target from analyzed.toml, completed from the build host when it has no distro (logging
/// [`OS_RELEASE_INFO`] at info, as the Go builder does).
pub fn target_env_for_build(
    run_target: Option<&BaseTarget>,
    os_release: &Path,
) -> Vec<(String, String)> {
    let mut t = run_target.cloned().unwrap_or_default();
    if complete_from_host(&mut t, os_release) {
        crate::info!("{OS_RELEASE_INFO}");
    }
    target_env(&t)
}

/// Go's `runtime.GOARCH` naming of the host architecture.
pub use crate::files::target::go_arch as host_arch;

/// `ID` and `VERSION_ID` of an os-release file (quotes and spaces trimmed).
pub fn parse_os_release(text: &str) -> (String, String) {
    let d = crate::files::target::parse_os_release(text);
    (d.name, d.version)
}

fn matches(a: &str, b: &str) -> bool {
    a.is_empty() || b.is_empty() || a == b
}

/// Go `TargetSatisfiedForBuild` (after [`complete_from_host`]): os, arch and
/// variant match when equal or either is empty; a module listing distros needs one that
/// matches the base's distro.
pub fn satisfied_for_build(base: &BaseTarget, module: &TargetMetadata) -> bool {
    if !matches(&base.os, &module.os)
        || !matches(&base.arch, &module.arch)
        || !matches(&base.arch_variant, &module.arch_variant)
    {
        return false;
    }
    if module.distros.is_empty() {
        return true;
    }
    let Some(d) = &base.distro else { return false };
    module
        .distros
        .iter()
        .any(|m| matches(&d.name, &m.name) && matches(&d.version, &m.version))
}

/// Go `TargetMetadata.String()`/JSON of a descriptor's target list for the mismatch error.
pub fn targets_json(targets: &[TargetMetadata]) -> String {
    #[derive(Serialize)]
    struct J<'a> {
        os: &'a str,
        arch: &'a str,
        #[serde(rename = "arch-variant", skip_serializing_if = "str::is_empty")]
        arch_variant: &'a str,
        #[serde(skip_serializing_if = "<[OsDistro]>::is_empty")]
        distros: &'a [OsDistro],
    }
    let v: Vec<J<'_>> = targets
        .iter()
        .map(|t| J {
            os: &t.os,
            arch: &t.arch,
            arch_variant: &t.arch_variant,
            distros: &t.distros,
        })
        .collect();
    serde_json::to_string(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_rules() {
        let base = BaseTarget {
            os: "linux".into(),
            arch: "amd64".into(),
            distro: Some(OsDistro {
                name: "ubuntu".into(),
                version: "22.04".into(),
            }),
            ..Default::default()
        };
        assert!(satisfied_for_build(&base, &TargetMetadata::default()));
        let mut t = TargetMetadata {
            os: "linux".into(),
            arch: "arm64".into(),
            ..Default::default()
        };
        assert!(!satisfied_for_build(&base, &t));
        t.arch = String::new();
        t.distros = vec![OsDistro {
            name: "ubuntu".into(),
            version: String::new(),
        }];
        assert!(satisfied_for_build(&base, &t));
        t.distros = vec![OsDistro {
            name: "debian".into(),
            version: "12".into(),
        }];
        assert!(!satisfied_for_build(&base, &t));
        let no_distro = BaseTarget {
            os: "linux".into(),
            ..Default::default()
        };
        assert!(!satisfied_for_build(&no_distro, &t));
    }

    #[test]
    fn os_release_and_env() {
        let (n, v) = parse_os_release("NAME=\"Debian\"\nID=debian\nVERSION_ID=\"12\"\n");
        assert_eq!((n.as_str(), v.as_str()), ("debian", "12"));
        let b = BaseTarget {
            os: "linux".into(),
            arch: "amd64".into(),
            arch_variant: "v8".into(),
            distro: Some(OsDistro {
                name: "ubuntu".into(),
                version: String::new(),
            }),
            ..Default::default()
        };
        let keys: Vec<String> = target_env(&b).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "CNB_TARGET_OS",
                "CNB_TARGET_ARCH",
                "CNB_TARGET_ARCH_VARIANT",
                "CNB_TARGET_DISTRO_NAME"
            ]
        );
    }
}
