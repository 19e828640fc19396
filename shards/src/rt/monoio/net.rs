//! Sockets on monoio's reactor, bound through socket2 for SO_REUSEPORT.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use monoio::buf::IoBufMut;
use monoio::net::tcp::stream_poll::TcpStreamPoll;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::rt::batch::{self, DatagramBatch};
use crate::rt::recv_batch::{self, ReceivedBatch};
use crate::rt::shutdown::ShutdownHandle;

/// Pending connections the kernel keeps per listener.
const BACKLOG: i32 = 1024;

/// A socket bound with SO_REUSEPORT. It is left blocking: io_uring
/// operations complete on blocking sockets, and monoio's epoll driver and
/// its poll-style streams make theirs non-blocking themselves.
fn reuseport_socket(addr: SocketAddr, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// monoio's epoll driver needs non-blocking sockets; on io_uring a
/// blocking one is as good, so only the epoll driver gets this.
fn nonblocking_for_epoll(socket: &Socket) -> io::Result<()> {
    if !monoio::utils::is_legacy() {
        Ok(())
    } else {
        socket.set_nonblocking(true)
    }
}

/// A TCP listener owned by one shard (bound with SO_REUSEPORT).
pub struct TcpListener(monoio::net::TcpListener);

impl TcpListener {
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = reuseport_socket(addr, Type::STREAM, Protocol::TCP)?;
        socket.listen(BACKLOG)?;
        nonblocking_for_epoll(&socket)?;
        monoio::net::TcpListener::from_std(socket.into()).map(TcpListener)
    }

    /// Takes a bound, listening std listener (see [`crate::rt::bind_exclusive`]).
    pub fn from_exclusive(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        if monoio::utils::is_legacy() {
            listener.set_nonblocking(true)?;
        }
        monoio::net::TcpListener::from_std(listener).map(TcpListener)
    }

    pub async fn accept(&self) -> io::Result<TcpStream> {
        let (stream, _) = self.0.accept().await?;
        stream.try_into_poll_io().map(TcpStream).map_err(|(e, _)| e)
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A TCP connection owned by one shard, read and written poll-style.
pub struct TcpStream(TcpStreamPoll);

impl TcpStream {
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut rb = ReadBuf::new(buf);
        match Pin::new(&mut self.0).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
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
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.0.set_nodelay(on)
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    /// A handle that shuts the socket down from another task, ending a
    /// read blocked on it.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle::new(self.0.as_raw_fd())
    }

    /// monoio cannot move a connection to another shard's reactor
    /// (`STREAMS_MOVE` is false): callers never detach.
    pub fn detach(self) -> io::Result<crate::rt::DetachedStream> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// As [`TcpStream::detach`]: never called on monoio.
    pub fn attach(_stream: crate::rt::DetachedStream) -> io::Result<TcpStream> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// A UDP socket owned by one shard (bound with SO_REUSEPORT).
pub struct UdpSocket {
    socket: monoio::net::udp::UdpSocket,
    /// The owned buffer a datagram is copied into to be sent: the ring
    /// holds it until the send completes, so it cannot be the caller's.
    /// Kept between sends; a send that finds it taken (another send in
    /// flight) uses a new one.
    send_buf: Cell<Vec<u8>>,
}

impl UdpSocket {
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<UdpSocket> {
        let socket = reuseport_socket(addr, Type::DGRAM, Protocol::UDP)?;
        nonblocking_for_epoll(&socket)?;
        Ok(UdpSocket {
            socket: monoio::net::udp::UdpSocket::from_std(socket.into())?,
            send_buf: Cell::new(Vec::new()),
        })
    }

    /// Takes the datagrams waiting with one non-blocking `recvmmsg` (see
    /// `rt::recv_batch`); when none waits, receives one through the ring
    /// into the batch's first slot (owned: the ring fills it in the
    /// kernel's time). Returns how many it took and the batch.
    pub async fn recv_batch(&self, mut batch: ReceivedBatch) -> (io::Result<usize>, ReceivedBatch) {
        match recv_batch::recvmmsg(self.socket.as_raw_fd(), &mut batch) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let slot = batch.first_slot().len();
                let bytes = batch.take_bytes();
                let len = bytes.len();
                // At most one slot: the slice bounds the read.
                let (r, slice) = self.socket.recv_from(bytes.slice_mut(0..slot)).await;
                batch.restore(slice.into_inner(), len);
                match r {
                    Ok((n, from)) => {
                        batch.set_one(from, n);
                        (Ok(1), batch)
                    }
                    Err(e) => (Err(e), batch),
                }
            }
            result => (result, batch),
        }
    }

    /// Sends `buf` as one datagram to `to` and gives the buffer back.
    pub async fn send_to<B: AsRef<[u8]>>(&self, buf: B, to: SocketAddr) -> (io::Result<usize>, B) {
        let mut owned = self.send_buf.take();
        owned.clear();
        owned.extend_from_slice(buf.as_ref());
        let (r, owned) = self.socket.send_to(owned, to).await;
        self.send_buf.set(owned);
        (r, buf)
    }

    /// Sends datagrams `from..` of `batch` with one non-blocking
    /// `sendmmsg` (see `rt::batch`); while the socket's buffer is full,
    /// sends datagram `from` alone through the ring instead. Returns how
    /// many left (at least one); an error concerns datagram `from` alone.
    pub async fn send_batch(&self, batch: &DatagramBatch, from: usize) -> io::Result<usize> {
        match batch::sendmmsg(self.socket.as_raw_fd(), batch, from) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let (to, datagram) = batch.get(from).ok_or(e)?;
                self.send_to(datagram, to).await.0?;
                Ok(1)
            }
            result => result,
        }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}
