//! Nakama's configuration keys that Kairos does not act on.
//!
//! A game moving from Nakama brings its `config.yml`. Refusing every key
//! Kairos lacks would stop that file at the first tuning knob, and
//! ignoring them all would hide the ones that change what the server
//! does. So each such key has a policy:
//!
//! * **Inert**: a knob or a feature Kairos has no equivalent for yet (a
//!   buffer size, log rotation, the console, leaderboards). It is accepted;
//!   when its value differs from Nakama's default, the server says at start
//!   that it has no effect.
//! * **Refused**: a key that would make the server behave differently from
//!   what the operator asked for if it were ignored (TLS, single-match
//!   sessions). It is accepted at Nakama's default only; any other value is
//!   an error that names the key and says why.
//!
//! Whole sections Kairos does not have yet are inert as a whole. Keys that
//! neither Kairos nor Nakama knows stay errors.

use serde_json::{Map, Value};

use super::{ConfigError, flag_form};

enum Policy {
    Inert,
    Refused(&'static str),
}

use Policy::{Inert, Refused};

const TLS: &str = "Kairos does not terminate TLS yet; put a TLS proxy in front of it";
const SINGLE: &str = "only session.single_socket is enforced so far";

/// Nakama's keys inside sections Kairos has, with Nakama's default in flag
/// form (lists as their items joined by commas).
const KEYS: &[(&str, &str, Policy)] = &[
    ("logger.stdout", "true", Inert),
    ("logger.file", "", Inert),
    ("logger.rotation", "false", Inert),
    ("logger.max_size", "100", Inert),
    ("logger.max_age", "0", Inert),
    ("logger.max_backups", "0", Inert),
    ("logger.local_time", "false", Inert),
    ("logger.compress", "false", Inert),
    ("metrics.reporting_freq_sec", "60", Inert),
    ("metrics.custom_prefix", "custom", Inert),
    ("metrics.custom_scope_limit", "10000", Inert),
    ("session.single_match", "false", Refused(SINGLE)),
    ("session.single_party", "false", Refused(SINGLE)),
    ("session.single_session", "false", Refused(SINGLE)),
    (
        "socket.protocol",
        "tcp",
        Refused("Kairos listens on TCP for both IPv4 and IPv6 as socket.address says"),
    ),
    ("socket.read_buffer_size_bytes", "4096", Inert),
    ("socket.write_buffer_size_bytes", "4096", Inert),
    ("socket.write_wait_ms", "5000", Inert),
    ("socket.close_ack_wait_ms", "2000", Inert),
    ("socket.ping_backoff_threshold", "20", Inert),
    ("socket.proxy_count", "1", Inert),
    ("socket.response_headers", "", Inert),
    ("socket.ssl_certificate", "", Refused(TLS)),
    ("socket.ssl_private_key", "", Refused(TLS)),
    ("database.conn_max_lifetime_ms", "3600000", Inert),
    ("database.max_idle_conns", "100", Inert),
    ("database.dns_scan_interval_sec", "60", Inert),
    ("runtime.min_count", "0", Inert),
    ("runtime.max_count", "0", Inert),
    ("runtime.call_stack_size", "0", Inert),
    ("runtime.registry_size", "0", Inert),
    ("runtime.lua_call_stack_size", "128", Inert),
    ("runtime.lua_registry_size", "512", Inert),
    ("runtime.js_min_count", "16", Inert),
    ("runtime.js_max_count", "32", Inert),
    ("runtime.js_entrypoint", "", Inert),
    ("runtime.event_queue_size", "65536", Inert),
    ("runtime.event_queue_workers", "8", Inert),
    ("runtime.read_only_globals", "true", Inert),
    ("runtime.lua_read_only_globals", "true", Inert),
    ("runtime.js_read_only_globals", "true", Inert),
    ("runtime.lua_api_stacktrace", "false", Inert),
];

/// Nakama's sections Kairos does not have yet; every key in them is inert.
const SECTIONS: &[&str] = &[
    "social",
    "match",
    "tracker",
    "console",
    "leaderboard",
    "iap",
    "google_auth",
    "satori",
    "storage",
    "mfa",
    "party",
];

/// Takes Nakama-only keys out of `tree` so that the rest can be checked
/// strictly. Returns one line per key or section that was given a value it
/// has no effect with, or the error for a refused one.
pub(super) fn strip(tree: &mut Map<String, Value>) -> Result<Vec<String>, ConfigError> {
    let mut inert = Vec::new();
    // The path of the configuration file itself, as Nakama's own config
    // struct carries it.
    tree.remove("config");
    for section in SECTIONS {
        if tree.remove(*section).is_some() {
            inert.push(format!(
                "{section}: Kairos has no {section} section yet; it has no effect"
            ));
        }
    }
    for (key, default, policy) in KEYS {
        let (section, name) = key.split_once('.').expect("dotted key");
        let Some(Value::Object(map)) = tree.get_mut(section) else {
            continue;
        };
        let Some(value) = map.remove(name) else {
            continue;
        };
        let given = flag_form(&value);
        if given == *default {
            continue;
        }
        match policy {
            Inert => inert.push(format!(
                "{key}: Nakama's key, set to {given:?}, has no effect in Kairos"
            )),
            Refused(why) => {
                return Err(ConfigError(format!(
                    "configuration key `{key}`: {given:?} is not supported: {why}"
                )));
            }
        }
    }
    Ok(inert)
}
