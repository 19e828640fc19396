//! The realtime messages: one table, from which every wire takes its names.
//!
//! [`realtime_messages!`] lists each message of Nakama's realtime envelope
//! once: its variant name, its JSON key, its protobuf oneof field number,
//! its FlatBuffers union tag, who sends it, its protobuf type, and the
//! variant of [`Incoming`](crate::rtapi::Incoming) and/or
//! [`Outgoing`](crate::rtapi::Outgoing) that models it, if Kairos models it.
//! The macro hands the table to another macro (a callback), which derives
//! what it needs:
//!
//! * here: [`MESSAGES`], [`CLIENT_MESSAGES`] and [`find`];
//! * `rtapi`: the JSON envelope's decoder (which key is which `Incoming`),
//!   `Outgoing`'s JSON serializer, and `name()` / `empty()` of both;
//! * `proto::envelope`: the protobuf oneof `Message` (its variants, types
//!   and field numbers), `Message::name` / `tag` / `empty` and
//!   `MESSAGE_NAMES`;
//! * `flat::names`: the FlatBuffers union member's name and the empty
//!   message of a name.
//!
//! Invariants (checked by `tests/messages.rs`): names, field numbers and
//! tags are unique; rows are in field-number order (2 to 51) and each
//! FlatBuffers tag is its field number minus one, the union order of
//! `flatbuffers/realtime.fbs`; the variant name is the key in UpperCamelCase
//! (planus's and prost's naming); and every wire round-trips every modeled
//! message.
//!
//! Adding a message is one row here, plus its types: the protobuf struct
//! (`proto/`), the FlatBuffers table and union member (`realtime.fbs`) and,
//! once Kairos handles it, its model (`rtapi`) and each wire's conversion
//! of its fields.

/// Who sends a message on Nakama's realtime protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Clients only (`match_data_send`).
    Client,
    /// Servers only (`match_data`); a client sending it is refused.
    Server,
    /// Both (`pong`, `rpc`).
    Both,
}

impl Direction {
    /// Whether a client may send it.
    pub const fn from_client(self) -> bool {
        matches!(self, Direction::Client | Direction::Both)
    }

