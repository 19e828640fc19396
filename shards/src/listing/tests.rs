//! The listing worker on its own: what a listing returns after a series
//! of changes, with queries built as the parser builds them.

use kairos_core::query::{self, Bound, Clause, Doc, Leaf, Occur, Query};
use uuid::Uuid;

use super::*;

fn worker() -> Worker {
    Worker {
        table: Table::default(),
        index: Index::new().expect("index"),
        dirty_since: None,
    }
}

fn arena(w: &mut Worker, label: &str, create_time: i64) -> Uuid {
    let id = Uuid::new_v4();
    w.apply(Op::Upsert {
        id,
        entry: Entry {
            match_id: format!("{id}.kairos"),
            authoritative: true,
            label: label.to_string(),
            tick_rate: 10,
            handler_name: "arena".into(),
            create_time,
            size: 0,
        },
    });
    id
}

fn relayed(w: &mut Worker, size: usize) -> Uuid {
    let id = Uuid::new_v4();
    w.apply(Op::Size {
        id,
        match_id: format!("{id}."),
        authoritative: false,
        size,
    });
    id
}

fn list(w: &mut Worker, request: ListRequest) -> Vec<MatchInfo> {
    let (reply, mut answer) = futures_channel::oneshot::channel();
    w.apply(Op::List { request, reply });
    answer.try_recv().unwrap().unwrap().unwrap()
}

fn ids(found: &[MatchInfo]) -> Vec<String> {
    found.iter().map(|m| m.match_id.clone()).collect()
}

fn must(leaf: Leaf) -> Clause {
    Clause {
        occur: Occur::Must,
        boost: 1.0,
        leaf,
    }
}

fn term(field: &str, value: &str) -> Leaf {
    Leaf::Term {
        field: field.into(),
        value: value.into(),
    }
}

fn request(query: Option<Query>) -> ListRequest {
    ListRequest {
        limit: 10,
        query,
        ..Default::default()
    }
}

