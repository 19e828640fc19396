//! Sockets on glommio's reactor.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite1::{AsyncRead, AsyncWrite};

use crate::rt::batch::{self, DatagramBatch};
use crate::rt::recv_batch::{self, ReceivedBatch};
use crate::rt::shutdown::ShutdownHandle;

/// A TCP listener owned by one shard (bound with SO_REUSEPORT).
pub struct TcpListener(glommio::net::TcpListener);

impl TcpListener {
    /// glommio binds every listener with SO_REUSEPORT.
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<TcpListener> {
        glommio::net::TcpListener::bind(addr)
            .map(TcpListener)
            .map_err(io::Error::from)
    }

    /// Takes a bound, listening std listener (see [`crate::rt::bind_exclusive`]).
    /// It stays blocking, as glommio's own listeners are: io_uring accepts.
    pub fn from_exclusive(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        use std::os::fd::{FromRawFd, IntoRawFd};
        // SAFETY: the descriptor is a bound, listening TCP socket, and
        // `into_raw_fd` hands its only owner over to glommio's listener.
        Ok(TcpListener(unsafe {
            glommio::net::TcpListener::from_raw_fd(listener.into_raw_fd())
        }))
    }

    pub async fn accept(&self) -> io::Result<TcpStream> {
        self.0
            .accept()
            .await
            .map(TcpStream)
            .map_err(io::Error::from)
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr().map_err(io::Error::from)
    }
}

/// A TCP connection owned by one shard.
pub struct TcpStream(glommio::net::TcpStream);

impl TcpStream {
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    /// Declines (`WouldBlock`): a write here is an io_uring operation that
    /// a task polls to its end ([`super::DIRECT_WRITES`] is false).
    pub fn try_write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Flushes and closes the write side.
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }

    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.0.set_nodelay(on).map_err(io::Error::from)
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr().map_err(io::Error::from)
    }

    /// A handle that shuts the socket down from another task, ending a
    /// read blocked on it.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle::new(self.0.as_raw_fd())
    }

    /// glommio cannot move a connection to another shard's reactor
    /// (`STREAMS_MOVE` is false): callers never detach.
    pub fn detach(self) -> io::Result<crate::rt::DetachedStream> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// As [`TcpStream::detach`]: never called on glommio.
    pub fn attach(_stream: crate::rt::DetachedStream) -> io::Result<TcpStream> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// A UDP socket owned by one shard (bound with SO_REUSEPORT).
pub struct UdpSocket(glommio::net::UdpSocket);

impl UdpSocket {
    /// glommio binds every UDP socket with SO_REUSEPORT.
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<UdpSocket> {
        glommio::net::UdpSocket::bind(addr)
            .map(UdpSocket)
            .map_err(io::Error::from)
    }

    /// Takes the datagrams waiting with one non-blocking `recvmmsg` (see
    /// `rt::recv_batch`); when none waits, receives one through the ring,
    /// which waits. Returns how many it took and the batch.
    pub async fn recv_batch(&self, mut batch: ReceivedBatch) -> (io::Result<usize>, ReceivedBatch) {
        match recv_batch::recvmmsg(self.0.as_raw_fd(), &mut batch) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match self.0.recv_from(batch.first_slot()).await {
                    Ok((n, from)) => {
                        batch.set_one(from, n);
                        (Ok(1), batch)
                    }
                    Err(e) => (Err(io::Error::from(e)), batch),
                }
            }
            result => (result, batch),
        }
    }

    /// Sends `buf` as one datagram to `to` and gives the buffer back.
    pub async fn send_to<B: AsRef<[u8]>>(&self, buf: B, to: SocketAddr) -> (io::Result<usize>, B) {
        let r = self
            .0
            .send_to(buf.as_ref(), to)
            .await
            .map_err(io::Error::from);
        (r, buf)
    }

    /// Sends datagrams `from..` of `batch` with one non-blocking `sendmmsg`
    /// (see `rt::batch`); while the socket's buffer is full, sends datagram
    /// `from` alone through the ring, which waits. Returns how many left (at
    /// least one). An error concerns datagram `from` alone.
    pub async fn send_batch(&self, batch: &DatagramBatch, from: usize) -> io::Result<usize> {
        match batch::sendmmsg(self.0.as_raw_fd(), batch, from) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let (to, datagram) = batch.get(from).ok_or(e)?;
                self.0
                    .send_to(datagram, to)
                    .await
                    .map_err(io::Error::from)?;
                Ok(1)
            }
            result => result,
        }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr().map_err(io::Error::from)
    }
}
