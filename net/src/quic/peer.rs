//! What both ends keep per connection: the quinn-proto connection, the one
//! stream and its framing (and its end, in a graceful close), and datagram
//! sending.

use std::time::Instant;

use bytes::Bytes;
use quinn_proto::{Connection, Dir, ReadError, ReadableError, StreamId, VarInt};

use super::config::QuicConfig;
use super::event::{SendError, Violation, codes};
use super::frame::{FrameReader, FrameWriter};

#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) conn: Connection,
    stream: Option<StreamId>,
    reader: FrameReader,
    writer: FrameWriter,
    max_frame_bytes: usize,
    /// The peer finished its side of the stream at a frame boundary, and
    /// every frame before the end was read: there is nothing more to read.
    recv_finished: bool,
    /// Our side of the stream is finished, after every queued frame:
    /// nothing more is written.
    send_finished: bool,
}

impl Peer {
    /// A peer whose first inbound frame may be at most `first_frame_max`
    /// bytes; [`raise_frame_limit`](Self::raise_frame_limit) lifts it to
    /// `max_frame_bytes` afterwards.
    pub(crate) fn new(conn: Connection, config: &QuicConfig, first_frame_max: usize) -> Self {
        Self {
            conn,
            stream: None,
            reader: FrameReader::new(first_frame_max),
            writer: FrameWriter::new(config.max_queued_reliable_bytes),
            max_frame_bytes: config.max_frame_bytes,
            recv_finished: false,
            send_finished: false,
        }
    }

    /// (Server) Takes the bidirectional stream the client opened, if it has.
    pub(crate) fn accept_stream(&mut self) {
        if self.stream.is_none() {
            self.stream = self.conn.streams().accept(Dir::Bi);
        }
    }

    /// (Client) Opens the stream; false if the server grants none yet.
    pub(crate) fn open_stream(&mut self) -> bool {
        if self.stream.is_none() {
            self.stream = self.conn.streams().open(Dir::Bi);
        }
        self.stream.is_some()
    }

    pub(crate) fn raise_frame_limit(&mut self) {
        self.reader.set_max(self.max_frame_bytes);
    }

