//! Server configuration with Nakama's key names.
//!
//! Sources, later ones winning: built-in defaults, each `--config file.yml`
//! in order, then `--section.key value` flags. Every key is checked: an
//! unknown key or a bad value is an error that names it. Nakama's keys that
//! Kairos does not act on are accepted or refused by [`nakama_only`]'s
//! table.

pub mod kairos;
mod matchmaker;
mod nakama_only;
mod net_limits;
mod runtime_options;
mod runtime_tuning;
mod session_limits;

pub use kairos::{
    KairosConfig, MatchmakerConfig, MatchmakerTuning, MonoioDriver, NetLimits, RuntimeOptions,
    RuntimeTuning, SessionLimits,
};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Node name (1–16 characters).
    #[serde(deserialize_with = "string_like")]
    pub name: String,
    /// Directory for the embedded database and other state.
    #[serde(deserialize_with = "string_like")]
    pub data_dir: String,
    /// Seconds in-flight work may take to finish after SIGINT/SIGTERM.
    pub shutdown_grace_sec: u64,
    /// Number of shards (pinned executors); 0 means one per available core.
    pub shards: usize,
    pub logger: LoggerConfig,
    pub socket: SocketConfig,
    pub session: SessionConfig,
    pub database: DatabaseConfig,
    pub runtime: RuntimeConfig,
    pub metrics: MetricsConfig,
    /// Nakama's matchmaker keys (`matchmaker.*`).
    pub matchmaker: MatchmakerConfig,
    pub mesh: MeshConfig,
    pub udp: UdpConfig,
    pub quic: QuicConfig,
    /// Kairos's own limits and policies (`kairos.*`).
    pub kairos: KairosConfig,
    /// Nakama keys given with a value that has no effect in Kairos, one
    /// line each, for the server to say at start. Not a key itself.
    #[serde(skip)]
    pub inert_nakama_keys: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "kairos".into(),
            data_dir: "./data".into(),
            shutdown_grace_sec: 0,
            shards: 0,
            logger: LoggerConfig::default(),
            socket: SocketConfig::default(),
            session: SessionConfig::default(),
            database: DatabaseConfig::default(),
            runtime: RuntimeConfig::default(),
            metrics: MetricsConfig::default(),
            matchmaker: MatchmakerConfig::default(),
            mesh: MeshConfig::default(),
            udp: UdpConfig::default(),
            quic: QuicConfig::default(),
            kairos: KairosConfig::default(),
            inert_nakama_keys: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoggerConfig {
    /// `debug`, `info`, `warn` or `error` (any case).
    #[serde(deserialize_with = "string_like")]
    pub level: String,
    /// `text` (human-readable) or `json`.
    #[serde(deserialize_with = "string_like")]
    pub format: String,
}

