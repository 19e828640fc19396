//! `nakama.realtime.Envelope`: one realtime message, in either direction.
//!
//! The oneof lists every message of Nakama's realtime protocol (field
//! numbers 2 to 51), so that a message Kairos does not handle is still
//! recognised by name. Its variants, types and field numbers come from the
//! table of [`crate::messages`].

use super::channel;
use super::error;
use super::heartbeat;
use super::matches;
use super::matchmaker;
use super::notification;
use super::party;
use super::rpc;
use super::status;
use super::stream;
use crate::messages::realtime_messages;

macro_rules! envelope {
    ($(
        $variant:ident = $key:tt, $field:tt, $tag:tt, $sender:ident, $proto:path
        $(, in $in:tt)? $(, out $out:tt)?;
    )*) => {
        /// `Envelope`: a `cid` (set on requests that expect a reply, and
        /// echoed on the reply) and exactly one message.
        #[derive(Clone, PartialEq, prost::Message)]
        pub struct Envelope {
            #[prost(string, tag = "1")]
            pub cid: String,
            #[prost(oneof = "Message", tags($($field),*))]
            pub message: Option<Message>,
        }

        /// Every message name of the oneof, in field-number order (2 to 51).
        pub const MESSAGE_NAMES: &[&str] = &[$($key),*];

        /// `Envelope.message`, the oneof: one variant per Nakama realtime
        /// message, named after its field.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Message {
            $(
                #[prost(message, tag = $field)]
                $variant($proto),
            )*
        }

        impl Message {
            /// The field name of this message in the envelope, as in JSON
            /// (`"match_data_send"`).
            pub fn name(&self) -> &'static str {
                match self {
                    $( Message::$variant(_) => $key, )*
                }
            }

            /// The field number of this message in the envelope.
            pub fn tag(&self) -> u32 {
                match self {
                    $( Message::$variant(_) => $field, )*
                }
            }

            /// An empty (all-default) message of this name, as a client
            /// that sets no field sends it; `None` for a name that is not
            /// a message.
            pub fn empty(name: &str) -> Option<Message> {
                Some(match name {
                    $( $key => Message::$variant(Default::default()), )*
                    _ => return None,
                })
            }
        }
    };
}
realtime_messages!(envelope);
