//! Shutting a connection down from a task that does not own it.

use std::os::fd::RawFd;

/// Shuts a connection down in both directions without borrowing it, which
/// also ends a read blocked on it. Valid while the stream it came from
/// lives: its owner keeps both together and drops them together.
#[derive(Clone, Copy)]
pub struct ShutdownHandle(RawFd);

impl ShutdownHandle {
    pub(super) fn new(fd: RawFd) -> ShutdownHandle {
        ShutdownHandle(fd)
    }

    pub fn shutdown(&self) {
        // SAFETY: the descriptor belongs to a stream its owner keeps alive
        // beside this handle; shutdown(2) touches no memory.
        unsafe {
            libc::shutdown(self.0, libc::SHUT_RDWR);
        }
    }
}
