//! Go's lexical path functions and OS error text, so that paths and messages read like the Go
//! lifecycle's.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Go `filepath.Clean`: lexical; removes `.`, resolves `..` against earlier elements, squeezes
/// slashes, drops a trailing slash; empty becomes `.`.
pub fn go_clean(path: &Path) -> PathBuf {
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() {
        return PathBuf::from(".");
    }
    let rooted = bytes[0] == b'/';
    let mut parts: Vec<&[u8]> = Vec::new();
    for seg in bytes.split(|b| *b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                if parts.last().is_some_and(|p| *p != b"..") {
                    parts.pop();
                } else if !rooted {
                    parts.push(seg);
                }
            }
            s => parts.push(s),
        }
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    if rooted {
        out.push(b'/');
    }
    out.extend_from_slice(&parts.join(&b'/'));
    if out.is_empty() {
        out.push(b'.');
    }
    PathBuf::from(OsString::from_vec(out))
}

/// Go `filepath.Abs`: joins a relative path to the working directory, then cleans.
pub fn go_abs(path: &Path) -> std::io::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(go_clean(path));
    }
    Ok(go_clean(&std::env::current_dir()?.join(path)))
}

/// An OS error as Go prints it (`no such file or directory`), without Rust's ` (os error N)`.
pub fn go_io_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    if e.raw_os_error().is_none() {
        return text;
    }
    let text = match text.rfind(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
