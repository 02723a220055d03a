//! The one logger, shaped like the Go lifecycle's (`log/default_logger.go`): every level goes
//! to stdout, plain lines, `Warning: ` and `ERROR: ` prefixes, optional colour, no timestamps.
//! Library code logs through the macros [`crate::debug!`], [`crate::info!`], [`crate::warn!`],
//! [`crate::error!`]; never `println!`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

impl Level {
    /// Parses like apex/log: debug, info, warn/warning, error, fatal.
    pub fn parse(s: &str) -> Result<Level, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "debug" => Ok(Level::Debug),
            "info" => Ok(Level::Info),
            "warn" | "warning" => Ok(Level::Warn),
            "error" | "fatal" => Ok(Level::Error),
            _ => Err(format!("failed to parse log level: invalid level '{s}'")),
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static COLOR: AtomicBool = AtomicBool::new(true);

pub fn set_level(l: Level) {
    LEVEL.store(l as u8, Ordering::Relaxed);
}

pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Debug,
        1 => Level::Info,
        2 => Level::Warn,
        _ => Level::Error,
    }
}

pub fn set_color(on: bool) {
    COLOR.store(on, Ordering::Relaxed);
}

pub fn color() -> bool {
    COLOR.load(Ordering::Relaxed)
}

pub fn enabled(l: Level) -> bool {
    l >= level()
}

const BOLD_YELLOW: &str = "\x1b[1;33m";
const BOLD_RED: &str = "\x1b[1;31m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// Formats one line as the Go lifecycle prints it (without the newline).
pub fn format_line(l: Level, msg: &str, color: bool) -> String {
    let msg = msg.strip_suffix('\n').unwrap_or(msg);
    match (l, color) {
        (Level::Warn, true) => format!("{BOLD_YELLOW}Warning: {RESET}{msg}"),
        (Level::Warn, false) => format!("Warning: {msg}"),
        (Level::Error, true) => format!("{BOLD_RED}ERROR: {RESET}{msg}"),
        (Level::Error, false) => format!("ERROR: {msg}"),
        _ => msg.to_string(),
    }
}

/// Writes a line at level `l` to stdout if enabled.
pub fn log(l: Level, msg: &str) {
    if !enabled(l) {
        return;
    }
    let mut line = format_line(l, msg, color());
    line.push('\n');
    let out = std::io::stdout();
    let mut h = out.lock();
    let _ = h.write_all(line.as_bytes());
    let _ = h.flush();
}

/// A creator phase banner: `===> ANALYZING` (cyan when colour is on). Always at info level.
pub fn phase_header(name: &str) {
    if !enabled(Level::Info) {
        return;
    }
    let line = if color() { format!("{CYAN}===> {name}{RESET}\n") } else { format!("===> {name}\n") };
    let out = std::io::stdout();
    let mut h = out.lock();
    let _ = h.write_all(line.as_bytes());
    let _ = h.flush();
}

#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Debug) { $crate::log::log($crate::log::Level::Debug, &format!($($t)*)) } };
}
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Info) { $crate::log::log($crate::log::Level::Info, &format!($($t)*)) } };
}
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Warn) { $crate::log::log($crate::log::Level::Warn, &format!($($t)*)) } };
}
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Error, &format!($($t)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shapes() {
        assert_eq!(format_line(Level::Warn, "x", false), "Warning: x");
        assert_eq!(format_line(Level::Error, "boom\n", false), "ERROR: boom");
        assert_eq!(format_line(Level::Info, "hi", true), "hi");
        assert!(format_line(Level::Error, "e", true).starts_with("\x1b[1;31mERROR: "));
    }

    #[test]
    fn parses_levels() {
        assert_eq!(Level::parse("warning").unwrap(), Level::Warn);
        assert_eq!(Level::parse("DEBUG").unwrap(), Level::Debug);
        assert!(Level::parse("loud").is_err());
    }
}
