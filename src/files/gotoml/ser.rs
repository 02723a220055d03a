//! serde `Serializer` that turns a value into the [`Node`] tree BurntSushi would see.

use serde::ser::{self, Serialize};

use super::{Error, Node};

/// Names toml's `Datetime` uses to smuggle itself through serde.
const DATETIME_STRUCT: &str = "$__toml_private_Datetime";
const DATETIME_FIELD: &str = "$__toml_private_datetime";

/// Serializes one value; `Ok(None)` means "Go nil": nothing is written for it.
pub(crate) struct NodeSerializer;

type R = Result<Option<Node>, Error>;

impl ser::Serializer for NodeSerializer {
    type Ok = Option<Node>;
    type Error = Error;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantSeq;
    type SerializeMap = MapBuilder;
    type SerializeStruct = StructBuilder;
    type SerializeStructVariant = VariantStruct;

    fn serialize_bool(self, v: bool) -> R {
        Ok(Some(Node::Bool(v)))
    }
    fn serialize_i8(self, v: i8) -> R {
        Ok(Some(Node::Int(v.into())))
    }
    fn serialize_i16(self, v: i16) -> R {
        Ok(Some(Node::Int(v.into())))
    }
    fn serialize_i32(self, v: i32) -> R {
        Ok(Some(Node::Int(v.into())))
    }
    fn serialize_i64(self, v: i64) -> R {
        Ok(Some(Node::Int(v)))
    }
    fn serialize_i128(self, v: i128) -> R {
        i64::try_from(v)
            .map(|v| Some(Node::Int(v)))
            .map_err(|_| Error(format!("integer {v} out of range")))
    }
    fn serialize_u8(self, v: u8) -> R {
        Ok(Some(Node::UInt(v.into())))
    }
    fn serialize_u16(self, v: u16) -> R {
        Ok(Some(Node::UInt(v.into())))
    }
    fn serialize_u32(self, v: u32) -> R {
        Ok(Some(Node::UInt(v.into())))
    }
    fn serialize_u64(self, v: u64) -> R {
        Ok(Some(Node::UInt(v)))
    }
    fn serialize_u128(self, v: u128) -> R {
        u64::try_from(v)
            .map(|v| Some(Node::UInt(v)))
            .map_err(|_| Error(format!("integer {v} out of range")))
    }
    fn serialize_f32(self, v: f32) -> R {
        Ok(Some(Node::F32(v)))
    }
    fn serialize_f64(self, v: f64) -> R {
        Ok(Some(Node::F64(v)))
    }
    fn serialize_char(self, v: char) -> R {
        Ok(Some(Node::Str(v.to_string())))
    }
    fn serialize_str(self, v: &str) -> R {
        Ok(Some(Node::Str(v.to_owned())))
    }
    fn serialize_bytes(self, v: &[u8]) -> R {
        Ok(Some(Node::Array(
            v.iter().map(|b| Node::UInt((*b).into())).collect(),
        )))
    }
    fn serialize_none(self) -> R {
        Ok(None)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> R {
        value.serialize(self)
    }
    fn serialize_unit(self) -> R {
        Ok(None)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> R {
        Ok(None)
    }
    fn serialize_unit_variant(self, _name: &'static str, _idx: u32, variant: &'static str) -> R {
        Ok(Some(Node::Str(variant.to_owned())))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _name: &'static str, value: &T) -> R {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        value: &T,
    ) -> R {
        let entries = match value.serialize(NodeSerializer)? {
            Some(node) => vec![(variant.to_owned(), node)],
            None => Vec::new(),
        };
        Ok(Some(Node::Table(entries)))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSeq, Error> {
        Ok(VariantSeq(variant, SeqBuilder(Vec::with_capacity(len))))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapBuilder, Error> {
        Ok(MapBuilder {
            entries: Vec::new(),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<StructBuilder, Error> {
        Ok(StructBuilder {
            entries: Vec::new(),
            datetime: name == DATETIME_STRUCT,
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantStruct, Error> {
        Ok(VariantStruct(
            variant,
            StructBuilder {
                entries: Vec::new(),
                datetime: false,
            },
        ))
    }
}

pub(crate) struct SeqBuilder(Vec<Node>);

impl SeqBuilder {
    fn push<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        match value.serialize(NodeSerializer)? {
            Some(node) => {
                self.0.push(node);
                Ok(())
            }
            None => Err(Error("cannot encode array with nil element".into())),
        }
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Option<Node>;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> R {
        Ok(Some(Node::Array(self.0)))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Option<Node>;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> R {
        Ok(Some(Node::Array(self.0)))
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Option<Node>;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> R {
        Ok(Some(Node::Array(self.0)))
    }
}

pub(crate) struct VariantSeq(&'static str, SeqBuilder);

impl ser::SerializeTupleVariant for VariantSeq {
    type Ok = Option<Node>;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.1.push(value)
    }
    fn end(self) -> R {
        Ok(Some(Node::Table(vec![(
            self.0.to_owned(),
            Node::Array(self.1.0),
        )])))
    }
}

pub(crate) struct MapBuilder {
    entries: Vec<(String, Node)>,
    key: Option<String>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Option<Node>;
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        match key.serialize(NodeSerializer)? {
            Some(Node::Str(s)) => {
                self.key = Some(s);
                Ok(())
            }
            _ => Err(Error("cannot encode a map with non-string key type".into())),
        }
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("map value without key".into()))?;
        // Go skips nil map values.
        if let Some(node) = value.serialize(NodeSerializer)? {
            self.entries.push((key, node));
        }
        Ok(())
    }
    fn end(mut self) -> R {
        // Go sorts map keys (byte-wise string comparison).
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Some(Node::Table(self.entries)))
    }
}

pub(crate) struct StructBuilder {
    entries: Vec<(String, Node)>,
    datetime: bool,
}

impl ser::SerializeStruct for StructBuilder {
    type Ok = Option<Node>;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        if let Some(node) = value.serialize(NodeSerializer)? {
            self.entries.push((key.to_owned(), node));
        }
        Ok(())
    }
    fn end(mut self) -> R {
        if self.datetime {
            return match self.entries.pop() {
                Some((k, Node::Str(s))) if k == DATETIME_FIELD => Ok(Some(Node::Datetime(
                    super::super::freeform::go_toml_datetime(&s),
                ))),
                _ => Err(Error("malformed datetime".into())),
            };
        }
        Ok(Some(Node::Table(self.entries)))
    }
}

pub(crate) struct VariantStruct(&'static str, StructBuilder);

impl ser::SerializeStructVariant for VariantStruct {
    type Ok = Option<Node>;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(&mut self.1, key, value)
    }
    fn end(self) -> R {
        let inner = ser::SerializeStruct::end(self.1)?;
        Ok(Some(Node::Table(
            inner
                .map(|n| vec![(self.0.to_owned(), n)])
                .unwrap_or_default(),
        )))
    }
}
