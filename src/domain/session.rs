//! Access tokens: short-lived EdDSA JWTs (RFC 8725 practices) naming a user
//! (`sub`) and a session (`sid`). They never carry roles: every request checks
//! the session in the database, so logout and revocation act at once.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_compact::{PublicKey, SecretKey};
use jwt_compact::alg::Ed25519;
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken};
use serde::{Deserialize, Serialize};

/// Access tokens live 15 minutes.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
/// The only algorithm we issue or accept (pinned; `alg` from a token is never trusted).
const ALG: &str = "EdDSA";
/// RFC 9068 media type of access tokens, checked on the way in.
const TYP: &str = "at+jwt";

/// The claims we sign besides `exp` and `iat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session id, checked against the database on every request.
    pub sid: String,
}

/// An Ed25519 key pair with its key id.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    secret: SecretKey,
    public: PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.kid)
    }
}

/// A public key kept after rotation so tokens signed with it stay valid until they expire.
#[derive(Clone, Debug)]
pub struct VerifyingKey {
    kid: String,
    public: PublicKey,
}

/// The issuer's keys: the current signing key and, during a rotation, the previous public key.
#[derive(Clone, Debug)]
pub struct KeySet {
    current: SigningKey,
    previous: Option<VerifyingKey>,
    issuer: String,
    audience: String,
}

/// Why a key could not be loaded from configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

/// Why an access token was refused. Callers answer 401 for all of them alike.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, a foreign algorithm, type or key id, or a bad signature.
    #[error("malformed or unverifiable token")]
    Invalid,
    /// Past `exp`.
    #[error("token expired")]
    Expired,
    /// Wrong `iss` or `aud`.
    #[error("token not for this service")]
    WrongAudience,
}

fn kid_of(public: &PublicKey) -> String {
    // A stable, short id: the first 8 bytes of the key's SHA-256, base64url.
    let digest = crate::domain::token::sha256_hex(public.as_ref());
    digest.chars().take(16).collect()
}

impl SigningKey {
    /// Loads a key from its 32-byte seed in hex (the `JWT_SIGNING_KEY` secret).
    pub fn from_seed_hex(seed_hex: &str) -> Result<Self, KeyError> {
        let seed =
            hex::decode(seed_hex.trim()).map_err(|_| KeyError("JWT_SIGNING_KEY must be 64 hex characters".into()))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| KeyError("JWT_SIGNING_KEY must be a 32-byte seed (64 hex characters)".into()))?;
        let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed));
        let public = pair.pk;
        Ok(Self { kid: kid_of(&public), secret: pair.sk, public })
    }

    /// The key id published in the JWKS and put in the `kid` header.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

impl VerifyingKey {
    /// Loads a public key from its 32 bytes in hex (`JWT_PREVIOUS_PUBLIC_KEY`).
    pub fn from_hex(public_hex: &str) -> Result<Self, KeyError> {
        let bytes =
            hex::decode(public_hex.trim()).map_err(|_| KeyError("JWT_PREVIOUS_PUBLIC_KEY must be hex".into()))?;
        let public = PublicKey::from_slice(&bytes)
            .map_err(|_| KeyError("JWT_PREVIOUS_PUBLIC_KEY must be a 32-byte Ed25519 public key".into()))?;
        Ok(Self { kid: kid_of(&public), public })
    }
}

fn time_options(now: i64) -> TimeOptions<impl Fn() -> chrono::DateTime<chrono::Utc>> {
    let at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    // No leeway: our clock issues and checks the tokens.
    TimeOptions::new(chrono::Duration::zero(), move || at)
}

impl KeySet {
    /// A key set for `issuer`/`audience` signing with `current`.
    pub fn new(current: SigningKey, previous: Option<VerifyingKey>, issuer: &str, audience: &str) -> Self {
        Self { current, previous, issuer: issuer.to_owned(), audience: audience.to_owned() }
    }

    /// Signs an access token for `sub`/`sid` at `now`, valid [`ACCESS_TOKEN_SECONDS`].
    pub fn issue(&self, sub: &str, sid: &str, now: i64) -> Result<String, KeyError> {
        let header = Header::empty().with_key_id(self.current.kid.clone()).with_token_type(TYP);
        let claims = Claims::new(AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: sub.to_owned(),
            sid: sid.to_owned(),
        })
        .set_duration_and_issuance(&time_options(now), chrono::Duration::seconds(ACCESS_TOKEN_SECONDS));
        Ed25519.token(&header, &claims, &self.current.secret).map_err(|e| KeyError(e.to_string()))
    }

    /// Verifies an access token: pinned algorithm, known `kid`, `typ`, signature, `exp`, `iss`, `aud`.
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        self.verify_signature(token)?.at(now)
    }

    /// Everything [`KeySet::verify`] checks except the clock: pinned
    /// algorithm, known `kid`, `typ`, signature, an `exp` present, `iss`,
    /// `aud`. The answer depends only on the token's bytes and these keys,
    /// so it may be remembered; [`SignedToken::at`] does the rest.
    pub fn verify_signature(&self, token: &str) -> Result<SignedToken, TokenError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Invalid)?;
        if untrusted.algorithm() != ALG {
            return Err(TokenError::Invalid);
        }
        let header = untrusted.header();
        if header.token_type.as_deref() != Some(TYP) {
            return Err(TokenError::Invalid);
        }
        let kid = header.key_id.as_deref().ok_or(TokenError::Invalid)?;
        let public = if kid == self.current.kid {
            &self.current.public
        } else {
            match &self.previous {
                Some(prev) if prev.kid == kid => &prev.public,
                _ => return Err(TokenError::Invalid),
            }
        };
        let verified =
            Ed25519.validator::<AccessClaims>(public).validate(&untrusted).map_err(|_| TokenError::Invalid)?;
        let claims = verified.claims();
        let expires_at = claims.expiration.ok_or(TokenError::Invalid)?.timestamp();
        if claims.custom.iss != self.issuer || claims.custom.aud != self.audience {
            return Err(TokenError::WrongAudience);
        }
        Ok(SignedToken { claims: claims.custom.clone(), expires_at })
    }

    /// The JSON Web Key Set (RFC 7517/8037) of every key that verifies our tokens.
    pub fn jwks(&self) -> Jwks {
        let jwk = |kid: &str, public: &PublicKey| Jwk {
            kty: "OKP",
            crv: "Ed25519",
            alg: ALG,
            r#use: "sig",
            kid: kid.to_owned(),
            x: URL_SAFE_NO_PAD.encode(public.as_ref()),
        };
        let mut keys = vec![jwk(&self.current.kid, &self.current.public)];
        if let Some(prev) = &self.previous {
            keys.push(jwk(&prev.kid, &prev.public));
        }
        Jwks { keys }
    }
}

