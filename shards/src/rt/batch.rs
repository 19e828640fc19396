//! A batch of datagrams to send with one system call ([`UdpSocket::send_batch`]).
//!
//! A datagram on loopback costs its sender about 2.7 µs of kernel work,
//! of which the system call's entry is only a small part; but each
//! `sendto` that makes a sleeping receiver runnable can also hand it the
//! core at the system call's return, so a server sending a flush's
//! datagrams one call at a time is switched out between them. `sendmmsg`
//! sends the whole batch before it returns: one entry, one exit, one
//! chance to be preempted per batch.
//!
//! The seam method, in every backend: `UdpSocket::send_batch(&self, batch,
//! from) -> io::Result<usize>` sends datagrams `from..` of `batch` (at
//! least one, at most [`MAX_BATCH`]), waiting while the socket's buffer is
//! full, and returns how many left. An error concerns datagram `from`
//! alone: the caller skips it and goes on.
//!
//! [`UdpSocket::send_batch`]: super::UdpSocket::send_batch

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

use super::sockaddr::write_addr;

/// The most datagrams one `sendmmsg` takes (the kernel's own cap,
/// `UIO_MAXIOV`, is 1024); a larger batch takes several calls.
pub const MAX_BATCH: usize = 64;

/// Datagrams to send, in order, their bytes back to back in one buffer
/// that is kept between batches.
#[derive(Debug, Default)]
pub struct DatagramBatch {
    bytes: Vec<u8>,
    /// Destination and end offset in `bytes` of each datagram.
    datagrams: Vec<(SocketAddr, usize)>,
}

impl DatagramBatch {
    /// Adds a datagram.
    pub fn push(&mut self, to: SocketAddr, datagram: &[u8]) {
        self.bytes.extend_from_slice(datagram);
        self.datagrams.push((to, self.bytes.len()));
    }

    /// Datagram `i`: its destination and bytes.
    pub fn get(&self, i: usize) -> Option<(SocketAddr, &[u8])> {
        let &(to, end) = self.datagrams.get(i)?;
        let start = if i == 0 { 0 } else { self.datagrams[i - 1].1 };
        Some((to, &self.bytes[start..end]))
    }

    pub fn len(&self) -> usize {
        self.datagrams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.datagrams.clear();
    }
}

/// One non-blocking `sendmmsg(2)` of datagrams `from..` of `batch` (at most
/// [`MAX_BATCH`]) on `fd`: how many the kernel took, or the error of the
/// first (`WouldBlock` when the socket's buffer is full).
pub(super) fn sendmmsg(fd: RawFd, batch: &DatagramBatch, from: usize) -> io::Result<usize> {
    let count = batch.len().saturating_sub(from).min(MAX_BATCH);
    if count == 0 {
        return Ok(0);
    }
    // SAFETY: all-zero is a valid sockaddr_storage, iovec and mmsghdr
    // (null pointers, zero lengths); every entry used below is filled in
    // first.
    let mut addrs: [libc::sockaddr_storage; MAX_BATCH] = unsafe { std::mem::zeroed() };
    let mut iovecs: [libc::iovec; MAX_BATCH] = unsafe { std::mem::zeroed() };
    let mut headers: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
    for i in 0..count {
        let (to, bytes) = batch.get(from + i).expect("within the batch");
        let len = write_addr(to, &mut addrs[i]);
        iovecs[i] = libc::iovec {
            iov_base: bytes.as_ptr() as *mut libc::c_void,
            iov_len: bytes.len(),
        };
        let header = &mut headers[i].msg_hdr;
        header.msg_name = (&raw mut addrs[i]).cast();
        header.msg_namelen = len;
        header.msg_iov = &raw mut iovecs[i];
        header.msg_iovlen = 1;
    }
    // SAFETY: `headers[..count]` point at live addresses and iovecs, which
    // point into `batch`'s buffer; the kernel only reads them, and writes
    // each header's `msg_len`.
    let sent = unsafe {
        libc::sendmmsg(
            fd,
            headers.as_mut_ptr(),
            count as libc::c_uint,
            libc::MSG_DONTWAIT,
        )
    };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn one_call_sends_a_batch_in_order() {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        let mut batch = DatagramBatch::default();
        for i in 0..MAX_BATCH + 3 {
            batch.push(to, format!("datagram {i}").as_bytes());
        }
        assert_eq!(batch.get(1), Some((to, &b"datagram 1"[..])));
        let mut sent = 0;
        while sent < batch.len() {
            let n = sendmmsg(sender.as_raw_fd(), &batch, sent).unwrap();
            assert!((1..=MAX_BATCH).contains(&n));
            sent += n;
        }
        let mut buf = [0u8; 64];
        for i in 0..batch.len() {
            let (n, from) = receiver.recv_from(&mut buf).unwrap();
            assert_eq!(from, sender.local_addr().unwrap());
            assert_eq!(&buf[..n], format!("datagram {i}").as_bytes());
        }
        assert_eq!(
            sendmmsg(sender.as_raw_fd(), &batch, batch.len()).unwrap(),
            0
        );
        batch.clear();
        assert!(batch.is_empty());
    }
}
