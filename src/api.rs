//! Platform and Buildpack API versions, and the gate every phase passes first
//! (Go lifecycle `api/apis.go`, `cmd/apis.go`).

use crate::exit::{ExitCode, LifecycleError};
use std::fmt;

/// An API version `<major>.<minor>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// Parses `0.12` (a leading `v` is accepted like Go's parser; a missing minor means 0).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.strip_prefix('v').unwrap_or(s);
        let mut it = t.splitn(2, '.');
        let major = it.next().unwrap_or("");
        let minor = it.next().unwrap_or("0");
        let num = |p: &str| -> Result<u32, String> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("could not parse '{s}' as version"));
            }
            p.parse::<u32>().map_err(|_| format!("could not parse '{s}' as version"))
        };
        Ok(Self { major: num(major)?, minor: num(minor)? })
    }

    /// `self >= other` ("at least"), the gate used for API-dependent behaviour.
    pub fn at_least(self, other: &str) -> bool {
        self >= Version::parse(other).expect("static version literal")
    }

    pub fn less_than(self, other: &str) -> bool {
        !self.at_least(other)
    }

    /// Go `api.Version.IsSupersetOf`: same major and (for major 0) same minor, else minor ≥.
    pub fn is_superset_of(self, o: Version) -> bool {
        if self.major == 0 {
            return self == o;
        }
        self.major == o.major && self.minor >= o.minor
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Platform APIs this lifecycle implements. Older ones (0.7–0.11) come with a later issue; the
/// per-API tables elsewhere are written against [`Version`] so adding them is additive.
pub const SUPPORTED_PLATFORM_APIS: &[Version] =
    &[Version::new(0, 12), Version::new(0, 13), Version::new(0, 14), Version::new(0, 15)];
pub const DEPRECATED_PLATFORM_APIS: &[Version] = &[];

/// Buildpack APIs this lifecycle runs.
pub const SUPPORTED_BUILDPACK_APIS: &[Version] = &[
    Version::new(0, 7),
    Version::new(0, 8),
    Version::new(0, 9),
    Version::new(0, 10),
    Version::new(0, 11),
    Version::new(0, 12),
];
pub const DEPRECATED_BUILDPACK_APIS: &[Version] = &[];

/// `CNB_DEPRECATION_MODE` / `CNB_EXPERIMENTAL_MODE` values (Go: quiet|warn|error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Quiet,
    Warn,
    Error,
}

impl Mode {
    /// Go's reading: `quiet`, `error`, anything else is `warn`; unset/empty gives `default`.
    pub fn from_value(v: Option<&str>, default: Mode) -> Mode {
        match v.map(str::trim) {
            None | Some("") => default,
            Some(s) if s.eq_ignore_ascii_case("quiet") => Mode::Quiet,
            Some(s) if s.eq_ignore_ascii_case("error") => Mode::Error,
            Some(_) => Mode::Warn,
        }
    }

    pub fn deprecation_from_env() -> Mode {
        Mode::from_value(std::env::var("CNB_DEPRECATION_MODE").ok().as_deref(), Mode::Warn)
    }

    pub fn experimental_from_env() -> Mode {
        Mode::from_value(std::env::var("CNB_EXPERIMENTAL_MODE").ok().as_deref(), Mode::Error)
    }
}

/// What the gate found: the API, and a warning to log when it is deprecated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub api: Version,
    pub warning: Option<String>,
}

/// The Platform API gate for a value of `CNB_PLATFORM_API` (`None` = unset).
pub fn platform_gate(value: Option<&str>, deprecation: Mode) -> Result<Gate, LifecycleError> {
    let raw = value.unwrap_or("");
    if raw.trim().is_empty() {
        return Err(LifecycleError::new(
            ExitCode::IncompatiblePlatformApi,
            "failed to get platform API version; please set 'CNB_PLATFORM_API' to specify the desired platform API version",
        ));
    }
    let api = Version::parse(raw.trim()).map_err(|e| {
        LifecycleError::new(
            ExitCode::IncompatiblePlatformApi,
            format!("failed to parse platform API '{raw}': {e}"),
        )
    })?;
    if !SUPPORTED_PLATFORM_APIS.iter().any(|s| s.is_superset_of(api)) {
        return Err(LifecycleError::new(
            ExitCode::IncompatiblePlatformApi,
            format!("platform API version '{raw}' is incompatible with the lifecycle"),
        ));
    }
    let mut warning = None;
    if DEPRECATED_PLATFORM_APIS.iter().any(|d| d.is_superset_of(api)) {
        match deprecation {
            Mode::Quiet => {}
            Mode::Warn => {
                warning = Some(format!("Platform requested deprecated API '{raw}'"));
            }
            Mode::Error => {
                return Err(LifecycleError::new(
                    ExitCode::IncompatiblePlatformApi,
                    format!("platform API version '{raw}' is incompatible with the lifecycle"),
                ));
            }
        }
    }
    Ok(Gate { api, warning })
}

