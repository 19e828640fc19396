use std::collections::BTreeMap;

use super::*;

const CFG: PassConfig = PassConfig {
    max_intervals: 2,
    rev_precision: true,
};

fn presence(session: &str) -> Presence {
    Presence {
        session_id: session.into(),
        user_id: format!("u-{session}"),
        username: format!("n-{session}"),
        node: "kairos".into(),
    }
}

struct T<'a> {
    sessions: &'a [&'a str],
    party: &'a str,
    query: &'a str,
    min: usize,
    max: usize,
    multiple: usize,
    strings: &'a [(&'a str, &'a str)],
    numbers: &'a [(&'a str, f64)],
}

impl Default for T<'_> {
    fn default() -> Self {
        T {
            sessions: &["s"],
            party: "",
            query: "*",
            min: 2,
            max: 2,
            multiple: 1,
            strings: &[],
            numbers: &[],
        }
    }
}

fn spec(t: T<'_>) -> TicketSpec {
    TicketSpec {
        presences: t.sessions.iter().map(|s| presence(s)).collect(),
        session_id: if t.party.is_empty() {
            t.sessions[0].to_string()
        } else {
            String::new()
        },
        party_id: t.party.into(),
        query: t.query.into(),
        min_count: t.min,
        max_count: t.max,
        count_multiple: t.multiple,
        string_properties: t
            .strings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        numeric_properties: t.numbers.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

fn add(pool: &mut Pool, id: &str, t: T<'_>) {
    pool.add(id.into(), spec(t), 0).unwrap();
}

fn pass(pool: &mut Pool, cfg: &PassConfig) -> Vec<Vec<String>> {
    let (matched, _) = pool.pass(cfg, || false);
    matched
        .into_iter()
        .map(|m| {
            let mut ids: Vec<String> = m.tickets.into_iter().map(|t| t.id).collect();
            ids.sort();
            ids
        })
        .collect()
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn counts_are_checked_with_nakamas_messages() {
    assert_eq!(validate_counts(2, 4, None), Ok((2, 4, 1)));
    assert_eq!(validate_counts(1, 4, None), Err(CountError::MinCount));
    assert_eq!(validate_counts(3, 2, None), Err(CountError::MaxCount));
    assert_eq!(validate_counts(2, 1000, None), Err(CountError::MaxCount));
    assert_eq!(
        validate_counts(2, 4, Some(0)),
        Err(CountError::CountMultiple)
    );
    assert_eq!(
        validate_counts(3, 6, Some(2)),
        Err(CountError::MultipleOfMin)
    );
    assert_eq!(
        validate_counts(2, 5, Some(2)),
        Err(CountError::MultipleOfMax)
    );
    assert_eq!(validate_counts(2, 6, Some(2)), Ok((2, 6, 2)));
    assert_eq!(
        CountError::MinCount.message(),
        "Invalid minimum count, must be >= 2"
    );
}

#[test]
fn two_tickets_match_and_leave_the_pool() {
    let mut pool = Pool::new(3, 100);
    add(
        &mut pool,
        "a",
        T {
            sessions: &["1"],
            ..T::default()
        },
    );
    add(
        &mut pool,
        "b",
        T {
            sessions: &["2"],
            ..T::default()
        },
    );
    assert_eq!(pass(&mut pool, &CFG), vec![ids(&["a", "b"])]);
    assert!(pool.is_empty());
    assert_eq!(pool.session_tickets("1"), 0);
}

#[test]
fn a_session_never_meets_itself() {
    let mut pool = Pool::new(3, 100);
    add(
        &mut pool,
        "a",
        T {
            sessions: &["1"],
            ..T::default()
        },
    );
    add(
        &mut pool,
        "b",
        T {
            sessions: &["1"],
            ..T::default()
        },
    );
    assert!(pass(&mut pool, &CFG).is_empty());
    assert_eq!(pool.len(), 2);
}

#[test]
fn queries_must_accept_both_ways() {
    let mut pool = Pool::new(3, 100);
    // a wants eu; b is eu but wants ranked, which a is not.
    add(
        &mut pool,
        "a",
        T {
            sessions: &["1"],
            query: "+properties.region:eu",
            strings: &[("region", "eu"), ("mode", "casual")],
            ..T::default()
        },
    );
    add(
        &mut pool,
        "b",
        T {
            sessions: &["2"],
            query: "+properties.mode:ranked",
            strings: &[("region", "eu"), ("mode", "ranked")],
            ..T::default()
        },
    );
    assert!(pass(&mut pool, &CFG).is_empty());
    // Without rev_precision, a's search accepts b: one way is enough.
    let one_way = PassConfig {
        rev_precision: false,
        ..CFG
    };
    let mut pool2 = Pool::new(3, 100);
    for (id, t) in [("a", pool.get("a").unwrap()), ("b", pool.get("b").unwrap())] {
        pool2.add(id.into(), t.spec.clone(), 0).unwrap();
    }
    assert_eq!(pass(&mut pool2, &one_way), vec![ids(&["a", "b"])]);
    // A third ticket both accept matches a.
    add(
        &mut pool,
        "c",
        T {
            sessions: &["3"],
            query: "+properties.region:eu",
            strings: &[("region", "eu")],
            ..T::default()
        },
    );
    let got = pass(&mut pool, &CFG);
    assert_eq!(got, vec![ids(&["a", "c"])]);
    assert!(pool.get("b").is_some());
}

#[test]
fn past_the_reverse_threshold_one_way_is_enough() {
    let mut pool = Pool::new(3, 100);
    add(
        &mut pool,
        "a",
        T {
            sessions: &["1"],
            query: "+properties.mode:ranked",
            strings: &[("mode", "casual")],
            ..T::default()
        },
    );
    add(
        &mut pool,
        "b",
        T {
            sessions: &["2"],
            strings: &[("mode", "ranked")],
            ..T::default()
        },
    );
    let (matched, _) = pool.pass(&CFG, || true);
    assert_eq!(matched.len(), 1);
}

#[test]
fn numeric_properties_and_ranges() {
    let mut pool = Pool::new(3, 100);
    let q = "+properties.skill:>=100 +properties.skill:<=200";
    add(
        &mut pool,
        "a",
        T {
            sessions: &["1"],
            query: q,
            numbers: &[("skill", 150.0)],
            ..T::default()
        },
    );
    add(
        &mut pool,
        "b",
        T {
            sessions: &["2"],
            query: q,
            numbers: &[("skill", 500.0)],
            ..T::default()
        },
    );
    assert!(pass(&mut pool, &CFG).is_empty());
    add(
        &mut pool,
        "c",
        T {
            sessions: &["3"],
            query: q,
            numbers: &[("skill", 120.0)],
            ..T::default()
        },
    );
    assert_eq!(pass(&mut pool, &CFG), vec![ids(&["a", "c"])]);
}

#[test]
fn the_oldest_tickets_match_first_and_never_twice() {
    let mut pool = Pool::new(3, 100);
    for (id, s) in [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")] {
        add(
            &mut pool,
            id,
            T {
                sessions: &[s],
                ..T::default()
            },
        );
    }
    let got = pass(&mut pool, &CFG);
    assert_eq!(got, vec![ids(&["a", "b"]), ids(&["c", "d"])]);
    assert_eq!(pool.len(), 1);
    assert!(pool.get("e").is_some());
}

#[test]
fn a_window_fills_to_its_max_then_settles_for_min_on_the_last_interval() {
    let mut pool = Pool::new(3, 100);
    for (id, s) in [("a", "1"), ("b", "2"), ("c", "3")] {
        add(
            &mut pool,
            id,
            T {
                sessions: &[s],
                min: 2,
                max: 4,
                ..T::default()
            },
        );
    }
    // First interval: 3 of a wanted 4, wait.
    assert!(pass(&mut pool, &CFG).is_empty());
    // Second (last, max_intervals 2): 3 is within [2, 4].
    assert_eq!(pass(&mut pool, &CFG), vec![ids(&["a", "b", "c"])]);

    let mut pool = Pool::new(3, 100);
    for (id, s) in [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")] {
        add(
            &mut pool,
            id,
            T {
                sessions: &[s],
                min: 2,
                max: 4,
                ..T::default()
            },
        );
    }
    // Four fill a's window at once.
    assert_eq!(pass(&mut pool, &CFG), vec![ids(&["a", "b", "c", "d"])]);
}

#[test]
fn windows_that_do_not_overlap_never_match() {
    let mut pool = Pool::new(3, 100);
    add(
        &mut pool,
        "a",
        T {
            sessions: &["1"],
            min: 2,
            max: 2,
            ..T::default()
        },
    );
    add(
        &mut pool,
        "b",
        T {
            sessions: &["2"],
            min: 3,
            max: 3,
            ..T::default()
        },
    );
    add(
        &mut pool,
        "c",
        T {
            sessions: &["3"],
            min: 3,
            max: 3,
            ..T::default()
        },
    );
    for _ in 0..3 {
        assert!(pass(&mut pool, &CFG).is_empty());
    }
    assert_eq!(pool.len(), 3);
}

#[test]
fn a_larger_window_is_not_pulled_into_a_small_match_while_it_may_wait() {
    let mut pool = Pool::new(3, 100);
    add(
        &mut pool,
        "big",
        T {
            sessions: &["1"],
            min: 2,
            max: 4,
            ..T::default()
        },
    );
    add(
        &mut pool,
        "small",
        T {
            sessions: &["2"],
            min: 2,
            max: 2,
            ..T::default()
        },
    );
    // big waits for 4 and small may not take it; small is now inactive.
    assert!(pass(&mut pool, &CFG).is_empty());
    // big's last interval: it settles for 2 with small.
    assert_eq!(pass(&mut pool, &CFG), vec![ids(&["big", "small"])]);
}

#[test]
fn count_multiple_trims_the_group() {
    let mut pool = Pool::new(3, 100);
    for (id, s) in [("a", "1"), ("b", "2"), ("c", "3")] {
        add(
            &mut pool,
            id,
            T {
                sessions: &[s],
                min: 2,
                max: 4,
                multiple: 2,
                ..T::default()
            },
        );
    }
    assert!(pass(&mut pool, &CFG).is_empty());
    // Last interval: 3 is not a multiple of 2, so the newest is left.
    assert_eq!(pass(&mut pool, &CFG), vec![ids(&["a", "b"])]);
    assert!(pool.get("c").is_some());
}

#[test]
fn a_party_ticket_is_matched_whole() {
    let mut pool = Pool::new(3, 100);
    add(
        &mut pool,
        "party",
        T {
            sessions: &["1", "2"],
            party: "p",
            min: 3,
            max: 3,
            ..T::default()
        },
    );
    add(
        &mut pool,
        "x",
        T {
            sessions: &["3"],
            min: 3,
            max: 3,
            ..T::default()
        },
    );
    add(
        &mut pool,
        "y",
        T {
            sessions: &["4"],
            min: 3,
            max: 3,
            ..T::default()
        },
    );
    let (matched, _) = pool.pass(&CFG, || false);
    assert_eq!(matched.len(), 1);
    let m = &matched[0];
    let presences: usize = m.tickets.iter().map(Ticket::count).sum();
    assert_eq!(presences, 3);
    assert_eq!(m.tickets[0].id, "party");
    assert_eq!(m.tickets[0].spec.party_id, "p");
    assert_eq!(pool.len(), 1, "one solo left over, the party not split");

    // A party of 2 does not fit a match of 2 with another player.
    let mut pool = Pool::new(3, 100);
    add(
        &mut pool,
        "party",
        T {
            sessions: &["1", "2"],
            party: "p",
            min: 2,
            max: 2,
            ..T::default()
        },
    );
    add(
        &mut pool,
        "x",
        T {
            sessions: &["3"],
            min: 2,
            max: 2,
            ..T::default()
        },
    );
    assert!(pass(&mut pool, &CFG).is_empty());
}

#[test]
fn tickets_of_one_party_do_not_match_each_other() {
    let mut pool = Pool::new(3, 100);
    add(
        &mut pool,
        "p1",
        T {
            sessions: &["1"],
            party: "p",
            ..T::default()
        },
    );
    add(
        &mut pool,
        "p2",
        T {
            sessions: &["2"],
            party: "p",
            ..T::default()
        },
    );
    assert!(pass(&mut pool, &CFG).is_empty());
}

#[test]
fn higher_scores_are_preferred() {
    let mut pool = Pool::new(3, 100);
    add(
        &mut pool,
        "a",
        T {
            sessions: &["1"],
            query: "properties.region:eu properties.region:us^5",
            strings: &[("region", "eu")],
            ..T::default()
        },
    );
    add(
        &mut pool,
        "eu",
        T {
            sessions: &["2"],
            strings: &[("region", "eu")],
            ..T::default()
        },
    );
    add(
        &mut pool,
        "us",
        T {
            sessions: &["3"],
            strings: &[("region", "us")],
            ..T::default()
        },
    );
    assert_eq!(pass(&mut pool, &CFG), vec![ids(&["a", "us"])]);
}

#[test]
fn the_index_reads_one_bucket() {
    let mut pool = Pool::new(3, 10_000);
    for i in 0..1000 {
        let mode = ["a", "b", "c", "d"][i % 4];
        add(
            &mut pool,
            &format!("t{i}"),
            T {
                sessions: &[&format!("s{i}")],
                query: &format!("+properties.mode:{mode}"),
                strings: &[("mode", mode)],
                ..T::default()
            },
        );
    }
    let (matched, stats) = pool.pass(&CFG, || false);
    assert_eq!(matched.len(), 500);
    assert!(pool.is_empty());
    // Each searcher reads a few of its own bucket (it stops once its hits
    // bring one presence more than it lacks), not the 250 of it nor the
    // 1000 tickets.
    assert!(stats.candidates <= 2 * 500, "{stats:?}");
}

#[test]
fn caps_removal_and_bad_queries() {
    let mut pool = Pool::new(2, 3);
    add(
        &mut pool,
        "a",
        T {
            sessions: &["1"],
            ..T::default()
        },
    );
    add(
        &mut pool,
        "b",
        T {
            sessions: &["1"],
            ..T::default()
        },
    );
    assert_eq!(
        pool.add(
            "c".into(),
            spec(T {
                sessions: &["1"],
                ..T::default()
            }),
            0
        ),
        Err(AddError::TooManyTickets)
    );
    assert!(matches!(
        pool.add(
            "c".into(),
            spec(T {
                sessions: &["2"],
                query: "+properties.x:\"open",
                ..T::default()
            }),
            0
        ),
        Err(AddError::Query(_))
    ));
    assert_eq!(
        pool.add(
            "a".into(),
            spec(T {
                sessions: &["2"],
                ..T::default()
            }),
            0
        ),
        Err(AddError::DuplicateId)
    );
    add(
        &mut pool,
        "p",
        T {
            sessions: &["2", "3"],
            party: "p",
            ..T::default()
        },
    );
    assert_eq!(
        pool.add(
            "q".into(),
            spec(T {
                sessions: &["4"],
                ..T::default()
            }),
            0
        ),
        Err(AddError::PoolFull)
    );
    // Only the owner session removes a solo ticket; a party's only by party.
    assert_eq!(
        pool.remove_session_ticket("2", "a").err(),
        Some(RemoveError::NotFound)
    );
    assert_eq!(
        pool.remove_session_ticket("1", "zz").err(),
        Some(RemoveError::NotFound)
    );
    assert_eq!(pool.remove_session_ticket("1", "a").unwrap().id, "a");
    assert_eq!(
        pool.remove_party_ticket("other", "p").err(),
        Some(RemoveError::NotFound)
    );
    // A member's session closing removes the party's ticket too.
    assert_eq!(pool.remove_session("3").len(), 1);
    assert_eq!(pool.remove_session("1").len(), 1);
    assert!(pool.is_empty());
    assert_eq!(pool.presences(), 0);
}

#[test]
fn party_caps_count_per_party() {
    let mut pool = Pool::new(1, 100);
    add(
        &mut pool,
        "p1",
        T {
            sessions: &["1"],
            party: "p",
            ..T::default()
        },
    );
    assert_eq!(
        pool.add(
            "p2".into(),
            spec(T {
                sessions: &["2"],
                party: "p",
                ..T::default()
            }),
            0
        ),
        Err(AddError::TooManyTickets)
    );
    assert_eq!(pool.remove_party("p").len(), 1);
}

#[test]
fn tickets_that_accept_no_one_cost_a_search_nothing_or_max_reads() {
    let fill = |pool: &mut Pool| {
        // Old tickets that accept only `never: x`, all in the bucket every
        // query below reads; they search their one interval and wait.
        for i in 0..MAX_READS + 10 {
            add(
                pool,
                &format!("picky{i}"),
                T {
                    sessions: &[&format!("p{i}")],
                    query: "+properties.never:x",
                    strings: &[("mode", "a")],
                    min: 3,
                    max: 3,
                    ..T::default()
                },
            );
        }
    };
    let newcomer = |pool: &mut Pool, id: &str| {
        add(
            pool,
            id,
            T {
                sessions: &[id],
                query: "+properties.mode:a",
                strings: &[("mode", "a")],
                min: 3,
                max: 3,
                ..T::default()
            },
        )
    };
    // Two-way: their acceptance key (never = x) is not the newcomers', so
    // the newcomers never read them, and meet each other.
    let mut pool = Pool::new(3, 10_000);
    fill(&mut pool);
    pool.pass(&CFG, || false);
    for id in ["x", "y", "z"] {
        newcomer(&mut pool, id);
    }
    let (matched, stats) = pool.pass(&CFG, || false);
    assert_eq!(matched.len(), 1);
    assert_eq!(stats.candidates, 2, "{stats:?}");
    // One-way (no acceptance keys): a newcomer whose query refuses them
    // all reads them, and stops at MAX_READS.
    let one_way = PassConfig {
        rev_precision: false,
        ..CFG
    };
    let mut pool = Pool::new(3, 10_000);
    fill(&mut pool);
    pool.pass(&one_way, || true);
    add(
        &mut pool,
        "x",
        T {
            sessions: &["x"],
            query: "+properties.mode:a +properties.level:>=5",
            strings: &[("mode", "a")],
            min: 3,
            max: 3,
            ..T::default()
        },
    );
    let (matched, stats) = pool.pass(&one_way, || false);
    assert!(matched.is_empty());
    assert_eq!(stats.searched, 1);
    assert_eq!(stats.candidates, MAX_READS);
}

/// Random adds, removals and passes keep every structure of the pool
/// consistent (`Pool::check`: slots, age order, ids, sessions, parties,
/// index lists, interned strings), never match a ticket twice, and leave
/// nothing behind once every ticket is gone.
#[test]
fn random_operations_keep_the_pool_consistent() {
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }
    let mut rng = Lcg(3);
    let sessions: Vec<String> = (0..24).map(|i| format!("s{i}")).collect();
    let parties = ["p0", "p1", "p2", "p3"];
    let modes = ["a", "b", "c"];
    let queries = [
        "*",
        "",
        "+properties.mode:a",
        "+properties.mode:b +properties.level:>=3",
        "+properties.mode:c -properties.region:eu",
        "properties.region:eu^2 properties.region:us",
        "+properties.level:<5",
        "+properties.level:4",
        "+properties.code:x1 +properties.mode:a",
        "+properties.mode:a* +properties.region:/e./",
        "-properties.mode:a",
    ];
    let mut pool = Pool::new(3, 60);
    let mut ids = Vec::new();
    let mut matched_ever = std::collections::HashSet::new();
    for step in 0..4000 {
        match rng.below(12) {
            0..=5 => {
                let id = format!("t{step}");
                let presences = 1 + rng.below(3);
                let party = if presences > 1 && rng.below(2) == 0 {
                    parties[rng.below(parties.len())]
                } else {
                    ""
                };
                let own: Vec<&str> = (0..presences)
                    .map(|_| sessions[rng.below(sessions.len())].as_str())
                    .collect();
                let min = 2 + rng.below(3);
                let max = min + rng.below(3);
                let multiple = if min.is_multiple_of(2) && max.is_multiple_of(2) {
                    2
                } else {
                    1
                };
                let mode = modes[rng.below(modes.len())];
                let region = ["eu", "us", "ea"][rng.below(3)];
                let level = rng.below(8) as f64;
                let mut strings = vec![("mode", mode), ("region", region)];
                if rng.below(5) == 0 {
                    strings.push(("code", "x1"));
                }
                let _ = pool.add(
                    id.clone(),
                    spec(T {
                        sessions: &own,
                        party,
                        query: queries[rng.below(queries.len())],
                        min,
                        max,
                        multiple,
                        strings: &strings,
                        numbers: &[("level", level)],
                    }),
                    step as u64,
                );
                if pool.get(&id).is_some() {
                    ids.push(id);
                }
            }
            6 => {
                for t in pool.remove_session(&sessions[rng.below(sessions.len())]) {
                    assert!(pool.get(&t.id).is_none());
                }
            }
            7 => {
                pool.remove_party(parties[rng.below(parties.len())]);
            }
            8 if !ids.is_empty() => {
                let id = &ids[rng.below(ids.len())];
                let owner = pool.get(id).map(|t| t.spec.session_id.clone());
                if let Some(owner) = owner.filter(|o| !o.is_empty()) {
                    assert!(pool.remove_session_ticket("nobody", id).is_err());
                    assert_eq!(pool.remove_session_ticket(&owner, id).unwrap().id, *id);
                }
            }
            _ => {
                let config = PassConfig {
                    max_intervals: 1 + rng.below(3) as u32,
                    rev_precision: rng.below(3) != 0,
                };
                let relaxed = rng.below(4) == 0;
                let (matched, stats) = pool.pass(&config, || relaxed);
                assert_eq!(stats.matches, matched.len());
                for m in matched {
                    assert!(m.tickets.len() >= 2);
                    let size: usize = m.tickets.iter().map(Ticket::count).sum();
                    for t in &m.tickets {
                        assert!(t.spec.min_count <= size && size <= t.spec.max_count);
                        assert!(pool.get(&t.id).is_none());
                        assert!(matched_ever.insert(t.id.clone()), "{} twice", t.id);
                    }
                }
            }
        }
        pool.check();
    }
    assert!(matched_ever.len() > 100, "{}", matched_ever.len());
    for s in &sessions {
        pool.remove_session(s);
    }
    assert!(pool.is_empty());
    pool.check();
}
