//! The one error type of the use cases; `http::error` maps it to problem+json
//! (status, title, headers) once. Nothing here knows HTTP: a refusal names its
//! [`ErrorCode`], a closed set, and `http` decides what status it answers.
use crate::domain::FieldError;
use crate::store::DbError;
use std::borrow::Cow;

/// Every stable `code` a problem+json answer can carry: clients switch on it,
/// so a code never changes its spelling. Adding one does not compile until
/// `http::error` gives it a status and a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON, or not the JSON the route takes.
    InvalidJson,
    /// Field rules broken; `errors` lists them.
    ValidationFailed,
    /// The password is on the list of common passwords.
    PasswordTooCommon,
    /// The body is over 64 KiB.
    PayloadTooLarge,
    /// No usable credentials.
    Unauthenticated,
    /// Unknown email or wrong password.
    InvalidCredentials,
    /// A single-use or refresh token that is unknown, used or expired.
    InvalidToken,
    /// The account's email is not verified yet.
    EmailNotVerified,
    /// Visible but not permitted.
    Forbidden,
    /// Not there, or not the caller's to see.
    NotFound,
    /// The path exists with other methods.
    MethodNotAllowed,
    /// Too many failed attempts (logins, second factors).
    TooManyAttempts,
    /// A limit was reached.
    RateLimited,
    /// A person-only action (or a route for people) tried with an API key.
    UserRequired,
    /// An API key asked for with a person-only scope.
    ScopeNotAllowedForKeys,
    /// A new or rotated API key beyond the org's key policy (no expiry where
    /// one is required, or too long a lifetime); `errors` names the field.
    ApiKeyPolicyViolation,
    /// An API key in a query string.
    ApiKeyInUrl,
    /// A failure of ours.
    InternalError,
    /// Workload identity: not a JWT, an algorithm other than RS256/ES256, an unknown `kid`, or a bad signature.
    OidcInvalidToken,
    /// Workload identity: the token's `iss` is no issuer trust policies may name.
    OidcUnknownIssuer,
    /// Workload identity: the issuer's discovery document or JWKS could not be fetched.
    OidcIssuerUnavailable,
    /// Workload identity: the token's `exp` passed (60 s leeway), or it has none.
    OidcTokenExpired,
    /// Workload identity: the token's `nbf` or `iat` is more than 60 s ahead.
    OidcTokenNotYetValid,
    /// Workload identity: no trust policy of the issuer names the token's `aud`.
    OidcAudienceMismatch,
    /// Workload identity: a claim did not match a policy's condition (the detail names the claim).
    OidcConditionMismatch,
    /// Workload identity: the token's `jti` was already exchanged (or it has none).
    OidcTokenReplayed,
    /// Workload identity: a pull-request run that may execute a fork's code.
    OidcForkRefused,
    /// Workload identity: the policy's creator no longer holds its scopes in the org (demoted, removed, or suspended).
    OidcPolicyCreatorLacksScope,
    /// Not the password of the sign-up an emailed link belongs to.
    PasswordMismatch,
    /// The org (or the org a workspace is reached through) requires 2FA.
    TwoFactorRequired,
    /// An owner is never removed while an owner.
    CannotRemoveOwner,
    /// The org or workspace would be left without an owner.
    LastOwner,
    /// The row changed between reading and writing; try again.
    Conflict,
    /// Leaving a workspace reached only through an org's grant.
    AccessThroughGrant,
    /// The org already has a grant on this workspace.
    GrantExists,
    /// No organization has this slug.
    OrgNotFound,
    /// The org gave this workspace's access back and takes it again only
    /// through one of its install links.
    GrantRefused,
    /// No install link has this token.
    InstallLinkNotFound,
    /// The install link was revoked or has expired.
    InstallLinkUnavailable,
    /// No join link has this token.
    JoinLinkNotFound,
    /// The join link was revoked, has expired or has no use left.
    JoinLinkUnavailable,
    /// The join link is restricted to email domains the person's address is not on.
    JoinLinkDomainMismatch,
    /// The account is suspended by a platform administrator (its sessions
    /// and the keys it created stop).
    AccountSuspended,
    /// A platform administrator's route, for someone who is not one (or has no 2FA).
    PlatformAdminRequired,
    /// A pending membership request of this person and org exists.
    MembershipRequestExists,
    /// The membership request was decided or withdrawn already.
    MembershipRequestNotPending,
    /// A malformed, unknown, revoked or expired API key.
    InvalidApiKey,
    /// A scope beyond the caller's role.
    ScopeExceedsRole,
    /// Rotating a key that is not live or was rotated before.
    ApiKeyNotActive,
    /// A route for API keys called with a session.
    ApiKeyRequired,
    /// Nobody invites themself.
    CannotInviteSelf,
    /// A pending invitation for this address exists.
    InvitationExists,
    /// A custom role still held by members or pending invitations.
    RoleInUse,
    /// The org has a custom role with this key.
    RoleExists,
    /// The org has the most custom roles it may (25).
    RoleLimitReached,
    /// owner, admin and member are built in and never change.
    BuiltinRole,
    /// The address is already a member.
    AlreadyMember,
    /// Only a pending (or, to resend, expired) invitation.
    InvitationNotPending,
    /// No invitation has this token.
    InvitationNotFound,
    /// The invitation was accepted already.
    InvitationAlreadyAccepted,
    /// The invitation was revoked.
    InvitationRevoked,
    /// The invitation was declined.
    InvitationDeclined,
    /// The invitation has expired.
    InvitationExpired,
    /// The invitation is for another address.
    InvitationEmailMismatch,
    /// Signing up with an invitation for an address that has an account.
    AccountExists,
    /// An API key lacks the scope.
    InsufficientScope,
    /// The slug belongs to another organization.
    SlugTaken,
    /// A wrong, reused or stale one-time code.
    InvalidOtp,
    /// Two-factor authentication is on already.
    TotpAlreadyEnabled,
    /// OAuth: unknown or unconfigured provider.
    ProviderNotFound,
    /// OAuth: `redirect_uri` not on the allow-list.
    InvalidRedirectUri,
    /// OAuth: bad or replayed `state`.
    InvalidState,
    /// OAuth: the last way to sign in.
    LastLoginMethod,
    /// OAuth: needs a recent sign-in.
    ReauthenticationRequired,
    /// OAuth: linked to someone else.
    IdentityInUse,
    /// OAuth: an account holds the address, and the provider has not verified it.
    EmailTaken,
    /// OAuth: the provider gave no address it has verified.
    ProviderEmailUnverified,
    /// OAuth: another account of this provider is linked already.
    ProviderAlreadyLinked,
    /// Notification channels: a URL that breaks the outgoing rules.
    InvalidWebhookUrl,
    /// Notification channels: retrying a delivery that has not failed (delivered, or pending on its schedule).
    DeliveryNotFailed,
    /// Notification channels: an operation for another kind of channel
    /// (rotating the secret of a Slack, Discord or email channel; a `url` for an email channel).
    ChannelKindMismatch,
    /// Browser mode (`X-Latchkey-Client: browser`) without our own `Origin`: refused, nothing done.
    CsrfRejected,
    /// Verified domains: the TXT record was not found (the detail says what was).
    DomainNotVerified,
    /// Single sign-on: the org requires SSO for this address.
    SsoRequired,
    /// Single sign-on: a domain already belongs to another connection.
    SsoDomainTaken,
    /// Single sign-on: the issuer's discovery document could not be used.
    SsoDiscoveryFailed,
    /// Verified domains: another organization has verified this domain.
    DomainClaimed,
    /// Verified domains: a consumer mail domain (gmail.com, …) nobody may claim.
    PublicEmailDomain,
    /// Verified domains: the organization has added this domain already.
    DomainExists,
    /// Device sign-in (RFC 8628): nobody has approved or denied the request yet; poll again.
    AuthorizationPending,
    /// Device sign-in: polled sooner than the interval, which grew by 5 s (`interval` says to what).
    SlowDown,
    /// Device sign-in: the request expired; start again.
    ExpiredToken,
    /// Device sign-in: the request was denied in the console.
    AccessDenied,
    /// Device sign-in: a `grant_type` other than `urn:ietf:params:oauth:grant-type:device_code`.
    UnsupportedGrantType,
    /// SCIM: the SCIM token is malformed, unknown, revoked, or another org's; or another credential on `/scim/v2`.
    InvalidScimToken,
    /// The member is provisioned by the org's directory (SCIM): change or remove them there.
    ManagedByScim,
    /// SCIM `invalidFilter`: a filter other than `attribute eq \"value\"` on the attributes listed.
    ScimInvalidFilter,
    /// SCIM `invalidValue`: a missing or wrong attribute (an address off the org's verified domains among them).
    ScimInvalidValue,
    /// SCIM `invalidSyntax`: the body is not JSON, or not a JSON object of the resource.
    ScimInvalidSyntax,
    /// SCIM `invalidPath`: a PATCH path this service does not take.
    ScimInvalidPath,
    /// SCIM `mutability`: an attribute that cannot change (`userName`, `id`).
    ScimMutability,
    /// SCIM `uniqueness`: a User with this `userName`, or a Group with this `displayName`, exists already.
    ScimUniqueness,
}

