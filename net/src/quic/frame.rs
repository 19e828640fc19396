//! The framing of the connection's one stream: every frame is a 4-byte
//! big-endian payload length, then the payload.
//!
//! ```text
//! client → server:  [len][session token]  [len][message]  [len][message] ...
//! server → client:  [len]["ok"]           [len][message]  [len][message] ...
//! ```
//!
//! The client's first frame is its Nakama session token (a JWT, UTF-8); the
//! server's first frame is [`ACCEPT_FRAME`], sent once the application has
//! accepted the token. Every later frame is one reliable message. A receiver
//! closes the connection when a header announces more than its limit
//! (`max_token_bytes` for the token, `max_frame_bytes` after it), without
//! buffering any of it.

use std::collections::VecDeque;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use quinn_proto::{SendStream, WriteError};

use super::event::{SendError, Violation};

/// The length of a frame header.
pub const FRAME_HEADER_BYTES: usize = 4;

/// The payload of the server's first frame: the token was accepted.
pub const ACCEPT_FRAME: &[u8] = b"ok";

/// Reassembles frames from stream chunks of any size.
///
/// A frame that lies whole inside one chunk is handed out as a slice of it,
/// without copying; a frame split across chunks is copied into a buffer
/// that grows only as its bytes arrive, so an announced length costs no
/// memory until the data is there.
#[derive(Debug)]
pub(crate) struct FrameReader {
    max: usize,
    header: [u8; FRAME_HEADER_BYTES],
    header_filled: usize,
    /// The announced length of the frame whose body is being read, if any.
    body_len: Option<usize>,
    body: BytesMut,
}

impl FrameReader {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            header: [0; FRAME_HEADER_BYTES],
            header_filled: 0,
            body_len: None,
            body: BytesMut::new(),
        }
    }

    /// Changes the limit for frames whose header has not been read yet.
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Bytes still missing from the current frame's header or body. Reading
    /// at most this much never consumes past the end of the frame.
    pub(crate) fn missing(&self) -> usize {
        match self.body_len {
            Some(len) => len - self.body.len(),
            None => FRAME_HEADER_BYTES - self.header_filled,
        }
    }

    /// Whether the reader is between frames: a stream that ends here ends
    /// cleanly, one that ends anywhere else was cut mid-frame.
    pub(crate) fn at_boundary(&self) -> bool {
        self.body_len.is_none() && self.header_filled == 0
    }

    /// Consumes bytes of `data` up to the end of the next complete frame and
    /// returns that frame, or consumes all of `data` and returns `None`.
    pub(crate) fn feed(&mut self, data: &mut Bytes) -> Result<Option<Bytes>, Violation> {
        loop {
            if data.is_empty() {
                return Ok(None);
            }
            let Some(len) = self.body_len else {
                let n = (FRAME_HEADER_BYTES - self.header_filled).min(data.len());
                self.header[self.header_filled..self.header_filled + n].copy_from_slice(&data[..n]);
                data.advance(n);
                self.header_filled += n;
                if self.header_filled < FRAME_HEADER_BYTES {
                    return Ok(None);
                }
                self.header_filled = 0;
                let len = u32::from_be_bytes(self.header) as usize;
                if len > self.max {
                    return Err(Violation::FrameTooLarge { len, max: self.max });
                }
                if len == 0 {
                    return Ok(Some(Bytes::new()));
                }
                if data.len() >= len {
                    return Ok(Some(data.split_to(len)));
                }
                self.body_len = Some(len);
                continue;
            };
            let n = (len - self.body.len()).min(data.len());
            self.body.extend_from_slice(&data[..n]);
            data.advance(n);
            if self.body.len() == len {
                self.body_len = None;
                return Ok(Some(std::mem::take(&mut self.body).freeze()));
            }
        }
    }
}

/// Headers are cut from one shared allocation of this size.
const HEADER_ARENA_BYTES: usize = 1024;

/// The outgoing side: frames quinn-proto has not taken yet, in order, with
/// a bound on their total size.
///
/// Payloads are queued as they are (`Bytes`, no copy) and handed to
/// quinn-proto with `write_chunks`, which takes them by reference count.
/// Headers are 4-byte slices of a shared buffer, so a message costs no
/// allocation of its own on this side.
#[derive(Debug)]
pub(crate) struct FrameWriter {
    chunks: VecDeque<Bytes>,
    queued: usize,
    max_queued: usize,
    arena: BytesMut,
}

impl FrameWriter {
    pub(crate) fn new(max_queued: usize) -> Self {
        Self {
            chunks: VecDeque::new(),
            queued: 0,
            max_queued,
            arena: BytesMut::new(),
        }
    }

