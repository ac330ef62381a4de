//! An identity provider's signing keys, from the X.509 certificates of its
//! metadata, and the two signature algorithms of our profile:
//! RSA-SHA256 (PKCS#1 v1.5, 2048 to 4096 bits) and ECDSA-P256-SHA256 (the
//! XML-DSig form: `r || s`, 64 bytes). The certificate is only a wrapper of
//! the key here: the metadata pins it, so its validity dates, issuer and
//! extensions are not consulted (as Shibboleth and most SPs treat it).
use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Reader, SliceReader, Tag, Tagged};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoRef;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// The smallest RSA modulus accepted.
pub const MIN_RSA_BITS: usize = 2048;

/// A key that signs an identity provider's assertions.
#[derive(Debug, Clone)]
pub enum IdpKey {
    /// RSA, for `rsa-sha256`.
    Rsa(rsa::RsaPublicKey),
    /// P-256, for `ecdsa-sha256`.
    P256(p256::ecdsa::VerifyingKey),
}

/// A signature algorithm of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlg {
    /// `http://www.w3.org/2001/04/xmldsig-more#rsa-sha256`
    RsaSha256,
    /// `http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256`
    EcdsaP256Sha256,
}

fn bad(_: der::Error) -> String {
    "the certificate is not DER X.509".to_owned()
}

/// The subject public key of a DER X.509 certificate, as one of ours.
pub fn key_from_certificate(cert: &[u8]) -> Result<IdpKey, String> {
    let mut outer = SliceReader::new(cert).map_err(bad)?;
    let certificate = AnyRef::decode(&mut outer).map_err(bad)?;
    outer.finish(()).map_err(bad)?;
    if certificate.tag() != Tag::Sequence {
        return Err("the certificate is not DER X.509".into());
    }
    let mut c = SliceReader::new(certificate.value()).map_err(bad)?;
    let tbs = AnyRef::decode(&mut c).map_err(bad)?;
    if tbs.tag() != Tag::Sequence {
        return Err("the certificate is not DER X.509".into());
    }
    let mut t = SliceReader::new(tbs.value()).map_err(bad)?;
    // [0] version (optional), serial, signature, issuer, validity, subject.
    let first = AnyRef::decode(&mut t).map_err(bad)?;
    let skip = if first.tag().is_context_specific() { 5 } else { 4 };
    for _ in 0..skip {
        AnyRef::decode(&mut t).map_err(bad)?;
    }
    let spki = SubjectPublicKeyInfoRef::decode(&mut t).map_err(bad)?;
    let bits = spki.subject_public_key.as_bytes().ok_or("the public key is not whole bytes")?;
    if spki.algorithm.oid == RSA_ENCRYPTION {
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::RsaPublicKey::from_pkcs1_der(bits).map_err(|_| "the RSA key does not parse".to_owned())?;
        if key.n().bits() < MIN_RSA_BITS {
            return Err(format!("the RSA key is shorter than {MIN_RSA_BITS} bits"));
        }
        return Ok(IdpKey::Rsa(key));
    }
    if spki.algorithm.oid == EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if curve != Some(PRIME256V1) {
            return Err("only the P-256 curve is accepted".into());
        }
        let key =
            p256::ecdsa::VerifyingKey::from_sec1_bytes(bits).map_err(|_| "the P-256 key does not parse".to_owned())?;
        return Ok(IdpKey::P256(key));
    }
    Err("only RSA and P-256 keys are accepted".into())
}

impl IdpKey {
    /// Whether `signature` by `alg` over `message` verifies with this key.
    pub fn verifies(&self, alg: SignatureAlg, message: &[u8], signature: &[u8]) -> bool {
        match (self, alg) {
            (IdpKey::Rsa(key), SignatureAlg::RsaSha256) => {
                key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message), signature).is_ok()
            }
            (IdpKey::P256(key), SignatureAlg::EcdsaP256Sha256) => {
                use p256::ecdsa::signature::Verifier;
                match p256::ecdsa::Signature::from_slice(signature) {
                    Ok(sig) if signature.len() == 64 => key.verify(message, &sig).is_ok(),
                    _ => false,
                }
            }
            _ => false,
        }
    }
}
