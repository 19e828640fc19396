//! Writing the in-memory model with a reused planus [`Builder`].

use std::cell::RefCell;
use std::collections::BTreeMap;

use planus::{Builder, Offset};

use super::fb;
use crate::rtapi::{MatchmakerUser, UserPresence};

/// A builder that grew past this is dropped after use rather than kept,
/// so one huge message doesn't pin its memory on the thread.
const KEEP_BUILDER_UP_TO: usize = 1 << 20;

thread_local! {
    /// One builder per thread (per shard), cleared between envelopes: its
    /// buffer and vtable cache keep their capacity.
    static BUILDER: RefCell<Builder> = RefCell::new(Builder::new());
}

/// Builds one envelope with this thread's builder and returns the
/// finished bytes: the only allocation of a message without vectors.
pub(super) fn build(envelope: impl FnOnce(&mut Builder) -> Offset<fb::Envelope>) -> Vec<u8> {
    fn finish(
        b: &mut Builder,
        envelope: impl FnOnce(&mut Builder) -> Offset<fb::Envelope>,
    ) -> Vec<u8> {
        b.clear();
        let root = envelope(b);
        b.finish(root, None).to_vec()
    }
    BUILDER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut b) => {
            let out = finish(&mut b, envelope);
            if out.len() > KEEP_BUILDER_UP_TO {
                *b = Builder::new();
            }
            out
        }
        // Only if `envelope` itself encoded (it doesn't): a fresh builder.
        Err(_) => finish(&mut Builder::new(), envelope),
    })
}

/// A string field: empty is written as absent (as protobuf omits it).
pub(super) fn nz(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

pub(super) fn presence(b: &mut Builder, p: &UserPresence) -> Offset<fb::UserPresence> {
    fb::UserPresence::create(
        b,
        nz(&p.user_id),
        nz(&p.session_id),
        nz(&p.username),
        p.persistence,
        p.status.as_deref(),
    )
}

/// A `[UserPresence]`; empty is absent.
pub(super) fn presences(
    b: &mut Builder,
    ps: &[UserPresence],
) -> Option<Offset<[Offset<fb::UserPresence>]>> {
    if ps.is_empty() {
        return None;
    }
    let offsets: Vec<_> = ps.iter().map(|p| presence(b, p)).collect();
    Some(b.create_vector(offsets.as_slice()))
}

/// A `[string]`; empty is absent.
pub(super) fn strings(b: &mut Builder, v: &[String]) -> Option<Offset<[Offset<str>]>> {
    (!v.is_empty()).then(|| b.create_vector(v))
}

/// A map as `[StringEntry]`, in key order; empty is absent.
pub(super) fn string_map(
    b: &mut Builder,
    map: &BTreeMap<String, String>,
) -> Option<Offset<[Offset<fb::StringEntry>]>> {
    if map.is_empty() {
        return None;
    }
    let offsets: Vec<_> = map
        .iter()
        .map(|(k, v)| fb::StringEntry::create(b, k.as_str(), v.as_str()))
        .collect();
    Some(b.create_vector(offsets.as_slice()))
}

/// A map as `[NumberEntry]`, in key order; empty is absent.
pub(super) fn number_map(
    b: &mut Builder,
    map: &BTreeMap<String, f64>,
) -> Option<Offset<[Offset<fb::NumberEntry>]>> {
    if map.is_empty() {
        return None;
    }
    let offsets: Vec<_> = map
        .iter()
        .map(|(k, v)| fb::NumberEntry::create(b, k.as_str(), *v))
        .collect();
    Some(b.create_vector(offsets.as_slice()))
}

/// A matched player.
pub(super) fn matchmaker_user(b: &mut Builder, u: &MatchmakerUser) -> Offset<fb::MatchmakerUser> {
    let p = presence(b, &u.presence);
    let strings = string_map(b, &u.string_properties);
    let numbers = number_map(b, &u.numeric_properties);
    fb::MatchmakerUser::create(b, p, nz(&u.party_id), strings, numbers)
}