/// An access token whose signature and claims verified ([`KeySet::verify_signature`]):
/// only the clock is left to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedToken {
    /// Its claims.
    pub claims: AccessClaims,
    /// `exp`, in unix seconds.
    pub expires_at: i64,
}

impl SignedToken {
    /// The claims, if the token has not expired at `now` (valid through its
    /// `exp` second, as jwt-compact's check with no leeway).
    pub fn at(&self, now: i64) -> Result<AccessClaims, TokenError> {
        if now > self.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(self.claims.clone())
    }
}

/// A JSON Web Key Set (RFC 7517) of the keys that verify access tokens.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Jwks {
    /// The current key, then the previous one during a rotation.
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: &'static str,
    /// `Ed25519`.
    pub crv: &'static str,
    /// `EdDSA`.
    pub alg: &'static str,
    /// `sig`.
    pub r#use: &'static str,
    /// Key id, as in the tokens' `kid` header.
    pub kid: String,
    /// The public key, base64url without padding.
    pub x: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const OTHER: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

    fn keys() -> KeySet {
        KeySet::new(SigningKey::from_seed_hex(SEED).unwrap(), None, "https://issuer", "latchkey")
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let k = keys();
        let t = k.issue("usr_1", "ses_1", 1_000).unwrap();
        let c = k.verify(&t, 1_000 + ACCESS_TOKEN_SECONDS - 1).unwrap();
        assert_eq!((c.sub.as_str(), c.sid.as_str()), ("usr_1", "ses_1"));
        assert!(k.verify(&t, 1_000 + ACCESS_TOKEN_SECONDS).is_ok(), "valid through its exp second");
        assert_eq!(k.verify(&t, 1_000 + ACCESS_TOKEN_SECONDS + 1), Err(TokenError::Expired));
        let signed = k.verify_signature(&t).unwrap();
        assert_eq!(signed.expires_at, 1_000 + ACCESS_TOKEN_SECONDS);
        assert_eq!(signed.at(1_000 + ACCESS_TOKEN_SECONDS + 1), Err(TokenError::Expired));
    }

    #[test]
    fn tokens_of_another_key_issuer_or_audience_are_refused() {
        let t = keys().issue("usr_1", "ses_1", 1_000).unwrap();
        let other = KeySet::new(SigningKey::from_seed_hex(OTHER).unwrap(), None, "https://issuer", "latchkey");
        assert_eq!(other.verify(&t, 1_000), Err(TokenError::Invalid));
        let other_aud = KeySet::new(SigningKey::from_seed_hex(SEED).unwrap(), None, "https://issuer", "else");
        assert_eq!(other_aud.verify(&t, 1_000), Err(TokenError::WrongAudience));
    }

    #[test]
    fn a_rotated_out_key_still_verifies_its_tokens() {
        let old = keys();
        let t = old.issue("usr_1", "ses_1", 1_000).unwrap();
        let old_pub = hex::encode(SigningKey::from_seed_hex(SEED).unwrap().public.as_ref());
        let rotated = KeySet::new(
            SigningKey::from_seed_hex(OTHER).unwrap(),
            Some(VerifyingKey::from_hex(&old_pub).unwrap()),
            "https://issuer",
            "latchkey",
        );
        assert!(rotated.verify(&t, 1_000).is_ok());
        assert_eq!(rotated.jwks().keys.len(), 2);
    }

    #[test]
    fn alg_none_and_tampered_tokens_are_refused() {
        let k = keys();
        let t = k.issue("usr_1", "ses_1", 1_000).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
        assert_eq!(k.verify(&format!("{none_header}.{}.", parts[1]), 1_000), Err(TokenError::Invalid));
        let forged_claims = URL_SAFE_NO_PAD
            .encode(br#"{"iss":"https://issuer","aud":"latchkey","sub":"usr_admin","sid":"ses_1","exp":99999999}"#);
        assert_eq!(k.verify(&format!("{}.{forged_claims}.{}", parts[0], parts[2]), 1_000), Err(TokenError::Invalid));
        assert_eq!(k.verify("garbage", 1_000), Err(TokenError::Invalid));
        assert_eq!(k.verify("", 1_000), Err(TokenError::Invalid));
    }
}
