//! One shard's connection caps: how many connections it serves at once,
//! in all and per client address (`kairos.net.max_connections_per_shard`,
//! `kairos.net.max_connections_per_ip`).
//!
//! The counts are the shard's own (no lock, no cross-shard traffic): the
//! accept loop asks for a [`ConnSlot`] for each connection, and the slot
//! gives its place back when the connection ends, WebSocket sessions
//! included. The per-address map holds only addresses with a connection
//! open, so it is bounded by the shard's cap.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The shard serves `max_connections_per_shard` connections already.
    ShardFull,
    /// This address holds `max_connections_per_ip` of the shard's
    /// connections already.
    AddressFull,
}

/// One shard's open connections, in all and per address.
pub struct ConnLimits {
    max_total: usize,
    /// 0: no per-address cap.
    max_per_ip: usize,
    open: Cell<usize>,
    per_ip: RefCell<HashMap<IpAddr, usize>>,
}

impl ConnLimits {
    pub fn new(max_total: usize, max_per_ip: usize) -> Rc<ConnLimits> {
        Rc::new(ConnLimits {
            max_total: max_total.max(1),
            max_per_ip,
            open: Cell::new(0),
            per_ip: RefCell::new(HashMap::new()),
        })
    }

    /// Takes a place for a connection from `ip` (None: address unknown,
    /// counted only in the total), or says why there is none.
    pub fn admit(self: &Rc<Self>, ip: Option<IpAddr>) -> Result<ConnSlot, Refusal> {
        if self.open.get() >= self.max_total {
            return Err(Refusal::ShardFull);
        }
        if let Some(ip) = ip.filter(|_| self.max_per_ip > 0) {
            let mut per_ip = self.per_ip.borrow_mut();
            let n = per_ip.entry(ip).or_insert(0);
            if *n >= self.max_per_ip {
                return Err(Refusal::AddressFull);
            }
            *n += 1;
        }
        self.open.set(self.open.get() + 1);
        Ok(ConnSlot {
            limits: self.clone(),
            ip: ip.filter(|_| self.max_per_ip > 0),
        })
    }

    /// Takes a place for a connection another shard admitted, which moves
    /// here with its session: always granted, since the node holds no
    /// more connections than before (it may take this shard past its
    /// share for a while).
    pub fn admit_moved(self: &Rc<Self>, ip: Option<IpAddr>) -> ConnSlot {
        let ip = ip.filter(|_| self.max_per_ip > 0);
        if let Some(ip) = ip {
            *self.per_ip.borrow_mut().entry(ip).or_insert(0) += 1;
        }
        self.open.set(self.open.get() + 1);
        ConnSlot {
            limits: self.clone(),
            ip,
        }
    }

    /// Connections open now.
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.open.get()
    }

    /// Addresses with a connection open now.
    #[cfg(test)]
    pub fn addresses(&self) -> usize {
        self.per_ip.borrow().len()
    }
}

/// A connection's place under its shard's caps, given back on drop.
pub struct ConnSlot {
    limits: Rc<ConnLimits>,
    ip: Option<IpAddr>,
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let l = &self.limits;
        l.open.set(l.open.get() - 1);
        if let Some(ip) = self.ip {
            let mut per_ip = l.per_ip.borrow_mut();
            if let Some(n) = per_ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    per_ip.remove(&ip);
                }
            }
        }
    }
}

/// The per-shard cap when the configuration leaves it to Kairos (0): what
/// the open-files limit leaves after a reserve for everything else (the
/// store, io_uring, listeners), shared by the shards.
pub fn auto_max_per_shard(open_files: u64, shards: usize) -> usize {
    const RESERVE: u64 = 1024;
    let spare = open_files.saturating_sub(RESERVE).max(64);
    (spare / shards.max(1) as u64).max(1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn caps_per_address_and_in_all_and_gives_places_back() {
        let l = ConnLimits::new(4, 2);
        let a1 = l.admit(ip(1)).unwrap();
        let a2 = l.admit(ip(1)).unwrap();
        assert_eq!(l.admit(ip(1)).err(), Some(Refusal::AddressFull));
        let b1 = l.admit(ip(2)).unwrap();
        let unknown = l.admit(None).unwrap();
        assert_eq!(l.admit(ip(3)).err(), Some(Refusal::ShardFull));
        assert_eq!(l.open(), 4);
        drop(a1);
        let a3 = l.admit(ip(1)).unwrap();
        drop((a2, a3, b1, unknown));
        assert_eq!(l.open(), 0);
        // Only addresses with a connection are remembered.
        assert_eq!(l.addresses(), 0);
    }

    #[test]
    fn a_moved_connection_is_always_admitted_and_counted() {
        let l = ConnLimits::new(1, 1);
        let here = l.admit(ip(1)).unwrap();
        let moved = l.admit_moved(ip(1));
        assert_eq!(l.open(), 2, "past the cap: it was admitted elsewhere");
        assert_eq!(l.admit(ip(2)).err(), Some(Refusal::ShardFull));
        drop((here, moved));
        assert_eq!((l.open(), l.addresses()), (0, 0));
    }

    #[test]
    fn no_per_address_cap_when_zero() {
        let l = ConnLimits::new(3, 0);
        let slots: Vec<_> = (0..3).map(|_| l.admit(ip(1)).unwrap()).collect();
        assert_eq!(l.admit(ip(1)).err(), Some(Refusal::ShardFull));
        assert_eq!(l.addresses(), 0);
        drop(slots);
        assert_eq!(l.open(), 0);
    }

    #[test]
    fn automatic_cap_leaves_a_reserve() {
        assert_eq!(auto_max_per_shard(20_000, 2), 9_488);
        assert_eq!(auto_max_per_shard(1024, 2), 32);
        assert_eq!(auto_max_per_shard(1_048_576, 8), 130_944);
    }
}
