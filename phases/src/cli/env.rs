//! Reading `CNB_*` variables with Go's rules (`platform/lifecycle_inputs.go`): an empty value is
//! the same as unset; booleans use `strconv.ParseBool` (invalid → false); ids use `strconv.Atoi`
//! (invalid → 0); durations use `time.ParseDuration` (invalid → default); lists split on `,`.

use super::goparse::{atoi, parse_bool, parse_duration};
use std::collections::BTreeMap;
use std::time::Duration;

/// A snapshot of the environment, so resolution is a pure function in tests.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The process environment (non-UTF-8 values are read lossily).
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        Self { vars }
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The value if set (possibly empty).
    pub fn raw(&self, key: &str) -> Option<String> {
        self.vars.get(key).cloned()
    }

    /// Go `os.Getenv`: unset reads as "".
    pub fn get(&self, key: &str) -> String {
        self.raw(key).unwrap_or_default()
    }

    /// Go `envOrDefault`: the value unless unset or empty.
    pub fn or_default(&self, key: &str, default: &str) -> String {
        match self.vars.get(key) {
            Some(v) if !v.is_empty() => v.clone(),
            _ => default.to_string(),
        }
    }

    pub fn bool(&self, key: &str) -> bool {
        parse_bool(&self.get(key)).unwrap_or(false)
    }

    pub fn int(&self, key: &str) -> i64 {
        atoi(&self.get(key)).unwrap_or(0)
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        let v = self.get(key);
        if v.is_empty() {
            Vec::new()
        } else {
            v.split(',').map(str::to_string).collect()
        }
    }

    pub fn duration_or(&self, key: &str, default: Duration) -> Duration {
        let v = self.get(key);
        if v.is_empty() {
            return default;
        }
        parse_duration(&v).unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_rules() {
        let e = Env::from_pairs(&[
            ("B1", "True"),
            ("B2", "nope"),
            ("I1", "42"),
            ("I2", "4 2"),
            ("L", "a,,b"),
            ("E", ""),
            ("D", "1m"),
        ]);
        assert!(e.bool("B1"));
        assert!(!e.bool("B2"));
        assert!(!e.bool("UNSET"));
        assert_eq!(e.int("I1"), 42);
        assert_eq!(e.int("I2"), 0);
        assert_eq!(e.list("L"), ["a", "", "b"]);
        assert!(e.list("E").is_empty());
        assert_eq!(e.or_default("E", "d"), "d");
        assert_eq!(e.duration_or("D", Duration::ZERO), Duration::from_secs(60));
    }
}
