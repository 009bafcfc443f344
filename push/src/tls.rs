//! The rustls client configuration shared by both clients: Mozilla's roots
//! (optional), extra roots from PEM files, and an optional client certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

/// Errors of building a TLS configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or holds no item of the expected kind.
    #[error("cannot read {kind} from `{path}`; check that the file exists and is PEM")]
    Pem {
        /// What the file should contain.
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// The PEM parser's error.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// A root certificate from a file is not a valid trust anchor.
    #[error("certificate in `{path}` is not a valid trust root")]
    BadRoot {
        /// The file.
        path: PathBuf,
        /// rustls' error.
        #[source]
        source: rustls::Error,
    },
    /// No trust root at all: the public roots are off and no file was given.
    #[error("no trust roots: enable public roots or list root certificate files")]
    NoRoots,
    /// The client certificate and key do not form a usable identity.
    #[error("client certificate `{certificate}` and its key cannot be used")]
    ClientIdentity {
        /// The certificate file.
        certificate: PathBuf,
        /// rustls' error.
        #[source]
        source: rustls::Error,
    },
}

/// A client certificate chain and its private key, as PEM files.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// The certificate, then any intermediates.
    pub certificate_path: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key_path: PathBuf,
}

/// Builds a client configuration that trusts Mozilla's roots when
/// `public_roots` is set plus every certificate in `extra_root_paths`,
/// presents `identity` when given, and offers the `alpn` protocols.
pub fn client_config(
    public_roots: bool,
    extra_root_paths: &[PathBuf],
    identity: Option<&ClientIdentity>,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = root_store(public_roots, extra_root_paths)?;
    let builder = ClientConfig::builder_with_provider(ring_provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots);

    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(identity) => {
            let chain = read_certificates(&identity.certificate_path)?;
            let key = read_private_key(&identity.private_key_path)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|source| TlsError::ClientIdentity {
                    certificate: identity.certificate_path.clone(),
                    source,
                })?
        }
    };
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The ring crypto provider. rustls deprecates it because ring has no
/// post-quantum key exchange; it stays until the workspace moves to aws-lc-rs,
/// so that one crypto library is built.
// TODO: switch to aws-lc-rs with post-quantum key exchange.
#[allow(deprecated)]
pub fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn root_store(public_roots: bool, extra_root_paths: &[PathBuf]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    if public_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for path in extra_root_paths {
        for certificate in read_certificates(path)? {
            roots.add(certificate).map_err(|source| TlsError::BadRoot {
                path: path.clone(),
                source,
            })?;
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoRoots);
    }
    Ok(roots)
}

/// Reads every certificate of a PEM file; an empty file is an error.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_error = |source| TlsError::Pem {
        kind: "certificates",
        path: path.to_path_buf(),
        source,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(pem_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    if certificates.is_empty() {
        return Err(pem_error(rustls::pki_types::pem::Error::NoItemsFound));
    }
    Ok(certificates)
}

/// Reads the first private key of a PEM file.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| TlsError::Pem {
        kind: "a private key",
        path: path.to_path_buf(),
        source,
    })
}
