//! Email templates: a text and an HTML body for each message.
use crate::app::Config;
use html_escape::encode_text as esc;
use serde::Serialize;

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutgoingEmail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

fn layout(to: &str, subject: &str, greeting_name: &str, lines: &[&str], link: Option<(&str, &str)>) -> OutgoingEmail {
    let mut text = format!("Hi {greeting_name},\n\n");
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;max-width:560px\"><p>Hi {},</p>",
        esc(greeting_name)
    );
    for line in lines {
        text.push_str(line);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", esc(line)));
    }
    if let Some((label, url)) = link {
        text.push_str(&format!("{label}: {url}\n\n"));
        html.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;padding:10px 16px;background:#111;color:#fff;border-radius:6px;text-decoration:none\">{}</a></p><p style=\"color:#666;font-size:12px\">Or paste this link into your browser: {}</p>",
            html_escape::encode_double_quoted_attribute(url),
            esc(label),
            esc(url)
        ));
    }
    text.push_str("— Latchkey\n");
    html.push_str("<p>— Latchkey</p></body></html>");
    OutgoingEmail { to: to.to_owned(), subject: subject.to_owned(), text, html }
}

/// The verification email.
pub fn verify_email(config: &Config, to: &str, name: &str, token: &str) -> OutgoingEmail {
    let url = format!("{}/verify-email#token={token}", config.app_url);
    layout(
        to,
        "Verify your email address",
        name,
        &["Confirm that this is your email address to finish creating your Latchkey account. The link works once, for 24 hours.",
          "If you did not sign up, ignore this email."],
        Some(("Verify email", &url)),
    )
}

/// The password-reset email.
pub fn password_reset(config: &Config, to: &str, name: &str, token: &str) -> OutgoingEmail {
    let url = format!("{}/reset-password#token={token}", config.app_url);
    layout(
        to,
        "Reset your password",
        name,
        &["Someone asked to reset the password of your Latchkey account. The link works once, for 1 hour, and signs out every session.",
          "If it was not you, ignore this email: your password stays as it is."],
        Some(("Choose a new password", &url)),
    )
}

/// The notice sent when someone signs up with an address that has an account.
pub fn account_exists(config: &Config, to: &str, name: &str) -> OutgoingEmail {
    let url = format!("{}/reset-password", config.app_url);
    layout(
        to,
        "You already have a Latchkey account",
        name,
        &["Someone tried to create a Latchkey account with this address, which already has one. If it was you, sign in instead, or reset your password if you forgot it.",
          "If it was not you, no action is needed."],
        Some(("Reset password", &url)),
    )
}

/// The notice that a sign-in provider was linked to the account: a thief
/// holding a fresh session could have done it, and a reset undoes it.
pub fn identity_linked(config: &Config, to: &str, name: &str, provider: &str, account: Option<&str>) -> OutgoingEmail {
    let provider = crate::domain::oauth::Provider::parse(provider).map_or(provider, |p| p.display_name());
    let which = account.map(|a| format!(" {a}")).unwrap_or_default();
    let line = format!("The {provider} account{which} was linked to your Latchkey account: it can now sign you in.");
    let url = format!("{}/reset-password", config.app_url);
    layout(
        to,
        &format!("{provider} was linked to your Latchkey account"),
        name,
        &[&line,
          "If this wasn't you, reset your password now: a reset signs out every session and removes sign-in methods linked in the 7 days before it, unless you keep them."],
        Some(("Reset password", &url)),
    )
}

/// The notice to an org admin that a notification channel was turned off.
pub fn channel_disabled(
    config: &Config,
    to: &str,
    name: &str,
    target: &str,
    org_id: &str,
    reason: &str,
) -> OutgoingEmail {
    let why = if reason == "gone" {
        "its receiver answered that it is gone (410, or 404 from Slack or Discord)"
    } else {
        "its deliveries have failed for 5 days"
    };
    let line = format!("The notification channel for {target} was disabled because {why}.");
    // The org's channels, where it is enabled again.
    let channels = format!("{}/orgs/{org_id}/notification-channels", config.app_url);
    layout(
        to,
        "A notification channel was disabled",
        name,
        &[&line, "Fix the receiver, then enable the channel again; failed deliveries can be retried."],
        Some(("Open notification channels", &channels)),
    )
}

