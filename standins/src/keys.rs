//! Signing keys the stand-ins generate: the APNs provider key (ES256) and the
//! FCM service account key (RSA).

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

/// A key pair in PEM.
#[derive(Debug, Clone)]
pub struct PemKeyPair {
    /// The private key, PKCS#8 PEM: the content of an APNs `.p8` file or of a
    /// service account's `private_key`.
    pub private_key_pem: String,
    /// The public key, SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
}

/// Generates a P-256 key pair, the kind of key Apple issues for provider tokens.
pub fn generate_es256() -> PemKeyPair {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("ring generates P-256 keys");
    PemKeyPair {
        private_key_pem: pair.serialize_pem(),
        public_key_pem: pair.public_key_pem(),
    }
}

/// Generates a 2048-bit RSA key pair, the kind of key Google issues for
/// service accounts.
pub fn generate_rsa() -> PemKeyPair {
    let mut rng = rsa::rand_core::OsRng;
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key generation succeeds");
    let public = private.to_public_key();
    PemKeyPair {
        private_key_pem: private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an RSA key encodes as PKCS#8")
            .to_string(),
        public_key_pem: public
            .to_public_key_pem(LineEnding::LF)
            .expect("an RSA public key encodes as SPKI"),
    }
}
