//! The QUIC link: [`QuicClient`] (quinn-proto, sans-IO) over a `std` UDP
//! socket. The client sends its session token on the stream first; the
//! server answers with its accept frame or closes the connection (code 3
//! for a refused token).
//!
//! Driving rules, from `kairos_net::quic::QuicClient`: after feeding a
//! datagram, running a timeout or queuing a message, drain the events and
//! the datagrams to send (to `None`) before asking for the next timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kairos_net::quic::{
    ClientEvent, ClientTls, CloseReason, MAX_UDP_PAYLOAD, QuicClient, QuicConfig, SendError, codes,
};

use super::datagram::DatagramLink;
use super::udp::Udp;
use super::ws::closed_again;
use crate::error::{Error, Result};

#[derive(Debug)]
pub(crate) struct QuicLink {
    udp: Udp,
    client: QuicClient,
    buf: Vec<u8>,
    recv_buf: Vec<u8>,
    connected: bool,
    closed: Option<Error>,
    /// Messages that arrived with the handshake's last packets.
    pending: Vec<Bytes>,
}

impl QuicLink {
    /// Connects to `server`, verifying its certificate for `server_name`
    /// with `tls`, and presents `token`; waits until `deadline` for the
    /// server's acceptance.
    pub(crate) fn connect(
        server: SocketAddr,
        server_name: &str,
        token: &str,
        tls: &ClientTls,
        deadline: Instant,
    ) -> Result<QuicLink> {
        let udp = Udp::bind_for(server)?;
        let client = QuicClient::connect(
            Instant::now(),
            server,
            server_name,
            token,
            tls,
            QuicConfig::default(),
        )
        .map_err(|e| Error::InvalidInput(format!("QUIC: {e}")))?;
        let mut link = QuicLink {
            udp,
            client,
            buf: Vec::with_capacity(MAX_UDP_PAYLOAD),
            recv_buf: vec![0; MAX_UDP_PAYLOAD + 512],
            connected: false,
            closed: None,
            pending: Vec::new(),
        };
        link.transmit()?;
        link.handshake(deadline)?;
        Ok(link)
    }

    /// The round-trip time quinn-proto measures.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.client.stats().map(|s| s.path.rtt)
    }

    /// Queues a message: on the stream when `reliable`, else as a QUIC
    /// datagram, or on the stream after all when it is too large for one
    /// (or the server takes none). With `flush`, sends what is queued.
    pub(crate) fn send(&mut self, payload: Vec<u8>, reliable: bool, flush: bool) -> Result<()> {
        if let Some(e) = &self.closed {
            return Err(closed_again(e));
        }
        let payload = Bytes::from(payload);
        let mut result = self.client.send(reliable, payload.clone());
        if !reliable
            && matches!(
                result,
                Err(SendError::TooLarge { .. } | SendError::DatagramsUnsupported)
            )
        {
            result = self.client.send(true, payload);
        }
        match result {
            Ok(()) => {}
            Err(SendError::NotConnected) => {
                self.collect(&mut Vec::new());
                return Err(self.not_connected());
            }
            Err(e @ SendError::TooLarge { .. }) => return Err(Error::InvalidInput(e.to_string())),
            Err(e) => return Err(Error::Transport(format!("QUIC: {e}"))),
        }
        if flush { self.transmit() } else { Ok(()) }
    }

    /// Sends what is queued, in as few packets as it fits in.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if let Some(e) = &self.closed {
            return Err(closed_again(e));
        }
        self.transmit()
    }

    fn collect(&mut self, out: &mut Vec<Bytes>) {
        while let Some(event) = self.client.poll_event() {
            match event {
                ClientEvent::Connected => self.connected = true,
                ClientEvent::Message { payload, .. } => out.push(payload),
                ClientEvent::Closed { reason } => {
                    let error = match reason {
                        CloseReason::Peer { code, reason } => Error::Closed {
                            code: Some(code),
                            reason: if reason.is_empty() {
                                "closed by the server".into()
                            } else {
                                reason
                            },
                        },
                        other => Error::Closed {
                            code: None,
                            reason: other.to_string(),
                        },
                    };
                    self.closed.get_or_insert(error);
                }
            }
        }
    }

    /// Sends every datagram the client has.
    fn transmit(&mut self) -> Result<()> {
        while let Some(t) = self.client.poll_transmit(Instant::now(), &mut self.buf) {
            self.udp.send_to(&self.buf[..t.size], t.destination)?;
        }
        Ok(())
    }
}

impl DatagramLink for QuicLink {
    fn step(&mut self, deadline: Option<Instant>, out: &mut Vec<Bytes>) -> Result<()> {
        let now = Instant::now();
        let timer = self.client.poll_timeout();
        if timer.is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
            self.collect(out);
            self.transmit()?;
            if self.closed.is_some() {
                return Ok(());
            }
        }
        let timer = self.client.poll_timeout();
        let until = match (deadline, timer) {
            (Some(d), Some(t)) => Some(d.min(t)),
            (d, _) => d,
        };
        let mut until = until;
        let mut received = false;
        while let Some((n, from)) = self.udp.recv(&mut self.recv_buf, until)? {
            let datagram = BytesMut::from(&self.recv_buf[..n]);
            self.client.handle_datagram(Instant::now(), from, datagram);
            received = true;
            until = None;
        }
        if received {
            self.collect(out);
            self.transmit()?;
        }
        Ok(())
    }

    fn connected(&self) -> bool {
        self.connected
    }

    fn closed(&self) -> Option<&Error> {
        self.closed.as_ref()
    }

    fn pending(&mut self) -> &mut Vec<Bytes> {
        &mut self.pending
    }

    /// Closes the connection (code 0) and sends the close at once; the
    /// draining period that follows needs no more packets.
    fn close(&mut self) {
        if self.closed.is_some() {
            return;
        }
        self.client.close(Instant::now(), codes::NORMAL, "");
        let _ = self.transmit();
        self.collect(&mut Vec::new());
        self.closed = Some(Error::Closed {
            code: Some(u64::from(codes::NORMAL)),
            reason: "closed locally".into(),
        });
    }
}
