//! Server side: a client's FlatBuffers envelope into [`Envelope`].

use bytes::Bytes;
use planus::ReadAsRoot;

use super::fb;
use super::names::message_name;
use super::read::{Reader, Refused, Result};
use crate::messages;
use crate::rtapi::{
    ChannelJoin, ChannelLeave, ChannelMessageRemove, ChannelMessageSend, ChannelMessageUpdate,
    DecodeError, Envelope, ErrorCode, Incoming, MatchCreate, MatchDataSend, MatchJoin, MatchLeave,
    MatchmakerAdd, MatchmakerRemove, PartyCreate, PartyDataSend, PartyMatchmakerAdd,
    PartyMatchmakerRemove, PartyMember, PartyRef, PartyUpdate, Rpc, StatusFollow, StatusUnfollow,
    StatusUpdate,
};

/// Decodes one client envelope, read in place from `buf`.
///
/// `MatchDataSend.data` is not copied: planus hands out the data vector
/// as a sub-slice of `buf`, whose distance from `buf`'s start gives the
/// range that [`Bytes::slice`] shares (a reference count, no copy).
pub fn decode(buf: &Bytes) -> std::result::Result<Envelope, DecodeError> {
    envelope(buf)
        .map_err(Refused::into_error)?
        .ok_or_else(|| DecodeError {
            code: ErrorCode::MissingPayload,
            message: "Missing message.".into(),
        })
}

/// The envelope, or `None` when it carries no message.
fn envelope(buf: &Bytes) -> Result<Option<Envelope>> {
    let envelope = fb::EnvelopeRef::read_as_root(buf)?;
    let mut r = Reader::new(buf.len());
    let cid = r.string(envelope.cid())?;
    let Some(message) = envelope.message()? else {
        return Ok(None);
    };
    let message = incoming(&mut r, buf, message)?;
    Ok(Some(Envelope { cid, message }))
}

