//! HTTPS for the API: the certificate chain and private key from
//! `API_TLS_CERT_FILE` / `API_TLS_KEY_FILE` (PEM), served by rustls with
//! the `ring` provider (aws-lc-rs does not cross-build for windows-gnu),
//! TLS 1.2 and 1.3, HTTP/1.1 only.

use crate::config::TlsFiles;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// The acceptor for `files`, or what is wrong with them (naming the file
/// and the setting).
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect())
        .map_err(|e| {
            format!(
                "cannot read the certificate {} (API_TLS_CERT_FILE): {e}",
                files.cert.display()
            )
        })?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        format!(
            "cannot read the private key {} (API_TLS_KEY_FILE): {e}",
            files.key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "the certificate {} and the key {} do not make a TLS identity \
                 (API_TLS_CERT_FILE / API_TLS_KEY_FILE): {e}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}
