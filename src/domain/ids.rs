//! Opaque, prefixed identifiers (`usr_…`, `ses_…`): random, never sequential.

/// Kinds of identifiers and their wire prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A person's account.
    User,
    /// A login session (the `sid` of access tokens).
    Session,
    /// An organization.
    Org,
    /// A customer workspace.
    Workspace,
    /// An invitation.
    Invitation,
    /// An API key.
    ApiKey,
    /// An audit event.
    Event,
    /// A single-use email token row.
    EmailToken,
    /// A queued job.
    Job,
    /// An install link.
    InstallLink,
    /// A notification channel (outgoing webhook).
    Channel,
    /// An outgoing webhook message to one channel.
    Delivery,
    /// A notification event (what a delivery says).
    NotificationEvent,
    /// A shareable, multi-use join link into an org.
    JoinLink,
    /// An email domain an org claims.
    Domain,
    /// A person's request to join an org.
    MembershipRequest,
    /// An address of an email notification channel.
    ChannelEmail,
    /// A trust policy (workload identity).
    TrustPolicy,
    /// A single sign-on connection.
    SsoConnection,
    /// A device authorization (RFC 8628 device sign-in).
    DeviceAuthorization,
    /// An org's SCIM token.
    ScimToken,
    /// A SCIM Group of an org.
    ScimGroup,
}

impl IdKind {
    /// The prefix, including the underscore.
    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::User => "usr_",
            IdKind::Session => "ses_",
            IdKind::Org => "org_",
            IdKind::Workspace => "ws_",
            IdKind::Invitation => "inv_",
            IdKind::ApiKey => "key_",
            IdKind::Event => "evt_",
            IdKind::EmailToken => "etk_",
            IdKind::Job => "job_",
            IdKind::InstallLink => "inl_",
            IdKind::Channel => "nch_",
            IdKind::Delivery => "dlv_",
            IdKind::NotificationEvent => "ntf_",
            IdKind::JoinLink => "jnl_",
            IdKind::Domain => "dom_",
            IdKind::MembershipRequest => "mrq_",
            IdKind::ChannelEmail => "nce_",
            IdKind::TrustPolicy => "tp_",
            IdKind::SsoConnection => "ssc_",
            IdKind::DeviceAuthorization => "dva_",
            IdKind::ScimToken => "sct_",
            IdKind::ScimGroup => "scg_",
        }
    }
}

/// Builds an id of `kind` from 16 random bytes (128 bits, lowercase hex).
pub fn new_id(kind: IdKind, random: [u8; 16]) -> String {
    format!("{}{}", kind.prefix(), hex::encode(random))
}

/// Whether `raw` has the shape of an id of `kind`; used to answer 404 early
/// without a database read for path segments that cannot exist.
pub fn looks_like(kind: IdKind, raw: &str) -> bool {
    raw.strip_prefix(kind.prefix())
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_128_bits() {
        let id = new_id(IdKind::User, [0xab; 16]);
        assert_eq!(id, format!("usr_{}", "ab".repeat(16)));
        assert!(looks_like(IdKind::User, &id));
        assert!(!looks_like(IdKind::Session, &id));
        assert!(!looks_like(IdKind::User, "usr_123"));
    }
}
