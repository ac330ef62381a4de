//! The test harnesses' own helpers, checked against what they replaced: the
//! `toml_edit` rewrite of `wrangler.toml` for runtime tests, the
//! percent-encoding of query components, and the one RFC 6238 code helper.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use std::path::Path;
use support::*;

/// The string-editing rewrite `test_config` had before `toml_edit`, kept as
/// the oracle: drop `[build]`, make `main` and `migrations_dir` absolute (and,
/// since the console, `[assets] directory`, relative to the root).
fn previous_test_config(toml_text: &str, root: &Path) -> String {
    let quoted = |p: &Path| format!("\"{}\"", p.to_str().unwrap().replace('\\', "\\\\").replace('"', "\\\""));
    let (main, migrations) = (quoted(&root.join("build/worker/shim.mjs")), quoted(&root.join("migrations")));
    let (mut out, mut in_table, mut in_build, mut saw_main) = (Vec::new(), false, false, false);
    let mut in_assets = false;
    for line in toml_text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_table = true;
            let name = trimmed.trim_start_matches('[').split(']').next().unwrap_or("").trim();
            in_build = name == "build" || name.starts_with("build.");
            in_assets = name == "assets";
        }
        if in_build && !(trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        let key = (!trimmed.starts_with('#') && !trimmed.starts_with('['))
            .then(|| trimmed.split_once('=').map(|(k, _)| k.trim().trim_matches('"')))
            .flatten();
        match key {
            Some("main") if !in_table => {
                saw_main = true;
                out.push(format!("main = {main}"));
            }
            Some("migrations_dir") => out.push(format!("migrations_dir = {migrations}")),
            Some("directory") if in_assets => {
                let dir = trimmed.split_once('=').map(|(_, v)| v.trim().trim_matches('"')).unwrap_or("");
                out.push(format!("directory = {}", quoted(&root.join(dir))));
            }
            _ => out.push(line.to_string()),
        }
    }
    if !saw_main {
        out.insert(0, format!("main = {main}"));
    }
    out.join("\n") + "\n"
}

fn parsed(text: &str) -> toml_edit::DocumentMut {
    text.parse().unwrap()
}

#[test]
fn the_test_config_means_what_the_string_edits_made_of_the_real_wrangler_toml() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("wrangler.toml")).unwrap();
    let new = test_config(&text, &root).to_string();
    let old = previous_test_config(&text, &root);
    // Same tables, keys and values (toml_edit's Display of a parsed document
    // is its canonical text once both are parsed and printed the same way).
    assert_eq!(parsed(&new).as_table().to_string(), parsed(&old).as_table().to_string());
    let doc = parsed(&new);
    assert!(doc.get("build").is_none(), "{new}");
    assert_eq!(doc["main"].as_str(), root.join("build/worker/shim.mjs").to_str());
    assert_eq!(doc["d1_databases"][0]["migrations_dir"].as_str(), root.join("migrations").to_str());
    // The console's static assets come from the build, and the API still
    // reaches the Worker first.
    assert_eq!(doc["assets"]["directory"].as_str(), root.join("build/console").to_str());
    assert_eq!(doc["assets"]["not_found_handling"].as_str(), Some("single-page-application"));
    let first: Vec<&str> =
        doc["assets"]["run_worker_first"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(first, ["/v1/*", "/scim/*", "/health", "/.well-known/*", "/__scheduled"]);
    // Comments outside [build] survive.
    assert!(new.contains("# Per-API-key request limit"), "{new}");
}

