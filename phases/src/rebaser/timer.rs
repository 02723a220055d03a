//! Go `log.NewMeasurement`: debug lines "Timer: <what> started at <RFC 3339>" and, when the
//! measured step returns (also on failure), "Timer: <what> ran for <Go duration> and ended at
//! <RFC 3339>". Times are UTC.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct Measurement {
    what: String,
    start: Instant,
}

fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    cnb::image::config::rfc3339_utc(secs)
}

impl Measurement {
    pub fn start(what: impl Into<String>) -> Measurement {
        let what = what.into();
        cnb::debug!("Timer: {what} started at {}", now());
        Measurement {
            what,
            start: Instant::now(),
        }
    }
}

impl Drop for Measurement {
    fn drop(&mut self) {
        cnb::debug!(
            "Timer: {} ran for {} and ended at {}",
            self.what,
            go_duration(self.start.elapsed()),
            now()
        );
    }
}

/// Go `time.Duration.String()`: `1.5µs`, `15.920638ms`, `2.5s`, `1m2.000000001s`, `1h0m0s`.
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    let frac = |v: u128, unit: u128| {
        let whole = v / unit;
        let rest = v % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let width = unit.to_string().len() - 1;
        let digits = format!("{rest:0width$}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    };
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", frac(ns, 1_000));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", frac(ns, 1_000_000));
    }
    let total_secs = ns / 1_000_000_000;
    let sub = ns % 1_000_000_000;
    let (h, m, s) = (total_secs / 3600, (total_secs / 60) % 60, total_secs % 60);
    let secs = frac(s * 1_000_000_000 + sub, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::go_duration;
    use std::time::Duration;

    #[test]
    fn formats_like_go() {
        let ns = Duration::from_nanos;
        assert_eq!(go_duration(ns(0)), "0s");
        assert_eq!(go_duration(ns(999)), "999ns");
        assert_eq!(go_duration(ns(1_500)), "1.5µs");
        assert_eq!(go_duration(ns(15_920_638)), "15.920638ms");
        assert_eq!(go_duration(ns(22_000_000)), "22ms");
        assert_eq!(go_duration(ns(2_500_000_000)), "2.5s");
        assert_eq!(go_duration(ns(62_000_000_001)), "1m2.000000001s");
        assert_eq!(go_duration(ns(3_600_000_000_000)), "1h0m0s");
    }
}
