//! One endpoint's WebSocket state machine: decoding, automatic replies,
//! outbound buffering and the close handshake.

use std::collections::VecDeque;
use std::fmt;

use bytes::{Bytes, BytesMut};

use super::close::{CloseFrame, encode_close};
use super::decoder::{Decoder, Message, Role};
use super::error::ProtocolError;
use super::frame::{MAX_CONTROL_PAYLOAD, OpCode, encode_frame};
use super::mask::MaskSource;

/// Close handshake state (RFC 6455 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and await the peer's. Received data is still
    /// delivered; nothing more is sent.
    CloseSent,
    /// The peer's close frame arrived and our reply is queued, not yet taken
    /// by [`Connection::take_outbound`].
    CloseReceived,
    /// Close frames were exchanged (or the connection failed). Nothing more
    /// is accepted; drain [`Connection::take_outbound`] (it may still hold
    /// the final close frame), then shut the transport down.
    Closed,
}

/// What the peer sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete text message (validated UTF-8).
    Text(Bytes),
    /// A complete binary message.
    Binary(Bytes),
    /// A ping; the pong reply has already been queued (while open),
    /// replacing any pong not yet taken.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame; if we were open, the reply has been queued.
    Closed(Option<CloseFrame>),
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The connection is closing or closed.
    NotOpen,
    /// Control frame payloads are limited to 125 bytes.
    ControlTooLong,
    /// Pre-encoded unmasked frames cannot be sent by a client.
    MaskRequired,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotOpen => "websocket connection is not open",
            Self::ControlTooLong => "control frame payload exceeds 125 bytes",
            Self::MaskRequired => "clients must mask frames; pre-encoded frames are server-only",
        })
    }
}

impl std::error::Error for SendError {}

/// One side (server or client) of a WebSocket connection, after the
/// handshake.
///
/// The driver loop is: append received bytes to a `BytesMut`, call
/// [`recv`](Self::recv) until it returns `Ok(None)`, write everything
/// [`take_outbound`](Self::take_outbound) yields, and shut the transport
/// down once [`is_closed`](Self::is_closed) and the outbound queue is empty.
/// On `Err` from `recv`, a close frame carrying the error's code has been
/// queued: flush it and shut down.
#[derive(Debug)]
pub struct Connection {
    decoder: Decoder,
    state: State,
    /// Client role only.
    masks: Option<MaskSource>,
    /// The pong answering the latest ping, not yet taken: it goes out
    /// before anything else queued. One slot, not one per ping (RFC 6455
    /// 5.5.3 allows answering only the latest), so a ping flood costs one
    /// frame however fast it comes.
    pong: Option<Bytes>,
    /// The unwritten tail of a chunk taken but only partly written
    /// ([`Connection::unsend`]): it goes out before anything else, the
    /// pong included, which may not cut a frame in two.
    partial: Option<Bytes>,
    /// Finished outbound chunks, oldest first; all older than `scratch`.
    queue: VecDeque<Bytes>,
    /// Frames being appended.
    scratch: BytesMut,
}

impl Connection {
    /// A server-side connection (expects masked frames, sends unmasked).
    pub fn server(max_message_size: usize) -> Self {
        Self::new(Role::Server, max_message_size, None)
    }

    /// A client-side connection (expects unmasked frames, masks what it
    /// sends with a [`MaskSource`] seeded by `mask_seed`).
    pub fn client(max_message_size: usize, mask_seed: u64) -> Self {
        Self::new(
            Role::Client,
            max_message_size,
            Some(MaskSource::new(mask_seed)),
        )
    }

    fn new(role: Role, max_message_size: usize, masks: Option<MaskSource>) -> Self {
        Self {
            decoder: Decoder::new(role, max_message_size),
            state: State::Open,
            masks,
            pong: None,
            partial: None,
            queue: VecDeque::new(),
            scratch: BytesMut::new(),
        }
    }

    /// This endpoint's role.
    pub const fn role(&self) -> Role {
        self.decoder.role()
    }

    /// The close handshake state.
    pub const fn state(&self) -> State {
        self.state
    }