    /// Whether a server may send it.
    pub const fn from_server(self) -> bool {
        matches!(self, Direction::Server | Direction::Both)
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageInfo {
    /// The envelope's field name: the JSON key (`"match_data_send"`).
    pub name: &'static str,
    /// The protobuf oneof field number in `nakama.realtime.Envelope`.
    pub field: u32,
    /// The FlatBuffers union tag in `kairos.rt.Message`.
    pub tag: u8,
    /// Who sends it.
    pub direction: Direction,
    /// Whether [`Incoming`](crate::rtapi::Incoming) models it (else a
    /// client's is [`Incoming::Unhandled`](crate::rtapi::Incoming::Unhandled)).
    pub incoming: bool,
    /// Whether [`Outgoing`](crate::rtapi::Outgoing) models it (Kairos sends
    /// it).
    pub outgoing: bool,
}

/// The table: calls `$then!` with one row per message of Nakama's
/// realtime envelope, in field-number order:
///
/// ```text
/// Variant = "json_key", protobuf field, FlatBuffers tag, sender, protobuf type
///     [, in <Incoming variant's fields>] [, out <Outgoing variant's fields>];
/// ```
///
/// The sender is `client`, `server` or `both`. The protobuf type is a path
/// inside `proto`. `in ()` is a unit variant of `Incoming`, `in (T)` one
/// holding a `T`; `out {}` an empty struct variant of `Outgoing`, `out (T)`
/// one holding a `T`. A client message without `in` is
/// `Incoming::Unhandled`; a server message without `out` is one Kairos
/// does not send yet.
macro_rules! realtime_messages {
    ($then:ident) => {
        $then! {
            // variant             JSON key                     pb  fb  sender  protobuf type                       Kairos's model
            Channel               = "channel",                   2,  1, server, channel::Channel,                   out (ChannelOut);
            ChannelJoin           = "channel_join",              3,  2, client, channel::ChannelJoin,               in (ChannelJoin);
            ChannelLeave          = "channel_leave",             4,  3, client, channel::ChannelLeave,              in (ChannelLeave);
            ChannelMessage        = "channel_message",           5,  4, server, channel::ChannelMessage,            out (crate::api::ChannelMessage);
            ChannelMessageAck     = "channel_message_ack",       6,  5, server, channel::ChannelMessageAck,         out (ChannelMessageAck);
            ChannelMessageSend    = "channel_message_send",      7,  6, client, channel::ChannelMessageSend,        in (ChannelMessageSend);
            ChannelMessageUpdate  = "channel_message_update",    8,  7, client, channel::ChannelMessageUpdate,      in (ChannelMessageUpdate);
            ChannelMessageRemove  = "channel_message_remove",    9,  8, client, channel::ChannelMessageRemove,      in (ChannelMessageRemove);
            ChannelPresenceEvent  = "channel_presence_event",   10,  9, server, channel::ChannelPresenceEvent,      out (ChannelPresenceEvent);
            Error                 = "error",                    11, 10, server, error::Error,                       out (ErrorBody);
            Match                 = "match",                    12, 11, server, matches::Match,                     out (MatchOut);
            MatchCreate           = "match_create",             13, 12, client, matches::MatchCreate,               in (MatchCreate);
            MatchData             = "match_data",               14, 13, server, matches::MatchData,                 out (MatchData);
            MatchDataSend         = "match_data_send",          15, 14, client, matches::MatchDataSend,             in (MatchDataSend);
            MatchJoin             = "match_join",               16, 15, client, matches::MatchJoin,                 in (MatchJoin);
            MatchLeave            = "match_leave",              17, 16, client, matches::MatchLeave,                in (MatchLeave);
            MatchPresenceEvent    = "match_presence_event",     18, 17, server, matches::MatchPresenceEvent,        out (MatchPresenceEvent);
            MatchmakerAdd         = "matchmaker_add",           19, 18, client, matchmaker::MatchmakerAdd,        in (MatchmakerAdd);
            MatchmakerMatched     = "matchmaker_matched",       20, 19, server, matchmaker::MatchmakerMatched,    out (MatchmakerMatched);
            MatchmakerRemove      = "matchmaker_remove",        21, 20, client, matchmaker::MatchmakerRemove,     in (MatchmakerRemove);
            MatchmakerTicket      = "matchmaker_ticket",        22, 21, server, matchmaker::MatchmakerTicket,     out (MatchmakerTicket);
            Notifications         = "notifications",            23, 22, server, notification::Notifications,        out (NotificationsOut);
            Rpc                   = "rpc",                      24, 23, both,   rpc::Rpc,                           in (Rpc), out (RpcOut);
            Status                = "status",                   25, 24, server, status::Status,                     out (StatusOut);
            StatusFollow          = "status_follow",            26, 25, client, status::StatusFollow,               in (StatusFollow);
            StatusPresenceEvent   = "status_presence_event",    27, 26, server, status::StatusPresenceEvent,        out (StatusPresenceEvent);
            StatusUnfollow        = "status_unfollow",          28, 27, client, status::StatusUnfollow,             in (StatusUnfollow);
            StatusUpdate          = "status_update",            29, 28, client, status::StatusUpdate,               in (StatusUpdate);
            StreamData            = "stream_data",              30, 29, server, stream::StreamData,                 out (StreamData);
            StreamPresenceEvent   = "stream_presence_event",    31, 30, server, stream::StreamPresenceEvent,       out (StreamPresenceEvent);
            Ping                  = "ping",                     32, 31, client, heartbeat::Ping,                    in ();
            Pong                  = "pong",                     33, 32, both,   heartbeat::Pong,                    in (), out {};
            Party                 = "party",                    34, 33, server, party::Party,                       out (PartyOut);
            PartyCreate           = "party_create",             35, 34, client, party::PartyCreate,                 in (PartyCreate);
            PartyJoin             = "party_join",               36, 35, client, party::PartyJoin,                   in (PartyRef);
            PartyLeave            = "party_leave",              37, 36, client, party::PartyLeave,                  in (PartyRef);
            PartyPromote          = "party_promote",            38, 37, client, party::PartyPromote,                in (PartyMember);
            PartyLeader           = "party_leader",             39, 38, server, party::PartyLeader,                 out (PartyLeader);
            PartyAccept           = "party_accept",             40, 39, client, party::PartyAccept,                 in (PartyMember);
            PartyRemove           = "party_remove",             41, 40, client, party::PartyRemove,                 in (PartyMember);
            PartyClose            = "party_close",              42, 41, both,   party::PartyClose,                  in (PartyRef), out (PartyRef);
            PartyJoinRequestList  = "party_join_request_list",  43, 42, client, party::PartyJoinRequestList,        in (PartyRef);
            PartyJoinRequest      = "party_join_request",       44, 43, server, party::PartyJoinRequest,            out (PartyJoinRequest);
            PartyMatchmakerAdd    = "party_matchmaker_add",     45, 44, client, party::PartyMatchmakerAdd,          in (PartyMatchmakerAdd);
            PartyMatchmakerRemove = "party_matchmaker_remove",  46, 45, client, party::PartyMatchmakerRemove,       in (PartyMatchmakerRemove);
            PartyMatchmakerTicket = "party_matchmaker_ticket",  47, 46, server, party::PartyMatchmakerTicket,       out (PartyMatchmakerTicket);
            PartyData             = "party_data",               48, 47, server, party::PartyData,                   out (PartyData);
            PartyDataSend         = "party_data_send",          49, 48, client, party::PartyDataSend,               in (PartyDataSend);
            PartyPresenceEvent    = "party_presence_event",     50, 49, server, party::PartyPresenceEvent,          out (PartyPresenceEvent);
            PartyUpdate           = "party_update",             51, 50, both,   party::PartyUpdate,                 in (PartyUpdate), out (PartyUpdate);
        }
    };
}
pub(crate) use realtime_messages;

/// Expands to its tokens after `=>`; `$present` only selects the rows of
/// the table that have it (a column inside `$( ... )?`).
macro_rules! when {
    ($present:tt => $($then:tt)*) => {
        $($then)*
    };
}
pub(crate) use when;

/// `true` when given a token tree, `false` when given none.
macro_rules! present {
    () => {
        false
    };
    ($x:tt) => {
        true
    };
}

/// A sender column as a [`Direction`].
macro_rules! direction {
    (client) => {
        Direction::Client
    };
    (server) => {
        Direction::Server
    };
    (both) => {
        Direction::Both
    };
}

macro_rules! message_infos {
    ($(
        $variant:ident = $key:tt, $field:tt, $tag:tt, $sender:ident, $proto:path
        $(, in $in:tt)? $(, out $out:tt)?;
    )*) => {
        /// Every message of Nakama's realtime envelope, in field-number
        /// order.
        pub const MESSAGES: &[MessageInfo] = &[$(
            MessageInfo {
                name: $key,
                field: $field,
                tag: $tag,
                direction: direction!($sender),
                incoming: present!($($in)?),
                outgoing: present!($($out)?),
            },
        )*];
    };
}
realtime_messages!(message_infos);

/// Every message name a client may send in Nakama's envelope, in
/// field-number order.
pub const CLIENT_MESSAGES: &[&str] = &client_messages::<{ count_client_messages() }>();

const fn count_client_messages() -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < MESSAGES.len() {
        if MESSAGES[i].direction.from_client() {
            n += 1;
        }
        i += 1;
    }
    n
}

const fn client_messages<const N: usize>() -> [&'static str; N] {
    let mut names = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < MESSAGES.len() {
        if MESSAGES[i].direction.from_client() {
            names[n] = MESSAGES[i].name;
            n += 1;
        }
        i += 1;
    }
    names
}

/// The row of the message named `name`, if Nakama's envelope has one.
pub fn find(name: &str) -> Option<&'static MessageInfo> {
    MESSAGES.iter().find(|m| m.name == name)
}
