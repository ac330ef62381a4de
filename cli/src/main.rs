//! `latchkey`: the Latchkey API from a terminal and from CI pipelines, over
//! the public API only (the `latchkey-client` crate). See cli/README.md.
mod args;
mod ci;
mod config;
mod table;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use latchkey_client::{
    ApiKeyView, Auth, Client, CreateApiKeyBody, CreatedApiKey, Error, MemberView, OrgView, RotateBody, Tokens, Via,
};
use serde::Serialize;

use args::{Ci, Cli, Command, Keys, DEFAULT_API_URL};
use config::Credentials;
use table::{or_dash, pairs, render};

/// Exit codes (documented in `--help` and cli/README.md).
mod exit {
    pub const OK: u8 = 0;
    pub const DENIED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const UNAUTHENTICATED: u8 = 3;
    pub const FORBIDDEN: u8 = 4;
    pub const API: u8 = 5;
    pub const NETWORK: u8 = 6;
}

/// Why a command failed.
#[derive(Debug)]
enum Failure {
    /// Missing or contradictory input clap could not catch.
    Usage(String),
    /// No credential to act with.
    NotSignedIn,
    /// The API (or the network) said no.
    Client(Error),
    /// The config file or `$GITHUB_ENV` could not be read or written.
    Local(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Client(e)
    }
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => exit::USAGE,
            Failure::NotSignedIn => exit::UNAUTHENTICATED,
            Failure::Client(e) => client_exit_code(e),
            Failure::Local(_) => exit::API,
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Usage(m) | Failure::Local(m) => m.clone(),
            Failure::NotSignedIn => {
                "not signed in: run `latchkey login`, or pass --api-key (LATCHKEY_API_KEY)".to_owned()
            }
            Failure::Client(Error::Api(e)) if e.status == 401 => {
                format!("{}: {} (sign in again with `latchkey login`, or check the API key)", e.code, e.detail)
            }
            Failure::Client(Error::Api(e)) => format!("{}: {}", e.code, e.detail),
            Failure::Client(e) => e.to_string(),
        }
    }
}

/// The exit code of a client error: 3 for 401, 4 for 403 and 404, 6 when
/// the API could not be reached, 5 for anything else.
fn client_exit_code(e: &Error) -> u8 {
    match e {
        Error::Network { .. } => exit::NETWORK,
        Error::Decode { .. } => exit::API,
        Error::Api(a) => match a.status {
            401 => exit::UNAUTHENTICATED,
            403 | 404 => exit::FORBIDDEN,
            _ => exit::API,
        },
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("latchkey: {}", f.message());
            ExitCode::from(f.code())
        }
    }
}

/// The context every command runs in.
struct Ctx {
    client: Client,
    json: bool,
    dir: Option<PathBuf>,
    stored: Option<Credentials>,
}

fn run(cli: &Cli) -> Result<u8, Failure> {
    let dir = config::dir();
    let stored = match &dir {
        Some(d) => config::load(d).map_err(|e| Failure::Local(format!("reading {}: {e}", d.display())))?,
        None => None,
    };
    let api_url = cli
        .api_url
        .clone()
        .or_else(|| stored.as_ref().map(|c| c.api_url.clone()))
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    let api_url = api_url.trim_end_matches('/').to_owned();
    // The stored session belongs to the API it was issued by.
    let session = stored.clone().filter(|c| c.api_url.trim_end_matches('/') == api_url);
    let auth = match (&cli.api_key, &session) {
        (Some(key), _) if !key.is_empty() => Auth::ApiKey(key.clone()),
        (_, Some(c)) => {
            Auth::Session(Tokens { access_token: c.access_token.clone(), refresh_token: c.refresh_token.clone() })
        }
        _ => Auth::None,
    };
    let ctx = Ctx { client: Client::new(&api_url, auth), json: cli.json, dir, stored };
    let outcome = command(&ctx, &cli.command);
    // A refresh on the way rotated the tokens: keep the new pair (the old
    // refresh token is spent), whatever the command's outcome.
    if let (Some(now), Some(before)) = (ctx.client.session(), &session) {
        let was = Tokens { access_token: before.access_token.clone(), refresh_token: before.refresh_token.clone() };
        if now != was && !matches!(cli.command, Command::Logout) {
            let creds =
                Credentials { access_token: now.access_token, refresh_token: now.refresh_token, ..before.clone() };
            ctx.save(&creds)?;
        }
    }
    outcome
}

