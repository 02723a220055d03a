//! Writes a [`Node`] tree the way BurntSushi's encoder lays it out.

use super::float::{toml_f32, toml_f64};
use super::{Error, Node};

const INDENT: &str = "  ";

/// Output buffer with BurntSushi's "newline only once something was written" rule.
struct Out<'a> {
    buf: &'a mut String,
}

impl Out<'_> {
    fn newline(&mut self) {
        if !self.buf.is_empty() {
            self.buf.push('\n');
        }
    }
    fn indent(&mut self, depth: usize) {
        for _ in 1..depth {
            self.buf.push_str(INDENT);
        }
    }
}

pub(super) fn document(node: &Node, buf: &mut String) -> Result<(), Error> {
    let mut out = Out { buf };
    let mut key = Vec::new();
    encode(&mut key, node, &mut out)
}

fn encode(key: &mut Vec<String>, node: &Node, out: &mut Out) -> Result<(), Error> {
    match node {
        Node::Table(entries) => {
            if key.len() == 1 {
                // Extra blank line between top-level tables.
                out.newline();
            }
            if !key.is_empty() {
                out.indent(key.len());
                out.buf.push('[');
                push_dotted(key, out.buf);
                out.buf.push(']');
                out.newline();
            }
            table_body(key, entries, out)
        }
        Node::Array(items) if node.is_table_like() => {
            if key.is_empty() {
                return Err(Error("top-level values must be Go maps or structs".into()));
            }
            for item in items {
                let Node::Table(entries) = item else {
                    unreachable!("checked by is_table_like")
                };
                out.newline();
                out.indent(key.len());
                out.buf.push_str("[[");
                push_dotted(key, out.buf);
                out.buf.push_str("]]");
                out.newline();
                table_body(key, entries, out)?;
            }
            Ok(())
        }
        _ => {
            if let Some(last) = key.last() {
                out.indent(key.len());
                push_key(last, out.buf);
                out.buf.push_str(" = ");
                element(node, out.buf);
                out.newline();
            } else {
                element(node, out.buf);
            }
            Ok(())
        }
    }
}

/// Plain values first, then tables and arrays of tables, each in entry order.
fn table_body(
    key: &mut Vec<String>,
    entries: &[(String, Node)],
    out: &mut Out,
) -> Result<(), Error> {
    for sub in [false, true] {
        for (name, value) in entries.iter().filter(|(_, v)| v.is_table_like() == sub) {
            key.push(name.clone());
            let res = encode(key, value, out);
            key.pop();
            res?;
        }
    }
    Ok(())
}

/// An inline value: scalar, `[a, b]` or `{k = v, …}`.
fn element(node: &Node, buf: &mut String) {
    match node {
        Node::Str(s) => push_quoted(s, buf),
        Node::Int(i) => buf.push_str(&i.to_string()),
        Node::UInt(u) => buf.push_str(&u.to_string()),
        Node::F32(f) => buf.push_str(&toml_f32(*f)),
        Node::F64(f) => buf.push_str(&toml_f64(*f)),
        Node::Bool(b) => buf.push_str(if *b { "true" } else { "false" }),
        Node::Datetime(s) => buf.push_str(s),
        Node::Array(items) => {
            buf.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    buf.push_str(", ");
                }
                element(item, buf);
            }
            buf.push(']');
        }
        Node::Table(entries) => {
            buf.push('{');
            let ordered = entries
                .iter()
                .filter(|(_, v)| !v.is_table_like())
                .chain(entries.iter().filter(|(_, v)| v.is_table_like()));
            for (i, (name, value)) in ordered.enumerate() {
                if i > 0 {
                    buf.push_str(", ");
                }
                push_key(name, buf);
                buf.push_str(" = ");
                element(value, buf);
            }
            buf.push('}');
        }
    }
}

fn is_bare(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn push_key(key: &str, buf: &mut String) {
    if is_bare(key) {
        buf.push_str(key);
    } else {
        push_quoted(key, buf);
    }
}

fn push_dotted(key: &[String], buf: &mut String) {
    for (i, part) in key.iter().enumerate() {
        if i > 0 {
            buf.push('.');
        }
        push_key(part, buf);
    }
}

/// BurntSushi's `dblQuotedReplacer`: only `"`, `\`, C0 controls and DEL are escaped.
pub(crate) fn push_quoted(s: &str, buf: &mut String) {
    buf.push('"');
    for c in s.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\u{8}' => buf.push_str("\\b"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\u{c}' => buf.push_str("\\f"),
            '\r' => buf.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                buf.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
}