impl Default for LoggerConfig {
    fn default() -> Self {
        LoggerConfig {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SocketConfig {
    /// Key clients present with HTTP Basic auth to authenticate.
    #[serde(deserialize_with = "string_like")]
    pub server_key: String,
    /// Address to listen on; empty means all interfaces.
    #[serde(deserialize_with = "string_like")]
    pub address: String,
    /// HTTP and WebSocket port; 0 picks a free port (printed at start).
    pub port: u16,
    /// Largest realtime message accepted, in bytes.
    pub max_message_size_bytes: usize,
    /// Largest HTTP request body accepted, in bytes.
    pub max_request_size_bytes: usize,
    /// Messages queued for one realtime session before it counts as too slow
    /// and is disconnected.
    pub outgoing_queue_size: usize,
    /// An HTTP connection or WebSocket that sends nothing for this long is closed.
    pub read_timeout_ms: u64,
    /// A write that makes no progress for this long closes the connection.
    pub write_timeout_ms: u64,
    /// Idle keep-alive HTTP connections are closed after this long.
    pub idle_timeout_ms: u64,
    /// Interval of WebSocket ping control frames.
    pub ping_period_ms: u64,
    /// A WebSocket that answers no ping for this long is closed.
    pub pong_wait_ms: u64,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            server_key: "defaultkey".into(),
            address: String::new(),
            port: 7350,
            max_message_size_bytes: 4096,
            max_request_size_bytes: 262_144,
            outgoing_queue_size: 64,
            read_timeout_ms: 10_000,
            write_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            ping_period_ms: 15_000,
            pong_wait_ms: 25_000,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    #[serde(deserialize_with = "string_like")]
    pub encryption_key: String,
    #[serde(deserialize_with = "string_like")]
    pub refresh_encryption_key: String,
    pub token_expiry_sec: i64,
    pub refresh_token_expiry_sec: i64,
    /// At most one realtime socket per user; a new one closes the older.
    pub single_socket: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            encryption_key: "defaultencryptionkey".into(),
            refresh_encryption_key: "defaultrefreshencryptionkey".into(),
            token_expiry_sec: 60,
            refresh_token_expiry_sec: 3600,
            single_socket: false,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// PostgreSQL or CockroachDB addresses (`postgres://user@host:port/db` or
    /// Nakama's `user:pass@host:port/db`). Empty: the embedded SQLite store.
    #[serde(deserialize_with = "string_list")]
    pub address: Vec<String>,
    /// Most connections open to PostgreSQL at once.
    pub max_open_conns: usize,
    /// Threads of the persistence pool.
    pub pool_threads: usize,
    /// bcrypt cost for passwords (Nakama uses 10).
    pub password_hash_cost: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            address: Vec::new(),
            max_open_conns: 100,
            pool_threads: 2,
            password_hash_cost: 10,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Key that server-to-server RPC calls present as `?http_key=`.
    #[serde(deserialize_with = "string_like")]
    pub http_key: String,
    /// Directory of the Lua modules (every `*.lua` file in it); empty
    /// means `<data_dir>/modules`, as in Nakama. A missing directory
    /// means no Lua modules.
    #[serde(deserialize_with = "string_like")]
    pub path: String,
    /// Lua states each shard makes as soon as it first runs Lua code
    /// (Nakama: the pool's size at start, for the whole node).
    pub lua_min_count: usize,
    /// Most Lua states a shard holds at once: Lua calls in flight on one
    /// shard beyond it wait for a state (Nakama: for the whole node).
    pub lua_max_count: usize,
    /// Nakama's `runtime.env`: `key=value` entries game code reads as its
    /// context's `env` (the value may hold `=`; a key given twice keeps
    /// its last value). A flag may be given once per entry; an empty one
    /// clears the entries before it.
    #[serde(deserialize_with = "string_list")]
    pub env: Vec<String>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            http_key: "defaulthttpkey".into(),
            path: String::new(),
            lua_min_count: 16,
            lua_max_count: 48,
            env: Vec::new(),
        }
    }
}

impl RuntimeConfig {
    /// `runtime.env` as a map, as game code sees it.
    pub fn environment(&self) -> std::collections::BTreeMap<&str, &str> {
        self.env.iter().filter_map(|e| e.split_once('=')).collect()
    }

    /// `runtime.env` as Nakama's `get_config` lists it: `key=value`, one
    /// per key, sorted.
    pub fn env_entries(&self) -> Vec<String> {
        self.environment()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// `runtime.path`, or `<data_dir>/modules` when it is empty.
    pub fn modules_dir(&self, data_dir: &str) -> String {
        if self.path.is_empty() {
            format!("{}/modules", data_dir.trim_end_matches('/'))
        } else {
            self.path.clone()
        }
    }
}

/// Prometheus metrics, with Nakama's key names.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Port of the Prometheus scrape endpoint (on `socket.address`); 0 turns
    /// it off.
    pub prometheus_port: u16,
    /// Prefix of Nakama's metric names, joined with `_`
    /// (`nakama_AuthenticateDevice_count`). Nakama's default, so that
    /// dashboards built for Nakama work unchanged. Empty: no prefix.
    #[serde(deserialize_with = "string_like")]
    pub prefix: String,
    /// When set, a constant `namespace` label on every metric.
    #[serde(deserialize_with = "string_like")]
    pub namespace: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            prometheus_port: 0,
            prefix: "nakama".into(),
            namespace: String::new(),
        }
    }
}

/// The cross-shard message mesh (Kairos's own keys).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MeshConfig {
    /// Capacity of each shard-to-shard queue.
    pub queue_size: usize,
    /// Microseconds an idle shard keeps polling before it parks; trades a
    /// little CPU for not paying a cross-core wake-up on every hop.
    pub spin_before_park_us: u64,
}

impl Default for MeshConfig {
    fn default() -> Self {
        MeshConfig {
            queue_size: 4096,
            spin_before_park_us: 50,
        }
    }
}