    /// Whether messages may still be sent.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the connection is finished (see [`State::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Decodes the next event from the received bytes in `buf`, consuming
    /// what it decodes. `Ok(None)` means more input is needed.
    ///
    /// Pings are answered and close frames replied to automatically (while
    /// open). Once the peer's close frame has been received, further input is
    /// discarded. On error the connection is failed: a close frame with the
    /// error's code is queued (if we had not sent one) and the state becomes
    /// [`State::Closed`].
    pub fn recv(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        if matches!(self.state, State::CloseReceived | State::Closed) {
            buf.clear();
            return Ok(None);
        }
        let msg = match self.decoder.decode(buf) {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(None),
            Err(e) => {
                if self.state == State::Open {
                    let mask = self.next_mask();
                    encode_close(&mut self.scratch, Some((e.code, e.reason)), mask);
                }
                self.state = State::Closed;
                buf.clear();
                return Err(e);
            }
        };
        Ok(Some(match msg {
            Message::Text(b) => Event::Text(b),
            Message::Binary(b) => Event::Binary(b),
            Message::Pong(b) => Event::Pong(b),
            Message::Ping(b) => {
                if self.state == State::Open {
                    let mask = self.next_mask();
                    let mut pong = BytesMut::with_capacity(b.len() + 14);
                    encode_frame(&mut pong, OpCode::Pong, true, &b, mask);
                    self.pong = Some(pong.freeze());
                }
                Event::Ping(b)
            }
            Message::Close(frame) => {
                // The peer must send nothing after its close frame.
                buf.clear();
                if self.state == State::Open {
                    // Echo the status code, as RFC 6455 §5.5.1 suggests.
                    let mask = self.next_mask();
                    let status = frame.as_ref().map(|f| (f.code, ""));
                    encode_close(&mut self.scratch, status, mask);
                    self.state = State::CloseReceived;
                } else {
                    self.state = State::Closed;
                }
                Event::Closed(frame)
            }
        }))
    }

