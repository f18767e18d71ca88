//! The plain-SQL interface (`store/sql.rs`) behaves the same on both
//! engines: a write is one transaction, a unique violation stays
//! recognisable, and values come back with the types they went in with.

use super::*;
use crate::store::sql::{params, SqlConn, SqlError};
use crate::store::StoreError;

on_both!(
    a_failed_write_leaves_nothing_of_what_it_did,
    a_taken_name_is_a_unique_violation_whatever_its_case,
    values_come_back_as_they_went_in,
    one_placeholder_serves_several_places_and_null_binds,
    writes_that_check_before_they_write_follow_one_another,
);

fn write<T>(
    engine: &Engine,
    f: impl FnOnce(&dyn SqlConn) -> Result<T, SqlError>,
) -> Result<T, StoreError> {
    let mut f = Some(f);
    let mut out = None;
    engine.sql_write(&mut |conn| {
        if let Some(f) = f.take() {
            out = Some(f(conn)?);
        }
        Ok(())
    })?;
    Ok(out.expect("the write ran"))
}

fn labels(engine: &Engine) -> Vec<Vec<Option<String>>> {
    rows(&**engine, "SELECT name FROM labels ORDER BY name")
}

fn a_failed_write_leaves_nothing_of_what_it_did(engine: &Engine) {
    let failed = write(engine, |conn| {
        conn.execute(
            "INSERT INTO labels (name, color) VALUES (?1, '#ff0000')",
            params!["kept?"],
        )?;
        conn.execute("INSERT INTO no_such_table VALUES (1)", params![])
    });
    assert!(matches!(failed, Err(StoreError::Backend(_))), "{failed:?}");
    assert!(labels(engine).is_empty(), "the first insert is undone too");
    write(engine, |conn| {
        conn.execute(
            "INSERT INTO labels (name, color) VALUES (?1, '#ff0000')",
            params!["kept"],
        )
    })
    .expect("the connection takes the next write");
    assert_eq!(labels(engine), [[Some("kept".to_owned())]]);
}

fn a_taken_name_is_a_unique_violation_whatever_its_case(engine: &Engine) {
    let add = |name: &str| {
        write(engine, |conn| {
            conn.query_row(
                "INSERT INTO labels (name, color) VALUES (?1, '#00ff00') RETURNING id",
                params![name],
                |r| r.get::<i64>(0),
            )
        })
    };
    let first = add("Refund").expect("a new name");
    let second = add("Bug").expect("another name");
    assert!(second > first, "RETURNING gives the new row's id");
    assert!(
        matches!(add("refund"), Err(StoreError::Taken(_))),
        "the same name in another case is taken"
    );
    let found: Option<i64> = engine_read(engine, |conn| {
        conn.query_opt(
            "SELECT id FROM labels WHERE name = ?1",
            params!["REFUND"],
            |r| r.get(0),
        )
    });
    assert_eq!(found, Some(first), "names compare whatever their case");
}

fn engine_read<T>(engine: &Engine, f: impl FnOnce(&dyn SqlConn) -> Result<T, SqlError>) -> T {
    let mut f = Some(f);
    let mut out = None;
    engine
        .sql_read(&mut |conn| {
            if let Some(f) = f.take() {
                out = Some(f(conn)?);
            }
            Ok(())
        })
        .expect("the read runs");
    out.expect("the read ran")
}