/// What a platform administrator did on the account.
pub fn admin_notice(config: &Config, to: &str, name: &str, action: &str) -> OutgoingEmail {
    let (subject, line) = match action {
        "user.suspended" => (
            "Your Latchkey account was suspended",
            "A platform administrator suspended your account: you cannot sign in, and the API keys you created do not work until it is restored.",
        ),
        "user.unsuspended" => (
            "Your Latchkey account was restored",
            "A platform administrator lifted the suspension of your account: you can sign in again, and your API keys work again.",
        ),
        "user.two_factor_reset" => (
            "Your two-factor authentication was reset",
            "A platform administrator reset the two-factor authentication of your account and signed out every session. Sign in with your password and set it up again.",
        ),
        _ => (
            "A platform administrator looked up your account",
            "A platform administrator looked up your Latchkey account (your address, your organizations and roles), usually to help with a support request.",
        ),
    };
    let url = format!("{}/settings/security", config.app_url);
    layout(
        to,
        subject,
        name,
        &[line, "If you did not expect this, contact your platform administrator."],
        Some(("Open Latchkey", &url)),
    )
}

/// The link that confirms an address of an email notification channel.
pub fn channel_email_confirmation(config: &Config, to: &str, org: &str, token: &str) -> OutgoingEmail {
    let url = format!("{}/confirm-channel-email#token={token}", config.app_url);
    let line = format!(
        "Someone added this address to a notification channel of {org} on Latchkey: it would receive an email when members, invitations or keys there change."
    );
    layout(
        to,
        &format!("Confirm notifications from {org}"),
        "there",
        &[&line, "Nothing is sent to it until you confirm. The link works for 7 days; if you were not expecting this, ignore this email."],
        Some(("Confirm this address", &url)),
    )
}

/// One event of an email notification channel: the human message and a link.
pub fn channel_event(to: &str, org: &str, sentence: &str, link: &str) -> OutgoingEmail {
    let subject: String = format!("{org}: {sentence}").chars().take(150).collect();
    layout(
        to,
        &subject,
        "there",
        &[&format!("{sentence}."), &format!("You receive this because this address was confirmed for a notification channel of {org}; its admins can remove it.")],
        Some(("Open Latchkey", link)),
    )
}

/// The answer to a membership request.
pub fn membership_decided(config: &Config, r: &crate::store::sql::RequestRow) -> OutgoingEmail {
    let approved = r.status == "approved";
    let (subject, line) = if approved {
        (
            format!("You joined {}", r.org_name),
            format!("Your request to join {} on Latchkey was approved: you are now a {} there.", r.org_name, r.role),
        )
    } else {
        (
            format!("Your request to join {}", r.org_name),
            format!("Your request to join {} on Latchkey was declined by its admins.", r.org_name),
        )
    };
    let url = format!("{}/", config.app_url);
    layout(&r.email, &subject, &r.name, &[&line], approved.then_some(("Open Latchkey", url.as_str())))
}

/// The warning that an API key expires in `left` days, or that it expired
/// (`left` 0), with the way to rotate it.
pub fn api_key_expiry(config: &Config, r: &crate::store::sql::KeyMailRow, left: i64) -> OutgoingEmail {
    let (subject, line) = if left <= 0 {
        (
            format!("API key \"{}\" in {} expired", r.key_name, r.org_name),
            format!(
                "The API key \"{}\" of {} on Latchkey has expired: whatever uses it is now refused.",
                r.key_name, r.org_name
            ),
        )
    } else {
        let days = if left == 1 { "1 day".to_owned() } else { format!("{left} days") };
        (
            format!("API key \"{}\" in {} expires in {days}", r.key_name, r.org_name),
            format!("The API key \"{}\" of {} on Latchkey expires in {days}.", r.key_name, r.org_name),
        )
    };
    let url = format!("{}/orgs/{}/api-keys", config.app_url, r.org_id);
    layout(
        &r.email,
        &subject,
        &r.name,
        &[&line, "Rotate it to get a new key with the same scopes, and put the new key where the old one is used (a CI/CD pipeline's secrets, say)."],
        Some(("Rotate the key", &url)),
    )
}

/// The invitation email.
pub fn invitation(config: &Config, to: &str, inviter: &str, target: &str, role: &str, token: &str) -> OutgoingEmail {
    let url = format!("{}/invite#token={token}", config.app_url);
    let line = format!("{inviter} invited you to join {target} on Latchkey as {role}.");
    layout(
        to,
        &format!("{inviter} invited you to {target}"),
        "there",
        &[&line, "The invitation is for this email address and expires in 7 days. If you were not expecting it, ignore this email."],
        Some(("View invitation", &url)),
    )
}
