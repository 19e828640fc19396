//! `auth-device`: every worker owns one keep-alive HTTP connection and
//! loops `POST /v2/account/authenticate/device` (Basic auth with the server
//! key, body `{"id":"<device id>"}`).
//!
//! * `--mode new`: a fresh random device id per request, so every request
//!   creates an account (the write path).
//! * `--mode existing`: `--accounts` devices are created before the timed
//!   phase (setup operation `create_account`); the timed requests pick one
//!   at random and send `?create=false` (the read path; an unknown device
//!   would be a 404 error).
//!
//! Anything but a 200 with a session token is an error; status codes are
//! listed in the report. Connection (re)opens are recorded separately as
//! `http_connect`, so request latency never includes a TCP handshake.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Outcome, resolve_target};
use crate::cli::AuthMode;
use crate::http::HttpClient;
use crate::nakama;
use crate::report::{Kind, OpId, Outcome as Sample};
use crate::rng::Rng;
use crate::runner::{Fleet, Run};

/// Opens `client`'s connection if needed, recording it under `op`.
/// Returns whether the client is connected.
async fn ensure_connected(run: &Run, client: &mut HttpClient, op: OpId) -> bool {
    let start = Instant::now();
    match run
        .until_stopped(tokio::time::timeout(
            run.opts.timeout,
            client.connect_if_needed(),
        ))
        .await
    {
        None => false,
        Some(Ok(Ok(None))) => true,
        Some(Ok(Ok(Some(_)))) => {
            run.record(op, start, None, Sample::Ok);
            true
        }
        Some(Ok(Err(e))) => {
            run.record(op, start, None, Sample::Error(e.kind()));
            false
        }
        Some(Err(_)) => {
            run.record(op, start, None, Sample::Timeout);
            false
        }
    }
}

/// Creates `n` accounts with `--setup-concurrency` connections; returns the
/// device ids that were created.
async fn create_pool(run: &Arc<Run>, addr: SocketAddr, n: usize) -> Vec<String> {
    let create = run.stats.register("create_account", Kind::Setup);
    let connect = run.stats.register("http_connect", Kind::Setup);
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..run.opts.setup_concurrency.min(n))
        .map(|t| {
            let (run, next) = (run.clone(), next.clone());
            tokio::spawn(async move {
                let mut client = HttpClient::new(addr, run.opts.target.clone());
                let mut rng = Rng::from_entropy(1 << 32 | t as u64);
                let mut created = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < n && !run.is_stopped() {
                    if !ensure_connected(&run, &mut client, connect).await {
                        continue;
                    }
                    let id = rng.device_id();
                    if nakama::authenticate_device(&run, &mut client, create, &id, true)
                        .await
                        .is_some()
                    {
                        created.push(id);
                    }
                }
                created
            })
        })
        .collect();
    let mut pool = Vec::with_capacity(n);
    for t in tasks {
        if let Ok(ids) = t.await {
            pool.extend(ids);
        }
    }
    pool
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let addr = resolve_target(run).await?;
    let mode = run.opts.mode;
    let pool = match mode {
        AuthMode::New => Arc::new(Vec::new()),
        AuthMode::Existing => {
            let pool = create_pool(run, addr, run.opts.accounts).await;
            if run.is_stopped() {
                return Ok(Outcome {
                    target: run.opts.target.clone(),
                    extra: vec![],
                });
            }
            if pool.is_empty() {
                return Err(format!(
                    "could not create any of the {} pool accounts on {} (see the create_account errors)",
                    run.opts.accounts, run.opts.target
                ));
            }
            Arc::new(pool)
        }
    };
    let pool_size = pool.len();
    let connect = run.stats.register("http_connect", Kind::Setup);
    let auth = run.stats.register("authenticate_device", Kind::Measured);
    let fleet = Fleet::spawn(run, run.opts.concurrency, move |mut w| {
        let pool = pool.clone();
        async move {
            let run = w.run.clone();
            let mut client = HttpClient::new(addr, run.opts.target.clone());
            let mut rng = Rng::from_entropy(w.id as u64);
            ensure_connected(&run, &mut client, connect).await;
            w.ready();
            while !run.is_stopped() {
                if !ensure_connected(&run, &mut client, connect).await {
                    // Refused or timed out: back off instead of spinning.
                    run.until_stopped(tokio::time::sleep(Duration::from_millis(100)))
                        .await;
                    continue;
                }
                match mode {
                    AuthMode::New => {
                        let id = rng.device_id();
                        nakama::authenticate_device(&run, &mut client, auth, &id, true).await;
                    }
                    AuthMode::Existing => {
                        let id = &pool[rng.below(pool.len())];
                        nakama::authenticate_device(&run, &mut client, auth, id, false).await;
                    }
                }
            }
        }
    });
    fleet.wait_ready().await;
    fleet.measure().await;
    let mut extra = vec![];
    if mode == AuthMode::Existing {
        extra.push(("pool_accounts".to_string(), json!(pool_size)));
    }
    Ok(Outcome {
        target: run.opts.target.clone(),
        extra,
    })
}
