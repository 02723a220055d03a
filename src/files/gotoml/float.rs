//! Go's float formatting, shared by the TOML and JSON writers.

/// Shortest round-trip decimal digits and decimal exponent of a finite, non-zero |f|:
/// `f = 0.d1d2d3… × 10^dp`.
fn shortest_digits(exp_form: &str) -> (String, i32) {
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e6", "5e-7".
    let (mant, exp) = exp_form.split_once('e').unwrap_or((exp_form, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits, exp + 1)
}

fn fmt_e(digits: &str, dp: i32, out: &mut String) {
    let exp = dp - 1;
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

fn fmt_f(digits: &str, dp: i32, out: &mut String) {
    let nd = digits.len() as i32;
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else if dp >= nd {
        out.push_str(digits);
        for _ in 0..(dp - nd) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
}

/// `strconv.FormatFloat(f, 'g', -1, bits)` for a finite value, where `exp_form` is
/// `format!("{:e}", f.abs())` (computed at the right width by the caller).
fn go_g(negative: bool, is_zero: bool, exp_form: &str) -> String {
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if is_zero {
        out.push('0');
        return out;
    }
    let (digits, dp) = shortest_digits(exp_form);
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        fmt_e(&digits, dp, &mut out);
    } else {
        fmt_f(&digits, dp, &mut out);
    }
    out
}

fn add_decimal(s: String) -> String {
    if s.contains('e') || s.contains('.') {
        s
    } else {
        s + ".0"
    }
}

fn non_finite(negative: bool, nan: bool) -> String {
    let sign = if negative { "-" } else { "" };
    format!("{sign}{}", if nan { "nan" } else { "inf" })
}

/// A float64 as BurntSushi writes it in TOML.
pub(crate) fn toml_f64(f: f64) -> String {
    if !f.is_finite() {
        return non_finite(f.is_sign_negative(), f.is_nan());
    }
    add_decimal(go_g(
        f.is_sign_negative(),
        f == 0.0,
        &format!("{:e}", f.abs()),
    ))
}

/// A float32 as BurntSushi writes it in TOML.
pub(crate) fn toml_f32(f: f32) -> String {
    if !f.is_finite() {
        return non_finite(f.is_sign_negative(), f.is_nan());
    }
    add_decimal(go_g(
        f.is_sign_negative(),
        f == 0.0,
        &format!("{:e}", f.abs()),
    ))
}

/// A float64 as Go `encoding/json` writes it ('f' format, or 'e' outside [1e-6, 1e21)).
pub(crate) fn json_f64(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut out = String::new();
        if f.is_sign_negative() {
            out.push('-');
        }
        let (digits, dp) = shortest_digits(&format!("{abs:e}"));
        fmt_e(&digits, dp, &mut out);
        // Go trims "e-07" to "e-7" (only for negative exponents).
        if let Some(pos) = out.find("e-0") {
            out.remove(pos + 2);
        }
        out
    } else if f == 0.0 {
        if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        }
    } else {
        // Display is the shortest round-trip digits without exponent, like Go's 'f', -1.
        format!("{f}")
    }
}

/// A float32 as Go `encoding/json` writes it.
pub(crate) fn json_f32(f: f32) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut out = String::new();
        if f.is_sign_negative() {
            out.push('-');
        }
        let (digits, dp) = shortest_digits(&format!("{abs:e}"));
        fmt_e(&digits, dp, &mut out);
        if let Some(pos) = out.find("e-0") {
            out.remove(pos + 2);
        }
        out
    } else if f == 0.0 {
        if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        }
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_floats_match_go() {
        // Expected strings are from BurntSushi output (testdata/files/go/encoder_cases.toml).
        assert_eq!(toml_f64(1.5), "1.5");
        assert_eq!(toml_f64(17.0), "17.0");
        assert_eq!(toml_f64(1234567.0), "1.234567e+06");
        assert_eq!(toml_f64(0.0001), "0.0001");
        assert_eq!(toml_f64(0.00001), "1e-05");
        assert_eq!(toml_f64(1e21), "1e+21");
        assert_eq!(toml_f64(0.0), "0.0");
        assert_eq!(toml_f64(123456.0), "123456.0");
        assert_eq!(toml_f64(0.25), "0.25");
        assert_eq!(toml_f64(f64::NAN), "nan");
        assert_eq!(toml_f64(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn json_floats_match_go() {
        // From testdata/files/go/json_cases.json.
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (17.0, "17"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (123456789e15, "1.23456789e+23"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (0.000001234, "0.000001234"),
            (-2.5e-10, "-2.5e-10"),
            (3.0e100, "3e+100"),
        ];
        for (f, want) in cases {
            assert_eq!(json_f64(f), want, "{f}");
        }
    }
}
