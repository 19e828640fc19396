//! Open-loop message traffic, shared by `match-relay`, `chat-fanout`,
//! `match-rtt` and `baseline-udp-blast`:
//!
//! * [`Stamp`]: what every generated message carries — its send time
//!   (nanoseconds since the run's one clock origin, [`Run::origin`]), the
//!   sender's index and a sequence number — as a binary header
//!   ([`Stamp::encode`]) or a chat content object ([`Stamp::chat_content`]);
//! * [`Schedule`]: a sender's fixed send times (`rate` per second, phase
//!   spread over the fleet), independent of anything received;
//! * [`Traffic`]: the accounting of sends and deliveries (the `send` and
//!   `deliver` operations, `sent`/`delivered`/`expected`/`lost`/`late`
//!   counters) and the drain's end condition;
//! * [`Slot`]: a value one worker publishes and others wait for (a match
//!   id), from tasks or threads alike.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Notify;

use crate::report::{Kind, OpId, Outcome};
use crate::runner::Run;

/// Identifies payloads of this tool (bytes 20..24 of [`Stamp::encode`]).
pub const MAGIC: u32 = 0x4b4c_5452;

/// Length of the binary header: send time (8), sender (4), sequence
/// number (8), [`MAGIC`] (4). The smallest `--payload`.
pub const HEADER_LEN: usize = 24;

/// The timers' grain: a send goes out when its scheduled time is at most
/// this far ahead (tokio's timer and the blocking client's socket
/// timeouts both have a 1 ms resolution), so a sleep never makes it late.
pub const SEND_GRAIN: Duration = Duration::from_millis(1);

/// The identity and send time of one generated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Send time, nanoseconds since [`Run::origin`].
    pub sent_ns: u64,
    /// The sender's index in the fleet.
    pub sender: u32,
    /// The sender's sequence number (1, 2, ...).
    pub seq: u64,
}

#[derive(Deserialize)]
struct ChatContent {
    t: u64,
    s: u32,
    n: u64,
}

impl Stamp {
    /// Writes the header into the first [`HEADER_LEN`] bytes of `buf`
    /// (little endian: send time, sender, sequence number, magic).
    ///
    /// # Panics
    /// If `buf` is shorter than [`HEADER_LEN`].
    pub fn encode_into(&self, buf: &mut [u8]) {
        buf[0..8].copy_from_slice(&self.sent_ns.to_le_bytes());
        buf[8..12].copy_from_slice(&self.sender.to_le_bytes());
        buf[12..20].copy_from_slice(&self.seq.to_le_bytes());
        buf[20..24].copy_from_slice(&MAGIC.to_le_bytes());
    }

    /// The header alone.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        self.encode_into(&mut b);
        b
    }

    /// A `size`-byte payload: the header, then zeros.
    pub fn payload(&self, size: usize) -> Vec<u8> {
        let mut p = vec![0u8; size.max(HEADER_LEN)];
        self.encode_into(&mut p);
        p
    }

    /// Reads the header at the start of `data`; `None` if it is too short
    /// or not ours (no [`MAGIC`]).
    pub fn decode(data: &[u8]) -> Option<Self> {
        let h = data.get(..HEADER_LEN)?;
        let word =
            |r: std::ops::Range<usize>| h[r].iter().rev().fold(0u64, |a, b| a << 8 | *b as u64);
        if word(20..24) != u64::from(MAGIC) {
            return None;
        }
        Some(Self {
            sent_ns: word(0..8),
            sender: word(8..12) as u32,
            seq: word(12..20),
        })
    }

    /// Decodes the header from the base64 text of a JSON `data` field: only
    /// its first 32 characters (24 bytes) are decoded.
    pub fn decode_base64(b64: &str) -> Option<Self> {
        use base64::Engine;
        let head = b64.as_bytes().get(..32)?;
        let mut out = [0u8; HEADER_LEN];
        let n = base64::engine::general_purpose::STANDARD
            .decode_slice(head, &mut out)
            .ok()?;
        (n == HEADER_LEN).then_some(())?;
        Self::decode(&out)
    }

    /// The chat message content `{"t":<ns>,"s":<sender>,"n":<seq>}`.
    pub fn chat_content(&self) -> String {
        format!(
            r#"{{"t":{},"s":{},"n":{}}}"#,
            self.sent_ns, self.sender, self.seq
        )
    }

    /// Reads a [`chat_content`](Self::chat_content) object (any JSON
    /// formatting, extra fields ignored).
    pub fn from_chat_content(content: &str) -> Option<Self> {
        let c: ChatContent = serde_json::from_str(content).ok()?;
        Some(Self {
            sent_ns: c.t,
            sender: c.s,
            seq: c.n,
        })
    }
}