impl ErrorCode {
    /// The stable snake_case string clients see.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::PasswordTooCommon => "password_too_common",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::EmailNotVerified => "email_not_verified",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UserRequired => "user_required",
            ErrorCode::ScopeNotAllowedForKeys => "scope_not_allowed_for_keys",
            ErrorCode::ApiKeyPolicyViolation => "api_key_policy_violation",
            ErrorCode::ApiKeyInUrl => "api_key_in_url",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::OidcInvalidToken => "oidc_invalid_token",
            ErrorCode::OidcUnknownIssuer => "oidc_unknown_issuer",
            ErrorCode::OidcIssuerUnavailable => "oidc_issuer_unavailable",
            ErrorCode::OidcTokenExpired => "oidc_token_expired",
            ErrorCode::OidcTokenNotYetValid => "oidc_token_not_yet_valid",
            ErrorCode::OidcAudienceMismatch => "oidc_audience_mismatch",
            ErrorCode::OidcConditionMismatch => "oidc_condition_mismatch",
            ErrorCode::OidcTokenReplayed => "oidc_token_replayed",
            ErrorCode::OidcForkRefused => "oidc_fork_refused",
            ErrorCode::OidcPolicyCreatorLacksScope => "oidc_policy_creator_lacks_scope",
            ErrorCode::PasswordMismatch => "password_mismatch",
            ErrorCode::TwoFactorRequired => "two_factor_required",
            ErrorCode::CannotRemoveOwner => "cannot_remove_owner",
            ErrorCode::LastOwner => "last_owner",
            ErrorCode::Conflict => "conflict",
            ErrorCode::AccessThroughGrant => "access_through_grant",
            ErrorCode::GrantExists => "grant_exists",
            ErrorCode::OrgNotFound => "org_not_found",
            ErrorCode::GrantRefused => "grant_refused",
            ErrorCode::InstallLinkNotFound => "install_link_not_found",
            ErrorCode::InstallLinkUnavailable => "install_link_unavailable",
            ErrorCode::JoinLinkNotFound => "join_link_not_found",
            ErrorCode::JoinLinkUnavailable => "join_link_unavailable",
            ErrorCode::JoinLinkDomainMismatch => "join_link_domain_mismatch",
            ErrorCode::AccountSuspended => "account_suspended",
            ErrorCode::PlatformAdminRequired => "platform_admin_required",
            ErrorCode::MembershipRequestExists => "membership_request_exists",
            ErrorCode::MembershipRequestNotPending => "membership_request_not_pending",
            ErrorCode::InvalidApiKey => "invalid_api_key",
            ErrorCode::ScopeExceedsRole => "scope_exceeds_role",
            ErrorCode::ApiKeyNotActive => "api_key_not_active",
            ErrorCode::ApiKeyRequired => "api_key_required",
            ErrorCode::CannotInviteSelf => "cannot_invite_self",
            ErrorCode::InvitationExists => "invitation_exists",
            ErrorCode::RoleInUse => "role_in_use",
            ErrorCode::RoleExists => "role_exists",
            ErrorCode::RoleLimitReached => "role_limit_reached",
            ErrorCode::BuiltinRole => "builtin_role",
            ErrorCode::AlreadyMember => "already_member",
            ErrorCode::InvitationNotPending => "invitation_not_pending",
            ErrorCode::InvitationNotFound => "invitation_not_found",
            ErrorCode::InvitationAlreadyAccepted => "invitation_already_accepted",
            ErrorCode::InvitationRevoked => "invitation_revoked",
            ErrorCode::InvitationDeclined => "invitation_declined",
            ErrorCode::InvitationExpired => "invitation_expired",
            ErrorCode::InvitationEmailMismatch => "invitation_email_mismatch",
            ErrorCode::AccountExists => "account_exists",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::SlugTaken => "slug_taken",
            ErrorCode::InvalidOtp => "invalid_otp",
            ErrorCode::TotpAlreadyEnabled => "totp_already_enabled",
            ErrorCode::ProviderNotFound => "provider_not_found",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::LastLoginMethod => "last_login_method",
            ErrorCode::ReauthenticationRequired => "reauthentication_required",
            ErrorCode::IdentityInUse => "identity_in_use",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::ProviderEmailUnverified => "provider_email_unverified",
            ErrorCode::ProviderAlreadyLinked => "provider_already_linked",
            ErrorCode::InvalidWebhookUrl => "invalid_webhook_url",
            ErrorCode::DeliveryNotFailed => "delivery_not_failed",
            ErrorCode::ChannelKindMismatch => "channel_kind_mismatch",
            ErrorCode::CsrfRejected => "csrf_rejected",
            ErrorCode::DomainNotVerified => "domain_not_verified",
            ErrorCode::SsoRequired => "sso_required",
            ErrorCode::SsoDomainTaken => "sso_domain_taken",
            ErrorCode::SsoDiscoveryFailed => "sso_discovery_failed",
            ErrorCode::DomainClaimed => "domain_claimed",
            ErrorCode::PublicEmailDomain => "public_email_domain",
            ErrorCode::DomainExists => "domain_exists",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScimToken => "invalid_scim_token",
            ErrorCode::ManagedByScim => "managed_by_scim",
            ErrorCode::ScimInvalidFilter => "scim_invalid_filter",
            ErrorCode::ScimInvalidValue => "scim_invalid_value",
            ErrorCode::ScimInvalidSyntax => "scim_invalid_syntax",
            ErrorCode::ScimInvalidPath => "scim_invalid_path",
            ErrorCode::ScimMutability => "scim_mutability",
            ErrorCode::ScimUniqueness => "scim_uniqueness",
        }
    }

    /// Every code, for tests and the document.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidJson,
        ErrorCode::ValidationFailed,
        ErrorCode::PasswordTooCommon,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Unauthenticated,
        ErrorCode::InvalidCredentials,
        ErrorCode::InvalidToken,
        ErrorCode::EmailNotVerified,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::TooManyAttempts,
        ErrorCode::RateLimited,
        ErrorCode::UserRequired,
        ErrorCode::ScopeNotAllowedForKeys,
        ErrorCode::ApiKeyPolicyViolation,
        ErrorCode::ApiKeyInUrl,
        ErrorCode::InternalError,
        ErrorCode::PasswordMismatch,
        ErrorCode::TwoFactorRequired,
        ErrorCode::CannotRemoveOwner,
        ErrorCode::LastOwner,
        ErrorCode::Conflict,
        ErrorCode::AccessThroughGrant,
        ErrorCode::GrantExists,
        ErrorCode::OrgNotFound,
        ErrorCode::GrantRefused,
        ErrorCode::InstallLinkNotFound,
        ErrorCode::InstallLinkUnavailable,
        ErrorCode::JoinLinkNotFound,
        ErrorCode::JoinLinkUnavailable,
        ErrorCode::JoinLinkDomainMismatch,
        ErrorCode::AccountSuspended,
        ErrorCode::PlatformAdminRequired,
        ErrorCode::MembershipRequestExists,
        ErrorCode::MembershipRequestNotPending,
        ErrorCode::InvalidApiKey,
        ErrorCode::ScopeExceedsRole,
        ErrorCode::OidcInvalidToken,
        ErrorCode::OidcUnknownIssuer,
        ErrorCode::OidcIssuerUnavailable,
        ErrorCode::OidcTokenExpired,
        ErrorCode::OidcTokenNotYetValid,
        ErrorCode::OidcAudienceMismatch,
        ErrorCode::OidcConditionMismatch,
        ErrorCode::OidcTokenReplayed,
        ErrorCode::OidcForkRefused,
        ErrorCode::OidcPolicyCreatorLacksScope,
        ErrorCode::ApiKeyNotActive,
        ErrorCode::ApiKeyRequired,
        ErrorCode::CannotInviteSelf,
        ErrorCode::InvitationExists,
        ErrorCode::RoleInUse,
        ErrorCode::RoleExists,
        ErrorCode::RoleLimitReached,
        ErrorCode::BuiltinRole,
        ErrorCode::AlreadyMember,
        ErrorCode::InvitationNotPending,
        ErrorCode::InvitationNotFound,
        ErrorCode::InvitationAlreadyAccepted,
        ErrorCode::InvitationRevoked,
        ErrorCode::InvitationDeclined,
        ErrorCode::InvitationExpired,
        ErrorCode::InvitationEmailMismatch,
        ErrorCode::AccountExists,
        ErrorCode::InsufficientScope,
        ErrorCode::SlugTaken,
        ErrorCode::InvalidOtp,
        ErrorCode::TotpAlreadyEnabled,
        ErrorCode::ProviderNotFound,
        ErrorCode::InvalidRedirectUri,
        ErrorCode::InvalidState,
        ErrorCode::LastLoginMethod,
        ErrorCode::ReauthenticationRequired,
        ErrorCode::IdentityInUse,
        ErrorCode::EmailTaken,
        ErrorCode::ProviderEmailUnverified,
        ErrorCode::ProviderAlreadyLinked,
        ErrorCode::InvalidWebhookUrl,
        ErrorCode::DeliveryNotFailed,
        ErrorCode::ChannelKindMismatch,
        ErrorCode::CsrfRejected,
        ErrorCode::DomainNotVerified,
        ErrorCode::SsoRequired,
        ErrorCode::SsoDomainTaken,
        ErrorCode::SsoDiscoveryFailed,
        ErrorCode::DomainClaimed,
        ErrorCode::PublicEmailDomain,
        ErrorCode::DomainExists,
        ErrorCode::AuthorizationPending,
        ErrorCode::SlowDown,
        ErrorCode::ExpiredToken,
        ErrorCode::AccessDenied,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::InvalidScimToken,
        ErrorCode::ManagedByScim,
        ErrorCode::ScimInvalidFilter,
        ErrorCode::ScimInvalidValue,
        ErrorCode::ScimInvalidSyntax,
        ErrorCode::ScimInvalidPath,
        ErrorCode::ScimMutability,
        ErrorCode::ScimUniqueness,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of ours: what we were doing, and the error that stopped it.
