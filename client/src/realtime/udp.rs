//! A UDP socket that can wait with a deadline or not at all, for the
//! datagram transports.
//!
//! The socket stays non-blocking; a wait is a `ppoll(2)` with a
//! nanosecond timeout. (A socket read timeout would do, but the kernel
//! rounds those up to its scheduler tick: a 1 ms timeout sleeps about 8 ms
//! on a 250 Hz kernel, which would delay every timer-driven send.)

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Below this, a wait is not worth a system call.
const MIN_WAIT: Duration = Duration::from_micros(20);

/// A non-blocking UDP socket that can wait for its next datagram.
#[derive(Debug)]
pub(crate) struct Udp {
    socket: UdpSocket,
}

impl Udp {
    /// A socket on an ephemeral port of the family of `server`.
    pub(crate) fn bind_for(server: SocketAddr) -> io::Result<Udp> {
        let local: SocketAddr = if server.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local)?;
        socket.set_nonblocking(true)?;
        Ok(Udp { socket })
    }

    /// Sends one datagram. A full socket buffer drops it: both protocols
    /// resend what must arrive.
    pub(crate) fn send_to(&mut self, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
        match self.socket.send_to(bytes, to) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            // ICMP errors of earlier datagrams surface here on some
            // systems; the protocols' timeouts deal with a dead server.
            Err(e) if transient(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Receives one datagram, waiting until `until` at most (`None`: not
    /// at all). `Ok(None)` when nothing came.
    pub(crate) fn recv(
        &mut self,
        buf: &mut [u8],
        until: Option<Instant>,
    ) -> io::Result<Option<(usize, SocketAddr)>> {
        match self.socket.recv_from(buf) {
            Ok((n, from)) => return Ok(Some((n, from))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if transient(&e) || e.kind() == io::ErrorKind::Interrupted => return Ok(None),
            Err(e) => return Err(e),
        }
        let wait = until.map(|u| u.saturating_duration_since(Instant::now()));
        match wait {
            Some(w) if w >= MIN_WAIT => self.wait_readable(w)?,
            _ => return Ok(None),
        }
        match self.socket.recv_from(buf) {
            Ok((n, from)) => Ok(Some((n, from))),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) || transient(&e) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

impl Udp {
    /// Waits until the socket is readable or `timeout` passes.
    fn wait_readable(&self, timeout: Duration) -> io::Result<()> {
        use nix::poll::{PollFd, PollFlags, ppoll};
        use nix::sys::time::TimeSpec;
        let mut fds = [PollFd::new(&self.socket, PollFlags::POLLIN)];
        match ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(io::Error::from(e)),
        }
    }
}

fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
    )
}
