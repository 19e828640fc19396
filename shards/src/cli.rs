//! The `kairos` command line: `kairos [--config f.yml] [--section.key value]...`
//! runs the server; `kairos migrate up|status` manages the schema.

use kairos_core::config::parse_args;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::server::{self, Server};

const USAGE: &str =
    "usage: kairos [--config file.yml]... [--section.key value]... [migrate up|status]
       kairos healthcheck [port]
       kairos --version";

/// The usage line and every configuration key with its default, from the
/// configuration itself (so the list cannot fall behind it).
fn help() -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "{USAGE}\n\n\
         Configuration keys and their defaults. Set them as flags\n\
         (--socket.port 7350) or in a --config YAML file (socket: {{port: 7350}});\n\
         README.md (Configuration) says what each one does.\n\n"
    );
    let keys = kairos_core::config::Config::default().keys();
    let width = keys.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in keys {
        let value = if value.is_empty() { "\"\"" } else { &value };
        let _ = writeln!(out, "  --{key:<width$}  {value}");
    }
    out
}

/// Runs the stock server's command line (its game code is the examples of
/// [`crate::modules::examples`], registered when
/// `kairos.runtime.examples` is set); returns the process exit code.
pub fn main(args: Vec<String>) -> i32 {
    main_with(args, None)
}

/// Runs the command line with a game's own `modules`, or the stock ones
/// when `None`; returns the process exit code.
pub fn main_with(args: Vec<String>, modules: Option<crate::modules::Modules>) -> i32 {
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("kairos {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{}", help());
        return 0;
    }
    let (config, positional) = match parse_args(&args, &|file| std::fs::read_to_string(file)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("kairos: {e}");
            return 2;
        }
    };
    crate::logging::init(&config.logger);
    for line in &config.inert_nakama_keys {
        tracing::warn!("configuration: {line}");
    }
    for param in config.insecure_defaults() {
        tracing::warn!(
            param,
            "WARNING: insecure default parameter value, change this for production!"
        );
    }
    match positional
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {
            let mut modules = modules.unwrap_or_else(|| {
                let mut stock = crate::modules::Modules::default();
                if config.kairos.runtime.examples {
                    crate::modules::examples::register(&mut stock);
                }
                stock
            });
            // Nakama's Lua modules of runtime.path, in the same registry.
            match crate::lua::install(&config, &mut modules) {
                Ok(0) => {}
                Ok(n) => tracing::info!(modules = n, "Lua modules loaded"),
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("kairos: {e}");
                    return 1;
                }
            }
            run(config, modules)
        }
        ["migrate", action] => migrate(config, action),
        ["healthcheck"] => healthcheck("7350"),
        ["healthcheck", port] => healthcheck(port),
        _ => {
            eprintln!("kairos: unexpected arguments {positional:?}\n{USAGE}");
            2
        }
    }
}

/// `kairos healthcheck [port]`, as `nakama healthcheck`: GETs `/` on
/// localhost and exits 0 on a 200, 1 otherwise, for container health
/// checks. Plain blocking I/O: no server runs in this process.
fn healthcheck(port: &str) -> i32 {
    use std::io::{Read, Write};
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;

    const TIMEOUT: Duration = Duration::from_secs(5);
    let check = || -> Result<(), String> {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{port:?} is not a port"))?;
        let addrs = ("localhost", port)
            .to_socket_addrs()
            .map_err(|e| format!("localhost: {e}"))?;
        let mut last = String::from("localhost has no address");
        for addr in addrs {
            let mut stream = match TcpStream::connect_timeout(&addr, TIMEOUT) {
                Ok(s) => s,
                Err(e) => {
                    last = format!("{addr}: {e}");
                    continue;
                }
            };
            stream
                .set_read_timeout(Some(TIMEOUT))
                .and_then(|_| stream.set_write_timeout(Some(TIMEOUT)))
                .and_then(|_| {
                    stream.write_all(
                        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    )
                })
                .map_err(|e| format!("{addr}: {e}"))?;
            let mut head = [0u8; 12];
            stream
                .read_exact(&mut head)
                .map_err(|e| format!("{addr}: {e}"))?;
            return match &head {
                b"HTTP/1.1 200" | b"HTTP/1.0 200" => Ok(()),
                other => Err(format!(
                    "{addr} answered {:?}",
                    String::from_utf8_lossy(other)
                )),
            };
        }
        Err(last)
    };
    match check() {
        Ok(()) => {
            println!("healthcheck ok");
            0
        }
        Err(e) => {
            eprintln!("kairos: healthcheck failed: {e}");
            1
        }
    }
}

fn migrate(config: kairos_core::config::Config, action: &str) -> i32 {
    let persist = match server::open_store(&config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("kairos: {e}");
            return 1;
        }
    };
    let result = match action {
        "up" => persist.block_on(persist.run(|s| async move { s.migrate_up().await })),
        "status" => persist.block_on(persist.run(|s| async move { s.migrate_status().await })),
        other => {
            eprintln!("kairos: unknown migrate action {other:?} (use up or status)");
            return 2;
        }
    };
    let code = match result {
        Ok(list) => {
            for m in list {
                let state = match m.applied_at {
                    Some(t) => format!("applied {}", kairos_core::time::rfc3339(t)),
                    None => "pending".to_string(),
                };
                println!("{:04} {:<32} {state}", m.version, m.name);
            }
            0
        }
        Err(e) => {
            eprintln!("kairos: migrate {action}: {}", e.message);
            1
        }
    };
    persist.shutdown();
    code
}

fn run(config: kairos_core::config::Config, modules: crate::modules::Modules) -> i32 {
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kairos: cannot install signal handlers: {e}");
            return 1;
        }
    };
    let name = config.name.clone();
    let shards = config.shard_count(crate::rt::available_cores());
    tracing::info!(rpcs = ?modules.rpc_ids(), "game code registered");
    let server = match Server::start_with(config, std::sync::Arc::new(modules)) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("kairos: {e}");
            return 1;
        }
    };
    tracing::info!(node = %name, shards, addr = %server.addr, "kairos ready");
    // A stable line on stdout for scripts and tests that start the server
    // on an ephemeral port.
    if let Some(udp) = server.udp_addr {
        println!("kairos udp listening on {udp}");
    }
    if let Some(quic) = server.quic_addr {
        println!("kairos quic listening on {quic}");
    }
    if let Some(metrics) = server.metrics_addr {
        println!("kairos metrics listening on {metrics}");
    }
    println!("kairos listening on {}", server.addr);
    let shared = server.shared.clone();
    std::thread::Builder::new()
        .name("kairos-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                tracing::info!(signal = sig, "stopping");
                shared.stop.stop();
            }
        })
        .ok();
    server.join();
    tracing::info!("kairos stopped");
    0
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_lists_every_key_with_its_default() {
        let help = super::help();
        assert!(help.starts_with(super::USAGE));
        let line = |key: &str| {
            help.lines()
                .find(|l| l.trim_start().starts_with(&format!("--{key} ")))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_owned())
        };
        assert_eq!(line("socket.port").as_deref(), Some("7350"));
        assert_eq!(line("udp.port").as_deref(), Some("7352"));
        assert_eq!(line("database.address").as_deref(), Some("\"\""));
        let listed = help.lines().filter(|l| l.starts_with("  --")).count();
        assert_eq!(listed, kairos_core::config::Config::default().keys().len());
    }
}
