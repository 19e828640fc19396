//! `authoritative`: players in server-authoritative matches. Every player
//! authenticates and opens its socket first; once all are open, for each
//! of the `--concurrency / --players-per-match` matches, its first player
//! calls the RPC `--rpc` (default `example.create_arena`, Kairos's stock
//! example with `--kairos.runtime.examples true`) over its realtime socket
//! with `--rpc-payload` (default `{"tick_rate":<--tick-rate>,
//! "max_players":<--players-per-match>}`) and publishes the match id it
//! answers; then every player `match_join`s that id. Once every player is
//! in, each sends an input (`match_data_send`, op code `--op-code`,
//! `{"dx":1,"dy":0}` padded to `--payload` bytes) at `--rate` per second on
//! a fixed schedule, open loop, and receives the match's state broadcasts
//! (every `match_data` counts as one).
//!
//! What is measured, on the generator's one clock:
//!
//! * `state_gap`: the time between two consecutive state broadcasts at one
//!   player, what the player feels; the report gives its p50 and p99 minus
//!   the nominal period `1 / --tick-rate` as `jitter_p50_us` and
//!   `jitter_p99_us`. A state's tick number (`"tick":n` in its data, when
//!   there is one) that skips ahead counts `states_missed`;
//! * `input_to_state`: from sending an input to the first state that
//!   reflects it. The example arena moves a player by `dx` per input, so
//!   with `dx` always 1 the player's x in a state (`"<user id>":[x,y]`)
//!   is the number of its inputs applied so far: input k is reflected by
//!   the first state whose x is at least k. An input not reflected within
//!   `--timeout` counts as `inputs_unreflected` (and the count shifts, so
//!   a dropped input does not inflate the next ones). A state without the
//!   player's position (another game) counts as
//!   `states_without_own_position` and only the gaps are measured;
//! * `input`: the schedule slip of each send (as `send` in `match-relay`).
//!
//! `delivered` counts the states received inside the window, the basis of
//! `server_cpu_per_delivered_us`; `expected_states` is players × tick
//! rate × window. After the window the inputs stop and the run drains
//! until every input sent in the window is reflected or timed out.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use memchr::memmem::Finder;
use serde_json::{Value, json};

use super::{Outcome, SessionOps, open_session, resolve_target};
use crate::nakama::{self, Envelope, MatchDataEnvelope};
use crate::report::{Kind, OpId, Outcome as Sample};
use crate::runner::{Fleet, Run};
use crate::traffic::{SEND_GRAIN, Schedule, Slot};
use crate::ws::{Message, WsClient, WsError};

/// Default `--rpc`.
pub const DEFAULT_RPC: &str = "example.create_arena";
/// Default `--tick-rate`: the example arena's own default.
pub const DEFAULT_TICK_RATE: u32 = 10;
/// Default `--op-code` of the inputs: the example arena's move.
pub const DEFAULT_OP_CODE: i64 = 1;
/// The bare input; `--payload` pads it, so it is the smallest one.
pub const INPUT: &str = r#"{"dx":1,"dy":0}"#;
/// Smallest `--payload`: the bare input.
pub const MIN_PAYLOAD: usize = INPUT.len();

/// The correlation ids of the setup requests.
const CID_CREATE: u64 = 1;
const CID_JOIN: u64 = 2;

/// The RPC payload asked for: `--rpc-payload`, or the example arena's
/// parameters.
pub fn rpc_payload(run: &Run) -> String {
    run.opts.rpc_payload.clone().unwrap_or_else(|| {
        json!({
            "tick_rate": run.opts.tick_rate,
            "max_players": run.opts.players_per_match,
        })
        .to_string()
    })
}

