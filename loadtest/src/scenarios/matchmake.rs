//! `matchmake`: players queue, are matched and join. Each worker opens a
//! session and loops: `matchmaker_add` (1v1: `min_count` = `max_count` =
//! 2, a query on this run's id, so other runs never meet it) → its
//! `matchmaker_ticket` → `matchmaker_matched` → `match_join {token}` (or
//! by `match_id` when a hook chose one) → `match` → `match_leave`. The
//! measured operation `matched` is the time from sending the add to
//! receiving `matchmaker_matched` (time to match, which the server's pass
//! interval dominates: run it with `--kairos.matchmaker.interval_ms`);
//! `join` is the join's round trip. `--concurrency` should be even.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::{Outcome, SessionOps, open_session, resolve_target};
use crate::report::{Kind, OpId, Outcome as Sample};
use crate::runner::{Fleet, Run};
use crate::ws::{Message, WsClient};

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let addr = resolve_target(run).await?;
    let ops = SessionOps {
        auth: run.stats.register("authenticate_device", Kind::Setup),
        connect: run.stats.register("ws_connect", Kind::Setup),
    };
    let matched = run.stats.register("matched", Kind::Measured);
    let join = run.stats.register("join", Kind::Measured);
    let tag: Arc<str> = format!("lt{:x}", crate::rng::Rng::from_entropy(0).next_u64()).into();
    let fleet = Fleet::spawn(run, run.opts.concurrency, move |mut w| {
        let tag = tag.clone();
        async move {
            let run = w.run.clone();
            let ws = open_session(&run, addr, w.id, ops).await;
            w.ready();
            if let Some(mut ws) = ws {
                queue_loop(&run, &mut ws, &tag, matched, join).await;
            }
        }
    });
    fleet.wait_ready().await;
    let sockets = run.stats.ok_count(ops.connect);
    super::stop_if_none_open(run, sockets);
    fleet.measure().await;
    Ok(Outcome {
        target: run.opts.target.clone(),
        extra: vec![("sockets_open".into(), json!(sockets))],
    })
}

/// The `matchmaker_add` of round `n`.
fn add(tag: &str, n: u64) -> String {
    json!({
        "cid": format!("a{n}"),
        "matchmaker_add": {
            "min_count": 2,
            "max_count": 2,
            "query": format!("+properties.lt:{tag}"),
            "string_properties": { "lt": tag },
        }
    })
    .to_string()
}

/// Reads until a text message satisfies `pick`; `None` on a socket error.
async fn next_where(ws: &mut WsClient, pick: impl Fn(&Value) -> bool) -> Option<Value> {
    loop {
        match ws.recv().await {
            Ok(Message::Text(t)) => {
                if let Ok(v) = serde_json::from_slice::<Value>(&t)
                    && pick(&v)
                {
                    return Some(v);
                }
            }
            Ok(Message::Binary(_)) => {}
            Err(_) => return None,
        }
    }
}

async fn queue_loop(run: &Run, ws: &mut WsClient, tag: &str, matched: OpId, join: OpId) {
    let mut n = 0u64;
    while !run.is_stopped() {
        n += 1;
        let start = Instant::now();
        let queued = async {
            ws.send_text(&add(tag, n)).await.ok()?;
            let cid = format!("a{n}");
            let ticket = next_where(ws, |v| v["cid"] == cid.as_str()).await?;
            if ticket.get("matchmaker_ticket").is_none() {
                return Some(Err(()));
            }
            let m = next_where(ws, |v| v.get("matchmaker_matched").is_some()).await?;
            Some(Ok(m["matchmaker_matched"].clone()))
        };
        let m = match run
            .until_stopped(tokio::time::timeout(run.opts.timeout, queued))
            .await
        {
            None => break,
            Some(Err(_)) => {
                run.record(matched, start, None, Sample::Timeout);
                break;
            }
            Some(Ok(None)) => {
                run.record(matched, start, None, Sample::Error("socket".into()));
                break;
            }
            Some(Ok(Some(Err(())))) => {
                run.record(matched, start, None, Sample::Error("rt-error".into()));
                break;
            }
            Some(Ok(Some(Ok(m)))) => {
                run.record(matched, start, None, Sample::Ok);
                m
            }
        };
        let start = Instant::now();
        let body = match m["match_id"].as_str() {
            Some(id) => json!({ "match_id": id }),
            None => json!({ "token": m["token"] }),
        };
        let cid = format!("j{n}");
        let joined = async {
            ws.send_text(&json!({ "cid": cid, "match_join": body }).to_string())
                .await
                .ok()?;
            next_where(ws, |v| v["cid"] == cid.as_str()).await
        };
        let Some(Ok(Some(reply))) = run
            .until_stopped(tokio::time::timeout(run.opts.timeout, joined))
            .await
        else {
            break;
        };
        let Some(id) = reply["match"]["match_id"].as_str() else {
            run.record(join, start, None, Sample::Error("rt-error".into()));
            continue;
        };
        run.record(join, start, None, Sample::Ok);
        let leave = json!({ "cid": format!("l{n}"), "match_leave": { "match_id": id } });
        if ws.send_text(&leave.to_string()).await.is_err() {
            break;
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), ws.close()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_add_asks_for_a_1v1_within_the_run() {
        let v: Value = serde_json::from_str(&add("lt1", 3)).unwrap();
        assert_eq!(v["cid"], "a3");
        assert_eq!(v["matchmaker_add"]["min_count"], 2);
        assert_eq!(v["matchmaker_add"]["query"], "+properties.lt:lt1");
        assert_eq!(v["matchmaker_add"]["string_properties"]["lt"], "lt1");
    }
}
