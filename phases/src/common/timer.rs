//! Go `log.NewMeasurement`: debug lines "Timer: <name> started at <time>" and
//! "Timer: <name> ran for <duration> and ended at <time>" around a phase's work.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Logs the start now and the end when [`Measurement::end`] is called or it is dropped.
pub struct Measurement {
    name: &'static str,
    start: Instant,
    done: bool,
}

impl Measurement {
    pub fn start(name: &'static str) -> Measurement {
        cnb::debug!("Timer: {name} started at {}", now());
        Measurement {
            name,
            start: Instant::now(),
            done: false,
        }
    }

    pub fn end(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            let took = go_duration(self.start.elapsed());
            cnb::debug!("Timer: {} ran for {took} and ended at {}", self.name, now());
        }
    }
}

impl Drop for Measurement {
    fn drop(&mut self) {
        self.finish();
    }
}

fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    cnb::image::config::rfc3339_utc(i64::try_from(secs).unwrap_or(0))
}

/// Go `time.Duration.String()`: `850ns`, `202.239µs`, `1.5ms`, `2.000001s`, `1m30s`, `1h0m5s`.
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    let frac = |v: u128, unit: u128, suffix: &str| {
        let whole = v / unit;
        let rest = v % unit;
        if rest == 0 {
            return format!("{whole}{suffix}");
        }
        let width = unit.ilog10() as usize;
        let digits = format!("{rest:0width$}");
        format!("{whole}.{}{suffix}", digits.trim_end_matches('0'))
    };
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return frac(ns, 1_000, "µs");
    }
    if ns < 1_000_000_000 {
        return frac(ns, 1_000_000, "ms");
    }
    let secs_total = ns / 1_000_000_000;
    let (h, m) = (secs_total / 3600, (secs_total % 3600) / 60);
    let s = frac(ns % 60_000_000_000, 1_000_000_000, "s");
    match (h, m) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        let cases = [
            (0, "0s"),
            (850, "850ns"),
            (202_239, "202.239µs"),
            (1_500_000, "1.5ms"),
            (2_000_001_000, "2.000001s"),
            (90_000_000_000, "1m30s"),
            (3_605_000_000_000, "1h0m5s"),
        ];
        for (ns, want) in cases {
            assert_eq!(go_duration(Duration::from_nanos(ns)), want);
        }
    }
}