impl Ctx {
    fn save(&self, creds: &Credentials) -> Result<(), Failure> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| Failure::Local("no config directory: set LATCHKEY_CONFIG_DIR (or HOME)".to_owned()))?;
        config::save(dir, creds).map_err(|e| Failure::Local(format!("writing {}: {e}", dir.display())))
    }

    /// Fails with "not signed in" (exit 3) before any call when there is no credential.
    fn signed_in(&self) -> Result<&Client, Failure> {
        match self.client.credential() {
            Auth::None => Err(Failure::NotSignedIn),
            _ => Ok(&self.client),
        }
    }

    /// `--json`: the API's JSON; otherwise the human form.
    fn show<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) -> Result<(), Failure> {
        let text = if self.json {
            let mut s = serde_json::to_string_pretty(value).map_err(|e| Failure::Local(e.to_string()))?;
            s.push('\n');
            s
        } else {
            human()
        };
        print(&text);
        Ok(())
    }
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`latchkey orgs | head`) is not an error worth a panic.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A list as the API pages it, all pages in one.
#[derive(Serialize)]
struct Listed<'a, T> {
    data: &'a [T],
    next_cursor: Option<String>,
}

fn listed<T>(data: &[T]) -> Listed<'_, T> {
    Listed { data, next_cursor: None }
}

fn command(ctx: &Ctx, command: &Command) -> Result<u8, Failure> {
    match command {
        Command::Login { client_name } => login(ctx, client_name.as_deref()),
        Command::Logout => logout(ctx),
        Command::Whoami => whoami(ctx),
        Command::Orgs => {
            let orgs = ctx.signed_in()?.orgs()?;
            ctx.show(&listed(&orgs), || orgs_table(&orgs))?;
            Ok(exit::OK)
        }
        Command::Members { org } => {
            let client = ctx.signed_in()?;
            let org_id = client.org_id(org)?;
            let members = client.members(&org_id)?;
            ctx.show(&listed(&members), || members_table(&members))?;
            Ok(exit::OK)
        }
        Command::Invite { org, email, role } => {
            let client = ctx.signed_in()?;
            let org_id = client.org_id(org)?;
            let inv = client.invite(&org_id, email, role)?;
            ctx.show(&inv, || {
                pairs(&[
                    ("invitation", inv.id.clone()),
                    ("email", inv.email.clone()),
                    ("role", name_of(&inv.role)),
                    ("expires", inv.expires_at.clone()),
                ])
            })?;
            Ok(exit::OK)
        }
        Command::Keys(keys) => keys_command(ctx, keys),
        Command::Authorize(a) => {
            let client = ctx.signed_in()?;
            let org_id = match &a.org {
                Some(org) => Some(client.org_id(org)?),
                None => None,
            };
            let decision = client.authorize(&a.permission, org_id.as_deref(), a.workspace.as_deref())?;
            ctx.show(&decision, || {
                let verdict = if decision.allowed { "allowed" } else { "denied" };
                match &decision.via {
                    Some(via) => format!("{verdict} ({})\n", describe(via)),
                    None => format!("{verdict}\n"),
                }
            })?;
            Ok(if decision.allowed { exit::OK } else { exit::DENIED })
        }
        Command::Ci(Ci::Exchange { id_token, audience, org, export }) => {
            ci_exchange(ctx, id_token.clone(), audience.as_deref(), org.as_deref(), *export)
        }
    }
}

fn login(ctx: &Ctx, client_name: Option<&str>) -> Result<u8, Failure> {
    let client = Client::new(ctx.client.base_url(), Auth::None);
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty());
    let name = client_name.map(str::to_owned).unwrap_or_else(|| match host {
        Some(h) => format!("latchkey CLI on {h}"),
        None => "latchkey CLI".to_owned(),
    });
    let grant = client.device_start(Some(&name))?;
    let url = &grant.verification_uri_complete;
    eprintln!("To sign in, open {url}");
    eprintln!("and check that it shows the code {}", grant.user_code);
    eprintln!("Waiting for approval…");
    let session = client.device_wait(&grant, std::thread::sleep)?;
    let creds = Credentials {
        api_url: client.base_url().to_owned(),
        access_token: session.access_token.clone(),
        refresh_token: session.refresh_token.clone(),
        email: Some(session.user.email.clone()),
    };
    ctx.save(&creds)?;
    ctx.show(&session.user, || format!("Signed in as {} ({})\n", session.user.email, session.user.id))?;
    Ok(exit::OK)
}

fn logout(ctx: &Ctx) -> Result<u8, Failure> {
    let Some(dir) = &ctx.dir else { return Err(Failure::NotSignedIn) };
    let Some(stored) = &ctx.stored else {
        eprintln!("Not signed in.");
        return Ok(exit::OK);
    };
    // End the session at the API (with the stored tokens, whatever
    // --api-key says); the local file goes even when that fails.
    let client = Client::new(
        &stored.api_url,
        Auth::Session(Tokens {
            access_token: stored.access_token.clone(),
            refresh_token: stored.refresh_token.clone(),
        }),
    );
    let ended = client.logout();
    config::remove(dir).map_err(|e| Failure::Local(format!("removing the credentials: {e}")))?;
    match ended {
        Ok(()) | Err(Error::Api(_)) => {}
        Err(e) => eprintln!("latchkey: the session could not be ended at the API ({e}); it expires on its own"),
    }
    eprintln!("Signed out{}.", stored.email.as_deref().map(|e| format!(" {e}")).unwrap_or_default());
    Ok(exit::OK)
}

