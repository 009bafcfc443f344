//! The certificate authority the stand-ins generate, and their TLS server
//! configurations. Clients trust the CA through the PEM file it writes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// Errors of creating the CA and the server configurations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// rcgen could not build a certificate.
    #[error("cannot generate a certificate")]
    Generate(#[from] rcgen::Error),
    /// rustls rejected the generated material.
    #[error("cannot build the TLS configuration")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("cannot build the client certificate verifier")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// A file could not be written.
    #[error("cannot write `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The CA and the certificates it signed.
pub struct Authority {
    ca_certificate: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivatePkcs8KeyDer<'static>,
    /// The CA certificate, PEM: what clients add to their trust roots.
    pub ca_pem: String,
    /// A client certificate for APNs' certificate mode, PEM.
    pub client_certificate_pem: String,
    /// Its private key, PEM.
    pub client_key_pem: String,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

impl Authority {
    /// Generates a CA, a server certificate for `localhost`, `127.0.0.1` and
    /// `::1`, and a client certificate.
    pub fn generate() -> Result<Authority, TlsSetupError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "offload stand-in CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key)?;

        let server_key = KeyPair::generate()?;
        let mut server_params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "offload stand-in");
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server = server_params.signed_by(&server_key, &ca, &ca_key)?;

        let client_key = KeyPair::generate()?;
        let mut client_params = CertificateParams::new(Vec::<String>::new())?;
        client_params
            .distinguished_name
            .push(DnType::CommonName, "Apple Push Services: com.example.app");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = client_params.signed_by(&client_key, &ca, &ca_key)?;

        Ok(Authority {
            ca_certificate: ca.der().clone(),
            server_chain: vec![server.der().clone()],
            server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()),
            ca_pem: ca.pem(),
            client_certificate_pem: client.pem(),
            client_key_pem: client_key.serialize_pem(),
        })
    }

    /// A server configuration offering `alpn`, requiring a client certificate
    /// signed by this CA when `require_client_certificate` is set.
    pub fn server_config(
        &self,
        alpn: &[&[u8]],
        require_client_certificate: bool,
    ) -> Result<Arc<ServerConfig>, TlsSetupError> {
        // ring, deprecated by rustls for lacking post-quantum key exchange,
        // matches the clients' provider so that one crypto library is built.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder =
            ServerConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions()?;
        let builder = if require_client_certificate {
            let mut roots = RootCertStore::empty();
            roots.add(self.ca_certificate.clone())?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(self.server_key.clone_key());
        let mut config = builder.with_single_cert(self.server_chain.clone(), key)?;
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

/// Writes `contents` to `path`, naming the file in the error.
pub fn write_file(path: &Path, contents: &str) -> Result<(), TlsSetupError> {
    std::fs::write(path, contents).map_err(|source| TlsSetupError::Write {
        path: path.to_path_buf(),
        source,
    })
}
