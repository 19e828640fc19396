//! The datagram driver of one shard and protocol: its SO_REUSEPORT UDP
//! socket, the sans-IO server (a `DatagramServer`) and the sessions on its
//! connections. The protocol's [`Protocol`] adapter supplies what differs.
//!
//! Tasks share the server (a `RefCell`, never borrowed across an await):
//!
//! * the **receiver** reads the datagrams waiting, up to
//!   [`MAX_RECV_BATCH`] with one system call (`recvmmsg`). One the
//!   protocol forwards (QUIC: a migrated connection of another shard) goes
//!   there; the rest feed the server (`handle_datagram`), which serves its
//!   events after each. Then it sends what the server queued
//!   (`poll_transmit`), such as handshake replies, and wakes the timer if
//!   the server's deadline came closer;
//! * the **timer** sleeps until the server's deadline (`poll_timeout`) or
//!   until woken, because a session queued output, a connection ended, or
//!   the deadline came closer; woken, it first lets the rest of the
//!   shard's ready work run ([`Driver::settle`]: the flush comes at the end
//!   of the wake, so messages queued in one turn share datagrams); then it
//!   runs `handle_timeout` (resends,
//!   acknowledgements, keepalives, timeouts, and reliable UDP's flushes),
//!   serves the events, and sends;
//! * each **session** runs as `session::driven` describes, through a
//!   [`DatagramLink`]: the driver pushes the connection's messages into
//!   the session's inbox, and the session's writer hands its frames to the
//!   protocol's `send`.
//!
//! Invariants:
//!
//! * One sender at a time (`sending`), so datagrams leave in the order the
//!   server produced them; a caller that finds the sender busy leaves its
//!   datagrams to it, since the sender sends until the queue is empty.
//! * The server's deadline is re-read after every change to the server:
//!   the timer re-reads it each round, and anything else that changes the
//!   server wakes the timer (output queued, a connection ending) or, on the
//!   receive path, wakes it when the deadline moved earlier than the one it
//!   sleeps towards. Waking early is harmless (`handle_timeout` runs what
//!   is due, and nothing else).
//! * A connection becomes a session only after the protocol accepted its
//!   credentials ([`Protocol::open`]); the session's inbox is bounded
//!   (`INBOX_BYTES`), and a connection whose inbox is half full stops being
//!   read where the protocol can pause it (QUIC's flow control).
//! * All socket I/O is in [`recv`] and [`send`].

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use kairos_net::datagram::DatagramServer;
use kairos_net::ws::close;

use super::protocol::{Happening, Protocol, Time};
use crate::rt::{
    self, DatagramBatch, LocalNotify, MAX_BATCH, MAX_RECV_BATCH, ReceivedBatch, UdpSocket,
};
use crate::session::driven::{self, Link, deliver_inbound};
use crate::session::{Frame, Inbox, Session};
use crate::shard::Shard;

/// Inbound bytes one session may have waiting. Past it a reliable message
/// closes the session (`deliver_inbound`); past half of it the driver stops
/// reading the connection where the protocol can. renet's own
/// client-to-server reliable buffer is as large.
const INBOX_BYTES: usize = 256 * 1024;
/// How long the timer sleeps while the server has no deadline.
const NO_DEADLINE: Duration = Duration::from_secs(1);
/// The most times the timer lets the shard's other ready tasks run before
/// it serves the server after a wake (see [`Driver::settle`]).
const SETTLE_ROUNDS: usize = 4;

/// Waits for datagrams and receives as many as wait, up to the batch's
/// capacity, with one system call where the platform has one
/// (`recvmmsg`). The socket owns the batch meanwhile (as a
/// completion-based reactor needs) and gives it back.
async fn recv(socket: &UdpSocket, batch: ReceivedBatch) -> (std::io::Result<usize>, ReceivedBatch) {
    socket.recv_batch(batch).await
}

/// Sends datagrams `from..` of `batch`, as many per system call as the
/// platform takes (`sendmmsg`); returns how many left. An error concerns
/// datagram `from` alone.
async fn send(socket: &UdpSocket, batch: &DatagramBatch, from: usize) -> std::io::Result<usize> {
    socket.send_batch(batch, from).await
}

struct Client {
    session: Rc<Session>,
    inbox: Rc<Inbox>,
    /// The protocol stopped reading the connection: its inbox filled up.
    paused: Cell<bool>,
}

/// One shard's endpoint for protocol `P`.
pub struct Driver<P: Protocol> {
    shard: Rc<Shard>,
    socket: UdpSocket,
    server: RefCell<P::Server>,
    protocol: P,
    clients: RefCell<HashMap<P::Conn, Client>>,
    /// Wakes the timer task.
    wake: LocalNotify,
    /// The deadline the timer task sleeps towards (`None`: no deadline).
    armed: Cell<Option<Time<P>>>,
    sending: Cell<bool>,
    /// The send buffer and batch, kept between sends (taken while sending).
    send_buf: Cell<Vec<u8>>,
    batch: Cell<DatagramBatch>,
    /// How many times sessions handed the server output: the timer's
    /// [`settle`](Driver::settle) watches it.
    handed: Cell<u64>,
}

