//! `baseline-udp-echo`: back-to-back datagram round trips of `--payload`
//! bytes against an in-process raw UDP echo server on its own thread. The
//! floor for the future reliable-UDP scenarios.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use tokio::net::UdpSocket;

use super::Outcome;
use crate::baseline::udp_echo::UdpEchoServer;
use crate::report::{Kind, Outcome as Sample};
use crate::runner::{Fleet, Run};

/// Smallest `--payload`: the 8-byte sequence number.
pub const MIN_PAYLOAD: usize = 8;
/// Default `--payload`: about a Nakama ping envelope.
pub const DEFAULT_PAYLOAD: usize = 24;

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let server =
        UdpEchoServer::start().map_err(|e| format!("cannot start the echo server: {e}"))?;
    let addr = server.addr();
    let bind = run.stats.register("udp_bind", Kind::Setup);
    let echo = run.stats.register("echo", Kind::Measured);
    let payload = run.opts.payload.unwrap_or(DEFAULT_PAYLOAD);
    let fleet = Fleet::spawn(run, run.opts.concurrency, move |mut w| async move {
        let run = w.run.clone();
        let start = Instant::now();
        let socket = async {
            let s = UdpSocket::bind("127.0.0.1:0").await?;
            s.connect(addr).await?;
            Ok::<_, std::io::Error>(s)
        }
        .await;
        let socket = match socket {
            Ok(s) => {
                run.record(bind, start, None, Sample::Ok);
                s
            }
            Err(e) => {
                run.record(
                    bind,
                    start,
                    None,
                    Sample::Error(format!("io:{:?}", e.kind())),
                );
                return;
            }
        };
        w.ready();
        let mut out = vec![0u8; payload];
        let mut buf = vec![0u8; 65536];
        let mut seq = 0u64;
        while !run.is_stopped() {
            seq += 1;
            out[..8].copy_from_slice(&seq.to_le_bytes());
            let start = Instant::now();
            let exchange = async {
                socket.send(&out).await?;
                loop {
                    let n = socket.recv(&mut buf).await?;
                    // Anything else is a late echo of a timed-out datagram.
                    if n >= 8 && buf[..8] == seq.to_le_bytes() {
                        return Ok::<_, std::io::Error>(n == payload);
                    }
                }
            };
            match run
                .until_stopped(tokio::time::timeout(run.opts.timeout, exchange))
                .await
            {
                None => break,
                Some(Err(_)) => run.record(echo, start, None, Sample::Timeout),
                Some(Ok(Ok(true))) => run.record(echo, start, None, Sample::Ok),
                Some(Ok(Ok(false))) => {
                    run.record(echo, start, None, Sample::Error("short-echo".into()))
                }
                Some(Ok(Err(e))) => {
                    run.record(
                        echo,
                        start,
                        None,
                        Sample::Error(format!("io:{:?}", e.kind())),
                    );
                    // Do not spin on a persistent error.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    });
    fleet.wait_ready().await;
    fleet.measure().await;
    drop(server);
    Ok(Outcome {
        target: format!("in-process UDP echo at {addr} (1 thread)"),
        extra: vec![("payload_bytes".into(), json!(payload))],
    })
}