    /// Reads complete frames from the stream into `sink`; with `one`, at
    /// most one, consuming nothing past its end (the rest stays in
    /// quinn-proto, under its flow control). Returns the number of frames.
    ///
    /// A stream the peer finished at a frame boundary ends reading:
    /// [`recv_finished`](Self::recv_finished) turns true and later reads
    /// return nothing; whether the peer may finish is the caller's business.
    /// A stream finished mid-frame is [`Violation::StreamFinished`].
    pub(crate) fn read(
        &mut self,
        one: bool,
        sink: &mut impl FnMut(Bytes),
    ) -> Result<usize, Violation> {
        let Some(id) = self.stream else {
            return Ok(0);
        };
        if self.recv_finished {
            return Ok(0);
        }
        let mut recv = self.conn.recv_stream(id);
        let mut chunks = match recv.read(true) {
            Ok(chunks) => chunks,
            // Ordered reads only, so this is a stream that is gone.
            Err(ReadableError::ClosedStream | ReadableError::IllegalOrderedRead) => {
                return Err(Violation::StreamFinished);
            }
        };
        let mut frames = 0;
        let result = 'read: loop {
            let limit = if one {
                self.reader.missing()
            } else {
                usize::MAX
            };
            match chunks.next(limit) {
                Ok(Some(chunk)) => {
                    let mut data = chunk.bytes;
                    loop {
                        match self.reader.feed(&mut data) {
                            Ok(Some(frame)) => {
                                frames += 1;
                                sink(frame);
                                if one {
                                    break 'read Ok(frames);
                                }
                            }
                            Ok(None) => break,
                            Err(violation) => break 'read Err(violation),
                        }
                    }
                }
                Ok(None) if self.reader.at_boundary() => {
                    self.recv_finished = true;
                    break Ok(frames);
                }
                Ok(None) => break Err(Violation::StreamFinished),
                Err(ReadError::Blocked) => break Ok(frames),
                Err(ReadError::Reset(_)) => break Err(Violation::StreamReset),
            }
        };
        // Queues flow-control credit for what was read; the caller marks
        // the connection for transmission anyway.
        let _ = chunks.finalize();
        result
    }

    /// Queues a frame and hands what it can to quinn-proto. With `check`,
    /// refuses payloads above `max_frame_bytes` (the protocol's own frames,
    /// the token and the accept frame, have limits of their own).
    pub(crate) fn send_frame(&mut self, payload: Bytes, check: bool) -> Result<(), SendError> {
        if check && payload.len() > self.max_frame_bytes {
            return Err(SendError::TooLarge {
                len: payload.len(),
                max: self.max_frame_bytes,
            });
        }
        self.writer.push(payload)?;
        self.flush();
        Ok(())
    }

    /// Hands queued frames to quinn-proto. A stream that can no longer be
    /// written was stopped by the peer; quinn-proto reports that as an event,
    /// on which the connection is closed, so nothing is done here.
    pub(crate) fn flush(&mut self) {
        if let Some(id) = self.stream {
            let _ = self.writer.flush(&mut self.conn.send_stream(id));
        }
    }

    /// Whether the peer finished its side of the stream, cleanly, and
    /// everything before the end was read.
    pub(crate) const fn recv_finished(&self) -> bool {
        self.recv_finished
    }

    /// Hands queued frames to quinn-proto and, once it has taken them all,
    /// finishes our side of the stream: a FIN right after the last frame.
    /// Returns whether our side is finished. quinn-proto then reports
    /// `StreamEvent::Finished` when the peer has acknowledged every byte and
    /// the FIN. Without a stream there is nothing to finish, and no such
    /// event comes.
    pub(crate) fn finish_when_flushed(&mut self) -> bool {
        if !self.send_finished {
            self.flush();
            if self.writer.queued() > 0 {
                return false;
            }
            if let Some(id) = self.stream {
                // Fails only for a stream the peer stopped, which quinn-proto
                // reports as an event, on which the connection is closed.
                let _ = self.conn.send_stream(id).finish();
            }
            self.send_finished = true;
        }
        true
    }

    /// Bytes queued and not yet taken by quinn-proto.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.writer.queued()
    }

    /// The largest unreliable message the peer accepts now.
    pub(crate) fn max_datagram_size(&mut self) -> Option<usize> {
        self.conn.datagrams().max_size()
    }

    /// Queues an unreliable message. When the datagram send buffer is full,
    /// the oldest queued datagrams are dropped to make room.
    pub(crate) fn send_datagram(&mut self, payload: Bytes) -> Result<(), SendError> {
        let Some(max) = self.max_datagram_size() else {
            return Err(SendError::DatagramsUnsupported);
        };
        let len = payload.len();
        if len > max {
            return Err(SendError::TooLarge { len, max });
        }
        self.conn
            .datagrams()
            .send(payload, true)
            .map_err(|e| match e {
                // Larger than the whole send buffer.
                quinn_proto::SendDatagramError::TooLarge => SendError::TooLarge { len, max },
                quinn_proto::SendDatagramError::Blocked(_) => SendError::Backpressure { queued: 0 },
                _ => SendError::DatagramsUnsupported,
            })
    }

    /// Takes every received datagram.
    pub(crate) fn recv_datagrams(&mut self, sink: &mut impl FnMut(Bytes)) {
        while let Some(datagram) = self.conn.datagrams().recv() {
            sink(datagram);
        }
    }

    /// Closes the connection with an application code and reason.
    pub(crate) fn close(&mut self, now: Instant, code: u32, reason: &str) {
        self.conn.close(
            now,
            VarInt::from_u32(code),
            Bytes::copy_from_slice(reason.as_bytes()),
        );
    }

    /// Closes the connection for a violation by the peer.
    pub(crate) fn close_for(&mut self, now: Instant, violation: Violation) {
        self.close(now, codes::PROTOCOL, &violation.to_string());
    }
}
