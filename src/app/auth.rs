//! Who a confirmed credential is ([`Principal`]), and the isolate's memo of
//! verified access tokens. Reading and confirming credentials is the
//! resolver's (`access`); deciding what a principal may do is
//! `Caller::require`'s.
use super::audit::Actor;
use crate::domain::policy::{Permission, Subject};
use crate::domain::session::{AccessClaims, KeySet, SignedToken, TokenError};
use crate::store::sql::{OrgRow, UserRow};
use std::cell::RefCell;
use std::collections::HashMap;

/// Who is calling, resolved from the `Authorization` header.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A person with a live session.
    User(UserPrincipal),
    /// An API key, acting in its org with its scopes.
    ApiKey(KeyPrincipal),
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct UserPrincipal {
    /// The user.
    pub user: UserRow,
    /// The session the access token names.
    pub session_id: String,
}

impl Principal {
    /// Who to record in the audit log.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::User(u) => Actor::user(&u.user.id),
            Principal::ApiKey(k) => k.actor(),
        }
    }
}

/// A verified key acting in its org.
#[derive(Debug, Clone)]
pub struct KeyPrincipal {
    /// `key_…`
    pub key_id: String,
    /// Its name.
    pub name: String,
    /// Its org (read in the same query as the key).
    pub org: OrgRow,
    /// What it may do.
    pub scopes: Vec<Permission>,
    /// Expiry.
    pub expires_at: Option<i64>,
}

impl KeyPrincipal {
    /// The audit actor.
    pub fn actor(&self) -> Actor {
        Actor { kind: "api_key", id: self.key_id.clone() }
    }
}

/// Parses stored scopes (names that are no permission any more are dropped).
pub fn scopes_of(raw: &str) -> Vec<Permission> {
    raw.split_whitespace().filter_map(Permission::parse).collect()
}

impl KeyPrincipal {
    /// The key as the subject of a decision.
    pub fn subject(&self) -> Subject<'_> {
        Subject::Key(&self.scopes)
    }
}

/// Access tokens whose signature already verified here, with their claims.
///
/// An Ed25519 verification is the largest CPU cost of a session request in
/// wasm (the profile of `GET /v1/me` put it above everything else), and a
/// client sends the same access token for up to its 15 minutes. Only tokens
/// that verified enter; the answer of [`KeySet::verify_signature`] depends on
/// nothing but the token's bytes and the keys, which are fixed for an isolate's
/// life (a new key is a new deployment). The clock is checked on every use,
/// and the session in the database too, so expiry, logout and revocation act
/// exactly as without it. Bounded: when full, expired entries go, and if that
/// is not enough it starts over.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    signed: RefCell<HashMap<String, SignedToken>>,
}

/// At most this many tokens are remembered (about 0.5 MB).
const VERIFIED_TOKENS: usize = 1024;

impl VerifiedTokens {
    /// [`KeySet::verify`], remembering the signature check.
    pub fn verify(&self, keys: &KeySet, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        if let Some(known) = self.signed.borrow().get(token) {
            return known.at(now);
        }
        let signed = keys.verify_signature(token)?;
        let claims = signed.at(now)?;
        let mut map = self.signed.borrow_mut();
        if map.len() >= VERIFIED_TOKENS {
            map.retain(|_, t| t.expires_at >= now);
            if map.len() >= VERIFIED_TOKENS {
                map.clear();
            }
        }
        map.insert(token.to_owned(), signed);
        Ok(claims)
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.signed.borrow().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::session::{SigningKey, ACCESS_TOKEN_SECONDS};

    fn keys(seed: &str) -> KeySet {
        KeySet::new(SigningKey::from_seed_hex(seed).unwrap(), None, "https://issuer", "latchkey")
    }
    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

    #[test]
    fn a_remembered_token_still_expires_on_time() {
        let (k, memo) = (keys(SEED), VerifiedTokens::default());
        let t = k.issue("usr_1", "ses_1", 1_000).unwrap();
        assert_eq!(memo.verify(&k, &t, 1_000).unwrap().sid, "ses_1");
        assert_eq!(memo.len(), 1);
        assert!(memo.verify(&k, &t, 1_000 + ACCESS_TOKEN_SECONDS).is_ok());
        assert_eq!(memo.verify(&k, &t, 1_000 + ACCESS_TOKEN_SECONDS + 1), Err(TokenError::Expired));
    }

    #[test]
    fn refused_tokens_are_never_remembered_and_a_tampered_copy_is_not_a_hit() {
        let (k, memo) = (keys(SEED), VerifiedTokens::default());
        let other = keys("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
        let foreign = other.issue("usr_1", "ses_1", 1_000).unwrap();
        assert!(memo.verify(&k, &foreign, 1_000).is_err());
        assert!(memo.verify(&k, "not.a.token", 1_000).is_err());
        let expired = k.issue("usr_1", "ses_1", 0).unwrap();
        assert_eq!(memo.verify(&k, &expired, 1_000 + ACCESS_TOKEN_SECONDS), Err(TokenError::Expired));
        assert!(memo.is_empty(), "only tokens that verified and are live are remembered");

        let good = k.issue("usr_1", "ses_1", 1_000).unwrap();
        memo.verify(&k, &good, 1_000).unwrap();
        // The same payload with another signature, and a trailing byte: misses, verified afresh, refused.
        let (head, sig) = good.rsplit_once('.').unwrap();
        let flipped = format!("{head}.{}{}", if sig.starts_with('A') { 'B' } else { 'A' }, &sig[1..]);
        assert!(memo.verify(&k, &flipped, 1_000).is_err());
        assert!(memo.verify(&k, &format!("{good}A"), 1_000).is_err());
        assert_eq!(memo.len(), 1);
    }

    #[test]
    fn it_stays_bounded() {
        let (k, memo) = (keys(SEED), VerifiedTokens::default());
        let fill = |at: i64| {
            for i in 0..VERIFIED_TOKENS {
                let t = k.issue("usr_1", &format!("ses_{at}_{i}"), at).unwrap();
                memo.verify(&k, &t, at).unwrap();
            }
        };
        fill(1_000);
        assert_eq!(memo.len(), VERIFIED_TOKENS);
        // Full of live tokens: it starts over.
        let one_more = k.issue("usr_2", "ses_y", 1_000).unwrap();
        memo.verify(&k, &one_more, 1_000).unwrap();
        assert_eq!(memo.len(), 1);
        // Full, with expired ones among them: those go first.
        memo.verify(&k, &k.issue("usr_2", "ses_z", 1_000).unwrap(), 1_000).unwrap();
        let later = 1_000 + ACCESS_TOKEN_SECONDS + 1;
        for i in 0..(VERIFIED_TOKENS - 2) {
            let t = k.issue("usr_1", &format!("ses_l{i}"), later).unwrap();
            memo.verify(&k, &t, later).unwrap();
        }
        assert_eq!(memo.len(), VERIFIED_TOKENS);
        memo.verify(&k, &k.issue("usr_3", "ses_w", later).unwrap(), later).unwrap();
        assert_eq!(memo.len(), VERIFIED_TOKENS - 1, "the two expired entries went, the live ones stayed");
    }
}
