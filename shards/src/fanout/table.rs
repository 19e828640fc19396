//! The owner shard's view of its streams: members in join order, for each
//! destination shard the list of its member sessions, and the wires the
//! members speak, rebuilt on every join or leave so that sending to a
//! stream allocates nothing per message beyond one encoding per wire.

use std::collections::HashMap;
use std::sync::Arc;

use kairos_schema::rtapi::Outgoing;
use uuid::Uuid;

use super::{Presence, StreamId, group};
use crate::metrics::ShardCells;
use crate::session::WireSet;

/// What a stream's remaining members are told when `gone` leaves it, or
/// `None` when its kind of stream announces no leave (or not this one: a
/// hidden chat presence). The features supply it (`realtime::leave_event`),
/// so that this module names none of them.
pub type LeaveEvent = fn(stream: &StreamId, gone: &Presence) -> Option<Outgoing>;

/// What the owner does once `gone` has left `stream` and the remaining
/// members were told (`realtime::on_left`: an authoritative match's
/// handler hears it). Called with the table free.
pub(crate) type LeftHook = fn(shard: &crate::shard::Shard, stream: &StreamId, gone: &Presence);

/// What the owner does whenever a stream's member count changes (its new
/// count; 0 when the stream is gone): match listing hears a match's
/// size (`realtime::matches::sizes`).
pub(crate) type SizeHook = Box<dyn Fn(&StreamId, usize)>;

/// What the owner does whenever a stream's targets change: the stream,
/// its targets before the change, and its membership after it (`None`
/// when the stream is gone). Relayed matches keep a replica of their
/// targets on their members' shards (`realtime::matches::replica`).
/// Called with the table borrowed: it must not touch the table.
pub(crate) type TargetsHook = Box<dyn Fn(&StreamId, &[(usize, Arc<[Uuid]>)], Option<&Membership>)>;

/// One stream's members.
#[derive(Default)]
pub struct Membership {
    members: Vec<Presence>,
    /// `(shard, sessions on it)`, one entry per shard with members.
    targets: Vec<(usize, Arc<[Uuid]>)>,
    /// Every wire some member speaks.
    wires: WireSet,
}

impl Membership {
    pub fn members(&self) -> &[Presence] {
        &self.members
    }

    pub fn get(&self, session: Uuid) -> Option<&Presence> {
        self.members.iter().find(|p| p.session_id == session)
    }

    /// Every member session, grouped by shard.
    pub fn targets(&self) -> &[(usize, Arc<[Uuid]>)] {
        &self.targets
    }

    /// The encodings a message to every member needs.
    pub fn wires(&self) -> WireSet {
        self.wires
    }

    fn rebuild(&mut self) {
        self.wires = self.members.iter().map(|p| p.wire).collect();
        self.targets = group::by_shard(self.members.iter().map(|p| (p.shard, p.session_id)))
            .into_iter()
            .map(|(shard, sessions)| (shard, Arc::from(sessions)))
            .collect();
    }
}

/// Rebuilds `m`'s targets after a change of its members and tells `hook`,
/// with the targets as they were.
fn retarget(hook: &Option<TargetsHook>, stream: &StreamId, m: &mut Membership) {
    let before = std::mem::take(&mut m.targets);
    m.rebuild();
    announce(hook, stream, &before, Some(m));
}

/// Tells `hook`, if any, that `stream`'s targets were `before` and are now
/// those of `now` (`None`: the stream is gone).
fn announce(
    hook: &Option<TargetsHook>,
    stream: &StreamId,
    before: &[(usize, Arc<[Uuid]>)],
    now: Option<&Membership>,
) {
    if let Some(hook) = hook {
        hook(stream, before, now);
    }
}

/// The streams one shard owns. Every change republishes the shard's
/// `streams` and `presences` gauges, when it has them.
#[derive(Default)]
pub struct StreamTable {
    streams: HashMap<StreamId, Membership>,
    presences: usize,
    metrics: Option<ShardCells>,
    /// How leaves are announced; none are without it.
    leave_event: Option<LeaveEvent>,
    /// What follows a leave, if anything.
    left: Option<LeftHook>,
    /// Who hears member counts, if anyone.
    sizes: Option<SizeHook>,
    /// Who hears targets change, if anyone.
    targets: Option<TargetsHook>,
}

impl StreamTable {
    /// A table that keeps the shard's gauges current and announces leaves
    /// with `leave_event`.
    pub(crate) fn new(
        metrics: ShardCells,
        leave_event: LeaveEvent,
        left: LeftHook,
        sizes: SizeHook,
        targets: TargetsHook,
    ) -> StreamTable {
        StreamTable {
            metrics: Some(metrics),
            leave_event: Some(leave_event),
            left: Some(left),
            sizes: Some(sizes),
            targets: Some(targets),
            ..Default::default()
        }
    }

    fn resized(&self, stream: &StreamId, size: usize) {
        if let Some(hook) = &self.sizes {
            hook(stream, size);
        }
    }

    /// What follows a leave on this shard, if anything.
    pub(crate) fn left_hook(&self) -> Option<LeftHook> {
        self.left
    }

    /// What the remaining members of `stream` hear when `gone` leaves.
    pub fn leave_event(&self, stream: &StreamId, gone: &Presence) -> Option<Outgoing> {
        self.leave_event.and_then(|event| event(stream, gone))
    }

    fn publish(&self) {
        if let Some(m) = &self.metrics {
            m.streams.set(self.streams.len() as u64);
            m.presences.set(self.presences as u64);
        }
    }

    /// Presences in all streams.
    pub fn presences(&self) -> usize {
        self.presences
    }

