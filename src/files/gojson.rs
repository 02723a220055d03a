//! JSON exactly as Go `encoding/json` (`json.Marshal`) writes it for the lifecycle's labels:
//! compact, struct field order (declare Rust fields in Go order), map keys sorted
//! (use `BTreeMap`), HTML-safe escaping (`<` `>` `&` → `\u003c` `\u003e` `\u0026`, and
//! U+2028/U+2029), Go float formatting (`17` not `17.0`, `1e+21`, `1e-7`).
//!
//! Reading through [`from_slice`]/[`from_str`] also gives free-form tables Go's `any`
//! semantics (see [`crate::files::freeform`]).

use std::cell::Cell;
use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::ser::Formatter;

use super::gotoml::float::{json_f32, json_f64};

thread_local! {
    static JSON_MODE: Cell<bool> = const { Cell::new(false) };
}

/// True while a value is being written or read by this module (for [`crate::files::freeform`]).
pub(crate) fn json_mode() -> bool {
    JSON_MODE.with(Cell::get)
}

/// Restores the previous mode on drop (also when serialization panics).
struct ModeGuard(bool);

impl Drop for ModeGuard {
    fn drop(&mut self) {
        JSON_MODE.with(|m| m.set(self.0));
    }
}

fn in_json_mode<R>(f: impl FnOnce() -> R) -> R {
    let _guard = ModeGuard(JSON_MODE.with(|m| m.replace(true)));
    f()
}

/// serde_json formatter with Go's number formatting and HTML escaping.
#[derive(Debug, Default, Clone, Copy)]
pub struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(json_f64(value).as_bytes())
    }
    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(json_f32(value).as_bytes())
    }
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// `json.Marshal(v)`.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    in_json_mode(|| {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
        value.serialize(&mut ser)?;
        Ok(out)
    })
}

/// `json.Marshal(v)` as a string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    // The formatter only ever writes valid UTF-8.
    to_vec(value).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// `json.Unmarshal(data, &v)` (unknown keys ignored).
pub fn from_slice<T: DeserializeOwned>(data: &[u8]) -> Result<T, serde_json::Error> {
    in_json_mode(|| serde_json::from_slice(data))
}

/// `json.Unmarshal([]byte(s), &v)`.
pub fn from_str<T: DeserializeOwned>(s: &str) -> Result<T, serde_json::Error> {
    from_slice(s.as_bytes())
}

/// Deserialize from an already parsed JSON value, with the same Go semantics.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, serde_json::Error> {
    in_json_mode(|| serde_json::from_value(value))
}