/// The input of `size` bytes: [`INPUT`] with a `pad` string making up the
/// rest (when there is room for one).
pub fn input(size: usize) -> String {
    // `,"pad":""` is 9 bytes.
    let room = size.saturating_sub(INPUT.len() + 9);
    if size < INPUT.len() + 9 {
        return INPUT.to_string();
    }
    format!(r#"{{"dx":1,"dy":0,"pad":"{}"}}"#, "x".repeat(room))
}

/// The match id in an RPC's answer: its `match_id` field when the answer
/// is a JSON object, the string itself when it is a JSON string, else the
/// trimmed text.
pub fn match_id_of(answer: &str) -> Option<String> {
    let id = match serde_json::from_str::<Value>(answer) {
        Ok(Value::Object(o)) => o.get("match_id")?.as_str()?.to_string(),
        Ok(Value::String(s)) => s,
        _ => answer.trim().to_string(),
    };
    (!id.is_empty()).then_some(id)
}

/// Setup operations and shared accounting.
struct Shared {
    create: OpId,
    join: OpId,
    input: OpId,
    latency: OpId,
    gap: OpId,
    /// States received in the window.
    states: AtomicU64,
    states_missed: AtomicU64,
    states_reordered: AtomicU64,
    no_position: AtomicU64,
    /// Inputs sent in the window, and how they ended.
    sent: AtomicU64,
    reflected: AtomicU64,
    unreflected: AtomicU64,
    /// Players still sending (the drain waits for none).
    senders: AtomicUsize,
    /// Sockets that failed while playing, by error label.
    lost: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    /// Inputs of the window not yet reflected nor given up on.
    fn outstanding(&self) -> u64 {
        let done =
            self.reflected.load(Ordering::Acquire) + self.unreflected.load(Ordering::Acquire);
        self.sent.load(Ordering::Acquire).saturating_sub(done)
    }
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let addr = resolve_target(run).await?;
    let per_match = run.opts.players_per_match;
    let players = run.opts.concurrency;
    let matches = players / per_match;
    let ops = SessionOps {
        auth: run.stats.register("authenticate_device", Kind::Setup),
        connect: run.stats.register("ws_connect", Kind::Setup),
    };
    let shared = Arc::new(Shared {
        create: run.stats.register("create_match", Kind::Setup),
        join: run.stats.register("match_join", Kind::Setup),
        input: run.stats.register("input", Kind::Measured),
        latency: run.stats.register("input_to_state", Kind::Measured),
        gap: run.stats.register("state_gap", Kind::Measured),
        states: AtomicU64::new(0),
        states_missed: AtomicU64::new(0),
        states_reordered: AtomicU64::new(0),
        no_position: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        reflected: AtomicU64::new(0),
        unreflected: AtomicU64::new(0),
        senders: AtomicUsize::new(players),
        lost: Mutex::default(),
    });
    let slots: Arc<Vec<Slot<Option<String>>>> =
        Arc::new((0..matches).map(|_| Slot::new()).collect());
    let ready = Arc::new(AtomicUsize::new(0));
    // Every socket opens before any match is created: a match broadcasts
    // from its first join, and thousands of sockets still authenticating
    // beside running matches would measure a mix of both.
    let sessions = Arc::new(tokio::sync::Barrier::new(players));
    let payload = rpc_payload(run);
    let input_b64: Arc<str> = STANDARD
        .encode(input(run.opts.payload.unwrap_or(MIN_PAYLOAD)))
        .into();

    let fleet = {
        let (shared, slots, ready, payload, sessions) = (
            shared.clone(),
            slots.clone(),
            ready.clone(),
            payload.clone(),
            sessions.clone(),
        );
        Fleet::spawn(run, players, move |mut w| {
            let sending = SendingGuard(shared.clone());
            let (shared, slots, ready, payload, input_b64, sessions) = (
                shared.clone(),
                slots.clone(),
                ready.clone(),
                payload.clone(),
                input_b64.clone(),
                sessions.clone(),
            );
            async move {
                let run = w.run.clone();
                let slot = &slots[w.id / per_match];
                let creator = w.id % per_match == 0;
                let mut ws = open_session(&run, addr, w.id, ops).await;
                if run.until_stopped(sessions.wait()).await.is_none() {
                    return;
                }
                let joined = match &mut ws {
                    Some(ws) => setup(&run, ws, &shared, slot, creator, &payload).await,
                    None => None,
                };
                if creator {
                    slot.set(None); // No-op once the id is published.
                }
                if joined.is_some() {
                    ready.fetch_add(1, Ordering::Relaxed);
                }
                w.ready();
                let (Some(mut ws), Some((match_id, user_id))) = (ws, joined) else {
                    return;
                };
                let mut player = Player::new(&run, &shared, w.id, &match_id, &user_id);
                let result = player.play(&mut ws, &input_b64, sending).await;
                if let Err(e) = result {
                    // Whenever it happens (a saturated generator's sockets
                    // may be closed by the server during setup or the
                    // drain too), with why.
                    run.stats.count("sockets_lost", 1);
                    let mut lost = shared.lost.lock().expect("lost lock");
                    *lost.entry(e.kind()).or_default() += 1;
                }
                player.finish();
                run.stats.count("server_pings_answered", ws.pings_answered);
                let _ = tokio::time::timeout(Duration::from_millis(500), ws.close()).await;
            }
        })
    };

    fleet.wait_ready().await;
    let players_ready = ready.load(Ordering::Relaxed);
    if players_ready == 0 && !run.is_stopped() {
        eprintln!("kairos-loadtest: no player got into a match (see the setup errors); stopping");
        run.stop(false);
    }
    let s = shared.clone();
    fleet
        .measure_and_drain(run.opts.timeout, move || {
            s.senders.load(Ordering::Acquire) == 0 && s.outstanding() == 0
        })
        .await;
    Ok(Outcome {
        target: run.opts.target.clone(),
        extra: report(run, &shared, matches, players_ready, &payload),
    })
}

/// Counters into the run's report, and the scenario's extras.
fn report(
    run: &Run,
    shared: &Shared,
    matches: usize,
    players_ready: usize,
    payload: &str,
) -> Vec<(String, Value)> {
    let secs = run.measured().as_secs_f64();
    let tick_rate = run.opts.tick_rate;
    let states = shared.states.load(Ordering::Relaxed);
    let expected = (players_ready as f64 * f64::from(tick_rate) * secs).round() as u64;
    let stats = &run.stats;
    stats.count("delivered", states);
    stats.count("expected_states", expected);
    for (name, v) in [
        ("states_missed", &shared.states_missed),
        ("states_reordered", &shared.states_reordered),
        ("inputs_sent", &shared.sent),
        ("inputs_reflected", &shared.reflected),
        ("inputs_unreflected", &shared.unreflected),
        ("states_without_own_position", &shared.no_position),
    ] {
        stats.count(name, v.load(Ordering::Relaxed));
    }
    let period_us = 1e6 / f64::from(tick_rate);
    let gaps = stats
        .snapshot()
        .into_iter()
        .find(|o| o.name == "state_gap")
        .filter(|o| o.ok > 0);
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    let mut extra = vec![
        ("matches".into(), json!(matches)),
        (
            "players_per_match".into(),
            json!(run.opts.players_per_match),
        ),
        ("players_ready".into(), json!(players_ready)),
        ("rpc".into(), json!(run.opts.rpc)),
        ("rpc_payload".into(), json!(payload)),
        ("tick_rate".into(), json!(tick_rate)),
        (
            "delivered_per_sec".into(),
            json!(round1(if secs > 0.0 {
                states as f64 / secs
            } else {
                0.0
            })),
        ),
        (
            "delivery_ratio".into(),
            json!(if expected > 0 {
                (states as f64 / expected as f64 * 1e4).round() / 1e4
            } else {
                0.0
            }),
        ),
    ];
    let lost = shared.lost.lock().expect("lost lock");
    if !lost.is_empty() {
        extra.push(("sockets_lost_by".into(), json!(*lost)));
    }
    drop(lost);
    if let Some(g) = gaps {
        extra.push((
            "jitter_p50_us".into(),
            json!(round1(g.quantile_us(0.5) - period_us)),
        ));
        extra.push((
            "jitter_p99_us".into(),
            json!(round1(g.quantile_us(0.99) - period_us)),
        ));
        extra.push((
            "jitter_p999_us".into(),
            json!(round1(g.quantile_us(0.999) - period_us)),
        ));
    }
    extra.push((
        "input".into(),
        json!(format!(
            "match_data_send op_code {}, {} bytes, {} per second per player",
            run.opts.op_code,
            input(run.opts.payload.unwrap_or(MIN_PAYLOAD)).len(),
            run.opts.rate_or_default()
        )),
    ));
    extra
}

/// Marks a player as done sending when dropped (created with the worker,
/// so a worker that never runs counts as done).
struct SendingGuard(Arc<Shared>);

impl Drop for SendingGuard {
    fn drop(&mut self) {
        self.0.senders.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The creator calls the RPC and publishes the match id; everyone joins
/// it. Returns the match id and the player's own user id.
async fn setup(
    run: &Run,
    ws: &mut WsClient,
    shared: &Shared,
    slot: &Slot<Option<String>>,
    creator: bool,
    payload: &str,
) -> Option<(String, String)> {
    if creator {
        let call = nakama::rpc_envelope(CID_CREATE, &run.opts.rpc, payload);
        let id = request(run, ws, shared.create, &call, CID_CREATE, |e| {
            let answer = e.rpc.as_ref()?;
            Some(match_id_of(&answer.payload).ok_or_else(|| "no-match-id".to_string()))
        })
        .await?;
        slot.set(Some(id));
    }
    let id = run.until_stopped(slot.wait()).await.flatten()?;
    let join = nakama::match_join_envelope(CID_JOIN, &id);
    let user = request(run, ws, shared.join, &join, CID_JOIN, |e| {
        let m = e.match_.as_ref()?;
        Some(Ok(m.self_.user_id.to_string()))
    })
    .await?;
    Some((id, user))
}

/// Sends `text` and waits for the reply to `cid`, skipping everything
/// else (e.g. states of a match already running); `answer` reads it
/// (`None`: not the expected kind). Recorded under `op`, bounded by
/// `--timeout`.
async fn request(
    run: &Run,
    ws: &mut WsClient,
    op: OpId,
    text: &str,
    cid: u64,
    answer: impl Fn(&Envelope<'_>) -> Option<Result<String, String>>,
) -> Option<String> {
    let start = Instant::now();
    let reply = async {
        ws.send_text(text).await?;
        loop {
            let Message::Text(t) = ws.recv().await? else {
                continue;
            };
            let Some(e) = Envelope::parse(&t) else {
                continue;
            };
            if !e.answers(cid) {
                continue;
            }
            return Ok::<_, WsError>(match (answer(&e), e.error_label()) {
                (Some(r), _) => r,
                (None, Some(label)) => Err(label),
                (None, None) => Err("rt-unexpected".to_string()),
            });
        }
    };
    let reply = run
        .until_stopped(tokio::time::timeout(run.opts.timeout, reply))
        .await?;
    run.record_reply(op, start, reply)
}

/// One player once in its match.
struct Player<'a> {
    run: &'a Run,
    shared: &'a Shared,
    schedule: Schedule,
    envelope: MatchDataEnvelope,
    /// Finds `"<user id>":[`, what precedes this player's x in a state
    /// (built once: a searcher per state would cost more than the search).
    position: Finder<'static>,
    /// Finds `"tick":`.
    tick: Finder<'static>,
    /// Inputs sent and not yet reflected: (number, send time).
    pending: VecDeque<(u64, Instant)>,
    /// Inputs given up on: input k is reflected by x ≥ k − skipped.
    skipped: u64,
    last_state: Option<Instant>,
    last_tick: Option<u64>,
    data: Vec<u8>,
    unrelated: u64,
}

impl<'a> Player<'a> {
    fn new(run: &'a Run, shared: &'a Shared, id: usize, match_id: &str, user_id: &str) -> Self {
        let players = run.opts.concurrency;
        Self {
            run,
            shared,
            schedule: Schedule::new(
                Instant::now(),
                run.opts.rate_or_default(),
                Schedule::phase_of(id, players),
            ),
            envelope: MatchDataEnvelope::new(match_id, run.opts.op_code, true),
            position: Finder::new(format!("{}:[", nakama::json_string(user_id)).as_bytes())
                .into_owned(),
            tick: Finder::new(b"\"tick\":").into_owned(),
            pending: VecDeque::new(),
            skipped: 0,
            last_state: None,
            last_tick: None,
            data: Vec::new(),
            unrelated: 0,
        }
    }

    /// Sends inputs on schedule until the window closes and takes in
    /// states until the run stops or the socket fails.
    async fn play(
        &mut self,
        ws: &mut WsClient,
        input_b64: &str,
        guard: SendingGuard,
    ) -> Result<(), WsError> {
        let run = self.run;
        let mut sending = Some(guard);
        let mut arrived = Instant::now();
        loop {
            while let Some(m) = ws.next_buffered()? {
                match m {
                    Message::Text(t) => self.on_text(&t, arrived),
                    Message::Binary(_) => self.unrelated += 1,
                }
            }
            ws.flush_pending().await?;
            self.give_up_stale(Instant::now());
            if run.window_closed() {
                sending = None;
            }
            if sending.is_some() {
                while let Some(at) = self.schedule.take_due(Instant::now(), SEND_GRAIN) {
                    let text = self.envelope.with_base64(input_b64);
                    let r = ws.send_text(&text).await;
                    let now = Instant::now();
                    self.sent(at, now, r.as_ref().map(drop).map_err(WsError::kind));
                    r?;
                }
            }
            let wake = sending.as_ref().map(|_| {
                let at = self.schedule.next_at();
                at.checked_sub(SEND_GRAIN).unwrap_or(at)
            });
            tokio::select! {
                biased;
                _ = run.stopped() => return Ok(()),
                r = ws.read_more() => {
                    r?;
                    arrived = Instant::now();
                }
                _ = run.window_closed_wait(), if sending.is_some() => {}
                _ = tokio::time::sleep_until(wake.unwrap_or(arrived).into()), if wake.is_some() => {}
            }
        }
    }

    /// Accounts for input number `self.schedule.taken()`, scheduled at
    /// `at`, that went out at `now` (or failed).
    fn sent(&mut self, at: Instant, now: Instant, r: Result<(), String>) {
        let k = self.schedule.taken();
        match r {
            Ok(()) => {
                self.pending.push_back((k, now));
                if self.run.in_window(now) {
                    self.shared.sent.fetch_add(1, Ordering::AcqRel);
                }
                let slip = Schedule::slip(at, now);
                self.run
                    .record_sample(self.shared.input, now, slip, None, Sample::Ok);
            }
            Err(label) => self.run.record_sample(
                self.shared.input,
                now,
                Duration::ZERO,
                None,
                Sample::Error(label),
            ),
        }
    }

    /// Inputs older than `--timeout` will not be reflected any more.
    fn give_up_stale(&mut self, now: Instant) {
        while let Some(&(_, sent)) = self.pending.front() {
            if now.saturating_duration_since(sent) <= self.run.opts.timeout {
                break;
            }
            self.pending.pop_front();
            self.skipped += 1;
            if self.run.in_window(sent) {
                self.shared.unreflected.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    fn on_text(&mut self, text: &[u8], at: Instant) {
        let Some(d) = Envelope::parse(text).and_then(|e| e.match_data) else {
            self.unrelated += 1;
            return;
        };
        let run = self.run;
        if let Some(prev) = self.last_state.replace(at) {
            run.record_sample(self.shared.gap, prev, at - prev, None, Sample::Ok);
        }
        let in_window = run.in_window(at);
        if in_window {
            self.shared.states.fetch_add(1, Ordering::Relaxed);
        }
        self.data.clear();
        if STANDARD
            .decode_vec(d.data.as_bytes(), &mut self.data)
            .is_err()
        {
            return;
        }
        if let Some(tick) = number_after(&self.data, &self.tick)
            && let Some(last) = self.last_tick.replace(tick)
            && in_window
        {
            if tick > last + 1 {
                self.shared
                    .states_missed
                    .fetch_add(tick - last - 1, Ordering::Relaxed);
            } else if tick <= last {
                self.shared.states_reordered.fetch_add(1, Ordering::Relaxed);
            }
        }
        let Some(x) = number_after(&self.data, &self.position) else {
            if in_window {
                self.shared.no_position.fetch_add(1, Ordering::Relaxed);
            }
            return;
        };
        while let Some(&(k, sent)) = self.pending.front() {
            if k.saturating_sub(self.skipped) > x {
                break;
            }
            self.pending.pop_front();
            if run.in_window(sent) {
                self.shared.reflected.fetch_add(1, Ordering::AcqRel);
                run.record_sample(self.shared.latency, sent, at - sent, None, Sample::Ok);
            }
        }
    }

    /// The loop ended: what is still pending will never be reflected.
    fn finish(&mut self) {
        for (_, sent) in self.pending.drain(..) {
            if self.run.in_window(sent) {
                self.shared.unreflected.fetch_add(1, Ordering::AcqRel);
            }
        }
        if self.unrelated > 0 {
            self.run.stats.count("unrelated_messages", self.unrelated);
        }
    }
}

/// The unsigned integer right after the first match of `needle` in `data` (a
/// leading minus sign reads as 0: a position below the start).
fn number_after(data: &[u8], needle: &Finder<'_>) -> Option<u64> {
    let at = needle.find(data)? + needle.needle().len();
    let rest = &data[at..];
    if rest.first() == Some(&b'-') {
        return Some(0);
    }
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_have_the_size_asked_when_there_is_room() {
        assert_eq!(input(0), INPUT);
        assert_eq!(input(MIN_PAYLOAD), INPUT);
        assert_eq!(input(MIN_PAYLOAD + 8), INPUT);
        for size in [MIN_PAYLOAD + 9, 64, 1000] {
            let i = input(size);
            assert_eq!(i.len(), size);
            let v: Value = serde_json::from_str(&i).unwrap();
            assert_eq!((v["dx"].as_i64(), v["dy"].as_i64()), (Some(1), Some(0)));
        }
    }

    #[test]
    fn match_ids_from_rpc_answers() {
        assert_eq!(match_id_of(r#"{"match_id":"m.n"}"#).as_deref(), Some("m.n"));
        assert_eq!(match_id_of(r#""m.n""#).as_deref(), Some("m.n"));
        assert_eq!(match_id_of(" m.n\n").as_deref(), Some("m.n"));
        assert_eq!(match_id_of(r#"{"id":"m"}"#), None);
        assert_eq!(match_id_of(r#"{"match_id":""}"#), None);
        assert_eq!(match_id_of(""), None);
    }

    #[test]
    fn numbers_in_states() {
        let state = br#"{"players":{"a":[3,0],"b":[-2,1]},"tick":41}"#;
        let after = |data: &[u8], needle: &[u8]| number_after(data, &Finder::new(needle));
        assert_eq!(after(state, b"\"tick\":"), Some(41));
        assert_eq!(after(state, br#""a":["#), Some(3));
        assert_eq!(after(state, br#""b":["#), Some(0));
        assert_eq!(after(state, br#""c":["#), None);
        assert_eq!(after(b"\"tick\":", b"\"tick\":"), None);
    }

    #[test]
    fn rpc_and_join_envelopes() {
        let e: Value = serde_json::from_str(&nakama::rpc_envelope(
            1,
            "example.create_arena",
            r#"{"tick_rate":60}"#,
        ))
        .unwrap();
        assert_eq!(e["cid"], "1");
        assert_eq!(e["rpc"]["id"], "example.create_arena");
        assert_eq!(e["rpc"]["payload"], r#"{"tick_rate":60}"#);
        let reply = br#"{"cid":"1","rpc":{"id":"x","payload":"{\"match_id\":\"m.\"}"}}"#;
        let e = Envelope::parse(reply).unwrap();
        assert_eq!(match_id_of(&e.rpc.unwrap().payload).as_deref(), Some("m."));
        let e = Envelope::parse(
            br#"{"cid":"2","match":{"match_id":"m.","self":{"user_id":"u","session_id":"s"}}}"#,
        )
        .unwrap();
        assert_eq!(e.match_.unwrap().self_.user_id, "u");
    }
}