/// Reliable UDP (Kairos's own keys): netcode.io connect tokens and
/// encryption under renet's channels, on every shard's UDP socket.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UdpConfig {
    /// Serve reliable UDP at all.
    pub enabled: bool,
    /// UDP port on `socket.address`; 0 picks a free one (printed at start).
    pub port: u16,
    /// `host:port` clients are told to connect to (put in connect tokens).
    /// Empty: `socket.address` (or 127.0.0.1 when that is empty) with the
    /// bound port. Set it when clients reach the server through another
    /// address (NAT, a public IP).
    #[serde(deserialize_with = "string_like")]
    pub public_address: String,
    /// How long a connect token stays usable for connecting.
    pub connect_token_expiry_sec: u64,
    /// Silence after which either side drops the connection.
    pub timeout_sec: i32,
    /// Interval of the transport tick (resends, acks, keepalives).
    pub tick_ms: u64,
    /// Flush messages at most this often, in microseconds. 0: at the end
    /// of each batch of work the shard does, for the lowest latency; under
    /// load the batch grows, and its messages share datagrams. A spacing
    /// (e.g. 500) packs more still, at the cost of up to that much
    /// latency; it is rarely needed.
    pub flush_spacing_us: u64,
    /// Most connections per shard (at most 1024).
    pub max_clients: usize,
    /// The 32-byte key connect tokens are sealed with, in base64. Empty: a
    /// random key per start (tokens are short-lived). Nodes of one cluster
    /// must share it.
    #[serde(deserialize_with = "string_like")]
    pub private_key: String,
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig {
            enabled: true,
            port: 7352,
            public_address: String::new(),
            connect_token_expiry_sec: 30,
            timeout_sec: 10,
            tick_ms: 10,
            flush_spacing_us: 0,
            max_clients: 1024,
            private_key: String::new(),
        }
    }
}

/// QUIC (Kairos's own keys), on every shard's UDP socket.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QuicConfig {
    /// Serve QUIC at all.
    pub enabled: bool,
    /// UDP port on `socket.address`; 0 picks a free one (printed at start).
    pub port: u16,
    /// PEM certificate chain. Empty: a self-signed certificate generated
    /// into `data_dir` on first start (`quic.crt`, `quic.key`).
    #[serde(deserialize_with = "string_like")]
    pub certificate: String,
    /// PEM private key of `certificate`.
    #[serde(deserialize_with = "string_like")]
    pub private_key: String,
    /// A connection silent for this long is closed (at least 10 s: clients
    /// ping an idle connection every 5 s).
    pub idle_timeout_ms: u64,
}

impl Default for QuicConfig {
    fn default() -> Self {
        QuicConfig {
            enabled: true,
            port: 7353,
            certificate: String::new(),
            private_key: String::new(),
            idle_timeout_ms: 30_000,
        }
    }
}

/// A configuration problem, naming the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Accumulates configuration sources and builds a checked [`Config`].
#[derive(Default)]
pub struct ConfigBuilder {
    tree: Map<String, Value>,
}

impl ConfigBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges a YAML document (the contents of a `--config` file).
    pub fn yaml(&mut self, source: &str, origin: &str) -> Result<&mut Self, ConfigError> {
        let value: Value = serde_yaml::from_str(source)
            .map_err(|e| ConfigError(format!("{origin}: invalid YAML: {e}")))?;
        match value {
            Value::Null => {}
            Value::Object(map) => merge(&mut self.tree, map),
            _ => {
                return Err(ConfigError(format!(
                    "{origin}: the top level must be a mapping of keys"
                )));
            }
        }
        Ok(self)
    }

    /// Sets one dotted key (`socket.port`) from a flag's text value.
    pub fn set(&mut self, key: &str, raw: &str) -> Result<&mut Self, ConfigError> {
        let parts: Vec<&str> = key.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(ConfigError(format!("--{key}: not a configuration key")));
        }
        let mut value = scalar(raw);
        if key == "runtime.env" {
            // Repeatable: each flag adds an entry (a value may hold commas).
            let mut list = match self.tree.get("runtime").and_then(|r| r.get("env")) {
                Some(Value::Array(items)) => items.clone(),
                Some(Value::String(s)) if !s.is_empty() => vec![Value::String(s.clone())],
                _ => Vec::new(),
            };
            // An empty value (the flag form of no entries) clears them.
            if raw.is_empty() {
                list.clear();
            } else {
                list.push(Value::String(raw.to_string()));
            }
            value = Value::Array(list);
        }
        let mut node = &mut self.tree;
        for part in &parts[..parts.len() - 1] {
            let entry = node
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = entry.as_object_mut().expect("just made an object");
        }
        node.insert(parts[parts.len() - 1].to_string(), value);
        Ok(self)
    }

    /// Deserializes and validates.
    pub fn build(&self) -> Result<Config, ConfigError> {
        let mut tree = self.tree.clone();
        let inert = nakama_only::strip(&mut tree)?;
        let value = Value::Object(tree);
        let mut config: Config = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            if path == "." || path.is_empty() {
                ConfigError(format!("configuration: {inner}"))
            } else {
                ConfigError(format!("configuration key `{path}`: {inner}"))
            }
        })?;
        config.validate()?;
        config.inert_nakama_keys = inert;
        Ok(config)
    }
}

