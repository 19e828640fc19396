//! Handing one encoded message to many sessions.
//!
//! The message is encoded once per wire its recipients speak
//! ([`Frames`]) and every recipient's queue gets a reference to its wire's
//! encoding. Recipients on other shards cost one mesh message per shard,
//! never one per recipient.

use std::sync::Arc;

use kairos_schema::rtapi::Outgoing;
use uuid::Uuid;

use crate::session::{Frames, Wire, WireSet};
use crate::shard::{Shard, ShardMsg};

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

/// Queues `frames` for each listed session of this shard that still exists.
pub fn to_local(here: &Shard, sessions: &[Uuid], except: Option<Uuid>, frames: &Frames) {
    let table = here.sessions.borrow();
    for id in sessions {
        if Some(*id) == except {
            continue;
        }
        if let Some(s) = table.get(id) {
            s.send_frames(frames);
        }
    }
}