/// A sender's fixed schedule: send `k` (0, 1, ...) is due at
/// `start + (k + phase) / rate`. Open loop: the schedule never waits for
/// anything; a sender that falls behind sends what is due at once.
#[derive(Debug, Clone)]
pub struct Schedule {
    start: Instant,
    period_ns: f64,
    phase: f64,
    next: u64,
}

impl Schedule {
    /// `rate` sends per second from `start`, offset by `phase` (in
    /// periods, `0.0..1.0`).
    pub fn new(start: Instant, rate: f64, phase: f64) -> Self {
        Self {
            start,
            period_ns: 1e9 / rate,
            phase: phase.clamp(0.0, 1.0),
            next: 0,
        }
    }

    /// The phase of worker `i` of `n`: spreads a fleet's sends evenly over
    /// one period instead of sending them all at the same instant.
    pub fn phase_of(i: usize, n: usize) -> f64 {
        if n == 0 { 0.0 } else { i as f64 / n as f64 }
    }

    /// When send `k` is due.
    pub fn at(&self, k: u64) -> Instant {
        let ns = (k as f64 + self.phase) * self.period_ns;
        self.start + Duration::from_nanos(ns.round() as u64)
    }

    /// When the next send is due.
    pub fn next_at(&self) -> Instant {
        self.at(self.next)
    }

    /// Takes the next send if it is due by `now + grain`: its scheduled
    /// time. `None` if it is further ahead.
    pub fn take_due(&mut self, now: Instant, grain: Duration) -> Option<Instant> {
        let at = self.next_at();
        if at <= now + grain {
            self.next += 1;
            Some(at)
        } else {
            None
        }
    }

    /// Sends taken so far.
    pub fn taken(&self) -> u64 {
        self.next
    }

    /// How late a send scheduled at `scheduled` that went out at `actual`
    /// is (zero when on time or early).
    pub fn slip(scheduled: Instant, actual: Instant) -> Duration {
        actual.saturating_duration_since(scheduled)
    }
}

/// Accounting of one open-loop run: every message sent inside the window
/// should be delivered `fanout` times.
///
/// * operation `send` (measured): one sample per message sent in the
///   window; its "latency" is the schedule slip (how late it went out);
/// * operation `deliver` (measured): one sample per delivery of a message
///   sent in the window, latency = receive time − send time; deliveries
///   later than `--timeout` are `timeouts` (counter `late`) and stay out of
///   the histogram.
pub struct Traffic {
    /// The `send` operation.
    pub send_op: OpId,
    /// The `deliver` operation.
    pub deliver_op: OpId,
    fanout: u64,
    to_sender: bool,
    sent: AtomicU64,
    delivered: AtomicU64,
    late: AtomicU64,
    outside: AtomicU64,
    foreign: AtomicU64,
    reordered: AtomicU64,
    own: AtomicU64,
    senders_active: AtomicUsize,
}

impl Traffic {
    /// Registers `send` and `deliver` on `run`; each message reaches
    /// `fanout` receivers, the sender among them if `to_sender` (chat) or
    /// not (relayed match data: a sender getting its own message back is
    /// counted as `own_messages`, not delivered); `senders` workers send.
    pub fn new(run: &Run, fanout: u64, to_sender: bool, senders: usize) -> Self {
        Self {
            send_op: run.stats.register("send", Kind::Measured),
            deliver_op: run.stats.register("deliver", Kind::Measured),
            fanout,
            to_sender,
            sent: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            late: AtomicU64::new(0),
            outside: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            reordered: AtomicU64::new(0),
            own: AtomicU64::new(0),
            senders_active: AtomicUsize::new(senders),
        }
    }

