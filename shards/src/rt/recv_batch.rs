//! Datagrams received with one system call ([`UdpSocket::recv_batch`]).
//!
//! A datagram read with `recvfrom` costs a system call of its own, and a
//! reader that drains its socket one datagram at a time also pays a last
//! call that finds it empty. Under load many datagrams wait by the time
//! the reader runs; `recvmmsg` takes up to [`MAX_RECV_BATCH`] of them in one
//! entry and exit, and the driver then serves them all before it sends
//! what they produced.
//!
//! The seam method, in every backend: `UdpSocket::recv_batch(&self, batch)
//! -> (io::Result<usize>, ReceivedBatch)` waits until at least one datagram
//! is there, fills the batch with as many as wait (at most its
//! [`capacity`](ReceivedBatch::capacity)), and gives the batch back (owned,
//! so that a completion-based reactor can fill it in the kernel's time).
//!
//! [`UdpSocket::recv_batch`]: super::UdpSocket::recv_batch

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

use super::sockaddr::read_addr;

/// The most datagrams one `recvmmsg` takes.
pub const MAX_RECV_BATCH: usize = 32;

/// Room for up to [`MAX_RECV_BATCH`] datagrams of at most `slot` bytes
/// each, in one buffer kept between receives, and what the last receive
/// put there. A longer datagram is cut to `slot` bytes, as `recvfrom` into
/// a buffer of that size would cut it.
#[derive(Debug)]
pub struct ReceivedBatch {
    slot: usize,
    /// `capacity × slot` bytes: datagram `i` starts at `i × slot`.
    bytes: Vec<u8>,
    /// Source, slot and length of each datagram of the last receive.
    received: Vec<(SocketAddr, usize, usize)>,
}

impl ReceivedBatch {
    /// Room for `count` datagrams (1 to [`MAX_RECV_BATCH`]) of `slot` bytes.
    pub fn new(slot: usize, count: usize) -> ReceivedBatch {
        let count = count.clamp(1, MAX_RECV_BATCH);
        ReceivedBatch {
            slot,
            bytes: vec![0; slot * count],
            received: Vec::with_capacity(count),
        }
    }

    /// How many datagrams one receive can take.
    pub fn capacity(&self) -> usize {
        self.bytes.len() / self.slot.max(1)
    }

    /// How many datagrams the last receive took.
    pub fn len(&self) -> usize {
        self.received.len()
    }

    pub fn is_empty(&self) -> bool {
        self.received.is_empty()
    }

    /// Datagram `i` of the last receive: its source and its bytes, which the
    /// caller may change in place (to decrypt them).
    pub fn get_mut(&mut self, i: usize) -> Option<(SocketAddr, &mut [u8])> {
        let &(from, slot, len) = self.received.get(i)?;
        let start = slot * self.slot;
        Some((from, &mut self.bytes[start..start + len]))
    }

    /// Forgets the last receive.
    pub(super) fn clear(&mut self) {
        self.received.clear();
    }

    /// The first slot, for a backend that waits for one datagram at a time
    /// through its reactor; [`set_one`](Self::set_one) records it.
    #[allow(dead_code)] // glommio and monoio only
    pub(super) fn first_slot(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.slot]
    }

    /// The buffer itself, lent whole to a reactor that must own what it
    /// fills; give it back with [`restore`](Self::restore).
    #[allow(dead_code)] // monoio only
    pub(super) fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }

    /// Takes back the buffer lent by [`take_bytes`](Self::take_bytes), its
    /// length as it was lent (a reactor may have shortened it to what it
    /// wrote; the bytes past that were initialised before).
    #[allow(dead_code)] // monoio only
    pub(super) fn restore(&mut self, mut bytes: Vec<u8>, len: usize) {
        debug_assert!(len <= bytes.capacity());
        if bytes.len() < len {
            // SAFETY: the vector had `len` initialised bytes when it was
            // lent; the reactor only shortened it and wrote within `len`.
            unsafe { bytes.set_len(len) };
        }
        self.bytes = bytes;
    }

    /// Records one datagram of `len` bytes from `from` in the first slot.
    #[allow(dead_code)] // glommio and monoio only
    pub(super) fn set_one(&mut self, from: SocketAddr, len: usize) {
        self.received.clear();
        self.received.push((from, 0, len.min(self.slot)));
    }
}

