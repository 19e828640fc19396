//! Adapts a shard's TCP stream to hyper's I/O traits.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use std::rc::Rc;
use std::time::Instant;

use super::limits::ConnSlot;
use super::watchdog::ConnClock;
use crate::rt::TcpStream;

/// A shard-owned TCP stream as hyper sees it, noting when bytes move so
/// that the connection's watchdog can close idle or stalled peers. After
/// a WebSocket upgrade, hyper hands it back through `Upgraded::downcast`,
/// with the connection's place under the shard's caps.
pub struct HyperIo {
    pub stream: TcpStream,
    pub clock: Rc<ConnClock>,
    pub slot: ConnSlot,
}

// SAFETY: hyper requires `Send` of any I/O it can upgrade, so that an
// `Upgraded` connection could in principle be moved to another thread. A
// shard's streams are `!Send`: the runtime's reactor handles are `Rc`s.
// Neither hyper nor Kairos ever moves a `HyperIo` off its shard: hyper has no
// threads of its own and is polled only by the shard's executor, executors
// never migrate tasks, and the upgrade future is awaited and downcast back to
// `HyperIo` on the same shard (`ws::upgrade`). The value never crosses a
// thread, so the `Rc`s inside are never touched concurrently.
unsafe impl Send for HyperIo {}

impl hyper::rt::Read for HyperIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: we only write initialized bytes into the cursor's spare
        // capacity and advance by exactly the count the read reported.
        let spare: &mut [MaybeUninit<u8>] = unsafe { buf.as_mut() };
        let len = spare.len().min(16 * 1024);
        let spare = &mut spare[..len];
        for b in spare.iter_mut() {
            b.write(0);
        }
        let slice: &mut [u8] = unsafe { &mut *(spare as *mut [MaybeUninit<u8>] as *mut [u8]) };
        let this = self.get_mut();
        match this.stream.poll_read(cx, slice) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.clock.read(Instant::now());
                }
                unsafe { buf.advance(n) };
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl hyper::rt::Write for HyperIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = this.stream.poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.clock.wrote(Instant::now());
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stream.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stream.poll_close(cx)
    }
}