/// The gate read from the environment (`CNB_PLATFORM_API`, `CNB_DEPRECATION_MODE`).
pub fn platform_gate_from_env() -> Result<Gate, LifecycleError> {
    platform_gate(std::env::var("CNB_PLATFORM_API").ok().as_deref(), Mode::deprecation_from_env())
}

/// The Buildpack API check for a buildpack `id@version` declaring `api` (exit 12 on failure).
pub fn buildpack_gate(
    api: Option<&str>,
    bp: &str,
    deprecation: Mode,
) -> Result<Gate, LifecycleError> {
    let Some(raw) = api else {
        return Err(LifecycleError::new(
            ExitCode::IncompatibleBuildpackApi,
            format!("parse buildpack API '<nil>' for buildpack '{bp}'"),
        ));
    };
    let v = Version::parse(raw).map_err(|e| {
        LifecycleError::new(
            ExitCode::IncompatibleBuildpackApi,
            format!("parse buildpack API '{raw}' for buildpack '{bp}': {e}"),
        )
    })?;
    if !SUPPORTED_BUILDPACK_APIS.iter().any(|s| s.is_superset_of(v)) {
        return Err(LifecycleError::new(
            ExitCode::IncompatibleBuildpackApi,
            format!("buildpack API version '{raw}' is incompatible with the lifecycle"),
        ));
    }
    let mut warning = None;
    if DEPRECATED_BUILDPACK_APIS.iter().any(|d| d.is_superset_of(v)) && deprecation == Mode::Warn {
        warning = Some(format!("Buildpack '{bp}' requests deprecated API '{raw}'"));
    }
    Ok(Gate { api: v, warning })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert_eq!(Version::parse("0.12").unwrap(), Version::new(0, 12));
        assert!(Version::parse("0.12").unwrap() > Version::parse("0.9").unwrap());
        assert!(Version::parse("x").is_err());
        assert!(Version::parse("0.").is_err());
        assert!(Version::new(0, 13).at_least("0.13"));
        assert!(Version::new(0, 12).less_than("0.13"));
    }

    #[test]
    fn gate_messages_and_codes() {
        let unset = platform_gate(None, Mode::Warn).unwrap_err();
        assert_eq!(unset.code, ExitCode::IncompatiblePlatformApi);
        assert!(unset.message.contains("please set 'CNB_PLATFORM_API'"));
        assert!(platform_gate(Some("  "), Mode::Warn).is_err());
        let bad = platform_gate(Some("abc"), Mode::Warn).unwrap_err();
        assert!(bad.message.starts_with("failed to parse platform API 'abc'"), "{bad}");
        let old = platform_gate(Some("0.3"), Mode::Warn).unwrap_err();
        assert_eq!(old.message, "platform API version '0.3' is incompatible with the lifecycle");
        assert_eq!(platform_gate(Some("0.15"), Mode::Warn).unwrap().api, Version::new(0, 15));
        assert!(platform_gate(Some("0.16"), Mode::Warn).is_err());
    }

    #[test]
    fn buildpack_gate_works() {
        assert!(buildpack_gate(Some("0.7"), "a@1", Mode::Warn).is_ok());
        let e = buildpack_gate(Some("0.2"), "a@1", Mode::Warn).unwrap_err();
        assert_eq!(e.code, ExitCode::IncompatibleBuildpackApi);
        let e = buildpack_gate(None, "a@1", Mode::Warn).unwrap_err();
        assert_eq!(e.message, "parse buildpack API '<nil>' for buildpack 'a@1'");
    }
}
