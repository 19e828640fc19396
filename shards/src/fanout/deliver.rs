//! Handing one encoded message to many sessions.
//!
//! The message is encoded once per wire its recipients speak
//! ([`Frames`]) and every recipient's queue gets a reference to its wire's
//! encoding. Recipients on other shards cost one mesh message
//! (`ShardMsg::Deliver`) per shard, never one per recipient.
//!
//! Replies and presence events are never dropped; relayed data (the
//! `data_` functions) is dropped past the mesh's hard bound.

use std::sync::Arc;

use kairos_schema::rtapi::Outgoing;
use uuid::Uuid;

use super::group;
use crate::session::{Frames, Session, Wire, WireSet};
use crate::shard::{Shard, ShardMsg};

/// Hands `frames` to every target shard (a stream's
/// [`super::Membership::targets`]), one message per shard.
pub fn broadcast(
    here: &Shard,
    targets: &[(usize, Arc<[Uuid]>)],
    except: Option<Uuid>,
    frames: &Frames,
) {
    for (dest, sessions) in targets {
        to_shard(here, *dest, sessions.clone(), except, frames.clone());
    }
}

/// Hands relayed data to every target shard, one message per shard;
/// sheddable past the mesh's hard bound ([`data_to_shard`]).
pub fn broadcast_data(
    here: &Shard,
    targets: &[(usize, Arc<[Uuid]>)],
    except: Option<Uuid>,
    frames: &Frames,
) {
    for (dest, sessions) in targets {
        data_to_shard(here, *dest, sessions.clone(), except, frames.clone());
    }
}

/// Sends `frames` to each `(shard, session)` listed, one message per
/// shard ([`group::by_shard`]).
pub fn to_sessions(
    here: &Shard,
    sessions: impl IntoIterator<Item = (usize, Uuid)>,
    frames: &Frames,
) {
    for (dest, ids) in group::by_shard(sessions) {
        to_shard(here, dest, Arc::from(ids), None, frames.clone());
    }
}

/// Relayed data for each `(shard, session)` listed, one message per
/// shard; sheddable past the mesh's hard bound ([`data_to_shard`]).
pub fn data_to_sessions(
    here: &Shard,
    sessions: impl IntoIterator<Item = (usize, Uuid)>,
    frames: &Frames,
) {
    for (dest, ids) in group::by_shard(sessions) {
        data_to_shard(here, dest, Arc::from(ids), None, frames.clone());
    }
}

/// Sends `frames` to `sessions` on `shard`, skipping `except`.
pub fn to_shard(
    here: &Shard,
    shard: usize,
    sessions: Arc<[Uuid]>,
    except: Option<Uuid>,
    frames: Frames,
) {
    send(here, shard, sessions, except, frames, false);
}

/// Relayed data (match data, chat messages) for `sessions` on `shard`:
/// as [`to_shard`], except that it is dropped when this shard's mesh
/// overflow is at `kairos.session.mesh_overflow_max` (the mesh's policy
/// past its hard bound; replies and presence events are never dropped).
pub fn data_to_shard(
    here: &Shard,
    shard: usize,
    sessions: Arc<[Uuid]>,
    except: Option<Uuid>,
    frames: Frames,
) {
    send(here, shard, sessions, except, frames, true);
}

fn send(
    here: &Shard,
    shard: usize,
    sessions: Arc<[Uuid]>,
    except: Option<Uuid>,
    frames: Frames,
    sheddable: bool,
) {
    if shard == here.id {
        to_local(here, &sessions, except, &frames);
        return;
    }
    let msg = ShardMsg::Deliver {
        sessions,
        except,
        frames,
    };
    if sheddable {
        here.port.send_sheddable(shard, msg);
    } else {
        here.port.send(shard, msg);
    }
}

/// Encodes `msg` for one session speaking `wire` and sends it to it,
/// wherever it lives.
pub fn to_session(
    here: &Shard,
    shard: usize,
    session: Uuid,
    wire: Wire,
    cid: &str,
    msg: &Outgoing,
) {
    let frames = Frames::encode(cid, msg, WireSet::of(wire));
    to_shard(here, shard, Arc::from([session]), None, frames);
}

/// Queues `frames` for each listed session of this shard that still
/// exists, and forwards them to the shard a listed session moved to
/// ([`crate::session::forward`]).
pub fn to_local(here: &Shard, sessions: &[Uuid], except: Option<Uuid>, frames: &Frames) {
    let mut moved: Vec<(usize, Uuid)> = Vec::new();
    queue(
        here,
        sessions,
        except,
        frames,
        |_| true,
        |id| {
            if let Some(to) = here.forwards.target(&id) {
                moved.push((to, id));
            }
        },
    );
    if moved.is_empty() {
        return;
    }
    for (dest, ids) in group::by_shard(moved) {
        here.port.send(
            dest,
            ShardMsg::Deliver {
                sessions: Arc::from(ids),
                except: None,
                frames: frames.clone(),
            },
        );
    }
}

/// Queues `frames` for each listed session of this shard that still
/// exists, and for nobody elsewhere: for a list that is exact for this
/// shard (a stream's owner's own members).
pub fn to_listed(here: &Shard, sessions: &[Uuid], except: Option<Uuid>, frames: &Frames) {
    queue(here, sessions, except, frames, |_| true, |_| {});
}

/// As [`to_local`], only for the sessions that `still_member` says still
/// count themselves in the stream: for a sender whose list of the members
/// may be older than the owner's, so that a session that has left hears
/// nothing more. The feature says how to ask (a relayed match asks
/// `Session::in_relayed_match`, which compares the match's id in place).
pub fn to_members(
    here: &Shard,
    sessions: &[Uuid],
    except: Option<Uuid>,
    frames: &Frames,
    still_member: impl Fn(&Session) -> bool,
) {
    queue(here, sessions, except, frames, still_member, |_| {});
}

fn queue(
    here: &Shard,
    sessions: &[Uuid],
    except: Option<Uuid>,
    frames: &Frames,
    keep: impl Fn(&Session) -> bool,
    mut missing: impl FnMut(Uuid),
) {
    let table = here.sessions.borrow();
    for id in sessions {
        if Some(*id) == except {
            continue;
        }
        match table.get(id) {
            Some(s) if keep(s) => {
                s.send_frames(frames);
            }
            Some(_) => {}
            None => missing(*id),
        }
    }
}
