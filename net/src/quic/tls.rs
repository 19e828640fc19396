//! TLS 1.3 for QUIC: rustls with the *ring* provider, through quinn-proto's
//! `rustls` feature.
//!
//! * Server: [`ServerTls::from_pem`] takes the configured certificate chain
//!   and private key, as PEM. A server without one generates a
//!   [`self_signed`] pair on first start and keeps it in its data directory.
//! * Client: [`ClientTls::trusting_pem`] trusts the certificates of a PEM
//!   bundle as roots (a CA, or the server's self-signed certificate itself)
//!   and verifies the server's chain and name against them.
//!   [`ClientTls::dangerously_skip_verification`] accepts any certificate:
//!   for development only.
//!
//! Both ends offer only the ALPN protocol [`ALPN`] (`kairos`); rustls ends
//! the handshake when the peer offers no common protocol. 0-RTT is off on
//! both sides (early data is replayable, and the session token must not be),
//! the server issues no session tickets, and the client does not resume.
//!
//! # Clocks
//!
//! The server side never reads a clock: it has no tickets to date and
//! verifies no client certificates, so rustls gets a fixed time that it
//! never needs. The client side lets rustls read the system clock (rustls'
//! default time provider) for one calendar check: that the server's
//! certificate is inside its validity period. That is the only clock read
//! in the QUIC module, and it is not a timer: all protocol timing comes
//! from the `now` values the caller passes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use quinn_proto::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn_proto::rustls;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The ALPN protocol id of Kairos' QUIC protocol.
pub const ALPN: &[u8] = b"kairos";

/// Why TLS material could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// The PEM text holds no certificate.
    NoCertificate,
    /// The PEM text holds no private key.
    NoPrivateKey,
    /// The PEM text could not be parsed.
    Pem(String),
    /// rustls refused the certificate, key or configuration.
    Rustls(String),
    /// rcgen could not generate a certificate (for example, a host name
    /// that is not a valid DNS name or IP address).
    Generate(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCertificate => f.write_str("no certificate in the PEM data"),
            Self::NoPrivateKey => f.write_str("no private key in the PEM data"),
            Self::Pem(e) => write!(f, "invalid PEM data: {e}"),
            Self::Rustls(e) => write!(f, "TLS configuration refused: {e}"),
            Self::Generate(e) => write!(f, "certificate generation failed: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A self-signed certificate for `hostnames` (DNS names or IP addresses),
/// with a fresh ECDSA P-256 key, as `(cert_pem, key_pem)`. Valid from 1975
/// to 4096 (rcgen's defaults). The server writes both into its data
/// directory on first start, and clients trust the certificate file with
/// [`ClientTls::trusting_pem`].
pub fn self_signed(hostnames: &[String]) -> Result<(String, String), TlsError> {
    let certified = rcgen::generate_simple_self_signed(hostnames.to_vec())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

/// Parses every certificate in a PEM bundle, in order.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(certs)
}

/// The server's TLS configuration: certificate chain, key, ALPN `kairos`,
/// TLS 1.3 only. Cheap to clone; build it once and share it between shards.
#[derive(Clone)]
pub struct ServerTls {
    pub(crate) crypto: Arc<QuicServerConfig>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

/// A time for the server side of rustls, which needs none (see "Clocks").
#[derive(Debug)]
struct NoClock;

impl rustls::time_provider::TimeProvider for NoClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(Duration::from_secs(
            1_700_000_000,
        )))
    }
}

impl ServerTls {
    /// From a PEM certificate chain (leaf first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1). Checks that the key matches the leaf.
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = certificates(cert_chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey,
            e => TlsError::Pem(e.to_string()),
        })?;
        let mut config = rustls::ServerConfig::builder_with_details(provider(), Arc::new(NoClock))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        config.alpn_protocols = vec![ALPN.to_vec()];
        config.max_early_data_size = 0;
        config.send_tls13_tickets = 0;
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        let crypto =
            QuicServerConfig::try_from(config).map_err(|e| TlsError::Rustls(e.to_string()))?;
        Ok(Self {
            crypto: Arc::new(crypto),
        })
    }

    /// A fresh [`self_signed`] certificate for `hostnames`; for tests and
    /// first starts. Returns the certificate PEM too, for clients to trust.
    pub fn self_signed(hostnames: &[String]) -> Result<(Self, String), TlsError> {
        let (cert_pem, key_pem) = self_signed(hostnames)?;
        Ok((
            Self::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?,
            cert_pem,
        ))
    }
}

