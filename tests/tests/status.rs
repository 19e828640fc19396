//! Status: appearing online, following users across shards, status updates.

use kairos_tests::{Backend, TestServer, Ws, backend_tests, unique};
use serde_json::json;

backend_tests!(followers_see_status_changes_on_any_shard);

fn followers_see_status_changes_on_any_shard(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let a = http.device(&unique("device-"));
    let bob = http.device(&unique("device-"));
    let c = http.device(&unique("device-"));
    let mut wa = Ws::open(&s.addr, &a.token, "&status=true");
    let mut wb = Ws::open(&s.addr, &bob.token, "");

    // Follow A (online) and C (offline; C followed by username).
    let c_name = c.claims()["usn"].as_str().unwrap().to_string();
    wb.send_json(
        &json!({"cid": "1", "status_follow": {"user_ids": [a.user_id()], "usernames": [c_name]}}),
    );
    let st = wb.next_with("status");
    assert_eq!(st["cid"], "1");
    let presences = st["status"]["presences"].as_array().unwrap();
    assert_eq!(presences.len(), 1, "{st}");
    assert_eq!(presences[0]["user_id"], json!(a.user_id()));

    // C comes online, on whichever shard: B hears of it.
    let mut wc = Ws::open(&s.addr, &c.token, "&status=true");
    let ev = wb.next_with("status_presence_event");
    assert_eq!(
        ev["status_presence_event"]["joins"][0]["user_id"],
        json!(c.user_id())
    );

    // A sets a status: leave of the old presence, join of the new.
    wa.send_json(&json!({"cid": "2", "status_update": {"status": "in a match"}}));
    assert_eq!(wa.next_with("cid"), json!({"cid": "2"}));
    let ev = wb.next_with("status_presence_event");
    assert_eq!(
        ev["status_presence_event"]["joins"][0]["status"],
        "in a match"
    );
    assert_eq!(
        ev["status_presence_event"]["leaves"][0]["user_id"],
        json!(a.user_id())
    );

    // C appears offline; A disconnects.
    wc.send_json(&json!({"cid": "3", "status_update": {}}));
    let ev = wb.next_with("status_presence_event");
    assert_eq!(
        ev["status_presence_event"]["leaves"][0]["user_id"],
        json!(c.user_id())
    );
    wa.close();
    let ev = wb.next_with("status_presence_event");
    assert_eq!(
        ev["status_presence_event"]["leaves"][0]["user_id"],
        json!(a.user_id())
    );

    // After unfollowing C, C's changes no longer reach B.
    wb.send_json(&json!({"cid": "4", "status_unfollow": {"user_ids": [c.user_id()]}}));
    assert_eq!(wb.next_with("cid"), json!({"cid": "4"}));
    wc.send_json(&json!({"cid": "5", "status_update": {"status": "back"}}));
    wc.next_with("cid");
    wb.send_json(&json!({"cid": "6", "ping": {}}));
    assert_eq!(
        wb.recv_json(),
        json!({"cid": "6", "pong": {}}),
        "no event for an unfollowed user"
    );
}

#[test]
fn bad_status_requests() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let sess = s.http().device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &sess.token, "");
    ws.send_json(&json!({"cid": "1", "status_follow": {"user_ids": ["nope"]}}));
    assert_eq!(ws.next_with("error")["error"]["code"], 3);
    ws.send_json(&json!({"cid": "2", "status_update": {"status": "x".repeat(2049)}}));
    assert_eq!(ws.next_with("error")["error"]["code"], 3);
    ws.send_json(&json!({"cid": "3", "status_follow": {}}));
    assert_eq!(ws.next_with("status"), json!({"cid": "3", "status": {}}));
}
