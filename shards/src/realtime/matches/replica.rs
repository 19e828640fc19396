//! Relayed match data sent from the sender's shard, with no hop through
//! the owner.
//!
//! The owner keeps a relayed match's membership, as it keeps every
//! stream's. Each shard with members of the match also holds a
//! [`Replica`] of the match's targets (its member sessions grouped by
//! shard, and the wires they speak), which the owner sends on every change
//! ([`hook`], the stream table's [`crate::fanout::TargetsHook`]). A member's
//! `match_data_send` is then encoded and delivered by its own shard
//! ([`relay`]): at once to the members there, and in one
//! [`super::Msg::Relay`] to each other shard with members. At game rates
//! this saves the hop to the owner, and the wake-up of its shard, for
//! every message whose sender is not on the owner's shard.
//!
//! What keeps it right:
//! * The owner sends a shard its replica before anything else about the
//!   change, on the same FIFO path: a joiner's shard lists the joiner
//!   before the join reply reaches it, and a member's shard knows of a new
//!   member before the member hears the join event.
//! * A sender must be in its shard's replica (the owner admitted it and
//!   has not removed it) and still count the match among its streams (it
//!   has not asked to leave); else its data is dropped without a word, as
//!   Nakama's pipeline drops a non-member's.
//! * A receiving shard hands the data only to sessions that still count the
//!   match among their streams, so a session that has left hears nothing
//!   more from it, whatever replica the sender's shard held.
//! * Except on the owner's own shard, whose replica is exact for the
//!   members there: their joins and leaves change the owner's table, and
//!   so the replica, in place, before anything else runs. There the
//!   replica alone says who is a member, and the members' own stream lists
//!   (a string comparison per recipient, which profiles showed at 7% of a
//!   relaying server's CPU) are not consulted. Most matches have every
//!   member there (`kairos.session.move_to_match`).
//! * Every replica goes when its shard has no member left: replicas are
//!   bounded by memberships.
//!
//! Data sent to chosen presences (`presences` set) and data for
//! authoritative matches still goes through the owner ([`super::owner`]).

use std::cell::RefCell;
use std::rc::Weak;
use std::sync::Arc;

use kairos_schema::rtapi::{MatchData, MatchDataSend, Outgoing};
use uuid::Uuid;

use super::Msg;
use crate::fanout::{Membership, StreamId, TargetsHook, deliver, mode};
use crate::session::{Frames, Session, WireSet};
use crate::shard::Shard;

/// A relayed match's targets, as its owner last sent them.
#[derive(Clone, Debug)]
pub struct Replica {
    /// `(shard, member sessions there)`, one entry per shard with members.
    targets: Arc<[(usize, Arc<[Uuid]>)]>,
    /// Every wire some member speaks.
    wires: WireSet,
    /// Held by the match's owner: exact for the members on its shard.
    exact: bool,
}

impl Replica {
    fn of(m: &Membership) -> Replica {
        Replica {
            targets: m.targets().into(),
            wires: m.wires(),
            exact: false,
        }
    }

    /// The member sessions on shard `shard`.
    fn on(&self, shard: usize) -> Option<&[Uuid]> {
        self.targets
            .iter()
            .find(|(s, _)| *s == shard)
            .map(|(_, ids)| &ids[..])
    }
}

/// One shard's replicas: the relayed matches with members on it, by id.
/// Looked up for every message relayed, so hashed with foldhash, as the
/// shard's sessions are ([`Shard::sessions`]).
#[derive(Default)]
pub struct Replicas {
    by_match: RefCell<foldhash::HashMap<Uuid, Replica>>,
}

impl Replicas {
    fn get(&self, id: &Uuid) -> Option<Replica> {
        self.by_match.borrow().get(id).cloned()
    }

    /// Stores match `id`'s replica (none: forgets it); returns how many
    /// are held.
    fn set(&self, id: Uuid, replica: Option<Replica>) -> usize {
        let mut by_match = self.by_match.borrow_mut();
        match replica {
            Some(r) => {
                by_match.insert(id, r);
            }
            None => {
                by_match.remove(&id);
            }
        }
        by_match.len()
    }
}