    /// Adds a presence; false if that session was already a member.
    pub fn join(&mut self, stream: &StreamId, presence: Presence) -> bool {
        let m = self.streams.entry(stream.clone()).or_default();
        if m.get(presence.session_id).is_some() {
            return false;
        }
        m.members.push(presence);
        retarget(&self.targets, stream, m);
        let size = m.members.len();
        self.presences += 1;
        self.publish();
        self.resized(stream, size);
        true
    }

    /// Replaces a member's presence, keeping its place, or adds it when
    /// that session was no member; returns the presence it replaced.
    pub fn update(&mut self, stream: &StreamId, presence: Presence) -> Option<Presence> {
        let m = self.streams.entry(stream.clone()).or_default();
        let previous = match m
            .members
            .iter_mut()
            .find(|p| p.session_id == presence.session_id)
        {
            Some(p) => Some(std::mem::replace(p, presence)),
            None => {
                m.members.push(presence);
                self.presences += 1;
                None
            }
        };
        retarget(&self.targets, stream, m);
        self.publish();
        previous
    }

    /// Removes a session; the stream goes when its last member leaves.
    pub fn leave(&mut self, stream: &StreamId, session: Uuid) -> Option<Presence> {
        let m = self.streams.get_mut(stream)?;
        let i = m.members.iter().position(|p| p.session_id == session)?;
        let p = m.members.remove(i);
        let size = m.members.len();
        if size == 0 {
            let gone = self.streams.remove(stream)?;
            announce(&self.targets, stream, &gone.targets, None);
        } else {
            retarget(&self.targets, stream, m);
        }
        self.presences -= 1;
        self.publish();
        self.resized(stream, size);
        Some(p)
    }

    /// Removes a stream and every member; returns them.
    pub fn close(&mut self, stream: &StreamId) -> Option<Vec<Presence>> {
        let gone = self.streams.remove(stream)?;
        announce(&self.targets, stream, &gone.targets, None);
        let members = gone.members;
        self.presences -= members.len();
        self.publish();
        self.resized(stream, 0);
        Some(members)
    }

    pub fn get(&self, stream: &StreamId) -> Option<&Membership> {
        self.streams.get(stream)
    }

    /// Streams with at least one member.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(shard: usize) -> Presence {
        Presence {
            session_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            username: "u".into(),
            shard,
            wire: crate::session::Wire::Json,
            persistence: false,
            hidden: false,
            status: None,
        }
    }

    #[test]
    fn every_change_of_targets_is_announced_with_the_targets_before() {
        use std::cell::RefCell;
        use std::rc::Rc;
        // (shards before, shards after; None when the stream is gone)
        type Seen = Rc<RefCell<Vec<(Vec<usize>, Option<Vec<usize>>)>>>;
        let seen: Seen = Rc::default();
        let log = seen.clone();
        let mut t = StreamTable {
            targets: Some(Box::new(move |_, before, now| {
                let shards = |t: &[(usize, Arc<[Uuid]>)]| t.iter().map(|(s, _)| *s).collect();
                log.borrow_mut()
                    .push((shards(before), now.map(|m| shards(m.targets()))));
            })),
            ..Default::default()
        };
        let s = StreamId::relayed_match(Uuid::new_v4());
        let (a, b) = (p(0), p(1));
        t.join(&s, a.clone());
        t.join(&s, a.clone());
        t.join(&s, b.clone());
        t.update(&s, b.clone());
        t.leave(&s, a.session_id);
        t.leave(&s, b.session_id);
        t.join(&s, a.clone());
        t.close(&s);
        assert_eq!(
            *seen.borrow(),
            vec![
                (vec![], Some(vec![0])),
                // joining twice changes nothing and says nothing
                (vec![0], Some(vec![0, 1])),
                (vec![0, 1], Some(vec![0, 1])),
                (vec![0, 1], Some(vec![1])),
                (vec![1], None),
                (vec![], Some(vec![0])),
                (vec![0], None),
            ]
        );
    }

    #[test]
    fn join_leave_and_targets() {
        let mut t = StreamTable::default();
        let s = StreamId::relayed_match(Uuid::new_v4());
        let (a, b, c) = (p(0), p(1), p(1));
        assert!(t.join(&s, a.clone()));
        assert!(!t.join(&s, a.clone()), "joining twice is a no-op");
        assert!(t.join(&s, b.clone()));
        assert!(t.join(&s, c.clone()));
        let m = t.get(&s).unwrap();
        assert_eq!(m.members().len(), 3);
        assert_eq!(m.targets().len(), 2);
        assert_eq!(t.presences(), 3);
        assert_eq!(&*m.targets()[1].1, &[b.session_id, c.session_id]);
        assert_eq!(t.leave(&s, b.session_id).unwrap(), b);
        assert_eq!(t.get(&s).unwrap().targets()[1].1.len(), 1);
        assert!(t.leave(&s, b.session_id).is_none());
        t.leave(&s, a.session_id);
        t.leave(&s, c.session_id);
        assert!(t.is_empty(), "empty streams are dropped");
        t.join(&s, a.clone());
        let mut hidden = a.clone();
        hidden.hidden = true;
        assert_eq!(t.update(&s, hidden.clone()), Some(a.clone()));
        assert_eq!(t.presences(), 1, "an update replaces");
        assert_eq!(
            t.update(&s, b.clone()),
            None,
            "an update of no member adds it"
        );
        assert_eq!(t.presences(), 2);
        assert_eq!(t.get(&s).unwrap().members(), &[hidden.clone(), b.clone()]);
        assert_eq!(t.leave(&s, b.session_id), Some(b));
        t.update(&s, a.clone());
        assert_eq!(t.close(&s), Some(vec![a]));
        assert!(t.is_empty() && t.close(&s).is_none());
        assert_eq!(t.presences(), 0);
    }
}
