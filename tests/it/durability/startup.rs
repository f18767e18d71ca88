//! A server that cannot use its data directory refuses to start, saying
//! which path is wrong and what to do, and leaves the files as they were.

use super::*;

#[actix_web::test]
async fn startup_fails_when_another_instance_uses_the_data_dir() {
    let dir = TempDir::new().expect("temp dir");
    let (mut first, addr) = start_server(dir.path(), &[]).await;
    let stderr = start_expecting_refusal(dir.path()).await;
    assert_mentions(
        &stderr,
        &[&dir.path().display().to_string(), "in use", "--data-dir"],
    );
    // The running instance is unharmed.
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("healthz of the first instance");
    assert!(health.status().is_success());
    assert!(first.child.try_wait().expect("try_wait").is_none());
    first.sigterm();
    let status = first.wait_exit(EXIT_TIMEOUT, "SIGTERM").await;
    assert!(status.success());
}

#[actix_web::test]
async fn startup_fails_on_a_corrupt_database_and_leaves_it_untouched() {
    let binary: Vec<u8> = (0..16_384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let text = b"this is not a database, just some notes\n".to_vec();
    for garbage in [binary, text] {
        let dir = TempDir::new().expect("temp dir");
        let db = dir.path().join(DB_FILE);
        std::fs::write(&db, &garbage).unwrap();
        let stderr = start_expecting_refusal(dir.path()).await;
        assert_mentions(
            &stderr,
            &[
                &db.display().to_string(),
                "not a valid support-chat database",
                "backup",
            ],
        );
        assert!(
            std::fs::read(&db).unwrap() == garbage,
            "the corrupt file must be left untouched"
        );
    }
}

#[actix_web::test]
async fn startup_fails_on_a_database_of_another_application_and_leaves_it_untouched() {
    let dir = TempDir::new().expect("temp dir");
    let db = dir.path().join(DB_FILE);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount INTEGER);
             INSERT INTO invoices (amount) VALUES (42);",
        )
        .unwrap();
    }
    let original = std::fs::read(&db).unwrap();
    let stderr = start_expecting_refusal(dir.path()).await;
    assert_mentions(
        &stderr,
        &[
            &db.display().to_string(),
            "not a valid support-chat database",
        ],
    );
    let after = std::fs::read(&db).unwrap();
    let changed: Vec<String> = original
        .iter()
        .zip(&after)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(at, (a, b))| format!("byte {at}: {a} -> {b}"))
        .collect();
    assert!(
        changed.is_empty() && after.len() == original.len(),
        "the other application's database must be left byte for byte as it was, but \
         {} bytes changed ({}; bytes 18 and 19 are SQLite's journal mode, 2 = WAL) \
         and its length went from {} to {}",
        changed.len(),
        changed[..changed.len().min(6)].join(", "),
        original.len(),
        after.len()
    );
    let journals: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with("-wal") || name.ends_with("-shm")
        })
        .collect();
    assert!(
        journals.is_empty(),
        "no journal files are left beside it: {journals:?}"
    );
}

#[actix_web::test]
async fn startup_fails_on_a_database_written_by_a_newer_version() {
    let dir = TempDir::new().expect("temp dir");
    let (mut server, addr) = start_server(dir.path(), &[]).await;
    let (mut customer, _, _) = WsClient::join(&format!("ws://{addr}/ws/customer/future-1")).await;
    say_and_ack(&mut customer, None, "kept", Some("c-1")).await;
    customer.close().await;
    server.sigterm();
    assert!(server.wait_exit(EXIT_TIMEOUT, "SIGTERM").await.success());
    drop(server);

    let db = dir.path().join(DB_FILE);
    let user_version = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        assert!(
            user_version(&conn) >= 1,
            "the server wrote a schema version"
        );
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let stderr = start_expecting_refusal(dir.path()).await;
    assert_mentions(&stderr, &[&db.display().to_string(), "newer", "upgrade"]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(
        user_version(&conn),
        99,
        "the newer database is left as it was"
    );
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 1);
}

#[actix_web::test]
async fn startup_fails_when_the_data_dir_is_not_usable() {
    let tmp = TempDir::new().expect("temp dir");
    let file = tmp.path().join("file");
    std::fs::write(&file, "a regular file, not a directory\n").unwrap();
    let data_dir = file.join("sub");
    let stderr = start_expecting_refusal(&data_dir).await;
    assert_mentions(&stderr, &[&data_dir.display().to_string(), "--data-dir"]);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "a regular file, not a directory\n"
    );
}
