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
