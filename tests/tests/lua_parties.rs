//! `nk.party_list` from a Lua module (`tests/lua/parties.lua`): parties
//! created by sockets, listed with Nakama's Lua table (the party id under
//! `match_id`, `maxSize`), by openness, by label query, hidden ones only
//! when asked, in pages, and Nakama's argument errors.

use std::path::PathBuf;

use kairos_tests::{Backend, Http, TestServer, Ws, unique};
use serde_json::{Value, json};

fn list(http: &Http, args: Value) -> Value {
    let body = Value::String(args.to_string()).to_string();
    let r = http.request(
        "POST",
        "/v2/rpc/lua.party_list?http_key=defaulthttpkey",
        None,
        Some(&body),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_str(r.body["payload"].as_str().expect("payload")).expect("JSON")
}

fn ids(v: &Value) -> Vec<String> {
    // An empty Lua table encodes as {} or [].
    v["parties"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["match_id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn parties_listed_from_lua() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lua");
    let s = TestServer::start_with(
        &Backend::Sqlite,
        &["--runtime.path", &dir.to_string_lossy()],
    );
    let http = s.http();
    let mode = unique("m");
    let mut made = Vec::new();
    let mut sockets = Vec::new();
    for (open, hidden, label) in [
        (true, false, format!(r#"{{"mode":"{mode}"}}"#)),
        (false, false, format!(r#"{{"mode":"{mode}"}}"#)),
        (true, true, String::new()),
    ] {
        let who = http.device(&unique("party-lua-"));
        let mut ws = Ws::open(&s.addr, &who.token, "");
        let r = ws.request(
            "c",
            "party_create",
            json!({"open": open, "max_size": 3, "label": label, "hidden": hidden}),
        );
        made.push(
            r["party"]["party_id"]
                .as_str()
                .expect("party id")
                .to_string(),
        );
        sockets.push(ws);
    }
    // Visible ones, in creation order, with Nakama's Lua fields.
    let all = list(&http, json!({ "limit": 10, "show_hidden": false }));
    assert_eq!(ids(&all), made[..2].to_vec(), "{all}");
    assert_eq!(all["parties"][0]["maxSize"], 3, "{all}");
    assert_eq!(all["parties"][0]["open"], true, "{all}");
    assert_eq!(all["parties"][1]["open"], false, "{all}");
    assert!(all.get("cursor").is_none(), "{all}");
    // Hidden ones too when asked.
    let with_hidden = list(&http, json!({ "limit": 10, "show_hidden": true }));
    assert_eq!(ids(&with_hidden), made, "{with_hidden}");
    // By openness and by label.
    let open = list(
        &http,
        json!({ "limit": 10, "open": true, "show_hidden": true }),
    );
    assert_eq!(ids(&open), vec![made[0].clone(), made[2].clone()], "{open}");
    let labelled = list(
        &http,
        json!({ "limit": 10, "open": false, "show_hidden": false, "query": format!("+label.mode:{mode}") }),
    );
    assert_eq!(ids(&labelled), vec![made[1].clone()], "{labelled}");
    // Pages of one.
    let page = list(&http, json!({ "limit": 1, "show_hidden": true }));
    assert_eq!(ids(&page), vec![made[0].clone()], "{page}");
    let cursor = page["cursor"].as_str().expect("cursor").to_string();
    let next = list(
        &http,
        json!({ "limit": 1, "show_hidden": true, "cursor": cursor }),
    );
    assert_eq!(ids(&next), vec![made[1].clone()], "{next}");
    // Nakama's argument errors.
    let e = list(&http, json!({ "limit": 101, "show_hidden": false }));
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("expects limit to be 1-100"),
        "{e}"
    );
    let e = list(&http, json!({ "limit": 10 }));
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("boolean expected, got nil"),
        "{e}"
    );
    drop(sockets);
}