    /// Queues a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send(OpCode::Text, text.as_bytes())
    }

    /// Queues a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send(OpCode::Binary, data)
    }

    /// Queues a ping (payload ≤ 125 bytes).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong);
        }
        self.send(OpCode::Ping, payload)
    }

    /// Queues an unsolicited pong (payload ≤ 125 bytes), e.g. a heartbeat.
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong);
        }
        self.send(OpCode::Pong, payload)
    }

    fn send(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::NotOpen);
        }
        let mask = self.next_mask();
        encode_frame(&mut self.scratch, opcode, true, payload, mask);
        Ok(())
    }

    /// Queues a complete pre-encoded unmasked frame without copying it, e.g.
    /// a broadcast built once with [`frame_bytes`](super::frame_bytes) and
    /// shared by many connections. Server role only. The caller guarantees
    /// `frame` is exactly one well-formed final data frame.
    pub fn send_prepared(&mut self, frame: Bytes) -> Result<(), SendError> {
        if self.masks.is_some() {
            return Err(SendError::MaskRequired);
        }
        if self.state != State::Open {
            return Err(SendError::NotOpen);
        }
        self.flush_scratch();
        self.queue.push_back(frame);
        Ok(())
    }

    /// Starts the close handshake with `code` (a sendable code, see
    /// [`close::is_valid_code`](super::close::is_valid_code)) and `reason`
    /// (truncated to 123 bytes). No-op unless open.
    pub fn close(&mut self, code: u16, reason: &str) {
        if self.state != State::Open {
            return;
        }
        let mask = self.next_mask();
        encode_close(&mut self.scratch, Some((code, reason)), mask);
        self.state = State::CloseSent;
    }

    /// Whether a frame prepared for this endpoint ([`send_prepared`](Self::send_prepared))
    /// may go straight to the transport, bypassing the queue: the
    /// connection is open, needs no masks, and has nothing pending that
    /// would have to go first. A driver that writes such frames itself
    /// gives back any tail the transport did not take with
    /// [`unsend`](Self::unsend), as for a chunk it took.
    pub fn passes_prepared(&self) -> bool {
        self.masks.is_none() && self.state == State::Open && !self.has_outbound()
    }

    /// Whether bytes are waiting to be sent.
    pub fn has_outbound(&self) -> bool {
        self.partial.is_some()
            || self.pong.is_some()
            || !self.queue.is_empty()
            || !self.scratch.is_empty()
    }

    /// Takes the next chunk of bytes to write: what [`unsend`](Self::unsend)
    /// gave back, then the pong answering the latest ping, then the rest
    /// oldest first; `None` when nothing is pending. Call until `None`:
    /// shared pre-encoded frames come out as their own chunks.
    pub fn take_outbound(&mut self) -> Option<Bytes> {
        if let Some(rest) = self.partial.take() {
            return Some(rest);
        }
        if let Some(pong) = self.pong.take() {
            return Some(pong);
        }
        let chunk = match self.queue.pop_front() {
            Some(b) => Some(b),
            None if self.scratch.is_empty() => None,
            None => Some(self.scratch.split().freeze()),
        };
        if self.state == State::CloseReceived && !self.has_outbound() {
            self.state = State::Closed;
        }
        chunk
    }

    /// Gives back the unwritten tail of what was taken (a write the
    /// transport took only in part): the next [`take_outbound`](Self::take_outbound)
    /// returns it first, so the bytes on the wire stay in order. At most
    /// one tail is held: give back only after a take, before the next.
    pub fn unsend(&mut self, rest: Bytes) {
        debug_assert!(self.partial.is_none(), "one tail at a time");
        if !rest.is_empty() {
            self.partial = Some(rest);
        }
    }

    fn flush_scratch(&mut self) {
        if !self.scratch.is_empty() {
            self.queue.push_back(self.scratch.split().freeze());
        }
    }

    fn next_mask(&mut self) -> Option<[u8; 4]> {
        self.masks.as_mut().map(MaskSource::next_mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::close;
    use crate::ws::frame::frame_bytes;

    const MAX: usize = 1 << 16;

    /// Moves all of `from`'s outbound bytes into `to`'s receive buffer and
    /// collects `to`'s events.
    fn pump(
        from: &mut Connection,
        to: &mut Connection,
        rx: &mut BytesMut,
    ) -> Result<Vec<Event>, ProtocolError> {
        while let Some(b) = from.take_outbound() {
            rx.extend_from_slice(&b);
        }
        let mut ev = Vec::new();
        while let Some(e) = to.recv(rx)? {
            ev.push(e);
        }
        Ok(ev)
    }

    fn outbound(c: &mut Connection) -> Vec<u8> {
        let mut v = Vec::new();
        while let Some(b) = c.take_outbound() {
            v.extend_from_slice(&b);
        }
        v
    }

    fn masked(op: OpCode, payload: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        encode_frame(&mut b, op, true, payload, Some([1, 2, 3, 4]));
        b
    }

    #[test]
    fn server_answers_ping_with_unmasked_pong() {
        let mut s = Connection::server(MAX);
        let mut rx = masked(OpCode::Ping, b"hb");
        assert_eq!(
            s.recv(&mut rx).unwrap(),
            Some(Event::Ping(Bytes::from_static(b"hb")))
        );
        assert_eq!(outbound(&mut s), [0x8A, 0x02, b'h', b'b']);
        assert!(s.take_outbound().is_none());
    }

    #[test]
    fn a_ping_flood_leaves_one_pong_for_the_latest_ping() {
        let mut s = Connection::server(MAX);
        let mut rx = BytesMut::new();
        for i in 0..10_000u32 {
            rx.extend_from_slice(&masked(OpCode::Ping, &i.to_be_bytes()));
        }
        s.send_text("queued").unwrap();
        while s.recv(&mut rx).unwrap().is_some() {}
        let mut chunks = Vec::new();
        while let Some(b) = s.take_outbound() {
            chunks.push(b);
        }
        assert_eq!(
            chunks,
            vec![
                frame_bytes(OpCode::Pong, &9_999u32.to_be_bytes()),
                frame_bytes(OpCode::Text, b"queued"),
            ]
        );
    }

    #[test]
    fn client_server_conversation() {
        let mut c = Connection::client(MAX, 7);
        let mut s = Connection::server(MAX);
        let (mut c_rx, mut s_rx) = (BytesMut::new(), BytesMut::new());

        c.send_text("hello").unwrap();
        c.send_binary(&[1, 2, 3]).unwrap();
        c.send_ping(b"p").unwrap();
        let ev = pump(&mut c, &mut s, &mut s_rx).unwrap();
        assert_eq!(
            ev,
            vec![
                Event::Text(Bytes::from_static(b"hello")),
                Event::Binary(Bytes::from_static(&[1, 2, 3])),
                Event::Ping(Bytes::from_static(b"p")),
            ]
        );
        // Server's automatic pong plus a reply reach the client.
        s.send_text("world").unwrap();
        let ev = pump(&mut s, &mut c, &mut c_rx).unwrap();
        assert_eq!(
            ev,
            vec![
                Event::Pong(Bytes::from_static(b"p")),
                Event::Text(Bytes::from_static(b"world")),
            ]
        );
        // Server pings, the client's automatic pong is masked and accepted.
        s.send_ping(b"x").unwrap();
        assert_eq!(
            pump(&mut s, &mut c, &mut c_rx).unwrap(),
            vec![Event::Ping(Bytes::from_static(b"x"))]
        );
        assert_eq!(
            pump(&mut c, &mut s, &mut s_rx).unwrap(),
            vec![Event::Pong(Bytes::from_static(b"x"))]
        );

        // Client-initiated close handshake.
        c.close(close::NORMAL, "bye");
        assert_eq!(c.state(), State::CloseSent);
        assert_eq!(c.send_text("late"), Err(SendError::NotOpen));
        let ev = pump(&mut c, &mut s, &mut s_rx).unwrap();
        assert_eq!(
            ev,
            vec![Event::Closed(Some(CloseFrame {
                code: 1000,
                reason: "bye".into()
            }))]
        );
        assert_eq!(s.state(), State::CloseReceived);
        assert!(!s.is_closed());
        assert_eq!(s.send_text("late"), Err(SendError::NotOpen));
        let ev = pump(&mut s, &mut c, &mut c_rx).unwrap();
        assert!(s.is_closed());
        assert_eq!(
            ev,
            vec![Event::Closed(Some(CloseFrame {
                code: 1000,
                reason: String::new()
            }))]
        );
        assert!(c.is_closed());
        assert!(!c.has_outbound() && !s.has_outbound());
    }

    #[test]
    fn locally_initiated_close_still_delivers_data_but_sends_nothing() {
        let mut s = Connection::server(MAX);
        s.close(close::GOING_AWAY, "shutdown");
        s.close(close::NORMAL, "again"); // no-op
        assert_eq!(outbound(&mut s), &close::close_frame(1001, "shutdown")[..]);
        let mut rx = masked(OpCode::Text, b"in flight");
        rx.extend_from_slice(&masked(OpCode::Ping, b"?"));
        rx.extend_from_slice(&masked(OpCode::Close, b"\x03\xe9"));
        assert_eq!(
            s.recv(&mut rx).unwrap(),
            Some(Event::Text(Bytes::from_static(b"in flight")))
        );
        assert_eq!(
            s.recv(&mut rx).unwrap(),
            Some(Event::Ping(Bytes::from_static(b"?")))
        );
        assert!(!s.has_outbound(), "no pong after our close");
        assert_eq!(
            s.recv(&mut rx).unwrap(),
            Some(Event::Closed(Some(CloseFrame {
                code: 1001,
                reason: String::new()
            })))
        );
        assert!(s.is_closed());
        assert!(!s.has_outbound(), "no second close frame");
    }

    #[test]
    fn peer_close_without_status_gets_empty_reply_and_later_input_is_ignored() {
        let mut s = Connection::server(MAX);
        let mut rx = masked(OpCode::Close, b"");
        rx.extend_from_slice(&masked(OpCode::Text, b"after close"));
        assert_eq!(s.recv(&mut rx).unwrap(), Some(Event::Closed(None)));
        assert!(rx.is_empty());
        let mut more = masked(OpCode::Text, b"more");
        assert_eq!(s.recv(&mut more).unwrap(), None);
        assert_eq!(outbound(&mut s), [0x88, 0x00]);
        assert!(s.is_closed());
    }

    #[test]
    fn protocol_error_queues_close_with_error_code() {
        let mut s = Connection::server(MAX);
        let mut rx = BytesMut::new();
        encode_frame(&mut rx, OpCode::Text, true, b"unmasked", None);
        let e = s.recv(&mut rx).unwrap_err();
        assert_eq!(e.code, close::PROTOCOL_ERROR);
        assert!(s.is_closed());
        let out = outbound(&mut s);
        let mut c = Decoder::new(Role::Client, MAX);
        let mut ob = BytesMut::from(&out[..]);
        let Some(Message::Close(Some(f))) = c.decode(&mut ob).unwrap() else {
            panic!("expected close frame");
        };
        assert_eq!(f.code, 1002);
        // Too big and bad UTF-8 map to 1009 and 1007.
        let mut s = Connection::server(4);
        let mut rx = masked(OpCode::Binary, b"12345");
        assert_eq!(s.recv(&mut rx).unwrap_err().code, close::MESSAGE_TOO_BIG);
        let mut s = Connection::server(MAX);
        let mut rx = masked(OpCode::Text, b"\xff");
        assert_eq!(s.recv(&mut rx).unwrap_err().code, close::INVALID_PAYLOAD);
    }

    #[test]
    fn control_payload_limits() {
        let mut c = Connection::client(MAX, 1);
        assert_eq!(c.send_ping(&[0; 126]), Err(SendError::ControlTooLong));
        assert_eq!(c.send_pong(&[0; 126]), Err(SendError::ControlTooLong));
        assert!(c.send_ping(&[0; 125]).is_ok());
    }

    #[test]
    fn a_tail_given_back_goes_out_before_a_later_pong() {
        let mut s = Connection::server(MAX);
        s.send_text("first").unwrap();
        s.send_text("second").unwrap();
        let chunk = s.take_outbound().unwrap();
        // The transport took three bytes; a ping arrives meanwhile.
        s.unsend(chunk.slice(3..));
        let mut rx = masked(OpCode::Ping, b"p");
        assert!(matches!(s.recv(&mut rx), Ok(Some(Event::Ping(_)))));
        assert!(s.has_outbound());
        let mut wire = BytesMut::from(&chunk[..3]);
        while let Some(more) = s.take_outbound() {
            wire.extend_from_slice(&more);
        }
        let mut c = Connection::client(MAX, 5);
        let mut got = Vec::new();
        while let Some(e) = c.recv(&mut wire).unwrap() {
            got.push(e);
        }
        assert_eq!(
            got,
            vec![
                Event::Text(Bytes::from_static(b"first")),
                Event::Text(Bytes::from_static(b"second")),
                Event::Pong(Bytes::from_static(b"p")),
            ]
        );
        // An empty tail is nothing to send.
        s.unsend(Bytes::new());
        assert!(!s.has_outbound());
    }

    #[test]
    fn prepared_frames_pass_the_queue_only_when_nothing_must_go_first() {
        let mut s = Connection::server(MAX);
        assert!(s.passes_prepared());
        // Anything pending goes first: a frame, a tail given back, a pong.
        s.send_text("queued").unwrap();
        assert!(!s.passes_prepared());
        let chunk = s.take_outbound().unwrap();
        assert!(s.passes_prepared());
        s.unsend(chunk.slice(2..));
        assert!(!s.passes_prepared());
        while s.take_outbound().is_some() {}
        let mut rx = masked(OpCode::Ping, b"p");
        assert!(matches!(s.recv(&mut rx), Ok(Some(Event::Ping(_)))));
        assert!(!s.passes_prepared());
        while s.take_outbound().is_some() {}
        assert!(s.passes_prepared());
        // Not once closing, when data may not follow.
        s.close(close::NORMAL, "");
        while s.take_outbound().is_some() {}
        assert!(!s.passes_prepared());
        // Never on a client, whose frames need masks.
        assert!(!Connection::client(MAX, 1).passes_prepared());
    }

    #[test]
    fn prepared_frames_are_shared_and_ordered() {
        let shared = frame_bytes(OpCode::Text, b"broadcast");
        let mut s = Connection::server(MAX);
        s.send_text("a").unwrap();
        s.send_prepared(shared.clone()).unwrap();
        s.send_text("c").unwrap();
        let chunks: Vec<Bytes> = std::iter::from_fn(|| s.take_outbound()).collect();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1].as_ptr(), shared.as_ptr(), "not copied");
        let mut c = Connection::client(MAX, 3);
        let mut rx = BytesMut::new();
        for ch in &chunks {
            rx.extend_from_slice(ch);
        }
        let mut got = Vec::new();
        while let Some(e) = c.recv(&mut rx).unwrap() {
            got.push(e);
        }
        assert_eq!(
            got,
            vec![
                Event::Text(Bytes::from_static(b"a")),
                Event::Text(Bytes::from_static(b"broadcast")),
                Event::Text(Bytes::from_static(b"c")),
            ]
        );
        assert_eq!(c.send_prepared(shared), Err(SendError::MaskRequired));
    }

    #[test]
    fn client_frames_are_masked_with_varying_masks() {
        let mut c = Connection::client(MAX, 99);
        c.send_text("same").unwrap();
        let a = c.take_outbound().unwrap();
        c.send_text("same").unwrap();
        let b = c.take_outbound().unwrap();
        assert_eq!(a[1] & 0x80, 0x80);
        assert_ne!(a[2..6], b[2..6], "fresh mask per frame");
        assert_ne!(&a[6..], b"same");
    }
}
