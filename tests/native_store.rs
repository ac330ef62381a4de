//! The batch guard, on the SQLite that mirrors D1.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use latchkey::domain::policy::Role;
use latchkey::domain::tenant::{Tenant, TenantKind};
use latchkey::stmt;
use latchkey::store::sql::{RoleChange, UserRow};
use latchkey::store::sqlite::SqliteDb;
use latchkey::store::{sql, Batch, Db, DbError};

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
fn a_role_change_needs_the_callers_role_to_be_what_the_decision_saw_in_either_tenant() {
    for tenant in [Tenant::Org("org_1"), Tenant::Workspace("ws_1")] {
        let db = SqliteDb::migrated().unwrap();
        let run = |s| pollster::block_on(db.run(s)).unwrap();
        for (id, email) in [("usr_a", "a@example.com"), ("usr_b", "b@example.com")] {
            run(stmt!(sql::INSERT_USER, id, email, "x", None::<String>, None::<i64>, 1_i64));
        }
        match tenant {
            Tenant::Org(id) => run(stmt!(sql::INSERT_ORG, id, "Org", "org-one", 1_i64)),
            Tenant::Workspace(id) => run(stmt!(sql::INSERT_WORKSPACE, id, "Shop", 1_i64)),
        };
        let q = sql::member_sql(tenant.kind());
        let id = tenant.id();
        run(q.insert(id, "usr_a", Role::Admin, 1));
        run(q.insert(id, "usr_b", Role::Admin, 1));
        let change = |user_id, current: Role, new: Role, caller| RoleChange {
            tenant_id: id,
            user_id,
            current: current.as_str(),
            new: new.as_str(),
            caller,
            caller_role: "admin",
        };
        // usr_b demotes usr_a first…
        assert_eq!(run(q.change_role(&change("usr_a", Role::Admin, Role::Member, Some("usr_b")))).changes, 1);
        // …so usr_a's decisions, made while admin, change nothing.
        let demote_b = change("usr_b", Role::Admin, Role::Member, Some("usr_a"));
        assert_eq!(run(q.change_role(&demote_b)).changes, 0, "{tenant:?}");
        assert_eq!(run(q.remove(id, "usr_b", "admin", Some("usr_a"), "admin")).changes, 0, "{tenant:?}");
        // With the role the decision saw, it applies.
        assert_eq!(run(q.change_role(&change("usr_a", Role::Member, Role::Admin, Some("usr_b")))).changes, 1);
        assert_eq!(run(q.change_role(&demote_b)).changes, 1, "{tenant:?}");
        // An org's statement takes no person for an API key (it acts by its
        // scopes); a workspace's always re-checks the person.
        let by_key = change("usr_b", Role::Member, Role::Admin, None);
        let expected = if tenant.kind() == TenantKind::Org { 1 } else { 0 };
        assert_eq!(run(q.change_role(&by_key)).changes, expected, "{tenant:?}");
    }
}

#[test]
fn batch_results_are_read_by_handle_not_by_position() {
    let db = SqliteDb::migrated().unwrap();
    let mut batch = Batch::new();
    let inserted =
        batch.write(stmt!(sql::INSERT_USER, "usr_1", "a@example.com", "A", None::<String>, None::<i64>, 1_i64));
    let missed = batch.write(stmt!("UPDATE users SET name = 'x' WHERE id = 'nobody'"));
    let user = batch.read::<UserRow>(stmt!(sql::USER_BY_ID, "usr_1"));
    let nobody = batch.read::<UserRow>(stmt!(sql::USER_BY_ID, "usr_2"));
    let mut results = pollster::block_on(batch.run(&db)).unwrap();
    assert_eq!(results.changed(inserted), 1);
    assert_eq!(results.changed(missed), 0);
    assert!(results.first(nobody).unwrap().is_none());
    let user = results.first(user).unwrap().unwrap();
    assert_eq!((user.id.as_str(), user.email.as_str()), ("usr_1", "a@example.com"));
}