fn whoami(ctx: &Ctx) -> Result<u8, Failure> {
    let client = ctx.signed_in()?;
    if let Auth::ApiKey(_) = client.credential() {
        let key = client.current_key()?;
        ctx.show(&key, || {
            pairs(&[
                ("api key", key.id.clone()),
                ("name", key.name.clone()),
                ("org", key.org_id.clone()),
                ("scopes", names_of(&key.scopes)),
                ("expires", or_dash(key.expires_at.as_deref())),
            ])
        })?;
    } else {
        let me = client.me()?;
        ctx.show(&me, || {
            pairs(&[
                ("user", me.id.clone()),
                ("email", me.email.clone()),
                ("name", me.name.clone()),
                ("2fa", if me.totp_enabled { "on" } else { "off" }.to_owned()),
                ("api", client.base_url().to_owned()),
            ])
        })?;
    }
    Ok(exit::OK)
}

fn keys_command(ctx: &Ctx, keys: &Keys) -> Result<u8, Failure> {
    let client = ctx.signed_in()?;
    match keys {
        Keys::Create { org, name, scopes, expires_in_days } => {
            let org_id = client.org_id(&org.org)?;
            let body =
                CreateApiKeyBody { name: name.clone(), scopes: scopes.clone(), expires_in_days: *expires_in_days };
            let key = client.create_key(&org_id, &body)?;
            show_new_key(ctx, &key)
        }
        Keys::List { org } => {
            let org_id = client.org_id(&org.org)?;
            let keys = client.keys(&org_id)?;
            ctx.show(&listed(&keys), || keys_table(&keys))?;
            Ok(exit::OK)
        }
        Keys::Revoke { org, id } => {
            let org_id = client.org_id(&org.org)?;
            client.revoke_key(&org_id, id)?;
            if !ctx.json {
                eprintln!("Revoked {id}.");
            }
            Ok(exit::OK)
        }
        Keys::Rotate { org, id, grace_period_seconds, expires_in_days } => {
            let org_id = client.org_id(&org.org)?;
            let body = RotateBody { grace_period_seconds: *grace_period_seconds, expires_in_days: *expires_in_days };
            let key = client.rotate_key(&org_id, id, &body)?;
            show_new_key(ctx, &key)
        }
    }
}

fn show_new_key(ctx: &Ctx, key: &CreatedApiKey) -> Result<u8, Failure> {
    ctx.show(key, || {
        pairs(&[
            ("id", key.api_key.id.clone()),
            ("name", key.api_key.name.clone()),
            ("scopes", names_of(&key.api_key.scopes)),
            ("expires", or_dash(key.api_key.expires_at.as_deref())),
            ("key", key.key.clone()),
        ])
    })?;
    if !ctx.json {
        eprintln!("Store the key now: it is never shown again.");
    }
    Ok(exit::OK)
}

fn ci_exchange(
    ctx: &Ctx,
    id_token: Option<PathBuf>,
    audience: Option<&str>,
    org: Option<&str>,
    export: bool,
) -> Result<u8, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let github_env = env("GITHUB_ENV").filter(|v| !v.is_empty());
    if export && github_env.is_none() {
        return Err(Failure::Usage("--export writes to $GITHUB_ENV, which is not set (GitHub Actions only)".into()));
    }
    let token = match ci::source(id_token, env) {
        Some(ci::Source::File(path)) => std::fs::read_to_string(&path)
            .map_err(|e| Failure::Usage(format!("reading {}: {e}", path.display())))?
            .trim()
            .to_owned(),
        Some(ci::Source::GitHub { url, token }) => {
            let audience = match (audience, org) {
                (Some(a), _) => a.to_owned(),
                (None, Some(org)) => format!("latchkey:{org}"),
                (None, None) => {
                    return Err(Failure::Usage(
                        "GitHub Actions needs the trust policy's audience: pass --audience (or --org ORG_ID)".into(),
                    ))
                }
            };
            latchkey_client::github_id_token(&url, &token, &audience)?
        }
        Some(ci::Source::GitLab(jwt)) => jwt,
        None => {
            return Err(Failure::Usage(
                "no OIDC token: pass --id-token FILE, or run in GitHub Actions (permissions: id-token: write) \
                 or GitLab CI (CI_JOB_JWT_V2)"
                    .into(),
            ))
        }
    };
    let exchanged = Client::new(ctx.client.base_url(), Auth::None).exchange(&token)?;
    let in_actions = env("GITHUB_ACTIONS").as_deref() == Some("true");
    let body = if ctx.json {
        serde_json::to_string_pretty(&exchanged).map_err(|e| Failure::Local(e.to_string()))?
    } else {
        exchanged.key.clone()
    };
    let mut text = ci::printed(&exchanged.key, in_actions, &body).join("\n");
    text.push('\n');
    print(&text);
    if let Some(path) = github_env.filter(|_| export) {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| Failure::Local(format!("opening $GITHUB_ENV: {e}")))?;
        file.write_all(ci::export_line(&exchanged.key).as_bytes())
            .map_err(|e| Failure::Local(format!("writing $GITHUB_ENV: {e}")))?;
    }
    Ok(exit::OK)
}