impl<P: Protocol> Driver<P> {
    /// The driver of `server` on `socket`; [`start`](Self::start) runs it.
    pub fn new(shard: Rc<Shard>, socket: UdpSocket, server: P::Server, protocol: P) -> Rc<Self> {
        Rc::new(Driver {
            shard,
            socket,
            server: RefCell::new(server),
            protocol,
            clients: RefCell::new(HashMap::new()),
            wake: LocalNotify::default(),
            armed: Cell::new(None),
            sending: Cell::new(false),
            send_buf: Cell::new(Vec::new()),
            batch: Cell::new(DatagramBatch::default()),
            handed: Cell::new(0),
        })
    }

    /// Runs the receiver and the timer until the shard ends.
    pub fn start(self: &Rc<Self>) {
        let d = self.clone();
        rt::spawn(async move { d.receive_loop().await });
        let d = self.clone();
        rt::spawn(async move { d.timer_loop().await });
    }

    pub fn shard(&self) -> &Rc<Shard> {
        &self.shard
    }

    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// The server; never hold it across an await.
    pub fn server(&self) -> RefMut<'_, P::Server> {
        self.server.borrow_mut()
    }

    /// Wakes the timer task, which serves the server and sends what it
    /// queued: call after queueing output outside the driver's own loops.
    pub fn wake(&self) {
        self.wake.notify();
    }

    /// Feeds a datagram to this shard's server and serves its events. The
    /// caller sends what it queued (or [`wake`](Self::wake)s the timer).
    pub fn handle(self: &Rc<Self>, from: SocketAddr, datagram: &mut [u8]) {
        self.server
            .borrow_mut()
            .handle_datagram(P::now(), from, datagram);
        self.handle_events();
    }

    /// Reads what waits on the socket, up to [`MAX_RECV_BATCH`] datagrams
    /// a call, serves them all, and then sends what they produced: under
    /// load one call and one flush of replies serve many datagrams.
    async fn receive_loop(self: Rc<Self>) {
        let mut batch = ReceivedBatch::new(P::RECV_BUFFER, MAX_RECV_BATCH);
        loop {
            let (result, back) = recv(&self.socket, batch).await;
            batch = back;
            if let Err(e) = result {
                tracing::debug!(error = %e, "{} receive failed", P::NAME);
                rt::sleep(Duration::from_millis(1)).await;
                continue;
            }
            let counters = P::counters(&self.shard.metrics);
            counters.rx_packets.add(batch.len() as u64);
            for i in 0..batch.len() {
                let Some((from, datagram)) = batch.get_mut(i) else {
                    break;
                };
                counters.rx_bytes.add(datagram.len() as u64);
                if !P::forward(&self, from, datagram) {
                    self.handle(from, datagram);
                }
            }
            self.transmit().await;
            self.rearm();
        }
    }

    async fn timer_loop(self: Rc<Self>) {
        loop {
            let deadline = self.server.borrow().poll_timeout();
            self.armed.set(deadline);
            let wait = deadline.map_or(NO_DEADLINE, |at| self.protocol.wait(at));
            if rt::timeout(wait, self.wake.wait()).await.is_some() {
                self.settle().await;
            }
            self.server.borrow_mut().handle_timeout(P::now());
            self.handle_events();
            self.transmit().await;
        }
    }

    /// Lets the rest of the shard's current batch of work run before the
    /// timer serves the server: the other sessions' writers woken in the
    /// same turn, and the readers and mesh deliveries that feed them. Their
    /// messages then leave in the same flush, and the server packs each
    /// connection's messages into as few datagrams as fit (renet's packets,
    /// bundled: `kairos_net::rudp::bundle`). The timer yields until a round
    /// hands the server nothing new, at most [`SETTLE_ROUNDS`] times, so a
    /// shard that never runs dry still flushes every few rounds. On an
    /// idle shard the first yield comes straight back (nothing else is
    /// ready): latency at low load is unchanged, and nothing needs tuning.
    async fn settle(&self) {
        for _ in 0..SETTLE_ROUNDS {
            let before = self.handed.get();
            rt::yield_now().await;
            if self.handed.get() == before {
                break;
            }
        }
    }

    /// Wakes the timer task if the server's deadline is now earlier than
    /// the one it sleeps towards.
    fn rearm(&self) {
        let next = self.server.borrow().poll_timeout();
        let earlier = match (next, self.armed.get()) {
            (Some(next), Some(armed)) => next < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if earlier {
            self.wake.notify();
        }
    }

    /// Sends everything the server has queued, up to [`MAX_BATCH`]
    /// datagrams per system call. One sender at a time.
    async fn transmit(&self) {
        if self.sending.replace(true) {
            return;
        }
        let mut buf = self.send_buf.take();
        let mut batch = self.batch.take();
        loop {
            batch.clear();
            {
                let mut server = self.server.borrow_mut();
                while batch.len() < MAX_BATCH {
                    let Some(t) = server.poll_transmit(P::now(), &mut buf) else {
                        break;
                    };
                    batch.push(t.destination, &buf[..t.size]);
                }
            }
            if batch.is_empty() {
                break;
            }
            let mut next = 0;
            while next < batch.len() {
                match send(&self.socket, &batch, next).await {
                    Ok(n) => {
                        let counters = P::counters(&self.shard.metrics);
                        for i in next..next + n {
                            let len = batch.get(i).map_or(0, |(_, d)| d.len());
                            counters.tx_packets.inc();
                            counters.tx_bytes.add(len as u64);
                        }
                        // At least one left (`send_batch`'s contract).
                        next += n.max(1);
                    }
                    Err(e) => {
                        let dest = batch.get(next).map(|(to, _)| to);
                        tracing::debug!(error = %e, ?dest, "{} send failed", P::NAME);
                        next += 1;
                    }
                }
            }
        }
        self.batch.set(batch);
        self.send_buf.set(buf);
        self.sending.set(false);
    }

    fn handle_events(self: &Rc<Self>) {
        loop {
            let event = self.server.borrow_mut().poll_event();
            let Some(event) = event else { return };
            match P::classify(event) {
                Happening::Hello { conn, addr, hello } => self.open(conn, addr, hello),
                Happening::Message {
                    conn,
                    payload,
                    reliable,
                } => {
                    let clients = self.clients.borrow();
                    if let Some(c) = clients.get(&conn) {
                        deliver_inbound(&self.shard, &c.session, &c.inbox, payload, reliable);
                        if c.inbox.bytes() >= c.inbox.max_bytes() / 2
                            && !c.paused.get()
                            && P::pause_reading(&mut self.server.borrow_mut(), conn)
                        {
                            c.paused.set(true);
                        }
                    }
                }
                Happening::Ended { conn, reason } => {
                    if let Some(c) = self.clients.borrow_mut().remove(&conn) {
                        tracing::debug!(session = %c.session.id, %reason, "{} connection ended", P::NAME);
                        c.inbox.close();
                        c.session.close(close::NORMAL, "");
                    }
                }
            }
        }
    }

    /// A connection presented its credentials: open its session if the
    /// protocol accepts them.
    fn open(self: &Rc<Self>, conn: P::Conn, addr: SocketAddr, hello: P::Hello) {
        let Some(params) = P::open(self, conn, addr, hello) else {
            return;
        };
        let session = Rc::new(Session::new(
            params,
            self.shard.config().socket.outgoing_queue_size,
            self.shard.metrics.clone(),
        ));
        let inbox = Rc::new(Inbox::new(INBOX_BYTES));
        self.clients.borrow_mut().insert(
            conn,
            Client {
                session: session.clone(),
                inbox: inbox.clone(),
                paused: Cell::new(false),
            },
        );
        let link = DatagramLink {
            driver: self.clone(),
            conn,
        };
        rt::spawn(driven::run(self.shard.clone(), session, inbox, link));
    }

    /// The session's reader caught up: read the connection again if it was
    /// paused, and hand over what accumulated meanwhile.
    fn resume(self: &Rc<Self>, conn: P::Conn) {
        let was_paused = self
            .clients
            .borrow()
            .get(&conn)
            .is_some_and(|c| c.paused.replace(false));
        if was_paused {
            P::resume_reading(&mut self.server.borrow_mut(), conn);
            self.handle_events();
            self.wake.notify();
        }
    }

    /// Forgets an ended session's connection.
    fn forget(&self, conn: P::Conn) {
        if let Some(c) = self.clients.borrow_mut().remove(&conn) {
            c.inbox.close();
        }
        self.wake.notify();
    }
}

/// A session's connection, as its reader and writer see it.
struct DatagramLink<P: Protocol> {
    driver: Rc<Driver<P>>,
    conn: P::Conn,
}

impl<P: Protocol> Link for DatagramLink<P> {
    fn send(&self, session: &Session, frames: &mut Vec<Frame>) -> bool {
        let sent = P::send(&mut self.driver.server(), self.conn, session, frames);
        if sent {
            let handed = &self.driver.handed;
            handed.set(handed.get() + 1);
            self.driver.wake();
        }
        sent
    }

    fn drained(&self) {
        self.driver.resume(self.conn);
    }

    /// The protocol's end (a kick's notification or a last error reaches
    /// the client first), then the connection is forgotten.
    async fn end(&self, session: &Session) {
        self.driver.wake();
        P::end(&self.driver, self.conn, session).await;
        self.driver.forget(self.conn);
    }
}
