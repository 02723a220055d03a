//! The one table of exit codes (Platform spec "Exit codes", Go lifecycle `cmd/exit.go`,
//! `platform/exit.go`). Every error that leaves a phase is a [`LifecycleError`] carrying one
//! of these; only the binaries' `main` turns it into a process exit.

use std::fmt;

/// Exit codes of the lifecycle, identical for every supported Platform API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ExitCode {
    Success = 0,
    /// Generic failure: file read errors, keychain errors, chown/setuid, log-level parse.
    Failed = 1,
    /// Go `flag` parse error: unknown flag or bad value.
    FlagParse = 2,
    /// Invalid arguments or input resolution ("failed to parse arguments", "failed to resolve inputs").
    InvalidArgs = 3,
    /// Platform API unset, unparseable or unsupported.
    IncompatiblePlatformApi = 11,
    /// Buildpack API unsupported or unparseable.
    IncompatibleBuildpackApi = 12,
    /// No group passed detection.
    FailedDetect = 20,
    /// No group passed and at least one buildpack errored.
    FailedDetectWithErrors = 21,
    /// Other detect error.
    DetectError = 22,
    AnalyzeError = 32,
    RestoreError = 42,
    /// A buildpack's `bin/build` failed.
    FailedBuildWithErrors = 51,
    BuildError = 52,
    ExportError = 62,
    RebaseError = 72,
    /// Launch error before exec.
    LaunchError = 82,
    /// An extension's `bin/generate` failed.
    FailedGenerateWithErrors = 91,
    GenerateError = 92,
    ExtendError = 102,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// An error on its way out of the lifecycle: what to print after `ERROR: ` and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleError {
    pub code: ExitCode,
    pub message: String,
}

impl LifecycleError {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// Go's `cmd.FailErrCode(err, code, action)`: "failed to <action>: <cause>".
    pub fn failed(code: ExitCode, action: &str, cause: impl fmt::Display) -> Self {
        Self::new(code, format!("failed to {action}: {cause}"))
    }
}

impl fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LifecycleError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_go_lifecycle() {
        let table = [
            (ExitCode::Failed, 1),
            (ExitCode::FlagParse, 2),
            (ExitCode::InvalidArgs, 3),
            (ExitCode::IncompatiblePlatformApi, 11),
            (ExitCode::IncompatibleBuildpackApi, 12),
            (ExitCode::FailedDetect, 20),
            (ExitCode::FailedDetectWithErrors, 21),
            (ExitCode::DetectError, 22),
            (ExitCode::AnalyzeError, 32),
            (ExitCode::RestoreError, 42),
            (ExitCode::FailedBuildWithErrors, 51),
            (ExitCode::BuildError, 52),
            (ExitCode::ExportError, 62),
            (ExitCode::RebaseError, 72),
            (ExitCode::LaunchError, 82),
        ];
        for (code, n) in table {
            assert_eq!(code.code(), n, "{code:?}");
        }
    }

    #[test]
    fn failed_formats_like_go() {
        let e = LifecycleError::failed(ExitCode::ExportError, "export", "boom");
        assert_eq!(e.to_string(), "failed to export: boom");
        assert_eq!(e.code.code(), 62);
    }
}
