//! What a datagram protocol tells the shared [`Driver`]: everything in
//! which reliable UDP and QUIC differ, and nothing else.

use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use kairos_net::datagram::DatagramServer;

use super::driver::Driver;
use crate::metrics::cells::ShardMetrics;
use crate::metrics::counter::Counter;
use crate::session::{Frame, Session, SessionParams};

/// The server's clock of protocol `P`.
pub type Time<P> = <<P as Protocol>::Server as DatagramServer>::Time;

/// One server event, as the driver acts on it.
pub enum Happening<C, H> {
    /// A connection presented its credentials (`hello`): the protocol
    /// checks them, then opens a session or refuses the connection.
    Hello { conn: C, addr: SocketAddr, hello: H },
    /// A message from a connection, on a reliable channel or not.
    Message {
        conn: C,
        payload: Bytes,
        reliable: bool,
    },
    /// A connection ended; nothing more comes from it. `reason` is for the
    /// log.
    Ended { conn: C, reason: String },
}

/// A protocol's traffic counters.
pub struct Counters<'a> {
    pub rx_packets: &'a Counter,
    pub rx_bytes: &'a Counter,
    pub tx_packets: &'a Counter,
    pub tx_bytes: &'a Counter,
}

/// The per-protocol adapter of the datagram [`Driver`]. Its methods that
/// take the server's `RefMut` or the driver run with the server borrowed
/// or borrow it themselves, never across an await.
pub trait Protocol: Sized + 'static {
    /// The sans-IO server.
    type Server: DatagramServer;
    /// A connection's handle on the server.
    type Conn: Copy + Eq + Hash + Debug + 'static;
    /// The credentials a connection presents.
    type Hello;

    /// The protocol's name in logs: "udp", "quic".
    const NAME: &'static str;
    /// The receive buffer: longer than any datagram the server accepts, so
    /// an over-long one is seen as such rather than truncated.
    const RECV_BUFFER: usize;

    /// The current time on the server's clock.
    fn now() -> Time<Self>;

    /// How long to sleep, from now, until `deadline` on the server's clock.
    fn wait(&self, deadline: Time<Self>) -> Duration;

    /// The shard's counters for this protocol's datagrams.
    fn counters(metrics: &ShardMetrics) -> Counters<'_>;

    /// Reads one server event.
    fn classify(
        event: <Self::Server as DatagramServer>::Event,
    ) -> Happening<Self::Conn, Self::Hello>;

    /// A received datagram that belongs to another shard's server: hands
    /// it over and returns true. By default every datagram is this
    /// shard's.
    fn forward(_driver: &Driver<Self>, _from: SocketAddr, _datagram: &[u8]) -> bool {
        false
    }

    /// Checks a connection's credentials. Valid: accepts the connection on
    /// the server and returns its session's parameters. Otherwise refuses
    /// it on the server and returns `None`.
    fn open(
        driver: &Driver<Self>,
        conn: Self::Conn,
        addr: SocketAddr,
        hello: Self::Hello,
    ) -> Option<SessionParams>;

    /// Queues a session's frames on its connection (draining `frames`).
    /// False when the connection can take no more; the session is then
    /// closed (by this call, when the client is too slow).
    fn send(
        server: &mut Self::Server,
        conn: Self::Conn,
        session: &Session,
        frames: &mut Vec<Frame>,
    ) -> bool;

    /// Stops reading a connection whose session's inbox is half full;
    /// true if it did. By default the protocol's own flow control paces
    /// the client, and nothing is paused.
    fn pause_reading(_server: &mut Self::Server, _conn: Self::Conn) -> bool {
        false
    }

    /// Reads a paused connection again.
    fn resume_reading(_server: &mut Self::Server, _conn: Self::Conn) {}

    /// Ends a connection whose session ended: once what it was sent is
    /// delivered, or after a deadline.
    fn end(
        driver: &Rc<Driver<Self>>,
        conn: Self::Conn,
        session: &Session,
    ) -> impl Future<Output = ()>;
}
