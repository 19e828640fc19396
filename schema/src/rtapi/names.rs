//! The names of the realtime messages in the JSON envelope, derived from
//! the table ([`crate::messages`]): which key is which [`Incoming`],
//! [`Outgoing`]'s keys, and `name()` / `empty()` of both.

use serde::de::{IgnoredAny, MapAccess};
use serde::{Serialize, Serializer};

use super::*;
use crate::messages::{realtime_messages, when};

/// The JSON body of a modeled client message `$variant` (its fields in
/// `()`), read from `$map`; an absent (`null`) body is the default.
macro_rules! json_incoming {
    ($map:ident, $variant:ident, ()) => {{
        $map.next_value::<Option<Empty>>()?;
        Incoming::$variant
    }};
    ($map:ident, $variant:ident, ($body:ty)) => {
        Incoming::$variant($map.next_value::<Option<$body>>()?.unwrap_or_default())
    };
}

/// The message `$key` with every field default, as [`Incoming`]: the
/// modeled variant, [`Incoming::Unhandled`] for another client message, or
/// `None` (by `return`) for a server-only one.
macro_rules! incoming_empty {
    ($variant:ident, $key:tt, server) => {
        return None
    };
    ($variant:ident, $key:tt, $sender:ident, ()) => {
        Incoming::$variant
    };
    ($variant:ident, $key:tt, $sender:ident, ($body:ty)) => {
        Incoming::$variant(<$body>::default())
    };
    ($variant:ident, $key:tt, $sender:ident) => {
        Incoming::Unhandled($key)
    };
}

/// The [`Outgoing`] `$variant` (its fields in `{}` or `()`) with every
/// field default.
macro_rules! outgoing_empty {
    ($variant:ident, {}) => {
        Outgoing::$variant {}
    };
    ($variant:ident, ($body:ty)) => {
        Outgoing::$variant(<$body>::default())
    };
}

/// Serializes `$message`, an [`Outgoing::$variant`], as `{"$key": body}`
/// (an empty struct variant's body is `{}`).
macro_rules! serialize_outgoing {
    ($s:ident, $message:ident, $variant:ident, $key:tt, {}) => {
        $s.serialize_newtype_variant("Outgoing", 0, $key, &Empty {})
    };
    ($s:ident, $message:ident, $variant:ident, $key:tt, ($body:ty)) => {{
        let Outgoing::$variant(body) = $message else {
            unreachable!("matched as {}", $key)
        };
        $s.serialize_newtype_variant("Outgoing", 0, $key, body)
    }};
}

macro_rules! json_names {
    ($(
        $variant:ident = $key:tt, $field:tt, $tag:tt, $sender:ident, $proto:path
        $(, in $in:tt)? $(, out $out:tt)?;
    )*) => {
        /// Reads the body of the client message `name` (one of
        /// [`CLIENT_MESSAGES`]) from `map`: the modeled variant, or
        /// [`Incoming::Unhandled`] with its body skipped.
        pub(super) fn json_message<'de, A: MapAccess<'de>>(
            name: &'static str,
            map: &mut A,
        ) -> Result<Incoming, A::Error> {
            Ok(match name {
                $($( $key => json_incoming!(map, $variant, $in), )?)*
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    Incoming::Unhandled(name)
                }
            })
        }

        impl Incoming {
            /// The message's field name in the envelope, as in JSON
            /// (`"match_data_send"`).
            pub fn name(&self) -> &'static str {
                match self {
                    $($( Incoming::$variant { .. } => when!($in => $key), )?)*
                    Incoming::Unhandled(name) => name,
                }
            }

            /// The client message `name` with every field default (what
            /// `{"<name>":{}}` decodes to); `None` for a name that is not a
            /// client message.
            pub fn empty(name: &str) -> Option<Incoming> {
                Some(match name {
                    $( $key => incoming_empty!($variant, $key, $sender $(, $in)?), )*
                    _ => return None,
                })
            }
        }

        impl Outgoing {
            /// The message's field name in the envelope, as in JSON
            /// (`"match_data"`).
            pub fn name(&self) -> &'static str {
                match self {
                    $($( Outgoing::$variant { .. } => when!($out => $key), )?)*
                }
            }

            /// The server message `name` with every field default; `None`
            /// for a name that [`Outgoing`] does not model.
            pub fn empty(name: &str) -> Option<Outgoing> {
                Some(match name {
                    $($( $key => outgoing_empty!($variant, $out), )?)*
                    _ => return None,
                })
            }
        }

        /// `{"<name>": body}`, the name from the table.
        impl Serialize for Outgoing {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let message = self;
                match message {
                    $($( Outgoing::$variant { .. } => {
                        serialize_outgoing!(s, message, $variant, $key, $out)
                    } )?)*
                }
            }
        }
    };
}
realtime_messages!(json_names);