/// The client's TLS configuration: whom to trust, ALPN `kairos`, TLS 1.3
/// only. Cheap to clone; build it once for any number of connections.
#[derive(Clone)]
pub struct ClientTls {
    pub(crate) crypto: Arc<QuicClientConfig>,
    verifies: bool,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("verifies", &self.verifies)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Trusts the certificates of a PEM bundle as roots: a CA's certificate,
    /// or the server's self-signed certificate itself. The server's chain
    /// must lead to one of them, be inside its validity period (checked
    /// against the system clock, see "Clocks") and name the `server_name`
    /// the client connects with.
    pub fn trusting_pem(roots_pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in certificates(roots_pem)? {
            roots
                .add(cert)
                .map_err(|e| TlsError::Rustls(e.to_string()))?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        Self::finish(
            builder.with_root_certificates(roots).with_no_client_auth(),
            true,
        )
    }

    /// **Development only.** Accepts whatever certificate the server shows,
    /// for whatever name: anyone on the path can impersonate the server and
    /// read the session token. The handshake signatures are still checked,
    /// so the connection is encrypted to *someone*, just not to a verified
    /// server. Never use this in a release build of a client.
    pub fn dangerously_skip_verification() -> Self {
        Self::skipping_with_alpn(ALPN)
    }

    fn skipping_with_alpn(alpn: &[u8]) -> Self {
        let provider = provider();
        let verifier = Arc::new(SkipVerification(provider.signature_verification_algorithms));
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("the ring provider supports TLS 1.3")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = vec![alpn.to_vec()];
        Self::finish(config, false).expect("the ring provider has the QUIC initial suite")
    }

    /// Tests only: a client that offers another ALPN protocol.
    #[cfg(test)]
    pub(crate) fn with_alpn_for_tests(alpn: &[u8]) -> Self {
        Self::skipping_with_alpn(alpn)
    }

    fn finish(mut config: rustls::ClientConfig, verifies: bool) -> Result<Self, TlsError> {
        if config.alpn_protocols.is_empty() {
            config.alpn_protocols = vec![ALPN.to_vec()];
        }
        config.enable_early_data = false;
        config.resumption = rustls::client::Resumption::disabled();
        let crypto =
            QuicClientConfig::try_from(config).map_err(|e| TlsError::Rustls(e.to_string()))?;
        Ok(Self {
            crypto: Arc::new(crypto),
            verifies,
        })
    }

    /// Whether this configuration verifies the server's certificate.
    pub const fn verifies(&self) -> bool {
        self.verifies
    }
}

/// The verifier behind [`ClientTls::dangerously_skip_verification`].
#[derive(Debug)]
struct SkipVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for SkipVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_round_trips_through_pem() {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let (cert, key) = self_signed(&names).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.contains("PRIVATE KEY-----"));
        ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        let client = ClientTls::trusting_pem(cert.as_bytes()).unwrap();
        assert!(client.verifies());
        assert!(!ClientTls::dangerously_skip_verification().verifies());
    }

    #[test]
    fn refuses_bad_material() {
        let (cert, key) = self_signed(&["localhost".to_string()]).unwrap();
        let (other_cert, _) = self_signed(&["localhost".to_string()]).unwrap();
        assert_eq!(
            ServerTls::from_pem(b"", key.as_bytes()).unwrap_err(),
            TlsError::NoCertificate
        );
        assert_eq!(
            ServerTls::from_pem(cert.as_bytes(), cert.as_bytes()).unwrap_err(),
            TlsError::NoPrivateKey
        );
        assert!(matches!(
            ServerTls::from_pem(other_cert.as_bytes(), key.as_bytes()),
            Err(TlsError::Rustls(_))
        ));
        assert_eq!(
            ClientTls::trusting_pem(b"not pem").unwrap_err(),
            TlsError::NoCertificate
        );
        assert!(matches!(
            ClientTls::trusting_pem(
                b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"
            ),
            Err(TlsError::Pem(_) | TlsError::Rustls(_))
        ));
        assert!(self_signed(&["b\u{e4}d.example".to_string()]).is_err());
    }
}
