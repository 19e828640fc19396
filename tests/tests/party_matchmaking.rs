//! Party matchmaking over two shards: the leader's `party_matchmaker_add`
//! queues every member as one ticket (the leader gets
//! `party_matchmaker_ticket` with its cid, every other member without),
//! the party is matched together with solo players, only the leader may
//! queue or cancel, any change of members or the party's end withdraws the
//! ticket, and every validation error carries Nakama's code and text.
//!
//! Passes run every 50 ms. No assertion depends on timing: whether a
//! ticket is still queued is shown by removing it (which succeeds only
//! while it waits) or by the pool's count in `GET /v2/matchmaker/stats`,
//! each asked after the change it checks was acknowledged.

use kairos_tests::{Backend, TestServer, Ws, unique};
use serde_json::{Value, json};

fn server() -> TestServer {
    TestServer::start_with(&Backend::Sqlite, &["--kairos.matchmaker.interval_ms", "50"])
}

struct Player {
    ws: Ws,
    token: String,
    user_id: String,
}

fn player(s: &TestServer) -> Player {
    let sess = s.http().device(&unique("pmm-"));
    Player {
        ws: Ws::open(&s.addr, &sess.token, ""),
        token: sess.token.clone(),
        user_id: sess.user_id(),
    }
}

/// `n` players, the first two on different shards.
fn players(s: &TestServer, n: usize) -> Vec<Player> {
    let first = player(s);
    let mut second = player(s);
    for _ in 0..40 {
        if second.ws.shard != first.ws.shard {
            break;
        }
        second = player(s);
    }
    assert_ne!(second.ws.shard, first.ws.shard, "players on both shards");
    let mut all = vec![first, second];
    while all.len() < n {
        all.push(player(s));
    }
    all
}

fn assert_error(reply: &Value, message: &str) {
    assert_eq!(reply["error"]["code"], 3, "{reply}");
    assert_eq!(reply["error"]["message"], message, "{reply}");
}

/// An open party led by `leader`, joined by each of `others`; returns its
/// id once the leader has heard every join.
fn party(leader: &mut Player, others: &mut [&mut Player]) -> String {
    let r = leader.ws.request(
        &unique("c"),
        "party_create",
        json!({"open": true, "max_size": 8}),
    );
    let id = r["party"]["party_id"]
        .as_str()
        .expect("a party")
        .to_string();
    for p in others.iter_mut() {
        let r =
            p.ws.request(&unique("j"), "party_join", json!({ "party_id": id }));
        assert!(r.get("error").is_none(), "{r}");
        joined(leader, &p.user_id);
    }
    id
}

/// Waits until `ws` hears that `user` joined its party.
fn joined(leader: &mut Player, user: &str) {
    loop {
        let ev = leader.ws.next_with("party_presence_event");
        let joins = &ev["party_presence_event"]["joins"];
        if joins
            .as_array()
            .is_some_and(|j| j.iter().any(|p| p["user_id"] == user))
        {
            return;
        }
    }
}

fn party_add(p: &mut Player, party: &str, body: Value) -> Value {
    let mut body = body;
    body["party_id"] = json!(party);
    p.ws.request(&unique("pa"), "party_matchmaker_add", body)
}

/// Queues `party` for a group of 4 of run `run`; returns the ticket.
fn queue(p: &mut Player, party: &str, run: &str) -> String {
    let r = party_add(
        p,
        party,
        json!({
            "min_count": 4,
            "max_count": 4,
            "query": format!("+properties.run:{run}"),
            "string_properties": { "run": run },
        }),
    );
    assert_eq!(r["party_matchmaker_ticket"]["party_id"], party, "{r}");
    r["party_matchmaker_ticket"]["ticket"]
        .as_str()
        .unwrap_or_else(|| panic!("no ticket: {r}"))
        .to_string()
}

fn party_remove(p: &mut Player, party: &str, ticket: &str) -> Value {
    p.ws.request(
        &unique("pr"),
        "party_matchmaker_remove",
        json!({ "party_id": party, "ticket": ticket }),
    )
}