    /// Bytes queued and not yet taken by quinn-proto.
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    /// Queues one frame around `payload`, or fails with
    /// [`SendError::Backpressure`] if the queue would exceed its bound. The
    /// caller checks the frame limit.
    pub(crate) fn push(&mut self, payload: Bytes) -> Result<(), SendError> {
        let len = payload.len();
        let total = len + FRAME_HEADER_BYTES;
        if self.queued + total > self.max_queued {
            return Err(SendError::Backpressure {
                queued: self.queued,
            });
        }
        if self.arena.capacity() < FRAME_HEADER_BYTES {
            self.arena = BytesMut::with_capacity(HEADER_ARENA_BYTES);
        }
        // `len` fits: callers cap payloads at `max_frame_bytes <= u32::MAX`.
        self.arena.put_u32(len as u32);
        self.chunks.push_back(self.arena.split().freeze());
        if len > 0 {
            self.chunks.push_back(payload);
        }
        self.queued += total;
        Ok(())
    }

    /// Hands queued chunks to quinn-proto until it takes no more. Fails only
    /// when the stream can no longer be written (stopped by the peer, or
    /// gone).
    pub(crate) fn flush(&mut self, stream: &mut SendStream<'_>) -> Result<(), WriteError> {
        while !self.chunks.is_empty() {
            let chunks = self.chunks.make_contiguous();
            let batch = chunks.len().min(64);
            match stream.write_chunks(&mut chunks[..batch]) {
                Ok(written) => {
                    self.queued -= written.bytes;
                    self.chunks.drain(..written.chunks);
                    if written.bytes == 0 || written.chunks < batch {
                        return Ok(());
                    }
                }
                Err(WriteError::Blocked) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SplitMix64;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn reassembles_frames_split_anywhere() {
        let payloads: Vec<Vec<u8>> = (0..50usize)
            .map(|i| (0..(i * 37) % 300).map(|b| b as u8).collect())
            .collect();
        let wire: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
        let mut rng = SplitMix64::new(4);
        for _ in 0..200 {
            let mut reader = FrameReader::new(1000);
            let mut got = Vec::new();
            let mut rest = &wire[..];
            while !rest.is_empty() {
                let n = (1 + rng.below(40) as usize).min(rest.len());
                let mut chunk = Bytes::copy_from_slice(&rest[..n]);
                rest = &rest[n..];
                while let Some(f) = reader.feed(&mut chunk).unwrap() {
                    got.push(f.to_vec());
                }
                assert!(chunk.is_empty());
            }
            assert_eq!(got, payloads);
            assert!(reader.at_boundary());
        }
    }

    #[test]
    fn whole_frames_are_zero_copy_and_feed_stops_at_frame_end() {
        let mut wire = frame(b"hello");
        wire.extend_from_slice(&frame(b"world"));
        let mut data = Bytes::from(wire);
        let base = data.as_ptr() as usize;
        let mut reader = FrameReader::new(100);
        let first = reader.feed(&mut data).unwrap().unwrap();
        assert_eq!(&first[..], b"hello");
        assert_eq!(first.as_ptr() as usize, base + 4, "a slice, not a copy");
        assert_eq!(data.len(), 9, "the second frame is left");
        assert_eq!(reader.missing(), 4);
        assert_eq!(&reader.feed(&mut data).unwrap().unwrap()[..], b"world");
        assert_eq!(reader.feed(&mut data).unwrap(), None);
    }

    #[test]
    fn oversized_header_is_refused_before_any_body() {
        let mut reader = FrameReader::new(10);
        let mut data = Bytes::from(frame(&[0; 11]));
        assert_eq!(
            reader.feed(&mut data),
            Err(Violation::FrameTooLarge { len: 11, max: 10 })
        );
        let mut reader = FrameReader::new(10);
        let mut data = Bytes::from_static(&[0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(reader.feed(&mut data).is_err());
        assert!(reader.body.capacity() == 0, "nothing buffered");
        let mut reader = FrameReader::new(10);
        let mut empty = Bytes::from(frame(b""));
        assert_eq!(reader.feed(&mut empty).unwrap(), Some(Bytes::new()));
    }

    #[test]
    fn writer_bounds_its_queue() {
        let mut writer = FrameWriter::new(20);
        writer.push(Bytes::from_static(b"0123456789")).unwrap();
        assert_eq!(writer.queued(), 14);
        assert_eq!(
            writer.push(Bytes::from_static(b"abc")),
            Err(SendError::Backpressure { queued: 14 })
        );
        writer.push(Bytes::from_static(b"ab")).unwrap();
        assert_eq!(writer.queued(), 20);
        assert_eq!(writer.chunks.len(), 4);
        let wire: Vec<u8> = writer.chunks.iter().flat_map(|c| c.to_vec()).collect();
        let mut expected = frame(b"0123456789");
        expected.extend_from_slice(&frame(b"ab"));
        assert_eq!(wire, expected);
    }
}
