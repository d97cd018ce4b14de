//! The field names a type's derived `Deserialize` expects, read from the
//! list it hands the deserializer: no value of the type is needed, and the
//! names are the wire's (renames applied). The workflow selects a task's
//! output by these, so a field renamed in the task renames it in the
//! definition.

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use std::fmt;

#[derive(Debug)]
enum Probe {
    Fields(&'static [&'static str]),
    NotAStruct(String),
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Fields(fields) => write!(f, "fields {fields:?}"),
            Probe::NotAStruct(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Probe {}

impl de::Error for Probe {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Probe::NotAStruct(msg.to_string())
    }
}

/// A deserializer that answers only one question: which fields?
struct FieldProbe;

impl<'de> Deserializer<'de> for FieldProbe {
    type Error = Probe;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probe> {
        Err(Probe::NotAStruct("not a struct with named fields".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probe> {
        Err(Probe::Fields(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// `T`'s fields, as the wire names them. `T` must be a struct with named
/// fields (a task's output always is); anything else is a mistake in the
/// description, which the generator's tests show at once.
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let why = match T::deserialize(FieldProbe) {
        Err(Probe::Fields(fields)) => return fields,
        Err(Probe::NotAStruct(why)) => why,
        Ok(_) => "it deserialised from nothing".to_string(),
    };
    panic!("{} has no named fields to select: {why}", std::any::type_name::<T>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Answer {
        pending: usize,
        #[serde(rename = "in_sync")]
        synced: usize,
        #[serde(default)]
        note: Option<String>,
    }

    #[test]
    fn the_fields_are_the_wire_names_in_declaration_order() {
        assert_eq!(fields_of::<Answer>(), ["pending", "in_sync", "note"]);
    }

    #[test]
    #[should_panic(expected = "has no named fields")]
    fn a_type_without_named_fields_is_a_mistake_told_at_once() {
        fields_of::<u32>();
    }
}
