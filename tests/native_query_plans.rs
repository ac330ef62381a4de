//! Flat cost as tenants grow: every SQL statement of the store, read from the
//! source with a Rust parser so a new one cannot be missed, is planned by
//! SQLite over the real migrations. A statement that scans a table growing
//! with tenants, or sorts a tenant's rows into a temporary B-tree to page
//! them, fails the test unless it is listed below with the reason it is fine.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failed test
use std::collections::BTreeMap;
use std::path::Path;

/// Statements allowed to scan or sort, and why. Keep this list short.
const ALLOWED: &[(&str, &str)] = &[
    (
        "api_keys::KEYS_DUE_WARNING",
        "the daily sweep: keys found by the expiry index, each walking its org's own list of warning days (at most 5)",
    ),
    (
        "access::MEETS_TWO_FACTOR_RULE",
        "the 2FA rule over three one-row subqueries of bound values (run only by its unit test): reads no table",
    ),
    (
        "access::GUARD_ORG_ROLE",
        "a custom role (found by its key) walks its own permission list and the permissions needed (each at most 18): no table",
    ),
    (
        "workload::INSERT_TEMPORARY_KEY",
        "a creator's custom role (found by its key) walks its own permission list and the key's scopes (each at most 18): no table",
    ),
    (
        "join_links::MEMBER_FROM_JOIN_LINK",
        "walks one link's own list of allowed domains (at most 20), the link and the person found by key",
    ),
    (
        "join_links::REQUEST_FROM_JOIN_LINK",
        "walks one link's own list of allowed domains (at most 20), the link and the person found by key",
    ),
    (
        "admin::ADMIN_ORGS_OF_EMAIL",
        "one person's memberships (found by index), sorted: bounded by their memberships; platform administrators only",
    ),
    (
        "admin::LIST_PLATFORM_AUDIT",
        "walks the platform audit log's time index from the newest, stopping at 100: no table scan despite the plan's word",
    ),
    ("mail::LIST_DEV_EMAILS", "the development mail sink: off (404) in production"),
    (
        "notifications::DELIVERIES_OF_AUDIT",
        "walks the JSON array of one request's own audit ids (a handful), each event found by index",
    ),
    (
        "orgs::ORGS_OF_USER",
        "one person's orgs, found by index, sorted by the org's creation: bounded by their memberships",
    ),
    ("workspaces::MY_WORKSPACES", "one person's own workspaces, found by index: bounded by their memberships"),
    (
        "workspaces::SHARED_WITH_ME",
        "the workspaces granted to one person's orgs, found by index: bounded by their memberships",
    ),
    (
        "workspaces::WORKSPACE_FOR_USER",
        "picks the first of one workspace's grants to the caller's orgs: bounded by that workspace's grants",
    ),
];

/// Every `const NAME: &str = "…";` under src/store/sql, with its value.
fn statements() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/sql");
    let mut out = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("src/store/sql").map(|e| e.expect("entry").path()).collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
        let source = std::fs::read_to_string(path).expect("readable");
        let file = syn::parse_file(&source).expect("parses");
        let module = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        for item in file.items {
            let syn::Item::Const(c) = item else { continue };
            let is_str = matches!(&*c.ty, syn::Type::Reference(r) if matches!(&*r.elem, syn::Type::Path(p) if p.path.is_ident("str")));
            if !is_str {
                continue;
            }
            let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &*c.expr else {
                panic!("{module}::{} is not a string literal: statements must stay literals", c.ident);
            };
            out.insert(format!("{module}::{}", c.ident), s.value());
        }
    }
    out
}

fn migrated() -> rusqlite::Connection {
    let db = rusqlite::Connection::open_in_memory().expect("sqlite");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("migrations").map(|e| e.expect("entry").path()).collect();
    files.sort();
    for f in files {
        db.execute_batch(&std::fs::read_to_string(&f).expect("migration")).expect("migration applies");
    }
    db
}

/// The plan's lines that cost in proportion to a table or a tenant's rows.
fn costly(db: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = db.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap_or_else(|e| panic!("{e}: {sql}"));
    // Parameters stay unbound (NULL): the plan does not depend on their values.
    let nulls = rusqlite::params_from_iter(std::iter::repeat_n(rusqlite::types::Null, stmt.parameter_count()));
    let details: Vec<String> =
        stmt.query_map(nulls, |r| r.get::<_, String>(3)).expect("plan").map(|d| d.expect("detail")).collect();
    details
        .into_iter()
        .filter(|d| {
            // A full pass over a table (or an index of it), or a sort of rows
            // found so far; constant rows and CTE/subquery results are fine.
            (d.starts_with("SCAN ")
                && !d.starts_with("SCAN CONSTANT ROW")
                && !d.starts_with("SCAN (subquery-")
                && !d.contains("CTE"))
                || d.contains("USE TEMP B-TREE")
        })
        .collect()
}

#[test]
fn no_statement_scans_or_sorts_a_table_that_grows_with_tenants() {
    let db = migrated();
    let statements = statements();
    assert!(
        statements.len() > 80,
        "found only {} statements: is the parser still reading src/store/sql?",
        statements.len()
    );
    let mut failures = Vec::new();
    for (name, sql) in &statements {
        let bad = costly(&db, sql);
        let allowed = ALLOWED.iter().any(|(n, _)| n == name);
        if !bad.is_empty() && !allowed {
            failures.push(format!("{name}: {}\n    {sql}", bad.join("; ")));
        }
        if bad.is_empty() && allowed {
            failures.push(format!("{name} is allowed to scan but no longer does: drop it from ALLOWED"));
        }
    }
    assert!(failures.is_empty(), "{} statement(s) scale with data:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_check_catches_a_scan_and_a_tenant_sort() {
    // The detector itself: a query without an index must be caught.
    let db = migrated();
    assert!(!costly(&db, "SELECT id FROM audit_events WHERE action = 'x'").is_empty());
    assert!(
        !costly(&db, "SELECT user_id FROM org_members WHERE org_id = ?1 ORDER BY role, user_id LIMIT 10").is_empty()
    );
    assert!(costly(&db, "SELECT id FROM users WHERE id = ?1").is_empty());
}
