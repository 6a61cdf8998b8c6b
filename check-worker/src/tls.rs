//! SSL_GET's TLS client: rustls (ring), without certificate verification,
//! as keepalived's SSL_GET (it never checks the server's certificate
//! chain or name). The handshake's signatures are still verified against
//! the certificate the server presented, as OpenSSL does with
//! `SSL_VERIFY_NONE`. SNI is sent when the url has an `sni_name`
//! (`enable_sni` with a virtualhost); otherwise the connection is named by
//! the server's address, for which rustls sends no SNI.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Debug)]
struct NoChainVerification {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoChainVerification {
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The client configuration every SSL_GET shares (TLS 1.2 and 1.3).
pub fn client_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = rustls::crypto::ring::default_provider();
    let verifier = NoChainVerification {
        algorithms: provider.signature_verification_algorithms,
    };
    let provider: Arc<CryptoProvider> = Arc::new(provider);
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A client connection to `ip`, named `sni` when given.
pub fn connect(
    config: &Arc<ClientConfig>,
    sni: Option<&str>,
    ip: IpAddr,
) -> Result<ClientConnection, rustls::Error> {
    let name = match sni.and_then(|s| ServerName::try_from(s.to_string()).ok()) {
        Some(n) => n,
        None => ServerName::IpAddress(ip.into()),
    };
    ClientConnection::new(config.clone(), name)
}
