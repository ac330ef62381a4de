//! `latchkey ci exchange`: where a CI job's OIDC token comes from, and how
//! the key it buys is handed to the job (masked first in GitHub Actions).
use std::path::PathBuf;

/// Where the OIDC token comes from, in order of precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--id-token FILE`.
    File(PathBuf),
    /// GitHub Actions: requested from `ACTIONS_ID_TOKEN_REQUEST_URL` with
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (the job needs `id-token: write`).
    GitHub { url: String, token: String },
    /// GitLab CI's `CI_JOB_JWT_V2`.
    GitLab(String),
}

/// The token's source given `--id-token` and the environment (`env` reads
/// a variable; empty counts as unset).
pub fn source(id_token: Option<PathBuf>, env: impl Fn(&str) -> Option<String>) -> Option<Source> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(file) = id_token {
        return Some(Source::File(file));
    }
    if let (Some(url), Some(token)) = (var("ACTIONS_ID_TOKEN_REQUEST_URL"), var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")) {
        return Some(Source::GitHub { url, token });
    }
    var("CI_JOB_JWT_V2").map(Source::GitLab)
}

/// What `ci exchange` prints to stdout for `key`: in GitHub Actions the
/// mask command comes first, so the runner hides the key from every log
/// line after it, this command's own included.
pub fn printed(key: &str, in_github_actions: bool, body: &str) -> Vec<String> {
    let mut lines = Vec::new();
    if in_github_actions {
        lines.push(format!("::add-mask::{key}"));
    }
    lines.push(body.to_owned());
    lines
}

/// The line `--export` appends to `$GITHUB_ENV`.
pub fn export_line(key: &str) -> String {
    format!("LATCHKEY_API_KEY={key}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_file_wins_then_github_then_gitlab() {
        let all = [
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh/token?api-version=2.0"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "rt"),
            ("CI_JOB_JWT_V2", "gitlab.jwt"),
        ];
        assert_eq!(source(Some("t.jwt".into()), env(&all)), Some(Source::File("t.jwt".into())));
        assert_eq!(
            source(None, env(&all)),
            Some(Source::GitHub { url: "https://gh/token?api-version=2.0".into(), token: "rt".into() })
        );
        // Half of GitHub's pair is not GitHub.
        assert_eq!(source(None, env(&all[1..])), Some(Source::GitLab("gitlab.jwt".into())));
        assert_eq!(source(None, env(&[("CI_JOB_JWT_V2", "")])), None);
        assert_eq!(source(None, env(&[])), None);
    }

    #[test]
    fn in_github_actions_the_key_is_masked_before_it_is_printed() {
        assert_eq!(printed("lk_tmp_x", true, "lk_tmp_x"), ["::add-mask::lk_tmp_x", "lk_tmp_x"]);
        assert_eq!(printed("lk_tmp_x", false, "lk_tmp_x"), ["lk_tmp_x"]);
        assert_eq!(export_line("lk_tmp_x"), "LATCHKEY_API_KEY=lk_tmp_x\n");
    }
}
