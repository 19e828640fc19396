//! Nakama's public client protocol, as much of it as the scenarios use:
//! device authentication over HTTP and JSON realtime envelopes (ping,
//! relayed matches, chat). Nothing here is Kairos-specific, so every
//! `ws-json` scenario also runs against Nakama itself.
//!
//! Requests are written as text directly; server envelopes are read with
//! [`Envelope`], a lenient view that borrows from the frame and ignores
//! every field it does not need (Nakama's protojson output may reorder
//! fields and add whitespace).

use std::borrow::Cow;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::http::HttpClient;
use crate::report::{OpId, Outcome};
use crate::runner::Run;

/// `POST` path of device authentication.
pub const AUTH_DEVICE_PATH: &str = "/v2/account/authenticate/device";

/// The `Authorization` header value for server-key calls: Basic auth with
/// the server key as user name and an empty password.
pub fn basic_auth(server_key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{server_key}:")))
}

/// The JSON body of a device authentication request.
pub fn device_auth_body(device_id: &str) -> String {
    serde_json::json!({ "id": device_id }).to_string()
}

/// The session token of a successful authentication response body.
pub fn session_token(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("token")?.as_str().map(str::to_string)
}

/// The realtime socket path for `token` with the JSON wire format.
pub fn realtime_path(token: &str) -> String {
    let mut encoded = String::with_capacity(token.len());
    for b in token.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("/ws?token={encoded}&format=json")
}

