//! A shard's accept loop: admits each connection under the shard's caps
//! (a connection past them is accepted and closed at once, so the kernel's
//! backlog drains), and backs off when the process is out of descriptors
//! instead of spinning on the error and flooding the log.

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::limits::{ConnLimits, ConnSlot};
use crate::rt::{self, TcpListener, TcpStream};
use crate::shard::Shard;

/// The first pause after a failed accept; each further failure doubles it.
const BACKOFF_MIN: Duration = Duration::from_millis(1);
/// The longest pause between accepts that fail.
const BACKOFF_MAX: Duration = Duration::from_millis(100);
/// Failed accepts are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// Pauses and log throttling after failed accepts.
#[derive(Debug)]
pub struct Backoff {
    delay: Duration,
    last_log: Option<Instant>,
    /// Failures not logged since the last line.
    unlogged: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            delay: BACKOFF_MIN,
            last_log: None,
            unlogged: 0,
        }
    }
}

impl Backoff {
    /// An accept succeeded: the next failure starts over.
    pub fn reset(&mut self) {
        self.delay = BACKOFF_MIN;
    }

    /// An accept failed at `now`: how long to pause, and whether to log it
    /// (with the failures left unlogged before it).
    pub fn failed(&mut self, now: Instant) -> (Duration, Option<u64>) {
        let pause = self.delay;
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
        let log = match self.last_log {
            Some(at) if now.duration_since(at) < LOG_EVERY => {
                self.unlogged += 1;
                None
            }
            _ => {
                self.last_log = Some(now);
                Some(std::mem::take(&mut self.unlogged))
            }
        };
        (pause, log)
    }
}

/// Accepts on `listener` until the future is dropped, handing each
/// admitted connection and its slot to `serve`.
pub async fn run<F>(shard: Rc<Shard>, listener: TcpListener, limits: Rc<ConnLimits>, serve: F)
where
    F: Fn(Rc<Shard>, TcpStream, ConnSlot),
{
    let mut backoff = Backoff::default();
    loop {
        match listener.accept().await {
            Ok(stream) => {
                backoff.reset();
                let ip = stream.peer_addr().ok().map(|a| a.ip());
                match limits.admit(ip) {
                    Ok(slot) => serve(shard.clone(), stream, slot),
                    Err(why) => {
                        // Dropping the stream closes it at once.
                        shard.metrics.conns_refused.inc();
                        tracing::debug!(shard = shard.id, ?ip, ?why, "connection refused");
                    }
                }
            }
            Err(e) => {
                let (pause, log) = backoff.failed(Instant::now());
                if let Some(unlogged) = log {
                    tracing::warn!(
                        shard = shard.id,
                        error = %e,
                        unlogged,
                        "accept failed; pausing accepts"
                    );
                }
                rt::sleep(pause).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_a_cap_and_logs_are_throttled() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        let mut pauses = Vec::new();
        let mut logged = 0;
        for i in 0..20u64 {
            // Twenty failures within 190 ms.
            let (pause, log) = b.failed(t0 + Duration::from_millis(10 * i));
            pauses.push(pause);
            logged += log.is_some() as u32;
        }
        assert_eq!(pauses[0], BACKOFF_MIN);
        assert_eq!(pauses[1], BACKOFF_MIN * 2);
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*pauses.last().unwrap(), BACKOFF_MAX);
        assert_eq!(logged, 1);
        // A second later the next failure is logged with the count it hid.
        let (_, log) = b.failed(t0 + Duration::from_millis(1200));
        assert_eq!(log, Some(19));
        b.reset();
        assert_eq!(b.failed(t0 + Duration::from_millis(1300)).0, BACKOFF_MIN);
    }
}
