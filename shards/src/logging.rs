//! Structured logs with tracing: human-readable by default, JSON on request.

use kairos_core::config::LoggerConfig;
use tracing_subscriber::EnvFilter;

pub fn init(cfg: &LoggerConfig) {
    let level = cfg.level.to_ascii_lowercase();
    // RUST_LOG, when set, refines the configured level per module.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&level));
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