fn values_come_back_as_they_went_in(engine: &Engine) {
    let hash = [0u8, 1, 2, 254, 255];
    let id: i64 = write(engine, |conn| {
        let id = conn.query_row(
            "INSERT INTO agents (name, email, role, created_at, capacity, disabled)
             VALUES (?1, ?2, 'agent', ?3, ?4, ?5) RETURNING id",
            params!["Ana 李", "ana@example.com", i64::MAX, 7u32, true],
            |r| r.get(0),
        )?;
        conn.execute(
            "INSERT INTO sessions (hash, agent_id, created_at, last_used_at, expires_at)
             VALUES (?1, ?2, 0, 0, 0)",
            params![&hash[..], id],
        )?;
        Ok(id)
    })
    .expect("written");
    let row = engine_read(engine, |conn| {
        conn.query_row(
            "SELECT a.name, a.created_at, a.capacity, a.disabled, a.password_hash IS NOT NULL,
                    a.last_seen_at, s.hash, EXISTS (SELECT 1 FROM agents WHERE disabled = 1)
             FROM agents a JOIN sessions s ON s.agent_id = a.id WHERE a.id = ?1",
            params![id],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<i64>(1)?,
                    r.get::<u32>(2)?,
                    r.get::<bool>(3)?,
                    r.get::<bool>(4)?,
                    r.get::<Option<i64>>(5)?,
                    r.get::<Vec<u8>>(6)?,
                    r.get::<bool>(7)?,
                ))
            },
        )
    });
    assert_eq!(
        row,
        (
            "Ana 李".to_owned(),
            i64::MAX,
            7,
            true,
            false,
            None,
            hash.to_vec(),
            true
        )
    );
}

fn one_placeholder_serves_several_places_and_null_binds(engine: &Engine) {
    // Places of one placeholder must agree on its type (PostgreSQL infers
    // one): here two TEXT columns.
    write(engine, |conn| {
        for shortcut in ["a", "b", "c"] {
            conn.execute(
                "INSERT INTO saved_replies (shortcut, name, text, created_at)
                 VALUES (?1, ?2, ?2, 0)",
                params![shortcut, &format!("reply {shortcut}")],
            )?;
        }
        Ok(())
    })
    .expect("written");
    let shortcuts = |keep: Option<i64>| {
        engine_read(engine, |conn| {
            conn.query_map(
                "SELECT shortcut FROM saved_replies WHERE name = text
                   AND id IS DISTINCT FROM ?1 ORDER BY shortcut",
                params![keep],
                |r| r.get::<String>(0),
            )
        })
    };
    assert_eq!(
        shortcuts(None),
        ["a", "b", "c"],
        "NULL is distinct from every id"
    );
    let first = engine_read(engine, |conn| {
        conn.query_row("SELECT min(id) FROM saved_replies", params![], |r| r.get(0))
    });
    assert_eq!(shortcuts(Some(first)), ["b", "c"]);
    // A flag compared with a literal meets an INTEGER parameter on
    // PostgreSQL (retention's "anonymise" switch).
    let all = |flag: bool| {
        engine_read(engine, |conn| {
            conn.query_row(
                "SELECT count(*) FROM saved_replies WHERE ?1 = 0 OR id = ?2",
                params![flag, first],
                |r| r.get::<i64>(0),
            )
        })
    };
    assert_eq!((all(false), all(true)), (3, 1));
}

/// Each write counts the replies, then adds the next one: were two to
/// overlap (PostgreSQL's read committed, without the plain-SQL writes'
/// lock), both would count alike and the second would hit the unique
/// shortcut.
fn writes_that_check_before_they_write_follow_one_another(engine: &Engine) {
    const WRITERS: usize = 8;
    std::thread::scope(|scope| {
        for _ in 0..WRITERS {
            scope.spawn(|| {
                write(engine, |conn| {
                    let n: i64 =
                        conn.query_row("SELECT count(*) FROM saved_replies", params![], |r| {
                            r.get(0)
                        })?;
                    conn.execute(
                        "INSERT INTO saved_replies (shortcut, name, text, created_at)
                         VALUES (?1, 'n', 't', 0)",
                        params![&format!("s{n}")],
                    )
                })
                .expect("no write sees another half done")
            });
        }
    });
    let shortcuts = rows(&**engine, "SELECT shortcut FROM saved_replies ORDER BY id");
    let expected: Vec<Vec<Option<String>>> =
        (0..WRITERS).map(|n| vec![Some(format!("s{n}"))]).collect();
    assert_eq!(shortcuts, expected);
}
