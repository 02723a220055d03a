//! `/etc/passwd` lookups without NSS, with the rules of Go's pure-Go `os/user` (the Go
//! lifecycle is built with `CGO_ENABLED=0`, so this is what it does).

use super::PrivilegeError;
use std::path::Path;

/// Where the user database lives.
pub const PASSWD_PATH: &str = "/etc/passwd";

/// The fields of one passwd line the lifecycle uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswdEntry {
    /// Login name (field 1).
    pub username: String,
    pub uid: i64,
    pub gid: i64,
    /// GECOS (field 5) up to its first comma: Go's `User.Name`.
    pub name: String,
    /// Field 6.
    pub home_dir: String,
}

/// Go `user.LookupId(strconv.Itoa(uid))`: the first line of `passwd` whose uid field is
/// exactly `uid` in decimal. Blank lines, `#` comments, NIS `+`/`-` lines, lines with fewer
/// than seven fields and lines whose uid or gid is not a number are skipped.
/// Errors: "open <path>: …", "read <path>: …", "user: unknown userid <uid>".
pub fn lookup_user_id(passwd: &Path, uid: i64) -> Result<PasswdEntry, PrivilegeError> {
    let bytes = std::fs::read(passwd).map_err(|e| {
        // Go opens first and reads later; tell the two apart the same way.
        let op = if std::fs::File::open(passwd).is_ok() {
            "read"
        } else {
            "open"
        };
        PrivilegeError::path(op, passwd, e)
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let want = uid.to_string();
    text.lines()
        .find_map(|line| parse_line(line, &want))
        .ok_or(PrivilegeError::UnknownUserId(uid))
}

fn parse_line(line: &str, want_uid: &str) -> Option<PasswdEntry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.matches(':').count() < 6 {
        return None;
    }
    let parts: Vec<&str> = line.splitn(7, ':').collect();
    let (user, uid, gid, gecos, home) = (parts[0], parts[2], parts[3], parts[4], parts[5]);
    if uid != want_uid || user.is_empty() || user.starts_with(['+', '-']) {
        return None;
    }
    let uid = uid.parse::<i64>().ok()?;
    let gid = gid.parse::<i64>().ok()?;
    Some(PasswdEntry {
        username: user.to_string(),
        uid,
        gid,
        name: gecos.split(',').next().unwrap_or_default().to_string(),
        home_dir: home.to_string(),
    })
}
