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

    /// Parses like the Go lifecycle (`^v?(\d+)\.?(\d*)$`): `0.12`, `v0.12`, `1`, `0.` (minor 0).
    pub fn parse(s: &str) -> Result<Self, String> {
        let err = || format!("could not parse '{s}' as version");
        let t = s.strip_prefix('v').unwrap_or(s);
        let (major, minor) = match t.split_once('.') {
            Some((a, b)) => (a, b),
            None => (t, ""),
        };
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if major.is_empty() || !digits(major) || !digits(minor) {
            return Err(err());
        }
        let major = major.parse::<u32>().map_err(|_| err())?;
        let minor = if minor.is_empty() {
            0
        } else {
            minor.parse::<u32>().map_err(|_| err())?
        };
        Ok(Self { major, minor })
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
pub const SUPPORTED_PLATFORM_APIS: &[Version] = &[
    Version::new(0, 12),
    Version::new(0, 13),
    Version::new(0, 14),
    Version::new(0, 15),
];
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
    /// Go's reading: exactly `quiet` or `error`, anything else is `warn`; unset/empty gives `default`.
    pub fn from_value(v: Option<&str>, default: Mode) -> Mode {
        match v {
            None | Some("") => default,
            Some("quiet") => Mode::Quiet,
            Some("error") => Mode::Error,
            Some(_) => Mode::Warn,
        }
    }

    pub fn deprecation_from_env() -> Mode {
        Mode::from_value(
            std::env::var("CNB_DEPRECATION_MODE").ok().as_deref(),
            Mode::Warn,
        )
    }

    pub fn experimental_from_env() -> Mode {
        Mode::from_value(
            std::env::var("CNB_EXPERIMENTAL_MODE").ok().as_deref(),
            Mode::Error,
        )
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
    let api = Version::parse(raw).map_err(|_| {
        LifecycleError::new(
            ExitCode::IncompatiblePlatformApi,
            format!("failed to parse platform API '{raw}'"),
        )
    })?;
    if !SUPPORTED_PLATFORM_APIS
        .iter()
        .any(|s| s.is_superset_of(api))
    {
        return Err(LifecycleError::new(
            ExitCode::IncompatiblePlatformApi,
            format!(
                "failed to set platform API: platform API version '{raw}' is incompatible with the lifecycle"
            ),
        ));
    }
    let mut warning = None;
    if DEPRECATED_PLATFORM_APIS
        .iter()
        .any(|d| d.is_superset_of(api))
    {
        match deprecation {
            Mode::Quiet => {}
            Mode::Warn => {
                warning = Some(format!("Platform requested deprecated API '{raw}'"));
            }
            Mode::Error => {
                return Err(LifecycleError::new(
                    ExitCode::IncompatiblePlatformApi,
                    format!(
                        "failed to set platform API: platform API version '{raw}' is incompatible with the lifecycle"
                    ),
                ));
            }
        }
    }
    Ok(Gate { api, warning })
}

/// The gate read from the environment (`CNB_PLATFORM_API`, `CNB_DEPRECATION_MODE`).
pub fn platform_gate_from_env() -> Result<Gate, LifecycleError> {
    platform_gate(
        std::env::var("CNB_PLATFORM_API").ok().as_deref(),
        Mode::deprecation_from_env(),
    )
}

/// The Buildpack API check (Go `cmd.VerifyBuildpackAPI`) for the module `bp` (`id@version`)
/// declaring `api`; exit 12 on failure. `kind` is the word the caller's Go counterpart uses
/// ("Buildpack" in the detector and builder, "buildpack" in the launcher, "Extension"): it
/// appears as given in "failed to set API for <kind>" and lower-cased in the parse error.
pub fn buildpack_gate(
    kind: &str,
    api: Option<&str>,
    bp: &str,
    deprecation: Mode,
) -> Result<Gate, LifecycleError> {
    // Go formats the nil *Version of a failed parse as "<nil>".
    let parse_error = || {
        LifecycleError::new(
            ExitCode::IncompatibleBuildpackApi,
            format!(
                "failed to parse buildpack API '<nil>' for {} '{bp}'",
                kind.to_lowercase()
            ),
        )
    };
    let raw = api.ok_or_else(parse_error)?;
    let v = Version::parse(raw).map_err(|_| parse_error())?;
    let incompatible = || {
        LifecycleError::new(
            ExitCode::IncompatibleBuildpackApi,
            format!(
                "failed to set API for {kind} '{bp}': buildpack API version '{raw}' is incompatible with the lifecycle"
            ),
        )
    };
    if !SUPPORTED_BUILDPACK_APIS.iter().any(|s| s.is_superset_of(v)) {
        return Err(incompatible());
    }
    let mut warning = None;
    if DEPRECATED_BUILDPACK_APIS
        .iter()
        .any(|d| d.is_superset_of(v))
    {
        let msg = format!("{kind} '{bp}' requests deprecated API '{raw}'");
        match deprecation {
            Mode::Quiet => {}
            Mode::Warn => warning = Some(msg),
            Mode::Error => {
                crate::error!("{msg}");
                crate::error!("Deprecated APIs are disabled by CNB_DEPRECATION_MODE=error");
                return Err(incompatible());
            }
        }
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
        assert_eq!(Version::parse("0.").unwrap(), Version::new(0, 0));
        assert_eq!(Version::parse("v1").unwrap(), Version::new(1, 0));
        assert!(Version::parse(".1").is_err());
        assert!(Version::parse("0.1.2").is_err());
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
        assert_eq!(bad.message, "failed to parse platform API 'abc'");
        let old = platform_gate(Some("0.3"), Mode::Warn).unwrap_err();
        assert_eq!(
            old.message,
            "failed to set platform API: platform API version '0.3' is incompatible with the lifecycle"
        );
        // Go does not trim before parsing.
        assert!(platform_gate(Some(" 0.13"), Mode::Warn).is_err());
        assert_eq!(
            platform_gate(Some("0.15"), Mode::Warn).unwrap().api,
            Version::new(0, 15)
        );
        assert!(platform_gate(Some("0.16"), Mode::Warn).is_err());
    }

    #[test]
    fn buildpack_gate_works() {
        assert!(buildpack_gate("Buildpack", Some("0.7"), "a@1", Mode::Warn).is_ok());
        let e = buildpack_gate("Buildpack", Some("0.2"), "a@1", Mode::Warn).unwrap_err();
        assert_eq!(
            e.message,
            "failed to set API for Buildpack 'a@1': buildpack API version '0.2' is incompatible with the lifecycle"
        );
        assert_eq!(e.code, ExitCode::IncompatibleBuildpackApi);
        let e = buildpack_gate("Buildpack", None, "a@1", Mode::Warn).unwrap_err();
        assert_eq!(
            e.message,
            "failed to parse buildpack API '<nil>' for buildpack 'a@1'"
        );
        assert_eq!(Mode::from_value(Some("ERROR"), Mode::Quiet), Mode::Warn);
    }
}