impl Config {
    /// Every key as a flag would set it (`socket.port`), with this
    /// configuration's value as a flag would spell it (a list as its items
    /// joined by commas), sorted by key: what `kairos --help` lists.
    pub fn keys(&self) -> Vec<(String, String)> {
        fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
            match value {
                Value::Object(map) => {
                    for (k, v) in map {
                        let key = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(&key, v, out);
                    }
                }
                leaf => out.push((prefix.to_owned(), flag_form(leaf))),
            }
        }
        let mut out = Vec::new();
        let value = serde_json::to_value(self).expect("a configuration always serializes");
        walk("", &value, &mut out);
        out
    }

    /// The keys still at their published default where that default is a
    /// secret, in Nakama's order: anyone can forge sessions or call the
    /// server with them. The server warns about each at start, with
    /// Nakama's words.
    pub fn insecure_defaults(&self) -> Vec<&'static str> {
        let defaults = Config::default();
        [
            (
                "socket.server_key",
                self.socket.server_key == defaults.socket.server_key,
            ),
            (
                "session.encryption_key",
                self.session.encryption_key == defaults.session.encryption_key,
            ),
            (
                "session.refresh_encryption_key",
                self.session.refresh_encryption_key == defaults.session.refresh_encryption_key,
            ),
            (
                "runtime.http_key",
                self.runtime.http_key == defaults.runtime.http_key,
            ),
        ]
        .into_iter()
        .filter(|(_, default)| *default)
        .map(|(key, _)| key)
        .collect()
    }

    /// Checks values that the types alone don't.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err =
            |key: &str, why: &str| Err(ConfigError(format!("configuration key `{key}`: {why}")));
        self.matchmaker.validate()?;
        if self.name.is_empty() || self.name.chars().count() > 16 {
            return err("name", "must be 1-16 characters");
        }
        if self.data_dir.is_empty() {
            return err("data_dir", "must not be empty");
        }
        if !["debug", "info", "warn", "error"]
            .contains(&self.logger.level.to_ascii_lowercase().as_str())
        {
            return err("logger.level", "must be one of debug, info, warn, error");
        }
        if !["text", "json"].contains(&self.logger.format.to_ascii_lowercase().as_str()) {
            return err("logger.format", "must be text or json");
        }
        if self.socket.server_key.is_empty() {
            return err("socket.server_key", "must not be empty");
        }
        if self.socket.max_message_size_bytes < 128 {
            return err("socket.max_message_size_bytes", "must be at least 128");
        }
        if self.socket.max_request_size_bytes < 128 {
            return err("socket.max_request_size_bytes", "must be at least 128");
        }
        if self.socket.outgoing_queue_size == 0 {
            return err("socket.outgoing_queue_size", "must be at least 1");
        }
        for (key, v) in [
            ("socket.read_timeout_ms", self.socket.read_timeout_ms),
            ("socket.write_timeout_ms", self.socket.write_timeout_ms),
            ("socket.idle_timeout_ms", self.socket.idle_timeout_ms),
            ("socket.ping_period_ms", self.socket.ping_period_ms),
            ("socket.pong_wait_ms", self.socket.pong_wait_ms),
        ] {
            if v == 0 {
                return err(key, "must be greater than 0");
            }
        }
        if self.socket.pong_wait_ms <= self.socket.ping_period_ms {
            return err(
                "socket.pong_wait_ms",
                "must be greater than socket.ping_period_ms",
            );
        }
        if self.session.encryption_key.is_empty() {
            return err("session.encryption_key", "must not be empty");
        }
        if self.session.refresh_encryption_key.is_empty() {
            return err("session.refresh_encryption_key", "must not be empty");
        }
        if self.session.encryption_key == self.session.refresh_encryption_key {
            return err(
                "session.refresh_encryption_key",
                "must differ from session.encryption_key",
            );
        }
        if self.session.token_expiry_sec < 1 {
            return err("session.token_expiry_sec", "must be at least 1");
        }
        if self.session.refresh_token_expiry_sec < 1 {
            return err("session.refresh_token_expiry_sec", "must be at least 1");
        }
        if self.database.address.len() > 1 {
            return err("database.address", "only one address is supported");
        }
        if self.database.max_open_conns == 0 {
            return err("database.max_open_conns", "must be at least 1");
        }
        if self.database.pool_threads == 0 {
            return err("database.pool_threads", "must be at least 1");
        }
        if !(4..=31).contains(&self.database.password_hash_cost) {
            return err("database.password_hash_cost", "must be 4-31");
        }
        if self.runtime.http_key.is_empty() {
            return err("runtime.http_key", "must not be empty");
        }
        if self.runtime.lua_max_count == 0
            || self.runtime.lua_min_count > self.runtime.lua_max_count
        {
            return err(
                "runtime.lua_max_count",
                "must be at least 1 and at least runtime.lua_min_count",
            );
        }
        // Nakama refuses to start on an entry without `=`.
        if let Some(bad) = self.runtime.env.iter().find(|e| !e.contains('=')) {
            return Err(ConfigError(format!(
                "configuration key `runtime.env`: {bad:?} is not a key=value entry"
            )));
        }
        if self.runtime.env.len() > 1000 {
            return err("runtime.env", "at most 1000 entries");
        }
        let name_ok = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        };
        if !name_ok(&self.metrics.prefix) {
            return err(
                "metrics.prefix",
                "must be letters, digits, `_` or `:`, and not start with a digit",
            );
        }
        if self.metrics.prometheus_port != 0 && self.metrics.prometheus_port == self.socket.port {
            return err("metrics.prometheus_port", "must differ from socket.port");
        }
        if self.mesh.queue_size < 2 {
            return err("mesh.queue_size", "must be at least 2");
        }
        if self.udp.enabled {
            if !(1..=1024).contains(&self.udp.max_clients) {
                return err("udp.max_clients", "must be 1-1024");
            }
            if self.udp.timeout_sec < 1 {
                return err("udp.timeout_sec", "must be at least 1");
            }
            if self.udp.connect_token_expiry_sec == 0 {
                return err("udp.connect_token_expiry_sec", "must be at least 1");
            }
            if !(1..=1000).contains(&self.udp.tick_ms) {
                return err("udp.tick_ms", "must be 1-1000");
            }
            if self.udp.flush_spacing_us > 100_000 {
                return err("udp.flush_spacing_us", "must be at most 100000");
            }
            if !self.udp.private_key.is_empty() {
                use base64::Engine;
                let key = base64::engine::general_purpose::STANDARD.decode(&self.udp.private_key);
                if key.map(|k| k.len()) != Ok(32) {
                    return err("udp.private_key", "must be 32 bytes in base64");
                }
            }
            if self.udp.port != 0 && self.udp.port == self.socket.port {
                return err("udp.port", "must differ from socket.port");
            }
        }
        if self.quic.enabled {
            if self.quic.certificate.is_empty() != self.quic.private_key.is_empty() {
                return err(
                    "quic.certificate",
                    "quic.certificate and quic.private_key go together",
                );
            }
            if self.quic.idle_timeout_ms < 10_000 {
                // Clients keep idle connections alive with a ping every 5 s.
                return err("quic.idle_timeout_ms", "must be at least 10000");
            }
            if self.udp.enabled && self.quic.port != 0 && self.quic.port == self.udp.port {
                return err("quic.port", "must differ from udp.port");
            }
        }
        self.kairos.validate()
    }

    /// The shard count to run: `shards`, or `cores` (what the machine
    /// offers, which the caller asks the OS for) when 0.
    pub fn shard_count(&self, cores: usize) -> usize {
        if self.shards > 0 {
            self.shards
        } else {
            cores.max(1)
        }
    }
}

