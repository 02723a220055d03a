//! Privilege handling of the phases (Go `priv/user_linux.go`, lifecycle-spec §1.4).
//!
//! The analyzer, restorer, exporter and creator start as the invoking user (root in the
//! usual one-container-per-phase setup). After resolving registry credentials they make sure
//! the volumes they share with the build user are writable by it ([`ensure_owner`]), then
//! drop to `CNB_USER_ID`/`CNB_GROUP_ID` ([`run_as`]). The creator also points `HOME` and
//! `USER` at that user ([`set_environment_for_user`]). The detector and builder refuse to run
//! as root ([`is_root`]).
//!
//! Errors print like Go's `*os.PathError` / `syscall.Errno` so the phases can wrap them with
//! Go's actions: "failed to chown volumes: chown /layers: operation not permitted",
//! "failed to exec as user 1000:1000: operation not permitted",
//! "failed to set environment for user 4242: user: unknown userid 4242" (all exit 1).
//!
//! No NSS: user data comes from parsing `/etc/passwd` ourselves ([`passwd`]), never from
//! `getpwuid` (the binary is static; see rust-ecosystem.md §4.2).

mod owner;
pub mod passwd;

pub use owner::{can_write, ensure_owner};
pub use passwd::{PASSWD_PATH, PasswdEntry, lookup_user_id};

use crate::exit::{ExitCode, LifecycleError};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What went wrong while changing owners, ids or the user environment.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    /// A filesystem call failed; shown as Go's `<op> <path>: <errno text>`.
    #[error("{op} {}: {}", path.display(), GoErr(source))]
    Path {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// `setresgid`/`setresuid` failed; Go shows only the errno text.
    #[error("{}", GoErr(source))]
    SetId {
        call: &'static str,
        source: io::Error,
    },
    /// No usable `/etc/passwd` line has this uid (Go `user.UnknownUserIdError`).
    #[error("user: unknown userid {0}")]
    UnknownUserId(i64),
}

impl PrivilegeError {
    pub(crate) fn path(op: &'static str, path: &Path, source: io::Error) -> Self {
        PrivilegeError::Path {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// An `io::Error` shown as Go's `syscall.Errno` text: glibc's message with a lower-case first
/// letter and no "(os error N)" suffix ("operation not permitted", "not a directory").
struct GoErr<'a>(&'a io::Error);

impl fmt::Display for GoErr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(code) = self.0.raw_os_error() else {
            return write!(f, "{}", self.0);
        };
        let text = io::Error::from_raw_os_error(code).to_string();
        let suffix = format!(" (os error {code})");
        let text = text.strip_suffix(&suffix).unwrap_or(&text);
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => write!(f, "{}{}", first.to_lowercase(), chars.as_str()),
            None => Ok(()),
        }
    }
}

/// Go `priv.IsPrivileged`: the real uid is 0.
pub fn is_root() -> bool {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() == 0 }
}

/// Go `priv.RunAs`: become `uid`/`gid` for real, effective and saved ids — group first, while
/// still allowed to. Nothing happens when the real uid and gid already match.
///
/// Supplementary groups are left as they are, exactly as Go does (it never calls
/// `setgroups`). glibc's `setresgid`/`setresuid` wrappers apply the change to every thread
/// of the process (like Go's all-threads syscalls); a raw `syscall(2)` would not.
pub fn run_as(uid: u32, gid: u32) -> Result<(), PrivilegeError> {
    // SAFETY: getuid/getgid have no preconditions and cannot fail.
    let (ruid, rgid) = unsafe { (libc::getuid(), libc::getgid()) };
    if ruid == uid && rgid == gid {
        return Ok(());
    }
    // SAFETY: plain syscall wrappers; failure is reported through the return value and errno.
    if unsafe { libc::setresgid(gid, gid, gid) } != 0 {
        return Err(PrivilegeError::SetId {
            call: "setresgid",
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: as above.
    if unsafe { libc::setresuid(uid, uid, uid) } != 0 {
        return Err(PrivilegeError::SetId {
            call: "setresuid",
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// A `CNB_USER_ID`/`CNB_GROUP_ID` value as the kernel sees it. Go passes its `int` to the
/// syscalls, which keep the low 32 bits, so `-1` becomes "leave unchanged" there too.
pub fn kernel_id(id: i64) -> u32 {
    id as u32
}

/// What the analyzer, restorer, exporter and creator do after resolving credentials:
/// Go's `EnsureOwner(uid, gid, dirs…)` then `RunAs(uid, gid)`, failing like Go with
/// "failed to chown volumes: …" or "failed to exec as user <uid>:<gid>: …" (exit 1).
/// `None` or empty dirs are skipped (Go's `os.Stat("")` is "not exist").
pub fn chown_volumes_and_run_as(
    uid: i64,
    gid: i64,
    dirs: &[Option<&Path>],
) -> Result<(), LifecycleError> {
    let dirs: Vec<&Path> = dirs.iter().flatten().copied().collect();
    ensure_owner(kernel_id(uid), kernel_id(gid), &dirs)
        .map_err(|e| LifecycleError::failed(ExitCode::Failed, "chown volumes", e))?;
    run_as_user(uid, gid)
}

/// The rebaser's step: Go's `RunAs(uid, gid)` failing with
/// "failed to exec as user <uid>:<gid>: …" (exit 1).
pub fn run_as_user(uid: i64, gid: i64) -> Result<(), LifecycleError> {
    run_as(kernel_id(uid), kernel_id(gid)).map_err(|e| {
        LifecycleError::failed(ExitCode::Failed, &format!("exec as user {uid}:{gid}"), e)
    })
}

/// Go `priv.SetEnvironmentForUser` as the creator calls it: `HOME` and `USER` from the
/// `/etc/passwd` line of `uid`, failing with "failed to set environment for user <uid>: …"
/// (exit 1) when the file cannot be read or has no such uid — Go does not fall back either.
///
/// Note: like Go (`os/user.User.Name`), `USER` is the GECOS name up to the first comma, not
/// the login name; an empty GECOS field gives an empty `USER`.
///
/// # Safety
/// Writes the process environment (`std::env::set_var`): no other thread may read or write
/// the environment while this runs. Call it from the phase's main thread before the phase
/// body starts threads.
pub unsafe fn set_environment_for_user(uid: i64) -> Result<(), LifecycleError> {
    // SAFETY: passed on to our caller.
    unsafe { set_environment_from(Path::new(PASSWD_PATH), uid) }
}

/// [`set_environment_for_user`] with another user database (tests use a fixture).
///
/// # Safety
/// As for [`set_environment_for_user`].
unsafe fn set_environment_from(passwd: &Path, uid: i64) -> Result<(), LifecycleError> {
    let entry = lookup_user_id(passwd, uid).map_err(|e| {
        LifecycleError::failed(
            ExitCode::Failed,
            &format!("set environment for user {uid}"),
            e,
        )
    })?;
    // SAFETY: the caller guarantees no other thread touches the environment meanwhile.
    unsafe {
        std::env::set_var("HOME", &entry.home_dir);
        std::env::set_var("USER", &entry.name);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