#[test]
fn the_test_config_handles_what_string_edits_got_wrong_or_right_alike() {
    let root = Path::new("/tmp/odd \"root\"");
    let text = "name = \"x\"\n[build]\ncommand = \"make\"\n[build.upload]\nformat = \"modules\"\n\
                [env.staging]\nd1_databases = [{ binding = \"DB\", migrations_dir = \"m\" }]\n\
                [[d1_databases]]\nmigrations_dir = \"migrations\" # where\n";
    let new = test_config(text, root);
    let old = parsed(&previous_test_config(text, root));
    assert!(new.get("build").is_none(), "{new}");
    assert_eq!(new["main"].as_str(), Some("/tmp/odd \"root\"/build/worker/shim.mjs"));
    assert_eq!(new["main"].as_str(), old["main"].as_str(), "a missing main is added, quotes escaped");
    let migrations = Some("/tmp/odd \"root\"/migrations");
    assert_eq!(new["d1_databases"][0]["migrations_dir"].as_str(), migrations);
    assert_eq!(old["d1_databases"][0]["migrations_dir"].as_str(), migrations);
    assert!(new.to_string().contains("# where"), "the comment after the value stays: {new}");
    // An inline table's migrations_dir is rewritten too (the line edit missed it).
    assert_eq!(new["env"]["staging"]["d1_databases"][0]["migrations_dir"].as_str(), migrations);
}

#[test]
fn query_components_are_percent_encoded_as_before() {
    let previous = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    for s in ["ada+2fa@example.com", "a b&c=d/é?#", "plain-._~", "", "100%"] {
        assert_eq!(url_encode(s), previous(s), "{s}");
    }
    assert_eq!(url_encode("ada+2fa@example.com"), "ada%2B2fa%40example.com");
}

#[test]
fn the_one_totp_helper_matches_rfc_6238() {
    // RFC 6238 Appendix B, SHA-1 key "12345678901234567890" in base32; the
    // 8-digit values' last 6 digits.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    for (t, code) in [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")] {
        assert_eq!(totp_code(secret, t), code, "t = {t}");
    }
}

/// The two Workers' configs (`wrangler.toml`, the edge; `wrangler.manage.toml`,
/// the management Worker it hands most routes to) agree: the same vars, the
/// same D1 database, the same limits; the edge reaches the management Worker
/// by name, sends to the queues and runs the Cron Trigger; the management
/// Worker consumes every queue the edge sends to, has no public address and
/// no Cron Trigger of its own (the sweep would run twice).
#[test]
fn the_edge_and_the_management_worker_configs_agree() {
    let root = repo_root();
    let read = |name: &str| parsed(&std::fs::read_to_string(root.join(name)).unwrap());
    let (edge, manage) = (read("wrangler.toml"), read("wrangler.manage.toml"));
    let text = |item: &toml_edit::Item| item.to_string().trim().to_owned();
    assert_eq!(text(&edge["vars"]), text(&manage["vars"]), "the same [vars]");
    assert_eq!(text(&edge["d1_databases"]), text(&manage["d1_databases"]), "the same D1 database");
    assert_eq!(text(&edge["ratelimits"]), text(&manage["ratelimits"]), "the same limits");
    assert_eq!(edge["compatibility_date"].as_str(), manage["compatibility_date"].as_str());

    let service = &edge["services"].as_array_of_tables().expect("[[services]] in wrangler.toml").get(0).unwrap();
    assert_eq!(service["binding"].as_str(), Some("MANAGE"));
    assert_eq!(service["service"].as_str(), manage["name"].as_str(), "the binding names the management Worker");
    assert_eq!(manage["workers_dev"].as_bool(), Some(false), "reached only through the binding");
    assert!(manage.get("assets").is_none() && manage.get("triggers").is_none());
    assert!(edge["triggers"]["crons"].as_array().is_some_and(|c| !c.is_empty()), "the edge runs the Cron Trigger");

    let queues = |doc: &toml_edit::DocumentMut, kind: &str| -> Vec<String> {
        doc.get("queues")
            .and_then(|q| q.get(kind))
            .and_then(|t| t.as_array_of_tables())
            .map(|t| t.iter().filter_map(|c| c.get("queue")?.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    assert!(queues(&edge, "consumers").is_empty(), "the edge consumes no queue");
    let consumed = queues(&manage, "consumers");
    for sent in queues(&edge, "producers") {
        assert!(consumed.contains(&sent), "{sent} is sent by the edge and consumed by the management Worker");
    }
    assert_eq!(consumed.len(), 4, "both queues and their dead-letter queues: {consumed:?}");
}
