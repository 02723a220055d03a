//! Go `log.NewMeasurement`: "Timer: <Name> started at <RFC3339>" and "Timer: <Name> ran for
//! <duration> and ended at <RFC3339>" at debug level (shared by the detector and builder).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Logs the start line now and the end line when dropped.
pub struct Timer {
    name: &'static str,
    started: Instant,
}

fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    cnb::image::config::rfc3339_utc(secs)
}

impl Timer {
    pub fn start(name: &'static str) -> Self {
        cnb::debug!("Timer: {name} started at {}", now_rfc3339());
        Timer {
            name,
            started: Instant::now(),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        cnb::debug!(
            "Timer: {} ran for {} and ended at {}",
            self.name,
            crate::cli::goparse::format_duration(self.started.elapsed()),
            now_rfc3339()
        );
    }
}
