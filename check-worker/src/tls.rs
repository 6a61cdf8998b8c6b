//! SSL_GET's TLS client: rustls (ring), without certificate verification,
//! as keepalived's SSL_GET (it never checks the server's certificate
//! chain or name). The handshake's signatures are still verified against
//! the certificate the server presented, as OpenSSL does with
//! `SSL_VERIFY_NONE`. SNI is sent when the url has an `sni_name`
//! (`enable_sni` with a virtualhost); otherwise the connection is named by
//! the server's address, for which rustls sends no SNI.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
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

/// The client configuration every SSL_GET shares (TLS 1.2 and 1.3), with
/// the `SSL` block's client certificate when there is one (sent when a
/// server asks for one, as OpenSSL does).
pub fn client_config(client: Option<&ipc::ClientTls>) -> Result<Arc<ClientConfig>, String> {
    let provider = rustls::crypto::ring::default_provider();
    let verifier = NoChainVerification {
        algorithms: provider.signature_verification_algorithms,
    };
    let provider: Arc<CryptoProvider> = Arc::new(provider);
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let config = match client {
        None => builder.with_no_client_auth(),
        Some(c) => {
            let (chain, key) = client_identity(c)?;
            let signer = rustls::crypto::ring::default_provider()
                .key_provider
                .load_private_key(key)
                .map_err(|e| format!("SSL error : Cant load key file... ({e})"))?;
            // Not `with_client_auth_cert`: it parses the certificate with
            // webpki, which refuses the X.509 v1 certificates OpenSSL (and
            // so keepalived) accepts.
            let key = rustls::sign::CertifiedKey::new(chain, signer);
            builder.with_client_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(key)))
        }
    };
    Ok(Arc::new(config))
}

/// The certificate chain and key of `c`.
pub fn client_identity(
    c: &ipc::ClientTls,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let chain = CertificateDer::pem_slice_iter(&c.chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("SSL error : Cant load certificate file... ({e})"))?;
    if chain.is_empty() {
        return Err("SSL error : Cant load certificate file... (no certificate)".into());
    }
    let key = match &c.key {
        ipc::ClientKey::Pem(pem) => PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| format!("SSL error : Cant load key file... ({e})"))?,
        ipc::ClientKey::Pkcs8Der(der) => {
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.clone()))
        }
    };
    Ok((chain, key))
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
