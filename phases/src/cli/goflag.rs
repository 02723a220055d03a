//! A parser with the semantics of Go's `flag` package (`flag.FlagSet.Parse`, `PrintDefaults`),
//! which the Go lifecycle uses with `ExitOnError`:
//! `-f` and `--f`; `-f v` and `-f=v`; booleans only as `-f` or `-f=<bool>` (so in `-f false` the
//! `false` is a positional); parsing stops at the first positional or after `--`; a lone `-` is
//! a positional; `-h`/`-help` (unless defined) ask for usage. Errors carry Go's messages.

use super::flags::{Flag, Kind};
use super::goparse::{parse_bool, parse_duration, parse_int};
use super::inputs::Value;

/// The flag set name Go's lifecycle uses in "Usage of <name>:".
pub const FLAGSET_NAME: &str = "lifecycle";

#[derive(Debug, PartialEq)]
pub struct Parsed {
    /// Every flag occurrence in order, value already checked against the flag's kind.
    pub assignments: Vec<(&'static Flag, Value)>,
    /// The positionals: everything from the first non-flag argument (or after `--`).
    pub args: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum FlagError {
    /// `-h` / `-help`: print usage, exit 0.
    Help,
    /// Go's message ("flag provided but not defined: -x", …): print it and usage, exit 2.
    Invalid(String),
}

pub fn parse(flags: &[&'static Flag], args: &[String]) -> Result<Parsed, FlagError> {
    let mut assignments = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let s = args[i].as_str();
        if s.len() < 2 || !s.starts_with('-') {
            break;
        }
        let dashes = if s.as_bytes()[1] == b'-' { 2 } else { 1 };
        if s == "--" {
            i += 1;
            break;
        }
        let body = &s[dashes..];
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(FlagError::Invalid(format!("bad flag syntax: {s}")));
        }
        i += 1;
        // `=` cannot be the first character of the name, so search from the second byte.
        let (name, value) = match body[1..].find('=') {
            Some(p) => (&body[..p + 1], Some(&body[p + 2..])),
            None => (body, None),
        };
        let Some(flag) = flags.iter().copied().find(|f| f.name == name) else {
            if name == "help" || name == "h" {
                return Err(FlagError::Help);
            }
            return Err(FlagError::Invalid(format!(
                "flag provided but not defined: -{name}"
            )));
        };
        if flag.kind() == Kind::Bool {
            let v = value.unwrap_or("true");
            let b = parse_bool(v).ok_or_else(|| {
                FlagError::Invalid(format!(
                    "invalid boolean value {} for -{name}: parse error",
                    go_quote(v)
                ))
            })?;
            assignments.push((flag, Value::Bool(b)));
            continue;
        }
        let value = match value {
            Some(v) => v.to_string(),
            None if i < args.len() => {
                i += 1;
                args[i - 1].clone()
            }
            None => {
                return Err(FlagError::Invalid(format!(
                    "flag needs an argument: -{name}"
                )));
            }
        };
        let parsed = match flag.kind() {
            Kind::Int => parse_int(&value).map(Value::Int),
            Kind::Duration => parse_duration(&value).map(Value::Duration),
            _ => Ok(Value::Str(value.clone())),
        };
        let parsed = parsed.map_err(|why| {
            FlagError::Invalid(format!(
                "invalid value {} for flag -{name}: {why}",
                go_quote(&value)
            ))
        })?;
        assignments.push((flag, parsed));
    }
    Ok(Parsed {
        assignments,
        args: args[i..].to_vec(),
    })
}

/// Go's `%q` for the strings a command line can hold (printable text kept, the rest escaped).
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's default usage: "Usage of lifecycle:" then `PrintDefaults` (sorted by name). `default_of`
/// gives each flag's `DefValue` (its value before parsing, i.e. env or default).
pub fn usage(flags: &[&Flag], default_of: &dyn Fn(&Flag) -> String) -> String {
    let mut sorted: Vec<&Flag> = flags.to_vec();
    sorted.sort_by_key(|f| f.name);
    let mut out = format!("Usage of {FLAGSET_NAME}:\n");
    for f in sorted {
        let mut line = format!("  -{}", f.name);
        let (type_name, zero) = match f.kind() {
            Kind::Bool => ("", "false"),
            Kind::String => ("string", ""),
            Kind::Int => ("int", "0"),
            Kind::Duration => ("duration", "0s"),
            Kind::Repeated => ("value", "[]"),
        };
        if !type_name.is_empty() {
            line.push(' ');
            line.push_str(type_name);
        }
        line.push_str(if line.len() <= 4 { "\t" } else { "\n    \t" });
        line.push_str(&f.help.replace('\n', "\n    \t"));
        let def = default_of(f);
        if def != zero {
            if f.kind() == Kind::String {
                line.push_str(&format!(" (default {})", go_quote(&def)));
            } else {
                line.push_str(&format!(" (default {def})"));
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::flags::{DAEMON, INSECURE_REGISTRY, KANIKO_CACHE_TTL, LAYERS, TAG, UID};
    use std::time::Duration;

    static SET: [&Flag; 6] = [
        &DAEMON,
        &LAYERS,
        &TAG,
        &UID,
        &INSECURE_REGISTRY,
        &KANIKO_CACHE_TTL,
    ];

    type Assigned = Vec<(&'static str, Value)>;

    fn run(args: &[&str]) -> Result<(Assigned, Vec<String>), FlagError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let p = parse(&SET, &args)?;
        Ok((
            p.assignments
                .into_iter()
                .map(|(f, v)| (f.name, v))
                .collect(),
            p.args,
        ))
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn accepted_forms() {
        type Want = (Vec<(&'static str, Value)>, Vec<&'static str>);
        let table: Vec<(&[&str], Want)> = vec![
            (&["-layers", "/l"], (vec![("layers", s("/l"))], vec![])),
            (&["--layers", "/l"], (vec![("layers", s("/l"))], vec![])),
            (&["-layers=/l"], (vec![("layers", s("/l"))], vec![])),
            (&["--layers=a=b"], (vec![("layers", s("a=b"))], vec![])),
            (&["-layers="], (vec![("layers", s(""))], vec![])),
            (
                &["-layers", "-daemon"],
                (vec![("layers", s("-daemon"))], vec![]),
            ),
            (&["-daemon"], (vec![("daemon", Value::Bool(true))], vec![])),
            (
                &["-daemon=false"],
                (vec![("daemon", Value::Bool(false))], vec![]),
            ),
            (
                &["--daemon=T"],
                (vec![("daemon", Value::Bool(true))], vec![]),
            ),
            (
                &["-daemon", "false"],
                (vec![("daemon", Value::Bool(true))], vec!["false"]),
            ),
            (&["img", "-daemon"], (vec![], vec!["img", "-daemon"])),
            (&["--", "-daemon"], (vec![], vec!["-daemon"])),
            (&["-", "-daemon"], (vec![], vec!["-", "-daemon"])),
            (
                &["-tag", "a", "-tag=b"],
                (vec![("tag", s("a")), ("tag", s("b"))], vec![]),
            ),
            (&["-uid", "0x10"], (vec![("uid", Value::Int(16))], vec![])),
            (&["-uid", "-1"], (vec![("uid", Value::Int(-1))], vec![])),
            (
                &["-kaniko-cache-ttl", "1h"],
                (
                    vec![(
                        "kaniko-cache-ttl",
                        Value::Duration(Duration::from_secs(3600)),
                    )],
                    vec![],
                ),
            ),
            (&[], (vec![], vec![])),
        ];
        for (args, (want_assign, want_args)) in table {
            let (got_assign, got_args) = run(args).unwrap_or_else(|e| panic!("{args:?}: {e:?}"));
            assert_eq!(got_assign, want_assign, "{args:?}");
            assert_eq!(got_args, want_args, "{args:?}");
        }
    }

    #[test]
    fn errors_like_go() {
        let table: &[(&[&str], FlagError)] = &[
            (
                &["-x"],
                FlagError::Invalid("flag provided but not defined: -x".into()),
            ),
            (
                &["--nope=1"],
                FlagError::Invalid("flag provided but not defined: -nope".into()),
            ),
            (&["-h"], FlagError::Help),
            (&["--help"], FlagError::Help),
            (
                &["-layers"],
                FlagError::Invalid("flag needs an argument: -layers".into()),
            ),
            (
                &["-daemon=yes"],
                FlagError::Invalid("invalid boolean value \"yes\" for -daemon: parse error".into()),
            ),
            (
                &["-uid", "abc"],
                FlagError::Invalid("invalid value \"abc\" for flag -uid: parse error".into()),
            ),
            (
                &["-uid=99999999999999999999"],
                FlagError::Invalid(
                    "invalid value \"99999999999999999999\" for flag -uid: value out of range"
                        .into(),
                ),
            ),
            (
                &["---x"],
                FlagError::Invalid("bad flag syntax: ---x".into()),
            ),
            (&["-=x"], FlagError::Invalid("bad flag syntax: -=x".into())),
        ];
        for (args, want) in table {
            assert_eq!(run(args).unwrap_err(), *want, "{args:?}");
        }
    }

    #[test]
    fn usage_matches_print_defaults() {
        let flags: [&Flag; 4] = [&UID, &DAEMON, &LAYERS, &TAG];
        let text = usage(&flags, &|f| match f.name {
            "layers" => "/layers".into(),
            "uid" => "0".into(),
            "daemon" => "false".into(),
            _ => "[]".into(),
        });
        let want = "Usage of lifecycle:\n  -daemon\n    \texport to docker daemon\n  -layers string\n    \tpath to layers directory (default \"/layers\")\n  -tag value\n    \tadditional tags\n  -uid int\n    \tUID of user in the stack's build and run images\n";
        assert_eq!(text, want);
    }
}
