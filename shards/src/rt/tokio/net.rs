//! Sockets on tokio's reactor, bound through socket2 for SO_REUSEPORT.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

use crate::rt::DetachedStream;
use crate::rt::batch::{self, DatagramBatch};
use crate::rt::recv_batch::{self, ReceivedBatch};
use crate::rt::shutdown::ShutdownHandle;

/// Pending connections the kernel keeps per listener.
const BACKLOG: i32 = 1024;

fn reuseport_socket(addr: SocketAddr, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// A TCP listener owned by one shard (bound with SO_REUSEPORT).
pub struct TcpListener(tokio::net::TcpListener);

impl TcpListener {
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = reuseport_socket(addr, Type::STREAM, Protocol::TCP)?;
        socket.listen(BACKLOG)?;
        tokio::net::TcpListener::from_std(socket.into()).map(TcpListener)
    }

    /// Takes a bound, listening std listener (see [`crate::rt::bind_exclusive`]).
    pub fn from_exclusive(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        tokio::net::TcpListener::from_std(listener).map(TcpListener)
    }

    pub async fn accept(&self) -> io::Result<TcpStream> {
        self.0.accept().await.map(|(s, _)| TcpStream(s))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A TCP connection owned by one shard.
pub struct TcpStream(tokio::net::TcpStream);

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

    /// Writes what the socket takes now, from any task or none;
    /// `WouldBlock` when it takes nothing.
    pub fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
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

    /// Takes the connection off this shard's reactor, for another shard
    /// to [`TcpStream::attach`]. (An error, which deregistering almost
    /// never gives, loses the connection.)
    pub fn detach(self) -> io::Result<DetachedStream> {
        self.0.into_std().map(DetachedStream)
    }

    /// Registers a connection another shard detached with this shard's
    /// reactor. Call it on the shard that takes the connection.
    pub fn attach(stream: DetachedStream) -> io::Result<TcpStream> {
        tokio::net::TcpStream::from_std(stream.0).map(TcpStream)
    }
}

/// A UDP socket owned by one shard (bound with SO_REUSEPORT).
pub struct UdpSocket(tokio::net::UdpSocket);

impl UdpSocket {
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<UdpSocket> {
        let socket = reuseport_socket(addr, Type::DGRAM, Protocol::UDP)?;
        tokio::net::UdpSocket::from_std(socket.into()).map(UdpSocket)
    }

    /// Waits for datagrams and takes as many as wait with one `recvmmsg`
    /// (see `rt::recv_batch`); returns how many it took and the batch.
    pub async fn recv_batch(&self, mut batch: ReceivedBatch) -> (io::Result<usize>, ReceivedBatch) {
        let fd = self.0.as_raw_fd();
        loop {
            match self
                .0
                .try_io(Interest::READABLE, || recv_batch::recvmmsg(fd, &mut batch))
            {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(e) = self.0.readable().await {
                        return (Err(e), batch);
                    }
                }
                result => return (result, batch),
            }
        }
    }

    /// Sends `buf` as one datagram to `to` and gives the buffer back.
    pub async fn send_to<B: AsRef<[u8]>>(&self, buf: B, to: SocketAddr) -> (io::Result<usize>, B) {
        let r = self.0.send_to(buf.as_ref(), to).await;
        (r, buf)
    }

    /// Sends datagrams `from..` of `batch` with one `sendmmsg` (see
    /// `rt::batch`), waiting while the socket's buffer is full; returns how
    /// many left (at least one). An error concerns datagram `from` alone.
    pub async fn send_batch(&self, batch: &DatagramBatch, from: usize) -> io::Result<usize> {
        let fd = self.0.as_raw_fd();
        loop {
            match self
                .0
                .try_io(Interest::WRITABLE, || batch::sendmmsg(fd, batch, from))
            {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.0.writable().await?,
                result => return result,
            }
        }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
