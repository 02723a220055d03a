//! Go's value parsers as the lifecycle meets them: `strconv.ParseBool`, `strconv.ParseInt(s, 0,
//! 64)` (the `flag` int kind), `strconv.Atoi` (CNB_USER_ID / CNB_GROUP_ID) and
//! `time.ParseDuration` / `Duration.String` (the duration kind). Errors are the `flag`
//! package's words: "parse error" or "value out of range".

use std::time::Duration;

pub const PARSE_ERROR: &str = "parse error";
pub const RANGE_ERROR: &str = "value out of range";

/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `strconv.ParseInt(s, 0, 64)`: sign, then `0x`/`0o`/`0b`/leading-`0` prefixes, `_` between digits.
pub fn parse_int(s: &str) -> Result<i64, &'static str> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    if digits.is_empty() || !underscores_ok(digits, prefixed) {
        return Err(PARSE_ERROR);
    }
    let mut value: i128 = 0;
    for c in digits.chars().filter(|c| *c != '_') {
        let d = c.to_digit(radix).ok_or(PARSE_ERROR)?;
        value = value * radix as i128 + d as i128;
        if value > i64::MAX as i128 + 1 {
            value = i64::MAX as i128 + 2; // saturate; keep validating the digits
        }
    }
    let value = if neg { -value } else { value };
    i64::try_from(value).map_err(|_| RANGE_ERROR)
}

/// Go's `underscoreOK` on the digits after any base prefix: every `_` follows a digit (or the
/// base prefix) and is followed by one.
fn underscores_ok(digits: &str, prefixed: bool) -> bool {
    let mut after_digit = prefixed;
    let mut last_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if !after_digit {
                return false;
            }
            after_digit = false;
            last_underscore = true;
        } else {
            after_digit = true;
            last_underscore = false;
        }
    }
    !last_underscore
}

/// `strconv.Atoi`: optional sign and decimal digits only.
pub fn atoi(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// `time.ParseDuration` for non-negative durations (a negative one is refused as a parse error;
/// no lifecycle flag accepts one usefully).
pub fn parse_duration(s: &str) -> Result<Duration, &'static str> {
    let body = s.strip_prefix('+').unwrap_or(s);
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() || body.starts_with('-') {
        return Err(PARSE_ERROR);
    }
    let mut total: f64 = 0.0;
    let mut rest = body;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." {
            return Err(PARSE_ERROR);
        }
        let n: f64 = num.parse().map_err(|_| PARSE_ERROR)?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(PARSE_ERROR),
        };
        rest = &rest[unit_len..];
        total += n * nanos_per;
    }
    if total > i64::MAX as f64 {
        return Err(PARSE_ERROR);
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_like_strconv() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "yes", "tRUE", " true", "2"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ints_like_parse_int_base_0() {
        let table: &[(&str, Result<i64, &str>)] = &[
            ("1000", Ok(1000)),
            ("-1", Ok(-1)),
            ("+7", Ok(7)),
            ("0x10", Ok(16)),
            ("0X1f", Ok(31)),
            ("010", Ok(8)),
            ("0o17", Ok(15)),
            ("0b101", Ok(5)),
            ("0", Ok(0)),
            ("1_000", Ok(1000)),
            ("0_10", Ok(8)),
            ("1__0", Err(PARSE_ERROR)),
            ("_1", Err(PARSE_ERROR)),
            ("1_", Err(PARSE_ERROR)),
            ("0x_1_0", Ok(16)),
            ("08", Err(PARSE_ERROR)),
            ("", Err(PARSE_ERROR)),
            ("abc", Err(PARSE_ERROR)),
            ("12a", Err(PARSE_ERROR)),
            ("9223372036854775807", Ok(i64::MAX)),
            ("-9223372036854775808", Ok(i64::MIN)),
            ("9223372036854775808", Err(RANGE_ERROR)),
            ("99999999999999999999999", Err(RANGE_ERROR)),
        ];
        for (input, want) in table {
            assert_eq!(parse_int(input), *want, "{input:?}");
        }
    }

    #[test]
    fn atoi_is_decimal_only() {
        assert_eq!(atoi("1000"), Some(1000));
        assert_eq!(atoi("-5"), Some(-5));
        assert_eq!(atoi("+5"), Some(5));
        for bad in ["", "0x10", "1_0", " 1", "abc", "-"] {
            assert_eq!(atoi(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_round_trip() {
        let table: &[(&str, u64)] = &[("336h", 336 * 3600), ("1h30m", 5400), ("90s", 90), ("0", 0)];
        for (input, secs) in table {
            assert_eq!(
                parse_duration(input),
                Ok(Duration::from_secs(*secs)),
                "{input}"
            );
        }
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10"), Err(PARSE_ERROR));
        assert_eq!(parse_duration("x"), Err(PARSE_ERROR));
        assert_eq!(
            crate::common::timer::go_duration(Duration::from_secs(336 * 3600)),
            "336h0m0s"
        );
        assert_eq!(
            crate::common::timer::go_duration(Duration::from_secs(90)),
            "1m30s"
        );
        assert_eq!(
            crate::common::timer::go_duration(Duration::from_millis(1500)),
            "1.5s"
        );
        assert_eq!(crate::common::timer::go_duration(Duration::ZERO), "0s");
    }
}