/// A realtime ping envelope with correlation id `cid`.
pub fn ping_envelope(cid: u64) -> String {
    format!(r#"{{"cid":"{cid}","ping":{{}}}}"#)
}

/// The pong envelope a server answers [`ping_envelope`] with, byte for byte
/// as Nakama encodes it (checked first to avoid a JSON parse per reply).
pub fn pong_envelope(cid: u64) -> String {
    format!(r#"{{"cid":"{cid}","pong":{{}}}}"#)
}

/// A JSON string literal (quotes and escapes) for `s`.
pub fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// `match_create` (a relayed match) with correlation id `cid`.
pub fn match_create_envelope(cid: u64) -> String {
    format!(r#"{{"cid":"{cid}","match_create":{{}}}}"#)
}

/// `match_join` of `match_id` with correlation id `cid`.
pub fn match_join_envelope(cid: u64, match_id: &str) -> String {
    format!(
        r#"{{"cid":"{cid}","match_join":{{"match_id":{}}}}}"#,
        json_string(match_id)
    )
}

/// The realtime `rpc` call of `id` with `payload` (any text, sent as the
/// JSON string Nakama's `Rpc.payload` is) and correlation id `cid`.
pub fn rpc_envelope(cid: u64, id: &str, payload: &str) -> String {
    format!(
        r#"{{"cid":"{cid}","rpc":{{"id":{},"payload":{}}}}}"#,
        json_string(id),
        json_string(payload)
    )
}

/// `match_data_send` envelopes for one match and op code, with the
/// constant parts prepared once: Nakama's JSON carries `data` as standard
/// base64 and `op_code` as a string (protobuf `int64`). The same for the
/// `match_data` a server delivers ([`delivered`](Self::delivered)), which
/// the raw relay baseline's clients send so that receivers parse what
/// they would get from a server.
#[derive(Debug, Clone)]
pub struct MatchDataEnvelope {
    prefix: String,
    suffix: String,
}

impl MatchDataEnvelope {
    /// Envelopes for `match_id`, `op_code` and the `reliable` flag.
    pub fn new(match_id: &str, op_code: i64, reliable: bool) -> Self {
        Self {
            prefix: format!(
                r#"{{"match_data_send":{{"match_id":{},"op_code":"{op_code}","data":""#,
                json_string(match_id)
            ),
            suffix: format!(r#"","reliable":{reliable}}}}}"#),
        }
    }

    /// `match_data` envelopes as a server delivers them, field for field in
    /// Kairos's order: `match_id`, the sender's presence (`user_id`,
    /// `session_id`, `username`), `op_code`, `data`, and `reliable` when
    /// true.
    pub fn delivered(
        match_id: &str,
        (user_id, session_id, username): (&str, &str, &str),
        op_code: i64,
        reliable: bool,
    ) -> Self {
        Self {
            prefix: format!(
                r#"{{"match_data":{{"match_id":{},"presence":{{"user_id":{},"session_id":{},"username":{}}},"op_code":"{op_code}","data":""#,
                json_string(match_id),
                json_string(user_id),
                json_string(session_id),
                json_string(username),
            ),
            suffix: if reliable {
                r#"","reliable":true}}"#.to_string()
            } else {
                r#""}}"#.to_string()
            },
        }
    }

    /// The envelope carrying `data_b64` (already base64).
    pub fn with_base64(&self, data_b64: &str) -> String {
        let mut s = String::with_capacity(self.prefix.len() + data_b64.len() + self.suffix.len());
        s.push_str(&self.prefix);
        s.push_str(data_b64);
        s.push_str(&self.suffix);
        s
    }

    /// The envelope carrying `data`.
    pub fn with_data(&self, data: &[u8]) -> String {
        self.with_base64(&STANDARD.encode(data))
    }
}

/// `channel_join` of room `room` (type 1) with correlation id `cid`.
pub fn channel_join_envelope(cid: u64, room: &str, persistence: bool, hidden: bool) -> String {
    format!(
        r#"{{"cid":"{cid}","channel_join":{{"target":{},"type":1,"persistence":{persistence},"hidden":{hidden}}}}}"#,
        json_string(room)
    )
}

/// `channel_message_send` of `content` (a JSON object, as text) to the
/// channel whose id is `channel_id_json` (a JSON string literal, see
/// [`json_string`]), with correlation id `cid`.
pub fn channel_message_send_envelope(cid: u64, channel_id_json: &str, content: &str) -> String {
    format!(
        r#"{{"cid":"{cid}","channel_message_send":{{"channel_id":{channel_id_json},"content":{}}}}}"#,
        json_string(content)
    )
}

/// A server envelope, as far as the scenarios look into it. Every field is
/// optional; unknown ones are skipped without being built.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Envelope<'a> {
    /// The correlation id of a reply (absent on pushes).
    #[serde(borrow)]
    pub cid: Option<Cow<'a, str>>,
    /// `pong`.
    pub pong: Option<IgnoredAny>,
    /// `error`.
    pub error: Option<ErrorBody>,
    /// `match`: the reply to `match_create` and `match_join`.
    #[serde(rename = "match", borrow)]
    pub match_: Option<MatchReply<'a>>,
    /// `match_presence_event`.
    #[serde(borrow)]
    pub match_presence_event: Option<PresenceEvent<'a>>,
    /// `match_data`: relayed data.
    #[serde(borrow)]
    pub match_data: Option<MatchDataIn<'a>>,
    /// `channel`: the reply to `channel_join`.
    #[serde(borrow)]
    pub channel: Option<ChannelReply<'a>>,
    /// `channel_message`: a chat message push.
    #[serde(borrow)]
    pub channel_message: Option<ChannelMessageIn<'a>>,
    /// `channel_message_ack`: the reply to `channel_message_send`.
    pub channel_message_ack: Option<IgnoredAny>,
    /// `rpc`: the reply to a realtime `rpc` call.
    #[serde(borrow)]
    pub rpc: Option<RpcReply<'a>>,
}

impl<'a> Envelope<'a> {
    /// Parses a text frame; `None` if it is not a JSON object of this shape.
    pub fn parse(text: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(text).ok()
    }

    /// Whether this is the reply to `cid`.
    pub fn answers(&self, cid: u64) -> bool {
        self.cid.as_deref().is_some_and(|c| c.parse() == Ok(cid))
    }

    /// The label of an `error` envelope, as [`classify`] gives it.
    pub fn error_label(&self) -> Option<String> {
        self.error.as_ref().map(|e| format!("rt-error:{}", e.code))
    }
}

/// An `error` envelope's body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    /// Nakama's realtime error code.
    pub code: i64,
}

/// A presence in a match or channel.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Presence<'a> {
    /// The presence's user.
    #[serde(borrow)]
    pub user_id: Cow<'a, str>,
    /// The presence's session.
    #[serde(borrow)]
    pub session_id: Cow<'a, str>,
}

/// `match`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MatchReply<'a> {
    /// The match id.
    #[serde(borrow)]
    pub match_id: Cow<'a, str>,
    /// The members (may include the joiner itself).
    #[serde(borrow)]
    pub presences: Vec<Presence<'a>>,
    /// The joiner's own presence.
    #[serde(rename = "self", borrow)]
    pub self_: Presence<'a>,
}

/// `match_presence_event`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PresenceEvent<'a> {
    /// Who joined.
    #[serde(borrow)]
    pub joins: Vec<Presence<'a>>,
    /// Who left.
    #[serde(borrow)]
    pub leaves: Vec<Presence<'a>>,
}

/// `match_data`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MatchDataIn<'a> {
    /// The op code (a string in Nakama's JSON; a number accepted too).
    #[serde(deserialize_with = "int_or_string")]
    pub op_code: i64,
    /// The data, standard base64.
    #[serde(borrow)]
    pub data: Cow<'a, str>,
}

/// `rpc` (a reply).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RpcReply<'a> {
    /// What the RPC answered (text; absent when empty).
    #[serde(borrow)]
    pub payload: Cow<'a, str>,
}

