//! Nakama's names of the envelope's messages, from the table of
//! [`crate::messages`]: the union member of each name, and back.

use super::fb;
use crate::messages::realtime_messages;

macro_rules! flat_names {
    ($(
        $variant:ident = $key:tt, $field:tt, $tag:tt, $sender:ident, $proto:path
        $(, in $in:tt)? $(, out $out:tt)?;
    )*) => {
        /// Nakama's snake_case field name of a union member
        /// (`channel_join`), the name
        /// [`rtapi::CLIENT_MESSAGES`](crate::rtapi::CLIENT_MESSAGES) and
        /// JSON use.
        pub(super) fn message_name(m: &fb::MessageRef<'_>) -> &'static str {
            match m {
                $( fb::MessageRef::$variant(_) => $key, )*
            }
        }

        /// Nakama's message `name` with every field absent, as the union
        /// (`None` for a name that is not a message): what a client sends
        /// for a message Kairos does not model, and the way to a member's
        /// tag by name.
        pub fn empty_message(name: &str) -> Option<fb::Message> {
            Some(match name {
                $( $key => fb::Message::$variant(Default::default()), )*
                _ => return None,
            })
        }
    };
}
realtime_messages!(flat_names);