    /// A new stamp for sender `sender`'s message `seq`, sent now.
    pub fn stamp(run: &Run, sender: u32, seq: u64) -> (Stamp, Instant) {
        let now = Instant::now();
        (
            Stamp {
                sent_ns: run.ns_since_origin(now),
                sender,
                seq,
            },
            now,
        )
    }

    /// Accounts for a message sent at `sent_at` that was scheduled for
    /// `scheduled`, or that failed to go (`Err(label)`).
    pub fn sent(
        &self,
        run: &Run,
        scheduled: Instant,
        sent_at: Instant,
        result: Result<(), String>,
    ) {
        if !run.in_window(sent_at) {
            return;
        }
        match result {
            Ok(()) => {
                self.sent.fetch_add(1, Ordering::Relaxed);
                run.record_sample(
                    self.send_op,
                    sent_at,
                    Schedule::slip(scheduled, sent_at),
                    None,
                    Outcome::Ok,
                );
            }
            Err(label) => run.record_sample(
                self.send_op,
                sent_at,
                Duration::ZERO,
                None,
                Outcome::Error(label),
            ),
        }
    }

    /// Accounts for a delivery of `stamp` received at `received`; `seen`
    /// is the receiver's own highest sequence number per sender (to count
    /// reordered or repeated deliveries).
    pub fn delivered(&self, run: &Run, stamp: Stamp, received: Instant, seen: &mut Seen) {
        if !self.to_sender && stamp.sender == seen.me {
            self.own.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if seen.is_repeat(stamp) {
            self.reordered.fetch_add(1, Ordering::Relaxed);
        }
        let sent_at = run.at_ns(stamp.sent_ns);
        if !run.in_window(sent_at) {
            self.outside.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.delivered.fetch_add(1, Ordering::Relaxed);
        let latency = received.saturating_duration_since(sent_at);
        let outcome = if latency > run.opts.timeout {
            self.late.fetch_add(1, Ordering::Relaxed);
            Outcome::Timeout
        } else {
            Outcome::Ok
        };
        run.record_sample(self.deliver_op, sent_at, latency, None, outcome);
    }

    /// Counts a message that carried no stamp of ours.
    pub fn foreign(&self) {
        self.foreign.fetch_add(1, Ordering::Relaxed);
    }

    /// A sender stopped sending for good (window closed, or it failed).
    /// Call once per sender; [`SenderGuard`] does.
    fn sender_done(&self) {
        self.senders_active.fetch_sub(1, Ordering::AcqRel);
    }

    /// Messages sent in the window so far.
    pub fn sent_count(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Deliveries of window messages so far.
    pub fn delivered_count(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Deliveries expected: sent × fanout.
    pub fn expected(&self) -> u64 {
        self.sent_count() * self.fanout
    }

    /// The drain's end: every sender stopped and every expected delivery
    /// arrived.
    pub fn complete(&self) -> bool {
        self.senders_active.load(Ordering::Acquire) == 0
            && self.delivered_count() >= self.expected()
    }

    /// Puts the counters into the run's report: `sent`, `delivered`,
    /// `expected`, `lost` (expected − delivered), `late`,
    /// `deliveries_outside_window`, `reordered`, and when not zero
    /// `foreign_messages` and `own_messages`.
    /// Returns (delivered, expected).
    pub fn report(&self, run: &Run) -> (u64, u64) {
        let (sent, delivered) = (self.sent_count(), self.delivered_count());
        let expected = sent * self.fanout;
        let stats = &run.stats;
        stats.count("sent", sent);
        stats.count("delivered", delivered);
        stats.count("expected", expected);
        stats.count("lost", expected.saturating_sub(delivered));
        stats.count("late", self.late.load(Ordering::Relaxed));
        stats.count(
            "deliveries_outside_window",
            self.outside.load(Ordering::Relaxed),
        );
        stats.count("reordered", self.reordered.load(Ordering::Relaxed));
        for (name, n) in [
            ("foreign_messages", self.foreign.load(Ordering::Relaxed)),
            ("own_messages", self.own.load(Ordering::Relaxed)),
        ] {
            if n > 0 {
                stats.count(name, n);
            }
        }
        (delivered, expected)
    }
}

/// Marks a sender as done with sending when dropped or
/// [`finish`](Self::finish)ed, whichever comes first. Create it with the
/// worker (not inside its future), so that a worker that never runs still
/// counts as done.
pub struct SenderGuard {
    traffic: Option<Arc<Traffic>>,
}

impl SenderGuard {
    /// A guard for a sender of `traffic`.
    pub fn new(traffic: &Arc<Traffic>) -> Self {
        Self {
            traffic: Some(traffic.clone()),
        }
    }

    /// This sender will send no more.
    pub fn finish(&mut self) {
        if let Some(t) = self.traffic.take() {
            t.sender_done();
        }
    }
}

impl Drop for SenderGuard {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A receiver's own index and its highest sequence number per sender.
#[derive(Debug, Default)]
pub struct Seen {
    me: u32,
    last: HashMap<u32, u64>,
}

impl Seen {
    /// For the receiver with sender index `me`.
    pub fn new(me: u32) -> Self {
        Self {
            me,
            last: HashMap::new(),
        }
    }

    /// Notes `stamp`; whether it is not newer than the last one seen from
    /// its sender (reordered or repeated).
    pub fn is_repeat(&mut self, stamp: Stamp) -> bool {
        let last = self.last.entry(stamp.sender).or_insert(0);
        if stamp.seq <= *last {
            true
        } else {
            *last = stamp.seq;
            false
        }
    }
}

/// A value published once by one worker and awaited by others, from tokio
/// tasks ([`wait`](Self::wait)) or OS threads
/// ([`wait_blocking`](Self::wait_blocking)).
#[derive(Debug, Default)]
pub struct Slot<T> {
    value: Mutex<Option<T>>,
    cv: Condvar,
    notify: Notify,
}

impl<T: Clone> Slot<T> {
    /// An empty slot.
    pub fn new() -> Self {
        Self {
            value: Mutex::new(None),
            cv: Condvar::new(),
            notify: Notify::new(),
        }
    }

    /// Publishes `v` (the first value published stays).
    pub fn set(&self, v: T) {
        let mut g = self.value.lock().expect("slot lock");
        if g.is_none() {
            *g = Some(v);
        }
        drop(g);
        self.cv.notify_all();
        self.notify.notify_waiters();
    }

    /// The value, if published.
    pub fn get(&self) -> Option<T> {
        self.value.lock().expect("slot lock").clone()
    }

    /// Waits for the value (cancel by dropping the future).
    pub async fn wait(&self) -> T {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = self.get() {
                return v;
            }
            notified.await;
        }
    }

    /// Waits on this thread for the value until `run` stops (`None`).
    pub fn wait_blocking(&self, run: &Run) -> Option<T> {
        let mut g = self.value.lock().expect("slot lock");
        loop {
            if let Some(v) = g.as_ref() {
                return Some(v.clone());
            }
            if run.is_stopped() {
                return None;
            }
            g = self
                .cv
                .wait_timeout(g, Duration::from_millis(50))
                .expect("slot lock")
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips() {
        let s = Stamp {
            sent_ns: 0x0102_0304_0506_0708,
            sender: 513,
            seq: u64::MAX - 1,
        };
        let h = s.encode();
        assert_eq!(&h[..8], &0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(&h[8..12], &513u32.to_le_bytes());
        assert_eq!(&h[20..], &MAGIC.to_le_bytes());
        assert_eq!(Stamp::decode(&h), Some(s));
        let p = s.payload(64);
        assert_eq!(p.len(), 64);
        assert!(p[HEADER_LEN..].iter().all(|b| *b == 0));
        assert_eq!(Stamp::decode(&p), Some(s));
        assert_eq!(s.payload(3).len(), HEADER_LEN);
        // Too short, or not ours.
        assert_eq!(Stamp::decode(&h[..23]), None);
        let mut bad = h;
        bad[21] ^= 1;
        assert_eq!(Stamp::decode(&bad), None);
    }

    #[test]
    fn stamp_in_base64_and_chat() {
        use base64::Engine;
        let s = Stamp {
            sent_ns: 123_456_789_012,
            sender: 7,
            seq: 42,
        };
        let b64 = base64::engine::general_purpose::STANDARD.encode(s.payload(100));
        assert_eq!(Stamp::decode_base64(&b64), Some(s));
        let exact = base64::engine::general_purpose::STANDARD.encode(s.encode());
        assert_eq!(exact.len(), 32);
        assert_eq!(Stamp::decode_base64(&exact), Some(s));
        assert_eq!(Stamp::decode_base64(&exact[..31]), None);
        assert_eq!(Stamp::decode_base64("!!!!"), None);

        let c = s.chat_content();
        assert_eq!(c, r#"{"t":123456789012,"s":7,"n":42}"#);
        assert_eq!(Stamp::from_chat_content(&c), Some(s));
        assert_eq!(
            Stamp::from_chat_content(r#"{ "n": 42, "s": 7, "t": 123456789012, "x": true }"#),
            Some(s)
        );
        assert_eq!(Stamp::from_chat_content(r#"{"text":"hi"}"#), None);
    }

    #[test]
    fn schedule_math() {
        let t0 = Instant::now();
        // 100/s with a quarter-period phase: 2.5 ms, 12.5 ms, 22.5 ms, ...
        let mut s = Schedule::new(t0, 100.0, 0.25);
        assert_eq!(s.at(0), t0 + Duration::from_micros(2500));
        assert_eq!(s.at(10), t0 + Duration::from_micros(102_500));
        assert_eq!(s.next_at(), s.at(0));
        // Not yet due, even with the grain.
        assert_eq!(s.take_due(t0, SEND_GRAIN), None);
        // Due within the grain: taken (early by at most the grain).
        assert_eq!(
            s.take_due(t0 + Duration::from_micros(1600), SEND_GRAIN),
            Some(t0 + Duration::from_micros(2500))
        );
        assert_eq!(s.taken(), 1);
        // Behind: everything due is taken at once, in order (open loop).
        let late = t0 + Duration::from_millis(50);
        let mut due = vec![];
        while let Some(at) = s.take_due(late, Duration::ZERO) {
            due.push(at);
        }
        assert_eq!(due.len(), 4); // 12.5, 22.5, 32.5, 42.5 ms
        assert_eq!(due[3], t0 + Duration::from_micros(42_500));
        assert_eq!(s.taken(), 5);
        assert_eq!(Schedule::slip(due[0], late), Duration::from_micros(37_500));
        assert_eq!(Schedule::slip(late, due[0]), Duration::ZERO);
        // Fractional rates and the fleet's phases.
        let slow = Schedule::new(t0, 0.5, 0.0);
        assert_eq!(slow.at(3), t0 + Duration::from_secs(6));
        assert_eq!(Schedule::phase_of(0, 4), 0.0);
        assert_eq!(Schedule::phase_of(3, 4), 0.75);
        // A long run stays exact to the nanosecond.
        let fast = Schedule::new(t0, 1000.0, 0.0);
        assert_eq!(fast.at(3_600_000), t0 + Duration::from_secs(3600));
    }

    #[test]
    fn repeats_are_seen() {
        let mut seen = Seen::new(9);
        let st = |sender, seq| Stamp {
            sent_ns: 0,
            sender,
            seq,
        };
        assert!(!seen.is_repeat(st(1, 1)));
        assert!(!seen.is_repeat(st(1, 3)));
        assert!(seen.is_repeat(st(1, 2)));
        assert!(seen.is_repeat(st(1, 3)));
        assert!(!seen.is_repeat(st(2, 1)));
    }

    #[test]
    fn slot_from_threads() {
        let run = crate::runner::Run::new(
            match crate::cli::parse(
                ["kairos-loadtest", "baseline-udp-echo"]
                    .map(String::from)
                    .to_vec(),
            )
            .unwrap()
            {
                crate::cli::Command::Run(o) => *o,
                other => panic!("{other:?}"),
            },
        );
        let slot = std::sync::Arc::new(Slot::<String>::new());
        let (s2, r2) = (slot.clone(), run.clone());
        let t = std::thread::spawn(move || s2.wait_blocking(&r2));
        std::thread::sleep(Duration::from_millis(20));
        slot.set("m1".into());
        slot.set("m2".into());
        assert_eq!(t.join().unwrap().as_deref(), Some("m1"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(slot.wait()), "m1");
        let empty = Slot::<u8>::new();
        run.stop(false);
        assert_eq!(empty.wait_blocking(&run), None);
    }
}