fn incoming(r: &mut Reader, buf: &Bytes, message: fb::MessageRef<'_>) -> Result<Incoming> {
    use fb::MessageRef as M;
    Ok(match message {
        M::Ping(_) => Incoming::Ping,
        M::Pong(_) => Incoming::Pong,
        M::MatchCreate(m) => Incoming::MatchCreate(MatchCreate {
            name: r.string(m.name())?,
        }),
        M::MatchJoin(m) => Incoming::MatchJoin(MatchJoin {
            match_id: r.string(m.match_id())?,
            token: r.string(m.token())?,
            metadata: r.string_map(m.metadata())?,
        }),
        M::MatchLeave(m) => Incoming::MatchLeave(MatchLeave {
            match_id: r.string(m.match_id())?,
        }),
        M::MatchDataSend(m) => Incoming::MatchDataSend(MatchDataSend {
            match_id: r.string(m.match_id())?,
            op_code: m.op_code()?,
            data: m
                .data()?
                .map_or_else(Bytes::new, |data| shared_slice(buf, data)),
            presences: r.presences(m.presences())?,
            reliable: m.reliable()?,
        }),
        M::StatusFollow(m) => Incoming::StatusFollow(StatusFollow {
            user_ids: r.strings(m.user_ids())?,
            usernames: r.strings(m.usernames())?,
        }),
        M::StatusUnfollow(m) => Incoming::StatusUnfollow(StatusUnfollow {
            user_ids: r.strings(m.user_ids())?,
        }),
        M::StatusUpdate(m) => Incoming::StatusUpdate(StatusUpdate {
            status: r.opt_string(m.status())?,
        }),
        M::MatchmakerAdd(m) => Incoming::MatchmakerAdd(MatchmakerAdd {
            min_count: m.min_count()?,
            max_count: m.max_count()?,
            query: r.string(m.query())?,
            string_properties: r.string_map(m.string_properties())?,
            numeric_properties: r.number_map(m.numeric_properties())?,
            count_multiple: m.count_multiple()?,
        }),
        M::MatchmakerRemove(m) => Incoming::MatchmakerRemove(MatchmakerRemove {
            ticket: r.string(m.ticket())?,
        }),
        M::PartyMatchmakerAdd(m) => Incoming::PartyMatchmakerAdd(PartyMatchmakerAdd {
            party_id: r.string(m.party_id())?,
            min_count: m.min_count()?,
            max_count: m.max_count()?,
            query: r.string(m.query())?,
            string_properties: r.string_map(m.string_properties())?,
            numeric_properties: r.number_map(m.numeric_properties())?,
            count_multiple: m.count_multiple()?,
        }),
        M::PartyMatchmakerRemove(m) => Incoming::PartyMatchmakerRemove(PartyMatchmakerRemove {
            party_id: r.string(m.party_id())?,
            ticket: r.string(m.ticket())?,
        }),
        M::Rpc(m) => Incoming::Rpc(Rpc {
            id: r.string(m.id())?,
            payload: r.string(m.payload())?,
            http_key: r.string(m.http_key())?,
        }),
        M::ChannelJoin(m) => Incoming::ChannelJoin(ChannelJoin {
            target: r.string(m.target())?,
            kind: m.type_()?,
            persistence: m.persistence()?,
            hidden: m.hidden()?,
        }),
        M::ChannelLeave(m) => Incoming::ChannelLeave(ChannelLeave {
            channel_id: r.string(m.channel_id())?,
        }),
        M::ChannelMessageSend(m) => Incoming::ChannelMessageSend(ChannelMessageSend {
            channel_id: r.string(m.channel_id())?,
            content: r.string(m.content())?,
        }),
        M::ChannelMessageUpdate(m) => Incoming::ChannelMessageUpdate(ChannelMessageUpdate {
            channel_id: r.string(m.channel_id())?,
            message_id: r.string(m.message_id())?,
            content: r.string(m.content())?,
        }),
        M::ChannelMessageRemove(m) => Incoming::ChannelMessageRemove(ChannelMessageRemove {
            channel_id: r.string(m.channel_id())?,
            message_id: r.string(m.message_id())?,
        }),
        M::PartyCreate(m) => Incoming::PartyCreate(PartyCreate {
            open: m.open()?,
            max_size: m.max_size()?,
            label: r.string(m.label())?,
            hidden: m.hidden()?,
        }),
        M::PartyJoin(m) => Incoming::PartyJoin(PartyRef {
            party_id: r.string(m.party_id())?,
        }),
        M::PartyLeave(m) => Incoming::PartyLeave(PartyRef {
            party_id: r.string(m.party_id())?,
        }),
        M::PartyClose(m) => Incoming::PartyClose(PartyRef {
            party_id: r.string(m.party_id())?,
        }),
        M::PartyJoinRequestList(m) => Incoming::PartyJoinRequestList(PartyRef {
            party_id: r.string(m.party_id())?,
        }),
        M::PartyPromote(m) => Incoming::PartyPromote(PartyMember {
            party_id: r.string(m.party_id())?,
            presence: r.opt_presence(m.presence())?,
        }),
        M::PartyAccept(m) => Incoming::PartyAccept(PartyMember {
            party_id: r.string(m.party_id())?,
            presence: r.opt_presence(m.presence())?,
        }),
        M::PartyRemove(m) => Incoming::PartyRemove(PartyMember {
            party_id: r.string(m.party_id())?,
            presence: r.opt_presence(m.presence())?,
        }),
        M::PartyDataSend(m) => Incoming::PartyDataSend(PartyDataSend {
            party_id: r.string(m.party_id())?,
            op_code: m.op_code()?,
            data: m
                .data()?
                .map_or_else(Bytes::new, |data| shared_slice(buf, data)),
        }),
        M::PartyUpdate(m) => Incoming::PartyUpdate(PartyUpdate {
            party_id: r.string(m.party_id())?,
            label: r.string(m.label())?,
            open: m.open()?,
            hidden: m.hidden()?,
        }),
        // Messages Kairos doesn't model. A client's is `Unhandled`: as with
        // JSON (where its body is skipped unread), only its table header has
        // been checked; its fields are read once it is handled. Only servers
        // send the others.
        other => {
            let name = message_name(&other);
            if messages::find(name).is_some_and(|m| m.direction.from_client()) {
                Incoming::Unhandled(name)
            } else {
                return Err(Refused::ServerOnly(name));
            }
        }
    })
}

/// `part` (a slice planus read out of `buf`) as a [`Bytes`] sharing `buf`.
///
/// The range comes from plain address arithmetic; a `part` that is not
/// inside `buf` (which planus never returns) is copied instead of
/// trusted, so this can't panic.
fn shared_slice(buf: &Bytes, part: &[u8]) -> Bytes {
    if part.is_empty() {
        return Bytes::new();
    }
    let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    match start.checked_add(part.len()) {
        Some(end) if end <= buf.len() => buf.slice(start..end),
        _ => Bytes::copy_from_slice(part),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_slice_points_into_the_buffer_or_copies() {
        let buf = Bytes::from_static(b"0123456789");
        let s = shared_slice(&buf, &buf[3..7]);
        assert_eq!((&s[..], s.as_ptr()), (&b"3456"[..], buf[3..].as_ptr()));
        assert!(shared_slice(&buf, &buf[10..]).is_empty());
        let elsewhere = *b"3456";
        let s = shared_slice(&buf, &elsewhere);
        assert_eq!(&s[..], b"3456");
        assert_ne!(s.as_ptr(), elsewhere.as_ptr());
    }
}
