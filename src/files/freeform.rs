//! Free-form tables (`[metadata]` of `<layer>.toml`, `store.toml`, layer `data` in the
//! lifecycle labels) with Go `any` semantics.
//!
//! Use `#[serde(default, with = "crate::files::freeform::opt")]` on an `Option<Table>`
//! field. In TOML the table is written/read as is (datetimes stay datetimes). When the
//! value goes through [`crate::files::gojson`] it behaves like Go `encoding/json` with an
//! `any` target: datetimes become RFC 3339 strings on output, and on input every JSON
//! number becomes a float (Go decodes numbers into `float64`, so a layer's `size = 3`
//! comes back from the image label as `size = 3.0`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::value::{Datetime, Offset};

/// A free-form TOML table.
pub type Table = toml::Table;

fn frac(nanos: u32) -> String {
    if nanos == 0 {
        return String::new();
    }
    let s = format!(".{nanos:09}");
    s.trim_end_matches('0').to_owned()
}

fn offset(o: Option<Offset>) -> String {
    match o {
        None | Some(Offset::Z) | Some(Offset::Custom { minutes: 0 }) => "Z".into(),
        Some(Offset::Custom { minutes }) => {
            let sign = if minutes < 0 { '-' } else { '+' };
            let m = minutes.unsigned_abs();
            format!("{sign}{:02}:{:02}", m / 60, m % 60)
        }
    }
}

fn parts(dt: &Datetime) -> (String, String) {
    let date = dt
        .date
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_else(|| "0000-01-01".into());
    let time = dt
        .time
        .map(|t| {
            format!(
                "{:02}:{:02}:{:02}{}",
                t.hour,
                t.minute,
                t.second.unwrap_or(0),
                frac(t.nanosecond.unwrap_or(0))
            )
        })
        .unwrap_or_else(|| "00:00:00".into());
    (date, time)
}

/// A TOML datetime as BurntSushi writes a decoded `time.Time` back to TOML.
pub(crate) fn go_toml_datetime(text: &str) -> String {
    let Ok(dt) = text.parse::<Datetime>() else {
        return text.to_owned();
    };
    let (date, time) = parts(&dt);
    match (dt.date.is_some(), dt.time.is_some(), dt.offset) {
        (true, true, Some(o)) => format!("{date}T{time}{}", offset(Some(o))),
        (true, true, None) => format!("{date}T{time}"),
        (true, false, _) => date,
        (false, _, _) => time,
    }
}

/// A TOML datetime as Go `encoding/json` writes the `time.Time` BurntSushi decoded.
pub(crate) fn go_json_datetime(dt: &Datetime) -> String {
    let (date, time) = parts(dt);
    format!("{date}T{time}{}", offset(dt.offset))
}

/// A TOML value as Go `encoding/json` writes the `any` BurntSushi decoded it into:
/// datetimes as RFC 3339 strings, map keys sorted (whatever order the table keeps).
struct JsonView<'a>(&'a toml::Value);

/// A table seen through [`JsonView`].
struct JsonTable<'a>(&'a Table);

impl Serialize for JsonView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            toml::Value::String(v) => s.serialize_str(v),
            toml::Value::Integer(v) => s.serialize_i64(*v),
            toml::Value::Float(v) => s.serialize_f64(*v),
            toml::Value::Boolean(v) => s.serialize_bool(*v),
            toml::Value::Datetime(d) => s.serialize_str(&go_json_datetime(d)),
            toml::Value::Array(items) => s.collect_seq(items.iter().map(JsonView)),
            toml::Value::Table(t) => JsonTable(t).serialize(s),
        }
    }
}

impl Serialize for JsonTable<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&String, &toml::Value)> = self.0.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        s.collect_map(entries.into_iter().map(|(k, v)| (k, JsonView(v))))
    }
}

/// Go `json.Unmarshal` into `any`, then seen by BurntSushi: numbers are floats, nulls vanish.
fn from_json(v: serde_json::Value) -> Option<toml::Value> {
    use serde_json::Value as J;
    Some(match v {
        J::Null => return None,
        J::Bool(b) => toml::Value::Boolean(b),
        J::Number(n) => toml::Value::Float(n.as_f64()?),
        J::String(s) => toml::Value::String(s),
        J::Array(a) => toml::Value::Array(a.into_iter().filter_map(from_json).collect()),
        J::Object(o) => toml::Value::Table(
            o.into_iter()
                .filter_map(|(k, v)| from_json(v).map(|v| (k, v)))
                .collect(),
        ),
    })
}

/// Serializes a table for either writer (see the module docs).
pub fn serialize_table<S: Serializer>(t: &Table, s: S) -> Result<S::Ok, S::Error> {
    if crate::files::gojson::json_mode() {
        JsonTable(t).serialize(s)
    } else {
        t.serialize(s)
    }
}

/// Deserializes a table from either reader (see the module docs).
pub fn deserialize_table<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Table>, D::Error> {
    if crate::files::gojson::json_mode() {
        let v = serde_json::Value::deserialize(d)?;
        Ok(match from_json(v) {
            Some(toml::Value::Table(t)) => Some(t),
            _ => None,
        })
    } else {
        Option::<Table>::deserialize(d)
    }
}

/// `#[serde(default, with = "crate::files::freeform::opt")]` for `Option<Table>` fields:
/// `None` is Go nil (JSON `null`, nothing in TOML).
pub mod opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<Table>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => serialize_table(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Table>, D::Error> {
        deserialize_table(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_like_go_time() {
        // BurntSushi decodes into time.Time and writes RFC3339Nano / local layouts back.
        assert_eq!(
            go_toml_datetime("2026-08-01T10:20:30Z"),
            "2026-08-01T10:20:30Z"
        );
        assert_eq!(
            go_toml_datetime("2026-08-01 10:20:30.500+01:30"),
            "2026-08-01T10:20:30.5+01:30"
        );
        assert_eq!(
            go_toml_datetime("2026-08-01T10:20:30.000"),
            "2026-08-01T10:20:30"
        );
        assert_eq!(go_toml_datetime("2026-08-01"), "2026-08-01");
        assert_eq!(go_toml_datetime("07:32:00.999999"), "07:32:00.999999");
        // encoding/json writes every time.Time as RFC3339Nano.
        let j = |s: &str| go_json_datetime(&s.parse().expect("datetime"));
        assert_eq!(j("2026-08-01"), "2026-08-01T00:00:00Z");
        assert_eq!(j("2026-08-01T10:20:30-05:00"), "2026-08-01T10:20:30-05:00");
        assert_eq!(j("07:32:00"), "0000-01-01T07:32:00Z");
    }

    #[test]
    fn json_view_sorts_keys_and_converts() {
        let t: Table =
            toml::from_str("b = 1\na = 2026-08-01\n[c]\nz = 1.0\ny = [1, 2.5]\n").expect("toml");
        let json = crate::files::gojson::to_string(&JsonTable(&t)).expect("json");
        assert_eq!(
            json,
            r#"{"a":"2026-08-01T00:00:00Z","b":1,"c":{"y":[1,2.5],"z":1}}"#
        );
    }
}