/// Whether the party's `ticket` was still queued (it is not after this).
fn still_queued(leader: &mut Player, party: &str, ticket: &str) -> bool {
    let r = party_remove(leader, party, ticket);
    match r.get("error") {
        None => true,
        Some(_) => {
            assert_error(&r, "Error closing party: matchmaker ticket not found");
            false
        }
    }
}

fn pool_size(s: &TestServer, p: &Player) -> i64 {
    let stats = s.http().get("/v2/matchmaker/stats", &p.token);
    stats.body["ticket_count"].as_i64().unwrap_or(0)
}

#[test]
fn a_party_on_two_shards_is_matched_together_with_solo_players() {
    let s = server();
    let mut ps = players(&s, 4);
    let (a, rest) = ps.split_at_mut(1);
    let (b, solos) = rest.split_at_mut(1);
    let (leader, member) = (&mut a[0], &mut b[0]);
    let id = party(leader, &mut [member]);
    let run = unique("squad");
    let ticket = queue(leader, &id, &run);
    // The other member hears the ticket, without a cid.
    let told = member.ws.next_with("party_matchmaker_ticket");
    assert_eq!(
        told["party_matchmaker_ticket"],
        json!({ "party_id": id, "ticket": ticket })
    );
    assert!(told.get("cid").is_none(), "{told}");
    // Two solo players complete the group of four.
    let mut solo_tickets = Vec::new();
    for p in solos.iter_mut() {
        let r = p.ws.request(
            &unique("add"),
            "matchmaker_add",
            json!({
                "min_count": 4,
                "max_count": 4,
                "query": format!("+properties.run:{run}"),
                "string_properties": { "run": run },
            }),
        );
        solo_tickets.push(
            r["matchmaker_ticket"]["ticket"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut everyone = vec![leader.user_id.clone(), member.user_id.clone()];
    everyone.extend(solos.iter().map(|p| p.user_id.clone()));
    everyone.sort();
    let mut tokens = Vec::new();
    let all: Vec<&mut Player> = [leader, member]
        .into_iter()
        .chain(solos.iter_mut())
        .collect();
    for (i, p) in all.into_iter().enumerate() {
        let m = p.ws.next_with("matchmaker_matched")["matchmaker_matched"].clone();
        let expected = if i < 2 { &ticket } else { &solo_tickets[i - 2] };
        assert_eq!(m["ticket"], expected.as_str(), "{m}");
        let users = m["users"].as_array().unwrap();
        let mut ids: Vec<String> = users
            .iter()
            .map(|u| u["presence"]["user_id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        assert_eq!(ids, everyone, "{m}");
        // The party's two members carry its id; the solo players none.
        let in_party = users
            .iter()
            .filter(|u| u["party_id"] == id.as_str())
            .count();
        assert_eq!(in_party, 2, "{m}");
        assert_eq!(m["self"]["presence"]["user_id"], p.user_id.as_str());
        tokens.push(m["token"].as_str().expect("a token").to_string());
    }
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    // Matched: the party's ticket left the pool.
    assert_eq!(pool_size(&s, &ps[0]), 0);
    assert!(!still_queued(&mut ps[0], &id, &ticket));
}

#[test]
fn only_the_leader_queues_and_any_change_of_members_withdraws_the_ticket() {
    let s = server();
    let mut ps = players(&s, 3);
    let (a, rest) = ps.split_at_mut(1);
    let (b, c) = rest.split_at_mut(1);
    let (leader, member, newcomer) = (&mut a[0], &mut b[0], &mut c[0]);
    let id = party(leader, &mut [member]);
    let run = unique("nobody");

    // A member is not the leader.
    let r = party_add(member, &id, json!({"min_count": 4, "max_count": 4}));
    assert_error(&r, "Error adding party to matchmaker: party leader only");

    // The leader queues and cancels, once; a member cannot cancel.
    let t = queue(leader, &id, &run);
    let r = party_remove(member, &id, &t);
    assert_error(&r, "Error closing party: party leader only");
    assert!(still_queued(leader, &id, &t));
    assert!(!still_queued(leader, &id, &t));

    // A newcomer joining withdraws the ticket.
    let t = queue(leader, &id, &run);
    let r = newcomer
        .ws
        .request("j", "party_join", json!({ "party_id": id }));
    assert!(r.get("error").is_none(), "{r}");
    joined(leader, &newcomer.user_id);
    assert!(!still_queued(leader, &id, &t));

    // A member leaving withdraws it.
    let t = queue(leader, &id, &run);
    let r = newcomer
        .ws
        .request("l", "party_leave", json!({ "party_id": id }));
    assert!(r.get("error").is_none(), "{r}");
    loop {
        let ev = leader.ws.next_with("party_presence_event");
        if ev["party_presence_event"]["leaves"]
            .as_array()
            .is_some_and(|l| l.iter().any(|p| p["user_id"] == newcomer.user_id.as_str()))
        {
            break;
        }
    }
    assert!(!still_queued(leader, &id, &t));

    // The leader's session ending withdraws it (the party changed
    // members), and the party's close withdraws the new leader's.
    let t1 = queue(leader, &id, &run);
    assert_eq!(pool_size(&s, member), 1);
    leader.ws.close();
    let ev = member.ws.next_with("party_leader");
    assert_eq!(
        ev["party_leader"]["presence"]["user_id"],
        member.user_id.as_str()
    );
    assert_eq!(pool_size(&s, member), 0);
    let t2 = queue(member, &id, &run);
    assert_ne!(t1, t2);
    assert_eq!(pool_size(&s, member), 1);
    let r = member
        .ws
        .request("x", "party_close", json!({ "party_id": id }));
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(pool_size(&s, member), 0);
}

#[test]
fn every_validation_error() {
    let s = server();
    let mut ps = players(&s, 2);
    let (a, b) = ps.split_at_mut(1);
    let (leader, member) = (&mut a[0], &mut b[0]);
    let id = party(leader, &mut [member]);
    let node = id.split_once('.').unwrap().1.to_string();
    let counts = [
        (
            json!({"min_count": 1, "max_count": 2}),
            "Invalid minimum count, must be >= 2",
        ),
        (
            json!({"min_count": 4, "max_count": 2}),
            "Invalid maximum count, must be >= minimum count",
        ),
        (
            json!({"min_count": 2, "max_count": 4, "count_multiple": 0}),
            "Invalid count multiple, must be >= 1",
        ),
        (
            json!({"min_count": 2, "max_count": 6, "count_multiple": 3}),
            "Invalid count multiple for minimum count, must divide",
        ),
        (
            json!({"min_count": 2, "max_count": 5, "count_multiple": 2}),
            "Invalid count multiple for maximum count, must divide",
        ),
        (
            json!({"min_count": 2, "max_count": 4, "string_properties": {"k": "v".repeat(300)}}),
            "Matchmaker property too long",
        ),
    ];
    for (body, message) in counts {
        assert_error(&party_add(leader, &id, body), message);
    }
    let ok = json!({"min_count": 2, "max_count": 4});
    assert_error(&party_add(leader, "nope", ok.clone()), "Invalid party ID");
    assert_error(
        &party_add(leader, "not-a-uuid.kairos", ok.clone()),
        "Invalid party ID",
    );
    let missing = format!("00000000-0000-4000-8000-000000000000.{node}");
    assert_error(
        &party_add(leader, &missing, ok.clone()),
        "Error adding party to matchmaker: party not found",
    );
    assert_error(
        &party_add(
            leader,
            &id,
            json!({"min_count": 2, "max_count": 4, "query": "+properties.a:\"open" }),
        ),
        "Error adding party to matchmaker: matchmaker query invalid",
    );
    // `matchmaker.max_tickets` (3) per party.
    let run = unique("cap");
    for _ in 0..3 {
        queue(leader, &id, &run);
    }
    let r = party_add(
        leader,
        &id,
        json!({"min_count": 4, "max_count": 4, "query": format!("+properties.run:{run}")}),
    );
    assert_error(
        &r,
        "Error adding party to matchmaker: matchmaker too many tickets",
    );
    // Removals.
    assert_error(&party_remove(leader, &id, ""), "Invalid matchmaker ticket");
    assert_error(&party_remove(leader, "nope", "t"), "Invalid party ID");
    assert_error(
        &party_remove(leader, &missing, "t"),
        "Error closing party: party not found",
    );
    assert_error(
        &party_remove(leader, &id, "no-such-ticket"),
        "Error closing party: matchmaker ticket not found",
    );
}
