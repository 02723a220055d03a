//! JSON output shaped like Go's `encoding/json`, so that configs, manifests and index files we
//! write are byte-identical to what go-containerregistry writes for the same content.
//!
//! serde_json already matches Go for key order (we use struct order and `BTreeMap`), compact
//! output, numbers and control-character escapes. The one difference is that Go's `json.Marshal`
//! also escapes `<`, `>`, `&`, U+2028 and U+2029 (as `\u003c`, `\u003e`, `\u0026`, `\u2028`,
//! `\u2029`); [`GoEscape`] adds that on top of any serde_json formatter.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter, Serializer};
use std::io::{self, Write};

/// Compact JSON, like Go's `json.Marshal`.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut ser = Serializer::with_formatter(&mut out, GoEscape(CompactFormatter));
    value.serialize(&mut ser)?;
    Ok(out)
}

/// Indented JSON, like Go's `json.MarshalIndent(v, "", indent)` (no trailing newline).
pub fn to_go_json_indent<T: Serialize + ?Sized>(
    value: &T,
    indent: &str,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut ser = Serializer::with_formatter(
        &mut out,
        GoEscape(PrettyFormatter::with_indent(indent.as_bytes())),
    );
    value.serialize(&mut ser)?;
    Ok(out)
}

/// A serde_json formatter wrapper that adds Go's HTML-safe string escapes.
pub struct GoEscape<F>(pub F);

impl<F: Formatter> Formatter for GoEscape<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc: &[u8] = match c {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(esc)?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// serde helpers shared by the model types: Go's decoder treats `null` as "leave the zero value",
/// and Go's `omitempty` drops empty strings, slices, maps, `false` and `0`.
pub(crate) mod go {
    use serde::{Deserialize, Deserializer};

    pub fn null_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    pub fn is_false(b: &bool) -> bool {
        !*b
    }

    pub fn is_zero(n: &i64) -> bool {
        *n == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn escapes_like_go() {
        let v = BTreeMap::from([("k<", "a<b>&c\u{2028}\u{2029}\t\u{1}\u{7f}é")]);
        let s = String::from_utf8(to_go_json(&v).unwrap()).unwrap();
        assert_eq!(
            s,
            concat!(
                r#"{"k\u003c":"a\u003cb\u003e\u0026c\u2028\u2029\t\u0001"#,
                "\u{7f}é\"}"
            )
        );
    }

    #[test]
    fn indent_like_go() {
        let v = serde_json::json!({"a": [], "b": {}, "c": [1, {"d": "x"}]});
        let s = String::from_utf8(to_go_json_indent(&v, "   ").unwrap()).unwrap();
        assert_eq!(
            s,
            "{\n   \"a\": [],\n   \"b\": {},\n   \"c\": [\n      1,\n      {\n         \"d\": \"x\"\n      }\n   ]\n}"
        );
    }
}
