//! Match-listing latency over many live matches, with percentiles.
//!
//! `cargo run --release -p kairos-benches --bin match-listing -- [matches] [samples]`
//! (default 100000 matches, 2000 samples per query).
//!
//! Drives the listing the server runs (`kairos_shards::listing`): its
//! thread, its tantivy index and its table, reached as a shard reaches it
//! (a message, then a oneshot). Each query's round trip is measured from
//! a plain thread, and reported beside the baseline measured in the same
//! run: a listing of an empty node (the hop and the reply alone).
//! "update+list" is a label update followed at once by a listing that must
//! see it: it pays the index commit that makes the update visible.

use std::time::Instant;

use futures_lite::future::block_on;
use hdrhistogram::Histogram;
use kairos_shards::listing::{Entry, ListRequest, Listing};
use uuid::Uuid;

const MODES: [&str; 3] = ["ranked", "casual", "custom"];
const REGIONS: [&str; 4] = ["eu", "us", "asia", "sa"];

fn label(i: usize, players: usize) -> String {
    format!(
        r#"{{"mode":"{}","region":"{}","skill":{},"players":{},"tags":["t{}","t{}"],"open":{}}}"#,
        MODES[i % 3],
        REGIONS[i % 4],
        i % 100,
        players,
        i % 50,
        (i / 7) % 50,
        i.is_multiple_of(2)
    )
}

fn entry(id: Uuid, label: String, create_time: i64) -> Entry {
    Entry {
        match_id: format!("{id}.kairos"),
        authoritative: true,
        label,
        tick_rate: 10,
        handler_name: "bench.arena".into(),
        create_time,
        size: 0,
    }
}

fn request(
    limit: i64,
    min_size: Option<i64>,
    label: Option<&str>,
    query: Option<&str>,
) -> ListRequest {
    ListRequest::new(
        Some(limit),
        None,
        label.map(str::to_string),
        min_size,
        None,
        query,
    )
    .expect("a valid listing")
}

fn measure(
    listing: &Listing,
    samples: usize,
    mut before: impl FnMut(usize),
    req: &ListRequest,
) -> (Histogram<u64>, usize) {
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    let mut found = 0;
    for i in 0..samples {
        before(i);
        let t = Instant::now();
        let got = block_on(listing.list(req.clone())).expect("listing");
        let _ = h.record(t.elapsed().as_nanos() as u64);
        found = got.len();
    }
    (h, found)
}

fn row(name: &str, h: &Histogram<u64>, found: usize, base: f64) {
    println!(
        "{:<44} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>8.1}x",
        name,
        found,
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0,
        h.value_at_quantile(0.5) as f64 / base
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let samples: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let (listing, _thread) = Listing::start().expect("listing");

    let all = request(10, None, None, None);
    let (base, _) = measure(&listing, samples, |_| {}, &all);
    let base_p50 = base.value_at_quantile(0.5) as f64;

    let t = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = Uuid::new_v4();
        listing.upsert(id, entry(id, label(i, i % 10), i as i64));
        listing.size(id, format!("{id}.kairos"), true, i % 10);
        ids.push(id);
    }
    // The first listing after the load waits for the whole index.
    block_on(listing.list(all.clone())).expect("listing");
    let load = t.elapsed();
    println!(
        "{n} live authoritative matches indexed in {:.2} s ({:.1} µs per match); {samples} samples per query",
        load.as_secs_f64(),
        load.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "{:<44} {:>6} {:>9} {:>9} {:>9} {:>9}",
        "query (limit)", "found", "p50 µs", "p99 µs", "max µs", "÷ base"
    );
    row("baseline: empty node, no filter (10)", &base, 0, base_p50);
    let cases: Vec<(&str, ListRequest)> = vec![
        ("no filter (10)", all.clone()),
        ("no filter (100)", request(100, None, None, None)),
        (
            "+mode:ranked +region:eu +skill:[40,60] (10)",
            request(
                10,
                None,
                None,
                Some("+label.mode:ranked +label.region:eu +label.skill:>=40 +label.skill:<=60"),
            ),
        ),
        (
            "+mode:ranked region:eu^2 (10)",
            request(10, None, None, Some("+label.mode:ranked label.region:eu^2")),
        ),
        (
            "+mode:casual -region:us +open:T (100)",
            request(
                100,
                None,
                None,
                Some("+label.mode:casual -label.region:us +label.open:T"),
            ),
        ),
        (
            "+skill:>=90, min_size 8 (10)",
            request(10, Some(8), None, Some("+label.skill:>=90")),
        ),
        (
            "+tags:t1* wildcard (10)",
            request(10, None, None, Some("+label.tags:t1*")),
        ),
        (
            "exact label (10)",
            request(10, None, Some(&label(77, 7)), None),
        ),
    ];
    for (name, req) in &cases {
        let (h, found) = measure(&listing, samples, |_| {}, req);
        row(name, &h, found, base_p50);
    }
    // A label update, then a listing that must see it: one commit each.
    let q = request(10, None, None, Some("+label.mode:ranked +label.skill:>=99"));
    let (h, found) = measure(
        &listing,
        samples.min(500),
        |i| {
            let id = ids[i % ids.len()];
            listing.upsert(id, entry(id, label(i * 3, 5), 0));
        },
        &q,
    );
    row("update+list (10)", &h, found, base_p50);
}