/// `channel`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChannelReply<'a> {
    /// The channel id, to send to.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
}

/// `channel_message`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChannelMessageIn<'a> {
    /// The message content: a JSON object, as text.
    #[serde(borrow)]
    pub content: Cow<'a, str>,
}

/// protobuf `int64` in JSON: a string (what protojson writes) or a number.
fn int_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer or a string holding one")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(E::custom)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            v.trim().parse().map_err(E::custom)
        }
    }
    d.deserialize_any(V)
}

/// What a received envelope is, relative to an awaited `cid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The awaited answer, of the expected kind.
    Done,
    /// The awaited `cid`, but an `error` envelope (label with its code) or
    /// an unexpected kind.
    Failed(String),
    /// Another message (different or no `cid`, e.g. a notification or a
    /// late answer to an abandoned request).
    Other,
}

/// Classifies `text` as the reply to request `cid` whose answer carries the
/// field `expect` (e.g. `pong`).
pub fn classify(text: &[u8], cid: &str, expect: &str) -> Reply {
    let Ok(v) = serde_json::from_slice::<Value>(text) else {
        return Reply::Other;
    };
    if v.get("cid").and_then(Value::as_str) != Some(cid) {
        return Reply::Other;
    }
    if v.get(expect).is_some() {
        return Reply::Done;
    }
    match v.get("error") {
        Some(e) => Reply::Failed(format!(
            "rt-error:{}",
            e.get("code")
                .map_or_else(|| "?".to_string(), Value::to_string)
        )),
        None => Reply::Failed("rt-unexpected".to_string()),
    }
}