/// Logged with its whole cause chain, never echoed to the client.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct Internal {
    context: Cow<'static, str>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Internal {
    /// The context and every cause, outermost first: `a: b: c`.
    pub fn chain(&self) -> String {
        let mut out = self.context.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            next = cause.source();
        }
        out
    }
}

/// Why an operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Field rules broken (`validation_failed`, or `password_too_common`).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The body is not JSON (`invalid_json`).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The body is over 64 KiB.
    #[error("payload too large")]
    PayloadTooLarge,
    /// No usable credentials (`unauthenticated`).
    #[error("authentication required")]
    Unauthenticated,
    /// Unknown email or wrong password (`invalid_credentials`).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// An emailed single-use token that is unknown, used or expired (`invalid_token`).
    #[error("invalid token")]
    InvalidToken,
    /// A refresh token that is unknown, used or expired (`invalid_token`,
    /// but a credential failure, unlike [`AppError::InvalidToken`]).
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// The account's email is not verified yet.
    #[error("email not verified")]
    EmailNotVerified,
    /// Visible but not permitted (`forbidden`).
    #[error("forbidden")]
    Forbidden,
    /// Not there, or not the caller's to see (`not_found`).
    #[error("not found")]
    NotFound,
    /// The path exists with other methods.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Too many failed attempts (`too_many_attempts`).
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until the next attempt may succeed.
        retry_after: i64,
    },
    /// A limit was reached (`rate_limited`).
    #[error("rate limited: {detail}")]
    RateLimited {
        /// Seconds until it is worth trying again.
        retry_after: i64,
        /// What limit.
        detail: String,
    },
    /// A person-only action (or a route for people) tried with an API key
    /// (`user_required`).
    #[error("this needs a signed-in person, not an API key")]
    UserRequired,
    /// An API key asked for with a person-only scope (`scope_not_allowed_for_keys`).
    #[error(
        "API keys cannot hold the {scope} scope: only a signed-in person deletes organizations and manages billing"
    )]
    ScopeNotAllowedForKeys {
        /// The refused scope.
        scope: &'static str,
    },
    /// An API key in a query string (`api_key_in_url`).
    #[error("API key in URL")]
    ApiKeyInUrl,
    /// Device sign-in polled sooner than its interval (`slow_down`): the
    /// answer carries the new, longer interval.
    #[error("slow down: poll every {interval} seconds")]
    SlowDown {
        /// The interval from now on, seconds.
        interval: i64,
    },
    /// Any other refusal of the contract, by its code (409s, 410s, …).
    #[error("{code}: {detail}")]
    Refused {
        /// Stable code; `http::error` gives it its status.
        code: ErrorCode,
        /// Human-readable detail.
        detail: Cow<'static, str>,
    },
    /// A failure of ours: logged with its cause chain, never echoed.
    #[error("internal: {0}")]
    Internal(#[source] Internal),
}