/// Parses command-line arguments (without the program name) into a
/// configuration, with each `--config` file's text from `read_file` (the
/// caller does the I/O). Returns it and the positional arguments (a
/// subcommand such as `migrate up`).
pub fn parse_args(
    args: &[String],
    read_file: &dyn Fn(&str) -> std::io::Result<String>,
) -> Result<(Config, Vec<String>), ConfigError> {
    let mut files = Vec::new();
    let mut flags = Vec::new();
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if let Some(flag) = arg.strip_prefix("--") {
            let (key, value) = match flag.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => {
                    i += 1;
                    let v = args
                        .get(i)
                        .ok_or_else(|| ConfigError(format!("--{flag}: missing value")))?;
                    (flag.to_string(), v.clone())
                }
            };
            if key == "config" {
                files.push(value);
            } else {
                flags.push((key, value));
            }
        } else {
            positional.push(arg.clone());
        }
        i += 1;
    }
    let mut builder = ConfigBuilder::new();
    for file in &files {
        let text = read_file(file).map_err(|e| ConfigError(format!("--config {file}: {e}")))?;
        builder.yaml(&text, file)?;
    }
    for (key, value) in &flags {
        builder.set(key, value)?;
    }
    Ok((builder.build()?, positional))
}

fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// A flag's text as the JSON scalar it most likely means; string fields
/// accept numbers and booleans back as text.
fn scalar(raw: &str) -> Value {
    if raw == "true" || raw == "false" {
        return Value::Bool(raw == "true");
    }
    if let Ok(n) = raw.parse::<i64>() {
        return Value::from(n);
    }
    if let Ok(n) = raw.parse::<u64>() {
        return Value::from(n);
    }
    Value::String(raw.to_string())
}

