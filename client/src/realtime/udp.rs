//! A UDP socket that can wait with a deadline or not at all, for the
//! datagram transports.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Below this, a wait is not worth a blocking call.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// A UDP socket, switched between blocking (with a read timeout) and
/// non-blocking mode as each receive needs, with as few system calls as
/// possible.
#[derive(Debug)]
pub(crate) struct Udp {
    socket: UdpSocket,
    nonblocking: bool,
    read_timeout: Option<Duration>,
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
        Ok(Udp {
            socket,
            nonblocking: true,
            read_timeout: None,
        })
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
        let wait = until.map(|u| u.saturating_duration_since(Instant::now()));
        match wait {
            Some(w) if w >= MIN_WAIT => {
                // Round up to whole milliseconds: a short timeout that
                // returns early only costs another turn of the loop.
                let w = Duration::from_millis(w.as_millis() as u64 + 1);
                if self.nonblocking {
                    self.socket.set_nonblocking(false)?;
                    self.nonblocking = false;
                }
                if self.read_timeout != Some(w) {
                    self.socket.set_read_timeout(Some(w))?;
                    self.read_timeout = Some(w);
                }
            }
            _ => {
                if !self.nonblocking {
                    self.socket.set_nonblocking(true)?;
                    self.nonblocking = true;
                }
            }
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

fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
    )
}