impl AppError {
    /// A one-field validation error.
    pub fn field(e: FieldError) -> Self {
        AppError::Validation(vec![e])
    }

    /// A refusal with its stable code and a detail for people.
    pub fn refused(code: ErrorCode, detail: impl Into<Cow<'static, str>>) -> Self {
        AppError::Refused { code, detail: detail.into() }
    }

    /// A failure of ours with no underlying error (a broken invariant).
    pub fn internal(context: impl Into<Cow<'static, str>>) -> Self {
        AppError::Internal(Internal { context: context.into(), source: None })
    }

    /// A failure of ours caused by `source`, with what we were doing.
    pub fn internal_from(
        context: impl Into<Cow<'static, str>>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        AppError::Internal(Internal { context: context.into(), source: Some(Box::new(source)) })
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Validation(fields) if fields.iter().any(|f| f.code == crate::domain::password::TOO_COMMON) => {
                ErrorCode::PasswordTooCommon
            }
            AppError::Validation(fields)
                if fields.iter().any(|f| f.code == crate::domain::key_policy::POLICY_VIOLATION) =>
            {
                ErrorCode::ApiKeyPolicyViolation
            }
            AppError::Validation(_) => ErrorCode::ValidationFailed,
            AppError::InvalidJson(_) => ErrorCode::InvalidJson,
            AppError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::InvalidCredentials => ErrorCode::InvalidCredentials,
            AppError::InvalidToken | AppError::InvalidRefreshToken => ErrorCode::InvalidToken,
            AppError::EmailNotVerified => ErrorCode::EmailNotVerified,
            AppError::Forbidden => ErrorCode::Forbidden,
            AppError::NotFound => ErrorCode::NotFound,
            AppError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            AppError::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::UserRequired => ErrorCode::UserRequired,
            AppError::ScopeNotAllowedForKeys { .. } => ErrorCode::ScopeNotAllowedForKeys,
            AppError::ApiKeyInUrl => ErrorCode::ApiKeyInUrl,
            AppError::SlowDown { .. } => ErrorCode::SlowDown,
            AppError::Refused { code, .. } => *code,
            AppError::Internal(_) => ErrorCode::InternalError,
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        AppError::internal_from("data access", e)
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::field(e)
    }
}

/// Collects the errors of several independent field parses into one 422.
pub fn collect_fields<const N: usize>(results: [Option<FieldError>; N]) -> Result<(), AppError> {
    let errors: Vec<FieldError> = results.into_iter().flatten().collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_serializes_as_its_string() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} listed twice");
            assert_eq!(serde_json::to_value(code).ok(), Some(serde_json::Value::from(code.as_str())));
        }
    }

    #[test]
    fn an_internal_error_keeps_its_cause_chain() {
        let e = AppError::internal_from("loading the member", DbError::Other("disk I/O".into()));
        let AppError::Internal(inner) = &e else { panic!("not internal: {e:?}") };
        assert_eq!(inner.chain(), "loading the member: database: disk I/O");
        assert_eq!(e.code(), ErrorCode::InternalError);
    }
}
