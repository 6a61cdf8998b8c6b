//! A serde `Deserializer` wrapper that keeps decoding an untrusted payload
//! bounded by the payload itself.
//!
//! bincode alone would, for an owned `String` or byte buffer, allocate the
//! length the payload *claims* before finding out the bytes are not there
//! (bounded only by the decode limit), and would loop over a sequence of
//! zero-byte elements as many times as a claimed length says. Wrapped:
//!
//! - owned strings and byte buffers are decoded as borrowed ones (`&str`,
//!   `&[u8]` slices of the payload, checked to be there) and copied, so
//!   their allocation is never larger than bytes actually received;
//! - a sequence or map claiming more elements than the payload has bytes
//!   is refused before serde reserves anything for it (elements of
//!   zero-sized types aside, which no message holds in a sequence, every
//!   element takes at least one byte);
//! - nesting deeper than [`MAX_DEPTH`] is refused, so no input can exhaust
//!   the stack whatever types the model grows.
//!
//! Everything else is passed through unchanged.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use std::fmt;
use std::marker::PhantomData;

/// Deepest nesting of values accepted (each struct, enum, option, sequence
/// element counts one). The messages and the config model nest far less.
pub(crate) const MAX_DEPTH: u32 = 128;

#[derive(Clone, Copy)]
struct Limits {
    /// Most elements a sequence or map may claim: the payload's length.
    max_len: usize,
    /// Levels of nesting left.
    depth: u32,
}

impl Limits {
    fn deeper<E: de::Error>(self) -> Result<Limits, E> {
        match self.depth.checked_sub(1) {
            Some(depth) => Ok(Limits { depth, ..self }),
            None => Err(E::custom(format_args!(
                "values nested more than {MAX_DEPTH} deep"
            ))),
        }
    }

    fn check_len<E: de::Error>(self, what: &str, hint: Option<usize>) -> Result<(), E> {
        match hint {
            Some(n) if n > self.max_len => Err(E::custom(format_args!(
                "{what} claims {n} elements in a {}-byte payload",
                self.max_len
            ))),
            _ => Ok(()),
        }
    }
}

/// The seed that decodes a whole payload of `payload_len` bytes as `T`.
pub(crate) struct Root<T> {
    limits: Limits,
    _t: PhantomData<fn() -> T>,
}

impl<T> Root<T> {
    pub(crate) fn new(payload_len: usize) -> Self {
        Root {
            limits: Limits {
                max_len: payload_len,
                depth: MAX_DEPTH,
            },
            _t: PhantomData,
        }
    }
}

impl<'de, T: de::Deserialize<'de>> DeserializeSeed<'de> for Root<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize(Guard {
            inner: d,
            lim: self.limits,
        })
    }
}

struct Guard<D> {
    inner: D,
    lim: Limits,
}

struct Wrap<V> {
    inner: V,
    lim: Limits,
    /// Whether a sequence or map given to this visitor has its length from
    /// the wire (`deserialize_seq`/`deserialize_map`). Structs and tuples
    /// are sequences of a length fixed by the type, whose fields may take
    /// no bytes at all: they are not checked.
    wire_len: bool,
}

impl<V> Wrap<V> {
    fn new(inner: V, lim: Limits) -> Self {
        Wrap {
            inner,
            lim,
            wire_len: false,
        }
    }
}

macro_rules! forward_deserialize {
    ($($method:ident ( $($arg:ident : $ty:ty),* );)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            let lim = self.lim.deeper()?;
            self.inner.$method($($arg,)* Wrap::new(visitor, lim))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Guard<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_bytes();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let lim = self.lim.deeper()?;
        self.inner.deserialize_seq(Wrap {
            inner: visitor,
            lim,
            wire_len: true,
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let lim = self.lim.deeper()?;
        self.inner.deserialize_map(Wrap {
            inner: visitor,
            lim,
            wire_len: true,
        })
    }

    /// Borrow, then copy: never allocate more than the bytes present.
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.deserialize_bytes(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident ( $ty:ty );)*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool);
        visit_i8(i8);
        visit_i16(i16);
        visit_i32(i32);
        visit_i64(i64);
        visit_i128(i128);
        visit_u8(u8);
        visit_u16(u16);
        visit_u32(u32);
        visit_u64(u64);
        visit_u128(u128);
        visit_f32(f32);
        visit_f64(f64);
        visit_char(char);
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
        self.inner.visit_some(Guard {
            inner: d,
            lim: self.lim,
        })
    }

    fn visit_newtype_struct<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
        self.inner.visit_newtype_struct(Guard {
            inner: d,
            lim: self.lim,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        if self.wire_len {
            self.lim.check_len("sequence", seq.size_hint())?;
        }
        self.inner.visit_seq(Wrap::new(seq, self.lim))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        if self.wire_len {
            self.lim.check_len("map", map.size_hint())?;
        }
        self.inner.visit_map(Wrap::new(map, self.lim))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(Wrap::new(data, self.lim))
    }
}

/// A seed whose deserializer is guarded.
struct Seed<S> {
    inner: S,
    lim: Limits,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Guard {
            inner: d,
            lim: self.lim,
        })
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.inner.next_element_seed(Seed {
            inner: seed,
            lim: self.lim,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(Seed {
            inner: seed,
            lim: self.lim,
        })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(Seed {
            inner: seed,
            lim: self.lim,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Wrap<A> {
    type Error = A::Error;
    type Variant = Wrap<A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let lim = self.lim;
        let (value, variant) = self.inner.variant_seed(Seed { inner: seed, lim })?;
        Ok((value, Wrap::new(variant, lim)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.newtype_variant_seed(Seed {
            inner: seed,
            lim: self.lim,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let lim = self.lim.deeper()?;
        self.inner.tuple_variant(len, Wrap::new(visitor, lim))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let lim = self.lim.deeper()?;
        self.inner.struct_variant(fields, Wrap::new(visitor, lim))
    }
}