#[test]
fn a_listing_sees_every_change_before_it() {
    let mut w = worker();
    let a = arena(&mut w, r#"{"mode":"ranked","skill":50}"#, 1);
    let b = arena(&mut w, r#"{"mode":"casual","skill":80}"#, 2);
    let ranked = Query::Bool(vec![must(term("label.mode", "ranked"))]);
    assert_eq!(
        ids(&list(&mut w, request(Some(ranked.clone())))),
        vec![format!("{a}.kairos")]
    );
    // A label update is seen by the next listing.
    w.apply(Op::Upsert {
        id: b,
        entry: Entry {
            match_id: format!("{b}.kairos"),
            authoritative: true,
            label: r#"{"mode":"ranked","skill":80}"#.into(),
            tick_rate: 10,
            handler_name: "arena".into(),
            create_time: 99,
            size: 0,
        },
    });
    // Newest first among equal scores; the update kept b's start time.
    assert_eq!(
        ids(&list(&mut w, request(Some(ranked.clone())))),
        vec![format!("{b}.kairos"), format!("{a}.kairos")]
    );
    w.apply(Op::Remove { id: b });
    assert_eq!(
        ids(&list(&mut w, request(Some(ranked)))),
        vec![format!("{a}.kairos")]
    );
}

#[test]
fn ranges_sizes_and_relayed_matches() {
    let mut w = worker();
    let low = arena(&mut w, r#"{"skill":10}"#, 1);
    let high = arena(&mut w, r#"{"skill":90}"#, 2);
    let r = relayed(&mut w, 3);
    // Sizes come from joins on the owner shard.
    w.apply(Op::Size {
        id: high,
        match_id: String::new(),
        authoritative: true,
        size: 4,
    });
    let skilled = Query::Bool(vec![must(Leaf::NumberRange {
        field: "label.skill".into(),
        min: Bound::Inclusive(50.0),
        max: Bound::Unbounded,
    })]);
    let found = list(&mut w, request(Some(skilled)));
    assert_eq!(ids(&found), vec![format!("{high}.kairos")]);
    assert_eq!((found[0].size, found[0].tick_rate), (4, 10));
    assert_eq!(found[0].handler_name, "arena");
    // No filter: authoritative newest first, then relayed.
    let all = list(&mut w, request(None));
    assert_eq!(
        ids(&all),
        vec![
            format!("{high}.kairos"),
            format!("{low}.kairos"),
            format!("{r}.")
        ]
    );
    assert!(!all[2].authoritative && all[2].label.is_empty());
    // Sizes filter both kinds.
    let sized = ListRequest {
        sizes: SizeRange {
            min: Some(3),
            max: Some(3),
        },
        ..request(None)
    };
    assert_eq!(ids(&list(&mut w, sized)), vec![format!("{r}.")]);
    // Only relayed; only authoritative.
    let relayed_only = ListRequest {
        authoritative: Some(false),
        ..request(None)
    };
    assert_eq!(ids(&list(&mut w, relayed_only)), vec![format!("{r}.")]);
    let auth_only = ListRequest {
        authoritative: Some(true),
        limit: 1,
        ..request(None)
    };
    assert_eq!(
        ids(&list(&mut w, auth_only)),
        vec![format!("{high}.kairos")]
    );
    // A relayed match with no members is gone.
    w.apply(Op::Size {
        id: r,
        match_id: format!("{r}."),
        authoritative: false,
        size: 0,
    });
    assert_eq!(list(&mut w, request(None)).len(), 2);
}

#[test]
fn exact_labels_and_scores() {
    let mut w = worker();
    let plain = arena(&mut w, "plain text", 1);
    let eu = arena(&mut w, r#"{"region":"eu","tags":["a","b"]}"#, 2);
    let us = arena(&mut w, r#"{"region":"us","tags":["b"]}"#, 3);
    let by_label = ListRequest {
        label: Some("plain text".into()),
        ..request(None)
    };
    assert_eq!(
        ids(&list(&mut w, by_label)),
        vec![format!("{plain}.kairos")]
    );
    // Array members are each a value; boosts order the results.
    let q = Query::Bool(vec![
        must(term("label.tags", "b")),
        Clause {
            occur: Occur::Should,
            boost: 5.0,
            leaf: term("label.region", "eu"),
        },
    ]);
    assert_eq!(
        ids(&list(&mut w, request(Some(q)))),
        vec![format!("{eu}.kairos"), format!("{us}.kairos")]
    );
    // Only exclusions: everything else.
    let not_eu = Query::Bool(vec![Clause {
        occur: Occur::MustNot,
        boost: 1.0,
        leaf: term("label.region", "eu"),
    }]);
    assert_eq!(
        ids(&list(&mut w, request(Some(not_eu)))),
        vec![format!("{us}.kairos"), format!("{plain}.kairos")]
    );
    // The empty query string (as parsed, no clause) matches nothing; the
    // API turns "" into All before.
    assert!(list(&mut w, request(Some(Query::Bool(vec![])))).is_empty());
    assert_eq!(list(&mut w, request(Some(Query::All))).len(), 3);
    // Nakama's own fields are searchable too.
    let by_handler = Query::Bool(vec![must(term("handler_name", "arena"))]);
    assert_eq!(list(&mut w, request(Some(by_handler))).len(), 3);
}

#[test]
fn requests_are_validated_as_nakama_does() {
    let bad = |r: Result<ListRequest, ApiError>| r.unwrap_err().message.to_string();
    assert!(bad(ListRequest::new(Some(0), None, None, None, None, None)).contains("limit"));
    assert!(bad(ListRequest::new(Some(101), None, None, None, None, None)).contains("limit"));
    assert!(
        bad(ListRequest::new(
            None,
            Some(false),
            Some("x".into()),
            None,
            None,
            None
        ))
        .starts_with("Label filtering")
    );
    assert!(
        bad(ListRequest::new(
            None,
            Some(false),
            None,
            None,
            None,
            Some("+a:b")
        ))
        .starts_with("Query filtering")
    );
    assert!(bad(ListRequest::new(None, None, None, Some(-1), None, None)).starts_with("Minimum"));
    assert!(
        bad(ListRequest::new(None, None, None, None, Some(-1), None))
            .starts_with("Maximum size must be 0")
    );
    assert!(
        bad(ListRequest::new(None, None, None, Some(3), Some(2), None))
            .starts_with("Maximum size must be greater")
    );
    let r = ListRequest::new(None, None, None, None, None, Some("")).unwrap();
    assert_eq!((r.limit, r.query), (10, Some(Query::All)));
}

/// The index answers every query as the reference evaluator does, in
/// the same order: random labels, random queries in the full grammar.
#[test]
fn the_index_agrees_with_the_evaluator() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    let mut rng = StdRng::seed_from_u64(7);
    let words = ["ranked", "casual", "rank", "ranker", "eu", "us", "x", "a b"];
    let fields = [
        "label.mode",
        "label.region",
        "label.skill",
        "label.tags",
        "label.when",
        "label.n.deep",
    ];
    let mut w = worker();
    let mut made = Vec::new();
    for i in 0..150 {
        let pick = |r: &mut StdRng| words[r.random_range(0..words.len())];
        let label = if i % 17 == 0 {
            format!("not json {i}")
        } else {
            serde_json::json!({
                "mode": pick(&mut rng),
                "region": pick(&mut rng),
                "skill": rng.random_range(-5..40) as f64 / 2.0,
                "tags": [pick(&mut rng), pick(&mut rng)],
                "when": format!("2026-0{}-01T00:00:00Z", rng.random_range(1..10)),
                "n": { "deep": rng.random_bool(0.5) },
            })
            .to_string()
        };
        let id = arena(&mut w, &label, i);
        made.push((id, label));
    }
    let leaf = |r: &mut StdRng| -> String {
        let f = fields[r.random_range(0..fields.len())];
        let w = words[r.random_range(0..words.len() - 1)];
        match r.random_range(0..11) {
            0 => format!("{f}:{w}"),
            1 => format!("{f}:\"a b\""),
            2 => format!("{f}:{}", r.random_range(-3..20)),
            3 => format!("{f}:>={}", r.random_range(-3..20)),
            4 => format!("{f}:<{}.5", r.random_range(-3..20)),
            5 => format!("{f}:{}*", &w[..1]),
            6 => format!("{f}:/r.n?k.*/"),
            7 => format!("{f}:{w}~1"),
            8 => format!("{f}:>\"2026-05-01T00:00:00Z\""),
            9 => format!("{f}:T"),
            _ => format!("{f}:{w}^{}", r.random_range(1..4)),
        }
    };
    for _ in 0..300 {
        let n = rng.random_range(1..5);
        let text: Vec<String> = (0..n)
            .map(|_| {
                let prefix = ["", "+", "-"][rng.random_range(0..3)];
                format!("{prefix}{}", leaf(&mut rng))
            })
            .collect();
        let text = text.join(" ");
        let q = query::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let compiled = q.compile().unwrap();
        let mut expected: Vec<(f64, i64, String)> = made
            .iter()
            .enumerate()
            .filter_map(|(i, (id, label))| {
                let mut doc = Doc::from_label(label);
                doc.push_keyword("label_string", label.clone());
                compiled
                    .score(&doc)
                    .map(|s| (s, i as i64, format!("{id}.kairos")))
            })
            .collect();
        expected.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        let expected: Vec<String> = expected.into_iter().map(|e| e.2).collect();
        let got = ids(&list(
            &mut w,
            ListRequest {
                limit: 1_000,
                query: Some(q),
                ..Default::default()
            },
        ));
        assert_eq!(got, expected, "{text}");
    }
}

/// Past `MAX_IN_FLIGHT` listings waiting, another is refused at once
/// (RESOURCE_EXHAUSTED) rather than queued; one answered frees its place.
#[test]
fn listings_in_flight_are_capped() {
    let (tx, rx) = mpsc::channel();
    let full = Listing {
        tx,
        in_flight: Arc::new(AtomicUsize::new(MAX_IN_FLIGHT)),
    };
    let refused = futures_lite::future::block_on(full.list(request(None)));
    assert_eq!(refused.unwrap_err().code, Code::ResourceExhausted);
    assert!(rx.try_recv().is_err(), "a refused listing is not queued");
    assert_eq!(full.in_flight.load(Ordering::Acquire), MAX_IN_FLIGHT);
    // With room, it is queued; given up (its answer dropped), it frees
    // its place.
    full.in_flight.store(0, Ordering::Release);
    drop(rx);
    let lost = futures_lite::future::block_on(full.list(request(None)));
    assert_eq!(lost.unwrap_err().code, Code::Internal);
    assert_eq!(full.in_flight.load(Ordering::Acquire), 0);
}
