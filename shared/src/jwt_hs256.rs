//! The one JWT algorithm access tokens use, HS256, as `jsonwebtoken`'s crypto provider, on the
//! RustCrypto `hmac` and `sha2` crates the SDK's SigV4 signer links anyway. With it,
//! `jsonwebtoken` needs neither of its own backends (`aws_lc_rs` would link a second crypto
//! library beside the HTTPS client's `ring`; `rust_crypto` would link RSA, ECDSA and EdDSA code
//! that no token here uses).

use std::sync::Once;

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Sha256;
use signature::{Signer, Verifier};

type HmacSha256 = Hmac<Sha256>;

struct Hs256(HmacSha256);

impl Hs256 {
    fn new(algorithm: &Algorithm, key: &[u8]) -> Result<Self, Error> {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        let mac = HmacSha256::new_from_slice(key).map_err(|_| ErrorKind::InvalidKeyFormat)?;
        Ok(Self(mac))
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        // Constant-time comparison.
        mac.verify_slice(tag).map_err(signature::Error::from_source)
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: |algorithm, key: &EncodingKey| {
        Ok(Box::new(Hs256::new(algorithm, key.as_bytes())?))
    },
    verifier_factory: |algorithm, key: &DecodingKey| {
        Ok(Box::new(Hs256::new(algorithm, key.try_get_as_bytes()?)?))
    },
    // JWKs are never read: their helpers stay unimplemented.
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes HS256 `jsonwebtoken`'s process-wide provider; call before encoding or decoding.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err only if a provider is installed already: this one, as nothing else installs one.
        let _ = PROVIDER.install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Header, Validation};

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Example {
        sub: String,
        name: String,
        iat: i64,
    }

    /// RFC 7515-style HS256 vector published by jwt.io (secret `your-256-bit-secret`).
    const VECTOR: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
        eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.\
        SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    fn validation() -> Validation {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation
    }

    #[test]
    fn signs_and_verifies_the_published_hs256_vector() {
        install();
        let example = Example {
            sub: "1234567890".into(),
            name: "John Doe".into(),
            iat: 1_516_239_022,
        };
        let key = b"your-256-bit-secret";
        let (signing_input, signature) = VECTOR.rsplit_once('.').unwrap();
        let signed = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            &EncodingKey::from_secret(key),
            Algorithm::HS256,
        )
        .unwrap();
        assert_eq!(signed, signature);
        let decoded =
            jsonwebtoken::decode::<Example>(VECTOR, &DecodingKey::from_secret(key), &validation())
                .unwrap();
        assert_eq!(decoded.claims, example);
        assert!(
            jsonwebtoken::decode::<Example>(
                VECTOR,
                &DecodingKey::from_secret(b"other"),
                &validation()
            )
            .is_err()
        );
    }

    #[test]
    fn other_algorithms_are_refused() {
        install();
        let key = EncodingKey::from_secret(b"k");
        let header = Header::new(Algorithm::HS384);
        assert!(jsonwebtoken::encode(&header, &1, &key).is_err());
        let mut validation = validation();
        validation.algorithms = vec![Algorithm::HS512];
        assert!(
            jsonwebtoken::decode::<Example>(VECTOR, &DecodingKey::from_secret(b"k"), &validation)
                .is_err()
        );
    }
}
