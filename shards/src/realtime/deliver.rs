//! Handing one encoded frame to many sessions.
//!
//! The frame is built once (`Bytes`) and every recipient's queue gets a
//! reference to it. Recipients on other shards cost one mesh message per
//! shard, never one per recipient.

use std::sync::Arc;

use bytes::Bytes;
use uuid::Uuid;

use crate::shard::{Shard, ShardMsg};

/// Sends `frame` to `sessions` on `shard`, skipping `except`.
pub fn to_shard(
    here: &Shard,
    shard: usize,
    sessions: Arc<[Uuid]>,
    except: Option<Uuid>,
    frame: Bytes,
) {
    if shard == here.id {
        to_local(here, &sessions, except, &frame);
    } else {
        here.port.send(
            shard,
            ShardMsg::Deliver {
                sessions,
                except,
                frame,
            },
        );
    }
}

/// Sends `frame` to one session wherever it lives.
pub fn to_session(here: &Shard, shard: usize, session: Uuid, frame: Bytes) {
    to_shard(here, shard, Arc::from([session]), None, frame);
}

/// Queues `frame` for each listed session of this shard that still exists.
pub fn to_local(here: &Shard, sessions: &[Uuid], except: Option<Uuid>, frame: &Bytes) {
    let table = here.sessions.borrow();
    for id in sessions {
        if Some(*id) == except {
            continue;
        }
        if let Some(s) = table.get(id) {
            s.send(frame.clone());
        }
    }
}
