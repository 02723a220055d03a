//! Reading TOML with BurntSushi's key matching: a key that names no field exactly is
//! matched to a field case-insensitively (`Paths` fills `paths`). Implemented as a serde
//! `Deserializer` over a parsed [`toml::Value`] that renames such keys when serde asks for
//! a struct (serde tells it the field names).

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

/// Names toml's `Datetime` uses to travel through serde.
const DATETIME_STRUCT: &str = "$__toml_private_Datetime";
const DATETIME_FIELD: &str = "$__toml_private_datetime";

type Error = toml::de::Error;

/// Deserialize `T` from a parsed TOML table with Go's case-insensitive key matching.
pub(crate) fn from_table<T: DeserializeOwned>(table: toml::Table) -> Result<T, Error> {
    T::deserialize(Fold(toml::Value::Table(table)))
}

/// Parse TOML text, then [`from_table`].
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    from_table(toml::from_str::<toml::Table>(text)?)
}

struct Fold(toml::Value);

impl<'de> IntoDeserializer<'de, Error> for Fold {
    type Deserializer = Fold;
    fn into_deserializer(self) -> Fold {
        self
    }
}

fn fold_keys(table: toml::Table, fields: &[&str]) -> Vec<(String, Fold)> {
    let mut out: Vec<(String, Fold)> = Vec::with_capacity(table.len());
    let exact: Vec<bool> = fields.iter().map(|f| table.contains_key(*f)).collect();
    for (key, value) in table {
        let name = if fields.contains(&key.as_str()) {
            key
        } else {
            let lower = key.to_lowercase();
            fields
                .iter()
                .zip(&exact)
                .find(|(f, taken)| !**taken && f.to_lowercase() == lower)
                .map_or(key, |(f, _)| (*f).to_owned())
        };
        // Two spellings of one field: the last one wins (Go: map order decides).
        out.retain(|(k, _)| *k != name);
        out.push((name, Fold(value)));
    }
    out
}

impl<'de> de::Deserializer<'de> for Fold {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            toml::Value::String(s) => visitor.visit_string(s),
            toml::Value::Integer(i) => visitor.visit_i64(i),
            toml::Value::Float(f) => visitor.visit_f64(f),
            toml::Value::Boolean(b) => visitor.visit_bool(b),
            toml::Value::Datetime(dt) => visitor.visit_map(MapDeserializer::new(std::iter::once(
                (DATETIME_FIELD, dt.to_string()),
            ))),
            toml::Value::Array(items) => {
                visitor.visit_seq(SeqDeserializer::new(items.into_iter().map(Fold)))
            }
            toml::Value::Table(t) => visitor.visit_map(MapDeserializer::new(
                t.into_iter().map(|(k, v)| (k, Fold(v))),
            )),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            toml::Value::Table(t) if name != DATETIME_STRUCT => {
                visitor.visit_map(MapDeserializer::new(fold_keys(t, fields).into_iter()))
            }
            other => Fold(other).deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Slice {
        #[serde(default)]
        paths: Vec<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Doc {
        #[serde(default)]
        slices: Vec<Slice>,
        #[serde(rename = "working-dir", default)]
        working_dir: String,
        #[serde(default)]
        when: Option<toml::value::Datetime>,
        #[serde(default)]
        free: Option<toml::Table>,
    }

    #[test]
    fn keys_match_case_insensitively_like_burntsushi() {
        let doc: Doc = from_str(
            "Working-Dir = \"/w\"\nWHEN = 2026-08-01T10:20:30Z\n[[Slices]]\nPaths = [\"a\"]\n[free]\nX = 1\nd = 2026-08-01\n",
        )
        .expect("decode");
        assert_eq!(
            doc.slices,
            vec![Slice {
                paths: vec!["a".into()]
            }]
        );
        assert_eq!(doc.working_dir, "/w");
        assert_eq!(doc.when.expect("when").to_string(), "2026-08-01T10:20:30Z");
        // Free-form tables keep their keys and datetimes as they are.
        let free = doc.free.expect("free");
        assert_eq!(free["X"].as_integer(), Some(1));
        assert!(free["d"].is_datetime());
    }

    #[test]
    fn exact_key_wins_over_folded_one() {
        let doc: Doc =
            from_str("working-dir = \"exact\"\nWORKING-DIR = \"folded\"\n").expect("decode");
        assert_eq!(doc.working_dir, "exact");
    }
}
