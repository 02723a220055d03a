//! TOML writer that reproduces, byte for byte, what the Go lifecycle's encoder
//! (BurntSushi/toml v1.6.0, `toml.NewEncoder(w).Encode(v)`) writes for the same data.
//!
//! Rules it follows (all verified against Go output in `testdata/files/go/`):
//! - keys in struct field order; map keys sorted byte-wise;
//! - within a table, plain values (scalars and inline arrays) first, then sub-tables and
//!   arrays of tables, each group in that order;
//! - `[a.b]` / `[[a.b]]` headers and `key = value` lines are indented by two spaces per
//!   nesting level below the top; a blank line goes before each top-level `[table]` and
//!   before every `[[array.of.tables]]` element (whatever its depth), never at the start;
//! - an array is an array of tables only if it is non-empty and all elements are tables;
//!   otherwise it is written inline (`["a", "b"]`, `[]`, `[{k = 1}]`);
//! - `None` and unit are skipped, like Go nil pointers / maps / slices / interfaces
//!   (an empty `Vec` is still written as `key = []`, an empty map as a bare header);
//! - Go float formatting (`strconv.FormatFloat(f, 'g', -1, 64)` plus `.0` when needed),
//!   BurntSushi's string escaping (only `"`, `\`, C0 controls and DEL are escaped).
//!
//! `omitempty`-style skips are expressed on the Rust side with `skip_serializing_if`.

mod emit;
pub(crate) mod float;
mod ser;

use serde::Serialize;

/// Error raised when a value cannot be written as TOML.
#[derive(Debug, thiserror::Error)]
#[error("toml: {0}")]
pub struct Error(pub(crate) String);

impl serde::ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Intermediate tree: what BurntSushi sees after reflection.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Str(String),
    Int(i64),
    UInt(u64),
    F32(f32),
    F64(f64),
    Bool(bool),
    /// Already formatted the Go way, written unquoted.
    Datetime(String),
    Array(Vec<Node>),
    /// Entries in output order (struct field order, or sorted map keys).
    Table(Vec<(String, Node)>),
}

impl Node {
    fn is_table(&self) -> bool {
        matches!(self, Node::Table(_))
    }

    /// BurntSushi's `typeIsTable`: a table, or a non-empty array made only of tables.
    fn is_table_like(&self) -> bool {
        match self {
            Node::Table(_) => true,
            Node::Array(items) => !items.is_empty() && items.iter().all(Node::is_table),
            _ => false,
        }
    }
}

/// Serialize `value` as TOML exactly like the Go lifecycle would.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let node = value.serialize(ser::NodeSerializer)?;
    let mut out = String::new();
    if let Some(node) = node {
        emit::document(&node, &mut out)?;
    }
    Ok(out)
}

/// Like [`to_string`], as bytes.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    to_string(value).map(String::into_bytes)
}