/// Authenticates device `device_id` (creating the account when `create`),
/// recording the attempt under `op`, and returns the session token. Bounded
/// by `--timeout`; `None` on failure or when the run stops.
pub async fn authenticate_device(
    run: &Run,
    client: &mut HttpClient,
    op: OpId,
    device_id: &str,
    create: bool,
) -> Option<String> {
    let auth = basic_auth(&run.opts.server_key);
    let body = device_auth_body(device_id);
    let path = if create {
        AUTH_DEVICE_PATH.to_string()
    } else {
        format!("{AUTH_DEVICE_PATH}?create=false")
    };
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    let start = Instant::now();
    let request = tokio::time::timeout(
        run.opts.timeout,
        client.request("POST", &path, &headers, body.as_bytes()),
    );
    match run.until_stopped(request).await? {
        Err(_) => {
            client.disconnect();
            run.record(op, start, None, Outcome::Timeout);
            None
        }
        Ok(Err(e)) => {
            run.record(op, start, None, Outcome::Error(e.kind()));
            None
        }
        Ok(Ok(resp)) if resp.status == 200 => match session_token(&resp.body) {
            Some(token) => {
                run.record(op, start, Some(200), Outcome::Ok);
                Some(token)
            }
            None => {
                run.record(op, start, Some(200), Outcome::Error("no-token".into()));
                None
            }
        },
        Ok(Ok(resp)) => {
            let label = format!("http:{}", resp.status);
            run.record(op, start, Some(resp.status), Outcome::Error(label));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(basic_auth("defaultkey"), "Basic ZGVmYXVsdGtleTo=");
        assert_eq!(device_auth_body("a\"b"), r#"{"id":"a\"b"}"#);
        assert_eq!(
            session_token(br#"{"created":true,"token":"t.k.n","refresh_token":"r"}"#).as_deref(),
            Some("t.k.n")
        );
        assert_eq!(session_token(b"{}"), None);
        assert_eq!(realtime_path("ab.c_d-e"), "/ws?token=ab.c_d-e&format=json");
        assert_eq!(realtime_path("a+b/="), "/ws?token=a%2Bb%2F%3D&format=json");
        assert_eq!(ping_envelope(7), r#"{"cid":"7","ping":{}}"#);
        assert_eq!(pong_envelope(7), r#"{"cid":"7","pong":{}}"#);
    }

    #[test]
    fn request_envelopes() {
        assert_eq!(match_create_envelope(1), r#"{"cid":"1","match_create":{}}"#);
        assert_eq!(
            match_join_envelope(2, "a\"b."),
            r#"{"cid":"2","match_join":{"match_id":"a\"b."}}"#
        );
        let m = MatchDataEnvelope::new("m1.", 7, false);
        let v: Value = serde_json::from_str(&m.with_data(b"hi")).unwrap();
        assert_eq!(v["match_data_send"]["match_id"], "m1.");
        assert_eq!(v["match_data_send"]["op_code"], "7");
        assert_eq!(v["match_data_send"]["data"], "aGk=");
        assert_eq!(v["match_data_send"]["reliable"], false);
        let j: Value =
            serde_json::from_str(&channel_join_envelope(3, "room", false, true)).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"cid":"3","channel_join":{"target":"room","type":1,"persistence":false,"hidden":true}})
        );
        let c: Value = serde_json::from_str(&channel_message_send_envelope(
            4,
            &json_string("2...room"),
            r#"{"t":1}"#,
        ))
        .unwrap();
        assert_eq!(c["channel_message_send"]["channel_id"], "2...room");
        assert_eq!(c["channel_message_send"]["content"], r#"{"t":1}"#);
    }

    #[test]
    fn delivered_match_data_parses_as_a_server_push() {
        for reliable in [true, false] {
            let m = MatchDataEnvelope::delivered("m1.", ("u", "s", "name"), 1, reliable);
            let text = m.with_base64("aGk=");
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["match_data"]["presence"]["username"], "name");
            assert_eq!(v["match_data"]["op_code"], "1");
            assert_eq!(
                v["match_data"]["reliable"].as_bool(),
                reliable.then_some(true)
            );
            let e = Envelope::parse(text.as_bytes()).unwrap();
            let d = e.match_data.unwrap();
            assert_eq!((d.op_code, d.data.as_ref()), (1, "aGk="));
        }
    }

    #[test]
    fn parses_server_envelopes() {
        let e = Envelope::parse(
            br#"{"match_data":{"match_id":"x.","presence":{"user_id":"u","session_id":"s","username":"n"},"op_code":"2","data":"aGk=","reliable":true}}"#,
        )
        .unwrap();
        let d = e.match_data.unwrap();
        assert_eq!((d.op_code, d.data.as_ref()), (2, "aGk="));
        assert!(e.cid.is_none());
        // protojson may add whitespace and use numbers.
        let e = Envelope::parse(br#"{"match_data": {"op_code": 3, "data": "AA=="}}"#).unwrap();
        assert_eq!(e.match_data.unwrap().op_code, 3);
        let e = Envelope::parse(
            br#"{"cid":"5","match":{"match_id":"m.","size":2,"presences":[{"session_id":"a"},{"session_id":"b"}],"self":{"session_id":"b"}}}"#,
        )
        .unwrap();
        assert!(e.answers(5) && !e.answers(4));
        let m = e.match_.unwrap();
        assert_eq!(m.match_id, "m.");
        assert_eq!(m.presences.len(), 2);
        assert_eq!(m.self_.session_id, "b");
        let e = Envelope::parse(
            br#"{"match_presence_event":{"match_id":"m.","joins":[{"session_id":"c"}]}}"#,
        )
        .unwrap();
        assert_eq!(e.match_presence_event.unwrap().joins[0].session_id, "c");
        let e = Envelope::parse(
            br#"{"channel_message":{"channel_id":"2...r","content":"{\"t\":12,\"s\":1,\"n\":2}"}}"#,
        )
        .unwrap();
        assert_eq!(
            e.channel_message.unwrap().content,
            r#"{"t":12,"s":1,"n":2}"#
        );
        let e = Envelope::parse(br#"{"cid":"9","error":{"code":4,"message":"x"}}"#).unwrap();
        assert_eq!(e.error_label().as_deref(), Some("rt-error:4"));
        let e = Envelope::parse(br#"{"cid":"9","channel":{"id":"2...r","self":{}}}"#).unwrap();
        assert_eq!(e.channel.unwrap().id, "2...r");
        assert!(
            Envelope::parse(br#"{"cid":"1","channel_message_ack":{}}"#)
                .unwrap()
                .channel_message_ack
                .is_some()
        );
        assert!(Envelope::parse(b"nope").is_none());
    }

    #[test]
    fn classifies_replies() {
        assert_eq!(
            classify(br#"{"cid":"3","pong":{}}"#, "3", "pong"),
            Reply::Done
        );
        assert_eq!(
            classify(br#"{"pong":{},"cid":"3"}"#, "3", "pong"),
            Reply::Done
        );
        assert_eq!(
            classify(br#"{"cid":"2","pong":{}}"#, "3", "pong"),
            Reply::Other
        );
        assert_eq!(
            classify(br#"{"notifications":{}}"#, "3", "pong"),
            Reply::Other
        );
        assert_eq!(classify(b"not json", "3", "pong"), Reply::Other);
        assert_eq!(
            classify(
                br#"{"cid":"3","error":{"code":3,"message":"x"}}"#,
                "3",
                "pong"
            ),
            Reply::Failed("rt-error:3".into())
        );
        assert_eq!(
            classify(br#"{"cid":"3","status":{}}"#, "3", "pong"),
            Reply::Failed("rt-unexpected".into())
        );
    }
}