/// A serde enum's wire name (`owner`, `org:read`).
fn name_of<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".to_owned(),
    }
}

fn names_of<T: Serialize>(vs: &[T]) -> String {
    vs.iter().map(name_of).collect::<Vec<_>>().join(",")
}

fn describe(via: &Via) -> String {
    match via {
        Via::OrgRole { role, requires, .. } => match requires {
            Some(r) => format!("org role {}, requires {}", name_of(role), name_of(r)),
            None => format!("org role {}", name_of(role)),
        },
        Via::WorkspaceRole { role, .. } => format!("workspace role {}", name_of(role)),
        Via::WorkspaceGrant { org, .. } => format!("workspace grant to {}", org.name),
        Via::ApiKey { key_id, scopes, .. } => match scopes {
            Some(s) => format!("api key {key_id}, scopes {}", names_of(s)),
            None => format!("api key {key_id}"),
        },
    }
}

fn orgs_table(orgs: &[OrgView]) -> String {
    let rows: Vec<Vec<String>> = orgs
        .iter()
        .map(|o| vec![o.id.clone(), o.slug.clone(), o.name.clone(), o.role.as_ref().map(name_of).unwrap_or_default()])
        .collect();
    render(&["ID", "SLUG", "NAME", "ROLE"], &rows)
}

fn members_table(members: &[MemberView]) -> String {
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            vec![
                m.user_id.clone(),
                m.email.clone(),
                m.name.clone(),
                name_of(&m.role),
                if m.totp_enabled { "on" } else { "off" }.to_owned(),
                or_dash(m.last_active_on.as_deref()),
            ]
        })
        .collect();
    render(&["USER", "EMAIL", "NAME", "ROLE", "2FA", "LAST ACTIVE"], &rows)
}

fn keys_table(keys: &[ApiKeyView]) -> String {
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.id.clone(),
                k.name.clone(),
                k.start.clone(),
                names_of(&k.scopes),
                or_dash(k.expires_at.as_deref()),
                or_dash(k.last_used_at.as_deref()),
                or_dash(k.revoked_at.as_deref()),
            ]
        })
        .collect();
    render(&["ID", "NAME", "START", "SCOPES", "EXPIRES", "LAST USED", "REVOKED"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_client::ApiError;

    fn api(status: u16) -> Error {
        Error::Api(ApiError { status, code: "x".into(), detail: "d".into(), body: serde_json::Value::Null })
    }

    #[test]
    fn exit_codes_follow_the_status() {
        assert_eq!(client_exit_code(&api(401)), 3);
        assert_eq!(client_exit_code(&api(403)), 4);
        assert_eq!(client_exit_code(&api(404)), 4);
        for other in [400, 409, 422, 429, 500] {
            assert_eq!(client_exit_code(&api(other)), 5, "{other}");
        }
        assert_eq!(client_exit_code(&Error::Network { url: "u".into(), message: "m".into() }), 6);
        assert_eq!(Failure::NotSignedIn.code(), 3);
        assert_eq!(Failure::Usage("u".into()).code(), 2);
    }

    #[test]
    fn tables_show_wire_names() {
        let keys: Vec<ApiKeyView> = serde_json::from_value(serde_json::json!([{
            "id": "key_1", "name": "ci", "start": "lk_abc", "scopes": ["org:read", "apps:deploy"], "created_by": null,
            "created_at": "2026-12-06T00:00:00Z", "expires_at": null, "revoked_at": null, "last_used_at": null,
            "last_used_network": null, "last_used_agent": null, "non_compliant": false, "non_compliant_reason": null,
            "trust_policy_id": null
        }]))
        .unwrap();
        let out = keys_table(&keys);
        assert_eq!(
            out,
            "ID     NAME  START   SCOPES                EXPIRES  LAST USED  REVOKED\n\
             key_1  ci    lk_abc  org:read,apps:deploy  -        -          -\n"
        );
    }
}