/// The owner's side: on every change of a relayed match's targets, sends
/// each shard that had or has members its replica (none once it has no
/// member left). The owner's own replica is set in place.
pub(crate) fn hook(me: Weak<Shard>) -> TargetsHook {
    Box::new(move |stream: &StreamId, before, now: Option<&Membership>| {
        if stream.mode != mode::MATCH_RELAYED {
            return;
        }
        let (Some(shard), Ok(id)) = (me.upgrade(), Uuid::parse_str(&stream.subject)) else {
            return;
        };
        let replica = now.map(Replica::of);
        let had = before.iter().map(|(s, _)| *s);
        let has = replica
            .iter()
            .flat_map(|r| r.targets.iter().map(|(s, _)| *s));
        let mut dests: Vec<usize> = had.chain(has).collect();
        dests.sort_unstable();
        dests.dedup();
        for dest in dests {
            let theirs = replica.as_ref().filter(|r| r.on(dest).is_some()).cloned();
            if dest == shard.id {
                let exact = theirs.map(|r| Replica { exact: true, ..r });
                on_replica(&shard, id, exact);
            } else {
                shard.port.send(
                    dest,
                    Msg::Replica {
                        id,
                        replica: theirs,
                    }
                    .into(),
                );
            }
        }
    })
}

/// On a member's shard: the owner's latest replica of match `id`.
pub(super) fn on_replica(shard: &Shard, id: Uuid, replica: Option<Replica>) {
    let held = shard.features.relay.set(id, replica);
    shard.metrics.relay_replicas.set(held as u64);
}

/// `match_data_send` to every other member of relayed match `id`, from the
/// sender's shard: checked against its replica, encoded once per wire,
/// delivered here and to each other shard with members in one message.
pub(super) fn relay(shard: &Shard, session: &Session, id: Uuid, msg: MatchDataSend) {
    let replica = shard
        .features
        .relay
        .get(&id)
        .filter(|r| r.on(shard.id).is_some_and(|ids| ids.contains(&session.id)));
    let Some(replica) = replica else {
        // Not a member (any more): dropped without a word, as Nakama does.
        return;
    };
    // The owner's shard trusts its exact replica alone; another shard also
    // asks its sessions whether they still count the match among their
    // streams.
    if !replica.exact && !session.in_relayed_match(id) {
        return;
    }
    // The sender as Nakama's pipeline names it: from the session, its
    // JSON written once.
    let frames = session.lend_sender(|presence, json| {
        let out = Outgoing::MatchData(MatchData {
            match_id: msg.match_id,
            presence,
            op_code: msg.op_code,
            data: msg.data,
            reliable: msg.reliable,
        });
        let frames = Frames::encode_from(&out, json, replica.wires, msg.reliable);
        let Outgoing::MatchData(m) = out else {
            unreachable!("built as match_data above")
        };
        (frames, m.presence)
    });
    for (dest, sessions) in replica.targets.iter() {
        if *dest == shard.id {
            if replica.exact {
                deliver::to_listed(shard, sessions, Some(session.id), &frames);
            } else {
                deliver::to_members(shard, sessions, Some(session.id), &frames, |s| {
                    s.in_relayed_match(id)
                });
            }
        } else {
            shard.port.send_sheddable(
                *dest,
                Msg::Relay(Relay {
                    id,
                    sessions: sessions.clone(),
                    except: session.id,
                    frames: frames.clone(),
                })
                .into(),
            );
        }
    }
}

/// Relayed match data for a member shard's sessions.
#[derive(Debug)]
pub struct Relay {
    id: Uuid,
    sessions: Arc<[Uuid]>,
    except: Uuid,
    frames: Frames,
}

/// On a member's shard: hands relayed data to its members.
pub(super) fn on_relay(shard: &Shard, relay: Relay) {
    deliver::to_members(
        shard,
        &relay.sessions,
        Some(relay.except),
        &relay.frames,
        |s| s.in_relayed_match(relay.id),
    );
}
