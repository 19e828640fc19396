//! QUIC (`kairos_net::quic`, quinn-proto driven sans-IO) on every shard's
//! SO_REUSEPORT UDP socket, carrying the FlatBuffers envelope.
//!
//! * The client opens one bidirectional stream and sends its session JWT
//!   first; the [`adapter`] checks it as `/ws` does before the shard's
//!   datagram driver (`datagram::driver`) accepts the connection.
//! * Reliable messages are length-prefixed frames on that stream;
//!   unreliable match data goes as QUIC datagrams.
//! * **Which shard owns a connection.** The kernel spreads datagrams over
//!   the shards' sockets by 4-tuple, so a connection's packets all reach
//!   the shard that accepted it while the client keeps its address. Every
//!   connection id a shard issues starts with that shard's index, so when a
//!   client migrates (new address, new 4-tuple, maybe another shard), the
//!   receiving shard reads the destination connection id and forwards the
//!   datagram to the owner through the mesh (`ShardMsg::QuicDatagram`).
//!   Initial packets carry a client-chosen id and stay where they land; the
//!   shard that accepts the connection issues its own ids from then on.
//! * TLS: the configured certificate (`quic.certificate`,
//!   `quic.private_key`), or a self-signed one generated into `data_dir`
//!   on first start and reused after.

pub mod adapter;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;

use kairos_core::config::Config;
use kairos_net::quic::ServerTls;

/// What every shard's QUIC endpoint shares.
pub struct QuicShared {
    pub tls: ServerTls,
    /// The certificate (PEM) clients can pin.
    pub certificate_pem: String,
    /// Where clients connect, once shard 0 has bound the port.
    public: OnceLock<SocketAddr>,
}

impl QuicShared {
    /// Loads the configured certificate, or the self-signed one in
    /// `data_dir` (creating it on first start).
    pub fn load(config: &Config) -> Result<QuicShared, String> {
        let q = &config.quic;
        let (cert, key) = if q.certificate.is_empty() {
            let dir = Path::new(&config.data_dir);
            let (crt_path, key_path) = (dir.join("quic.crt"), dir.join("quic.key"));
            if !crt_path.exists() || !key_path.exists() {
                let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
                let (cert, key) = kairos_net::quic::self_signed(&names)
                    .map_err(|e| format!("generating the QUIC certificate: {e}"))?;
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("data_dir {}: {e}", dir.display()))?;
                std::fs::write(&crt_path, &cert)
                    .map_err(|e| format!("writing {}: {e}", crt_path.display()))?;
                write_private(&key_path, key.as_bytes())?;
                tracing::info!(path = %crt_path.display(), "generated a self-signed QUIC certificate");
            }
            (read(&crt_path)?, read(&key_path)?)
        } else {
            (
                read(Path::new(&q.certificate))?,
                read(Path::new(&q.private_key))?,
            )
        };
        let tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes())
            .map_err(|e| format!("quic.certificate: {e}"))?;
        Ok(QuicShared {
            tls,
            certificate_pem: cert,
            public: OnceLock::new(),
        })
    }

    pub fn set_bound(&self, bound: SocketAddr) {
        let mut a = bound;
        if a.ip().is_unspecified() {
            a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let _ = self.public.set(a);
    }

    pub fn public_address(&self) -> Option<SocketAddr> {
        self.public.get().copied()
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    f.write_all(bytes)
        .map_err(|e| format!("writing {}: {e}", path.display()))
}
