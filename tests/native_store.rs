//! The batch guard, on the SQLite that mirrors D1.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use latchkey::stmt;
use latchkey::store::sqlite::SqliteDb;
use latchkey::store::{sql, Db, DbError};

#[test]
fn a_guard_after_a_write_that_changed_nothing_rolls_the_batch_back() {
    let db = SqliteDb::migrated().unwrap();
    let lost_race = pollster::block_on(db.batch(vec![
        stmt!("UPDATE users SET name = 'x' WHERE id = 'nobody'"),
        stmt!(sql::GUARD_CHANGED),
        stmt!(sql::INSERT_USER, "usr_1", "a@example.com", "A", None::<String>, None::<i64>, 1_i64),
    ]));
    assert!(matches!(lost_race, Err(DbError::Guard(_))), "{lost_race:?}");
    let rows = pollster::block_on(db.run(stmt!(sql::USER_BY_ID, "usr_1"))).unwrap();
    assert!(rows.rows.is_empty(), "the insert after the guard was rolled back");

    pollster::block_on(db.run(stmt!(
        sql::INSERT_USER,
        "usr_2",
        "b@example.com",
        "B",
        None::<String>,
        None::<i64>,
        1_i64
    )))
    .unwrap();
    let won = pollster::block_on(db.batch(vec![
        stmt!("UPDATE users SET name = 'x' WHERE id = 'usr_2'"),
        stmt!(sql::GUARD_CHANGED),
        stmt!(sql::INSERT_USER, "usr_3", "c@example.com", "C", None::<String>, None::<i64>, 1_i64),
    ]));
    assert!(won.is_ok(), "{won:?}");
}

#[test]
fn a_role_change_needs_the_callers_role_to_be_what_the_decision_saw() {
    let db = SqliteDb::migrated().unwrap();
    let run = |s| pollster::block_on(db.run(s)).unwrap();
    for (id, email) in [("usr_a", "a@example.com"), ("usr_b", "b@example.com")] {
        run(stmt!(sql::INSERT_USER, id, email, "x", None::<String>, None::<i64>, 1_i64));
    }
    run(stmt!(sql::INSERT_ORG, "org_1", "Org", "org-one", 1_i64));
    run(stmt!(sql::INSERT_MEMBER, "org_1", "usr_a", "admin", 1_i64));
    run(stmt!(sql::INSERT_MEMBER, "org_1", "usr_b", "member", 1_i64));
    // The caller was admin when the decision was made, but is member now: nothing changes.
    run(stmt!("UPDATE org_members SET role = 'member' WHERE user_id = 'usr_a'"));
    let out = run(stmt!(sql::CHANGE_ROLE, "org_1", "usr_b", "admin", "member", "usr_a", "admin"));
    assert_eq!(out.changes, 0);
    let out = run(stmt!(sql::REMOVE_MEMBER, "org_1", "usr_b", "member", "usr_a", "admin"));
    assert_eq!(out.changes, 0);
    // With the role the decision saw, it applies.
    run(stmt!("UPDATE org_members SET role = 'admin' WHERE user_id = 'usr_a'"));
    assert_eq!(run(stmt!(sql::CHANGE_ROLE, "org_1", "usr_b", "admin", "member", "usr_a", "admin")).changes, 1);
}

#[test]
fn a_workspace_role_change_needs_the_callers_direct_role_to_be_what_the_decision_saw() {
    let db = SqliteDb::migrated().unwrap();
    let run = |s| pollster::block_on(db.run(s)).unwrap();
    for (id, email) in [("usr_a", "a@example.com"), ("usr_b", "b@example.com")] {
        run(stmt!(sql::INSERT_USER, id, email, "x", None::<String>, None::<i64>, 1_i64));
    }
    run(stmt!(sql::INSERT_WORKSPACE, "ws_1", "Shop", 1_i64));
    run(stmt!(sql::INSERT_WORKSPACE_MEMBER, "ws_1", "usr_a", "admin", 1_i64));
    run(stmt!(sql::INSERT_WORKSPACE_MEMBER, "ws_1", "usr_b", "admin", 1_i64));
    // usr_b demoted usr_a first; usr_a's decision (made as admin) now changes nothing.
    run(stmt!("UPDATE workspace_members SET role = 'member' WHERE user_id = 'usr_a'"));
    let out = run(stmt!(sql::CHANGE_WORKSPACE_ROLE, "ws_1", "usr_b", "member", "admin", "usr_a", "admin"));
    assert_eq!(out.changes, 0);
    let out = run(stmt!(sql::REMOVE_WORKSPACE_MEMBER, "ws_1", "usr_b", "admin", "usr_a", "admin"));
    assert_eq!(out.changes, 0);
    // With the role the decision saw, it applies.
    run(stmt!("UPDATE workspace_members SET role = 'admin' WHERE user_id = 'usr_a'"));
    let out = run(stmt!(sql::CHANGE_WORKSPACE_ROLE, "ws_1", "usr_b", "member", "admin", "usr_a", "admin"));
    assert_eq!(out.changes, 1);
}