/// One non-blocking `recvmmsg(2)` on `fd` into `batch`: how many datagrams
/// it took from the socket (at least one), or the error (`WouldBlock` when
/// none waits). A datagram from a source that is neither IPv4 nor IPv6 is
/// taken but not kept, so the batch may hold fewer.
pub(super) fn recvmmsg(fd: RawFd, batch: &mut ReceivedBatch) -> io::Result<usize> {
    batch.clear();
    let count = batch.capacity();
    let slot = batch.slot;
    // SAFETY: all-zero is a valid sockaddr_storage, iovec and mmsghdr
    // (null pointers, zero lengths); every entry used below is filled in
    // first.
    let mut addrs: [libc::sockaddr_storage; MAX_RECV_BATCH] = unsafe { std::mem::zeroed() };
    let mut iovecs: [libc::iovec; MAX_RECV_BATCH] = unsafe { std::mem::zeroed() };
    let mut headers: [libc::mmsghdr; MAX_RECV_BATCH] = unsafe { std::mem::zeroed() };
    let base = batch.bytes.as_mut_ptr();
    for i in 0..count {
        iovecs[i] = libc::iovec {
            // SAFETY: `i × slot + slot` is within `bytes` (`count` slots).
            iov_base: unsafe { base.add(i * slot) }.cast(),
            iov_len: slot,
        };
        let header = &mut headers[i].msg_hdr;
        header.msg_name = (&raw mut addrs[i]).cast();
        header.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        header.msg_iov = &raw mut iovecs[i];
        header.msg_iovlen = 1;
    }
    // SAFETY: `headers[..count]` point at live addresses and iovecs, which
    // point at disjoint slots of `batch.bytes`; the kernel writes within
    // them and each header's `msg_len` and `msg_namelen`.
    let got = unsafe {
        libc::recvmmsg(
            fd,
            headers.as_mut_ptr(),
            count as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    for i in 0..got as usize {
        if let Some(from) = read_addr(&addrs[i]) {
            let len = (headers[i].msg_len as usize).min(slot);
            batch.received.push((from, i, len));
        }
    }
    Ok(got as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn one_call_takes_every_waiting_datagram_with_its_source() {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        let mut batch = ReceivedBatch::new(16, 8);
        assert_eq!(
            recvmmsg(receiver.as_raw_fd(), &mut batch)
                .unwrap_err()
                .kind(),
            io::ErrorKind::WouldBlock
        );
        for i in 0..5 {
            let from = if i % 2 == 0 { &a } else { &b };
            from.send_to(format!("datagram {i}").as_bytes(), to)
                .unwrap();
        }
        // Loopback delivers within the send, unless the kernel defers its
        // receive work to ksoftirqd under load: give that time to run.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut got = Vec::new();
        let mut first_call = None;
        while got.len() < 5 {
            let n = match recvmmsg(receiver.as_raw_fd(), &mut batch) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
                Err(e) => panic!("recvmmsg: {e}"),
            };
            first_call.get_or_insert(n);
            assert_eq!(batch.len(), n);
            assert!(batch.get_mut(n).is_none());
            for i in 0..n {
                let (source, bytes) = batch.get_mut(i).unwrap();
                got.push((source, bytes.to_vec()));
            }
        }
        assert!(
            first_call > Some(1),
            "one call took several: {first_call:?}"
        );
        for (i, (source, bytes)) in got.into_iter().enumerate() {
            let from = if i % 2 == 0 { &a } else { &b };
            assert_eq!(source, from.local_addr().unwrap());
            assert_eq!(bytes, format!("datagram {i}").as_bytes());
        }
        assert_eq!(
            recvmmsg(receiver.as_raw_fd(), &mut batch)
                .unwrap_err()
                .kind(),
            io::ErrorKind::WouldBlock
        );
        assert!(batch.is_empty(), "a failed receive leaves nothing behind");
    }

    #[test]
    fn a_full_batch_leaves_the_rest_for_the_next_call_and_cuts_long_datagrams() {
        let receiver = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let sender = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let to = receiver.local_addr().unwrap();
        let mut batch = ReceivedBatch::new(4, 3);
        assert_eq!(batch.capacity(), 3);
        for i in 0..4u8 {
            sender.send_to(&[i; 6], to).unwrap();
        }
        // As above: let deferred loopback receive work run.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(recvmmsg(receiver.as_raw_fd(), &mut batch).unwrap(), 3);
        let (from, bytes) = batch.get_mut(2).unwrap();
        assert_eq!(from, sender.local_addr().unwrap());
        assert_eq!(bytes, &[2u8; 4], "cut to the slot, as recvfrom cuts");
        assert_eq!(recvmmsg(receiver.as_raw_fd(), &mut batch).unwrap(), 1);
        assert_eq!(batch.get_mut(0).unwrap().1, &[3u8; 4]);
    }

    #[test]
    fn one_datagram_recorded_by_a_reactor_reads_back() {
        let mut batch = ReceivedBatch::new(8, 4);
        batch.first_slot()[..3].copy_from_slice(b"abc");
        let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
        batch.set_one(from, 3);
        assert_eq!(batch.len(), 1);
        assert_eq!(batch.get_mut(0), Some((from, &mut b"abc".to_vec()[..])));
        let lent = batch.take_bytes();
        let len = lent.len();
        batch.restore(lent, len);
        assert_eq!(batch.capacity(), 4);
    }
}
