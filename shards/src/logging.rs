//! Structured logs with tracing: human-readable by default, JSON on request.

use kairos_core::config::LoggerConfig;
use tracing_subscriber::EnvFilter;

pub fn init(cfg: &LoggerConfig) {
    let level = cfg.level.to_ascii_lowercase();
    // RUST_LOG, when set, refines the configured level per module. By
    // default renetcode is silenced: it logs an error for every malformed
    // datagram, which would let anyone flood the log (Kairos counts and
    // drops those itself).
    let directives = format!("{level},renetcode=off,renet=warn,quinn_proto=warn,rustls=warn");
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&directives));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = if cfg.format.eq_ignore_ascii_case("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