/// A value as a flag would spell it: a list as its items joined by commas,
/// null or an empty list or mapping as nothing.
fn flag_form(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(flag_form).collect::<Vec<_>>().join(","),
        Value::Object(map) if map.is_empty() => String::new(),
        other => other.to_string(),
    }
}

fn string_like<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string, found {other}"
        ))),
    }
}

/// A number, or a flag's text that spells one (flags leave fractions as
/// text, so that string fields keep them as written).
fn number_like<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| serde::de::Error::custom(format!("expected a number, found {n}"))),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| serde::de::Error::custom(format!("expected a number, found {s:?}"))),
        other => Err(serde::de::Error::custom(format!(
            "expected a number, found {other}"
        ))),
    }
}

fn string_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s]),
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(serde::de::Error::custom(format!(
                    "expected a string, found {other}"
                ))),
            })
            .collect(),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or a list, found {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// `parse_args` with no files to read.
    fn parse_args_with(list: &[String]) -> Result<(Config, Vec<String>), ConfigError> {
        parse_args(list, &|_| Err(std::io::ErrorKind::NotFound.into()))
    }

    #[test]
    fn every_listed_key_is_a_key_and_its_value_reads_back() {
        let defaults = Config::default();
        let keys = defaults.keys();
        assert!(keys.len() > 40, "only {} keys listed", keys.len());
        for (key, _) in &keys {
            assert!(!key.is_empty() && !key.starts_with('.'), "{key:?}");
        }
        for name in [
            "socket.port",
            "database.address",
            "udp.flush_spacing_us",
            "quic.port",
        ] {
            assert!(keys.iter().any(|(k, _)| k == name), "{name} is not listed");
        }
        // Every key, set by flag to the value listed, gives the defaults
        // back: the list names real keys, in the form the flags take.
        let mut b = ConfigBuilder::new();
        for (key, value) in &keys {
            b.set(key, value).unwrap();
        }
        assert_eq!(b.build().unwrap(), defaults);
        // And a changed value is listed as changed.
        let changed = ConfigBuilder::new()
            .set("socket.port", "7400")
            .unwrap()
            .build()
            .unwrap();
        assert!(
            changed
                .keys()
                .contains(&("socket.port".into(), "7400".into()))
        );
    }

    #[test]
    fn a_fraction_is_read_from_a_flag_and_checked() {
        let set = |v: &str| {
            ConfigBuilder::new()
                .set("kairos.session.pack_matches_below", v)
                .and_then(|b| b.build())
        };
        let c = set("0.25").unwrap();
        assert_eq!(c.kairos.session.pack_matches_below, 0.25);
        assert_eq!(set("0").unwrap().kairos.session.pack_matches_below, 0.0);
        assert_eq!(set("1").unwrap().kairos.session.pack_matches_below, 1.0);
        for bad in ["1.5", "-0.1", "NaN", "inf", "half", ""] {
            assert!(set(bad).is_err(), "{bad:?} accepted");
        }
        // A string field keeps a fraction as written.
        let named = ConfigBuilder::new()
            .set("name", "1.10")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(named.name, "1.10");
    }

    #[test]
    fn a_nakama_config_file_loads_and_says_what_has_no_effect() {
        let nakama_yml = r#"
name: nakama1
logger:
  level: DEBUG
  stdout: true
  file: /var/log/nakama.log
  max_size: 100
session:
  token_expiry_sec: 7200
  single_match: false
socket:
  server_key: s3cret
  write_wait_ms: 5000
  ping_backoff_threshold: 40
  response_headers: ["X-Game: one"]
database:
  address: ["root@db:26257"]
  max_idle_conns: 50
runtime:
  http_key: h
  path: /nakama/data/modules
  lua_max_count: 48
  lua_call_stack_size: 200
console:
  port: 7351
  username: admin
leaderboard:
  blacklist_rank_cache: ["*"]
"#;
        let mut b = ConfigBuilder::new();
        b.yaml(nakama_yml, "config.yml").unwrap();
        b.set("matchmaker.max_tickets", "5").unwrap();
        let c = b.build().unwrap();
        assert_eq!(c.name, "nakama1");
        assert_eq!(c.session.token_expiry_sec, 7200);
        assert_eq!(c.socket.server_key, "s3cret");
        assert_eq!(c.runtime.http_key, "h");
        // Nakama's Lua keys Kairos acts on.
        assert_eq!(c.runtime.path, "/nakama/data/modules");
        assert_eq!(c.runtime.modules_dir("/data"), "/nakama/data/modules");
        assert_eq!(RuntimeConfig::default().modules_dir("/d/"), "/d/modules");
        assert_eq!(c.runtime.lua_max_count, 48);
        let said = c.inert_nakama_keys.join("\n");
        for key in [
            "console:",
            "leaderboard:",
            "logger.file:",
            "socket.ping_backoff_threshold:",
            "socket.response_headers:",
            "database.max_idle_conns:",
            "runtime.lua_call_stack_size:",
        ] {
            assert!(said.contains(key), "{key} not reported in:\n{said}");
        }
        // Keys at Nakama's default are accepted without a word.
        for key in [
            "logger.stdout",
            "logger.max_size",
            "socket.write_wait_ms",
            "runtime.lua_max_count",
            "session.single_match",
        ] {
            assert!(!said.contains(key), "{key} reported in:\n{said}");
        }
        assert_eq!(c.inert_nakama_keys.len(), 7, "{said}");
        assert_eq!(c.matchmaker.max_tickets, 5);
        // Not a key: it is not listed by --help.
        assert!(!c.keys().iter().any(|(k, _)| k.contains("inert")));
    }

    #[test]
    fn nakama_keys_kairos_would_betray_are_refused() {
        for (key, value, why) in [
            ("socket.ssl_certificate", "/certs/cert.pem", "TLS"),
            ("socket.ssl_private_key", "/certs/key.pem", "TLS"),
            ("session.single_match", "true", "single_socket"),
            ("session.single_session", "true", "single_socket"),
            ("socket.protocol", "udp", "TCP"),
        ] {
            let mut b = ConfigBuilder::new();
            b.set(key, value).unwrap();
            let e = b.build().unwrap_err().to_string();
            assert!(e.contains(key) && e.contains(why), "{key}: {e}");
        }
        // A key neither server knows is still an error.
        let mut b = ConfigBuilder::new();
        b.set("console.port", "7351").unwrap();
        b.set("socket.prot", "1").unwrap();
        let e = b.build().unwrap_err().to_string();
        assert!(e.contains("prot"), "{e}");
    }

    #[test]
    fn runtime_env_from_a_file_and_repeated_flags() {
        let mut b = ConfigBuilder::new();
        b.yaml(
            "runtime:\n  env:\n    - \"a=1\"\n    - \"url=http://x/?q=1,2\"\n",
            "file",
        )
        .unwrap();
        let c = b.build().unwrap();
        assert_eq!(c.runtime.environment().get("url"), Some(&"http://x/?q=1,2"));
        // Each flag adds an entry; a key given again keeps its last value.
        b.set("runtime.env", "b=two=2").unwrap();
        b.set("runtime.env", "a=3").unwrap();
        let c = b.build().unwrap();
        let env = c.runtime.environment();
        assert_eq!(
            (env["a"], env["b"], env.len()),
            ("3", "two=2", 3),
            "{env:?}"
        );
        assert_eq!(
            c.runtime.env_entries(),
            vec!["a=3", "b=two=2", "url=http://x/?q=1,2"]
        );
        // An entry without `=` stops the start, as in Nakama.
        b.set("runtime.env", "oops").unwrap();
        let e = b.build().unwrap_err().to_string();
        assert!(e.contains("runtime.env") && e.contains("oops"), "{e}");
    }

    #[test]
    fn defaults_are_nakamas() {
        let c = ConfigBuilder::new().build().unwrap();
        assert_eq!(c.socket.port, 7350);
        assert_eq!(c.socket.server_key, "defaultkey");
        assert_eq!(c.socket.max_message_size_bytes, 4096);
        assert_eq!(c.socket.max_request_size_bytes, 262_144);
        assert_eq!(c.socket.outgoing_queue_size, 64);
        assert_eq!((c.udp.port, c.quic.port), (7352, 7353));
        assert!(c.udp.enabled && c.quic.enabled);
        assert_eq!(c.session.token_expiry_sec, 60);
        assert_eq!(c.session.refresh_token_expiry_sec, 3600);
        assert_eq!(c.runtime.http_key, "defaulthttpkey");
        assert!(c.database.address.is_empty());
    }

    #[test]
    fn flags_override_files() {
        let files = |name: &str| {
            match name {
            "a.yml" => Ok("name: node1\nsocket:\n  port: 8000\n  server_key: fromfile\nsession:\n  single_socket: true\n".to_string()),
            _ => Err(std::io::ErrorKind::NotFound.into()),
        }
        };
        let (c, rest) = parse_args(
            &args(&[
                "--config",
                "a.yml",
                "--socket.port",
                "9000",
                "--database.address=postgres://postgres@127.0.0.1:5432/test",
                "--socket.server_key",
                "12345",
                "migrate",
                "up",
            ]),
            &files,
        )
        .unwrap();
        assert_eq!(c.name, "node1");
        assert_eq!(c.socket.port, 9000);
        assert_eq!(c.socket.server_key, "12345");
        assert!(c.session.single_socket);
        assert_eq!(
            c.database.address,
            vec!["postgres://postgres@127.0.0.1:5432/test".to_string()]
        );
        assert_eq!(rest, args(&["migrate", "up"]));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = parse_args_with(&args(&["--socket.prot", "1"])).unwrap_err();
        assert!(e.0.contains("socket") && e.0.contains("prot"), "{e}");
        let e = parse_args_with(&args(&["--socket.port", "abc"])).unwrap_err();
        assert!(e.0.contains("socket.port"), "{e}");
        let e = parse_args_with(&args(&["--socket.port", "70000"])).unwrap_err();
        assert!(e.0.contains("socket.port"), "{e}");
        let e = parse_args_with(&args(&["--logger.level", "LOUD"])).unwrap_err();
        assert!(e.0.contains("logger.level"), "{e}");
        let e = parse_args_with(&args(&[
            "--session.refresh_encryption_key",
            "defaultencryptionkey",
        ]))
        .unwrap_err();
        assert!(e.0.contains("refresh_encryption_key"), "{e}");
        let e = parse_args_with(&args(&["--socket.port"])).unwrap_err();
        assert!(e.0.contains("missing value"), "{e}");
        let e = parse_args_with(&args(&["--bogus", "1"])).unwrap_err();
        assert!(e.0.contains("bogus"), "{e}");
    }

    #[test]
    fn metrics_keys() {
        let c = ConfigBuilder::new().build().unwrap();
        assert_eq!(c.metrics.prometheus_port, 0, "off by default");
        assert_eq!(c.metrics.prefix, "nakama");
        assert_eq!(c.metrics.namespace, "");
        let (c, _) = parse_args_with(&args(&[
            "--metrics.prometheus_port",
            "9100",
            "--metrics.prefix",
            "game_1",
            "--metrics.namespace",
            "eu",
        ]))
        .unwrap();
        assert_eq!(c.metrics.prometheus_port, 9100);
        assert_eq!(c.metrics.prefix, "game_1");
        assert_eq!(c.metrics.namespace, "eu");
        let (c, _) = parse_args_with(&args(&["--metrics.prefix", ""])).unwrap();
        assert_eq!(c.metrics.prefix, "");
        for bad in ["1abc", "a-b", "a b", "é"] {
            let e = parse_args_with(&args(&["--metrics.prefix", bad])).unwrap_err();
            assert!(e.0.contains("metrics.prefix"), "{bad}: {e}");
        }
        let e = parse_args_with(&args(&["--metrics.prometheus_port", "70000"])).unwrap_err();
        assert!(e.0.contains("metrics.prometheus_port"), "{e}");
        let e = parse_args_with(&args(&["--metrics.prometheus_port", "7350"])).unwrap_err();
        assert!(e.0.contains("metrics.prometheus_port"), "{e}");
        let e = parse_args_with(&args(&["--metrics.reporting", "1"])).unwrap_err();
        assert!(e.0.contains("reporting"), "{e}");
    }

    #[test]
    fn uppercase_log_levels_are_accepted() {
        let (c, _) = parse_args_with(&args(&["--logger.level", "DEBUG", "--shards", "2"])).unwrap();
        assert_eq!(c.logger.level, "DEBUG");
        assert_eq!(c.shard_count(8), 2);
    }
}
