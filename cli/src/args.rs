//! The command line (clap derive).
use clap::{Args, Parser, Subcommand};

/// The default API: `make dev`'s.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8787";

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (authorize: allowed)
  1  authorize: denied
  2  usage error (bad arguments, missing input)
  3  not signed in, or the credential was refused (401)
  4  forbidden (403) or not found (404)
  5  any other API error
  6  network error (the API could not be reached)";

/// Latchkey from a terminal and from CI pipelines.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// The API's base URL (default: the one signed in to, else http://127.0.0.1:8787).
    #[arg(long, global = true, env = "LATCHKEY_API_URL", value_name = "URL")]
    pub api_url: Option<String>,
    /// An API key (`lk_…`) to act with instead of the stored sign-in.
    #[arg(long, global = true, env = "LATCHKEY_API_KEY", value_name = "KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in: approve this terminal in the console (OAuth 2.0 device grant).
    Login {
        /// How this sign-in is named in the console's approval screen.
        #[arg(long, value_name = "NAME")]
        client_name: Option<String>,
    },
    /// Sign out and forget the stored credentials.
    Logout,
    /// Who the CLI acts as (a person, or an API key).
    Whoami,
    /// The organizations you belong to.
    Orgs,
    /// The members of an organization.
    Members {
        /// Organization id (`org_…`) or slug.
        org: String,
    },
    /// Invite someone to an organization.
    Invite {
        /// Organization id (`org_…`) or slug.
        org: String,
        /// Their email address.
        email: String,
        /// owner, admin or member.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Manage an organization's API keys.
    #[command(subcommand)]
    Keys(Keys),
    /// Ask whether the caller may do something (exit 0: allowed, 1: denied).
    Authorize(Authorize),
    /// CI pipelines (GitHub Actions, GitLab CI).
    #[command(subcommand)]
    Ci(Ci),
}

#[derive(Debug, Args)]
pub struct OrgArg {
    /// Organization id (`org_…`) or slug.
    #[arg(long, value_name = "ORG")]
    pub org: String,
}

#[derive(Debug, Subcommand)]
pub enum Keys {
    /// Create a key (printed once: store it now).
    Create {
        #[command(flatten)]
        org: OrgArg,
        /// What it is for, e.g. "CI deploys".
        #[arg(long)]
        name: String,
        /// A permission it carries (repeat, or separate with commas), e.g. org:read.
        #[arg(long = "scope", value_name = "PERMISSION", value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// Days until it expires (1..3650); none: it does not expire.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<i64>,
    },
    /// List the keys (never the keys themselves).
    List {
        #[command(flatten)]
        org: OrgArg,
    },
    /// Revoke a key: it fails on its next use.
    Revoke {
        #[command(flatten)]
        org: OrgArg,
        /// The key's id (`key_…`).
        id: String,
    },
    /// Replace a key with a new one of the same scopes.
    Rotate {
        #[command(flatten)]
        org: OrgArg,
        /// The key's id (`key_…`).
        id: String,
        /// Seconds the old key keeps working (0..86400).
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        grace_period_seconds: i64,
        /// The new key's lifetime in days; none: it expires when the old one did.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<i64>,
    },
}

#[derive(Debug, Args)]
pub struct Authorize {
    /// The permission, e.g. apps:deploy.
    pub permission: String,
    /// The org to act in (id or slug).
    #[arg(long, value_name = "ORG", conflicts_with = "workspace", required_unless_present = "workspace")]
    pub org: Option<String>,
    /// …or the workspace (`ws_…`).
    #[arg(long, value_name = "WS")]
    pub workspace: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Ci {
    /// Trade this job's OIDC token for a short-lived API key and print it.
    ///
    /// The token comes from --id-token, else GitHub Actions
    /// (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, requested with --audience),
    /// else GitLab's CI_JOB_JWT_V2. In GitHub Actions the key is masked
    /// (`::add-mask::`) before it is printed.
    Exchange {
        /// A file holding the OIDC token (a JWT).
        #[arg(long, value_name = "FILE")]
        id_token: Option<std::path::PathBuf>,
        /// The audience to request the GitHub token with (the trust policy's;
        /// default latchkey:<org id> with --org).
        #[arg(long, env = "LATCHKEY_AUDIENCE", value_name = "AUD")]
        audience: Option<String>,
        /// The org id whose default audience (latchkey:<org id>) to request.
        #[arg(long, value_name = "ORG_ID")]
        org: Option<String>,
        /// Also append LATCHKEY_API_KEY=<key> to $GITHUB_ENV (later steps see it).
        #[arg(long)]
        export: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("latchkey").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn keys_create_takes_repeated_and_comma_separated_scopes() {
        let cli = parse(&[
            "keys",
            "create",
            "--org",
            "acme",
            "--name",
            "ci",
            "--scope",
            "org:read,members:read",
            "--scope",
            "apps:deploy",
            "--expires-in-days",
            "30",
        ])
        .unwrap();
        let Command::Keys(Keys::Create { org, name, scopes, expires_in_days }) = cli.command else { panic!("{cli:?}") };
        assert_eq!((org.org.as_str(), name.as_str(), expires_in_days), ("acme", "ci", Some(30)));
        assert_eq!(scopes, ["org:read", "members:read", "apps:deploy"]);
    }

    #[test]
    fn usage_errors_are_clap_errors_with_exit_code_2() {
        for bad in [
            &["keys", "create", "--org", "acme", "--name", "ci"][..], // no scope
            &["authorize", "org:read"],                               // no target
            &["authorize", "org:read", "--org", "a", "--workspace", "ws_1"],
            &["keys", "create", "--org", "a", "--name", "n", "--scope", "x", "--expires-in-days", "soon"],
            &["nope"],
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}: {e}");
        }
    }

    #[test]
    fn global_options_go_anywhere_and_help_lists_the_exit_codes() {
        let cli = parse(&["orgs", "--json", "--api-url", "http://x:1"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.api_url.as_deref(), Some("http://x:1"));
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("3  not signed in"), "{help}");
        let cli = parse(&["invite", "acme", "a@example.com"]).unwrap();
        assert!(matches!(cli.command, Command::Invite { ref role, .. } if role == "member"));
    }
}
