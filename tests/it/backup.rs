//! `support-chat backup` and `restore`, run as the real binary: a backup
//! taken while customers keep writing restores every message acknowledged
//! before it started, as a gapless prefix of each conversation; restore
//! refuses a directory in use, a database already there (without --force)
//! and files that are not support-chat backups.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tempfile::TempDir;

use crate::common::{eventually, spawn_app, spawn_app_on, spawn_app_with, WsClient};
use crate::durability::{full_history, Msg, BIN};

const LANES: usize = 4;
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs the binary with `args`; returns whether it succeeded and its stderr.
async fn run(args: Vec<String>) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(BIN);
        command.args(&args).env("RUST_LOG", "info");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SUPPORT_CHAT_") {
                command.env_remove(key);
            }
        }
        let out = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .expect("the binary ran")
}

fn args(parts: &[&str], paths: &[(&str, &Path)]) -> Vec<String> {
    let mut all: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
    for (flag, path) in paths {
        all.push(flag.to_string());
        all.push(path.display().to_string());
    }
    all
}

async fn backup(data_dir: &Path, to: &Path) -> (bool, String) {
    run(args(&["backup"], &[("--data-dir", data_dir), ("--to", to)])).await
}

async fn restore(from: &Path, data_dir: &Path, extra: &[&str]) -> (bool, String) {
    let mut all = args(&["restore"], &[("--from", from), ("--data-dir", data_dir)]);
    all.extend(extra.iter().map(|s| s.to_string()));
    run(all).await
}

#[actix_web::test]
async fn a_backup_under_write_load_restores_every_message_acknowledged_before_it_started() {
    let app = spawn_app_with(&["--rate-limit", "0"]).await;
    let acked: Arc<Mutex<Vec<(String, Msg)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut lanes = Vec::new();
    for lane in 0..LANES {
        let client = format!("backup-load-{lane}");
        let url = app.ws(&format!("/ws/customer/{client}"));
        let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
        lanes.push(tokio::spawn(async move {
            let (mut socket, _, _) = WsClient::join(&url).await;
            for n in 1.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let id = format!("m-{n}");
                socket.say(&format!("{client} says {n}"), Some(&id)).await;
                let ack = Msg::parse(&socket.wait_for("message").await);
                assert_eq!(ack.id.as_deref(), Some(id.as_str()));
                acked.lock().unwrap().push((client.clone(), ack));
            }
            socket.close().await;
        }));
    }
    eventually("200 acknowledged messages", PATIENCE, || async {
        (acked.lock().unwrap().len() >= 200).then_some(())
    })
    .await;

    let out = TempDir::new().expect("temp dir");
    let file = out.path().join("support-chat.backup.db");
    let before: Vec<(String, Msg)> = acked.lock().unwrap().clone();
    let (ok, stderr) = backup(app.data_dir.path(), &file).await;
    let during = acked.lock().unwrap().len() - before.len();
    assert!(ok, "backup failed:\n{stderr}");
    assert!(
        during > 0,
        "messages were acknowledged while the backup ran"
    );
    stop.store(true, Ordering::Relaxed);
    for lane in lanes {
        lane.await.expect("a load lane");
    }

    let restored = Arc::new(TempDir::new().expect("temp dir"));
    let (ok, stderr) = restore(&file, restored.path(), &[]).await;
    assert!(ok, "restore failed:\n{stderr}");
    let restored_app = spawn_app_on(Arc::clone(&restored), &[]);
    for lane in 0..LANES {
        let client = format!("backup-load-{lane}");
        let path = format!("/ws/customer/{client}?since=0");
        let (_, live) = full_history(&app.ws(&path)).await;
        let (_, copy) = full_history(&restored_app.ws(&path)).await;
        assert_eq!(
            copy,
            live[..copy.len()],
            "{client}: the backup is one consistent moment, a prefix of the live history"
        );
        for (_, ack) in before.iter().filter(|(c, _)| *c == client) {
            assert!(
                copy.contains(ack),
                "{client}: {ack:?}, acknowledged before the backup, is in it"
            );
        }
    }
    restored_app.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn restore_refuses_a_running_server_a_database_already_there_and_foreign_files() {
    let app = spawn_app().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/keep-me")).await;
    customer.say("kept", Some("k-1")).await;
    customer.wait_for("message").await;
    customer.close().await;
    let out = TempDir::new().expect("temp dir");
    let file = out.path().join("copy.db");
    let (ok, stderr) = backup(app.data_dir.path(), &file).await;
    assert!(ok, "backup failed:\n{stderr}");

    // The file of a running server copied alone lacks what is in its log.
    let copied = TempDir::new().expect("temp dir");
    std::fs::copy(
        app.data_dir.path().join("support-chat.db"),
        copied.path().join("support-chat.db"),
    )
    .expect("copy the file alone");
    let (ok, stderr) = backup(copied.path(), &out.path().join("bad.db")).await;
    assert!(!ok, "a live file copied without its log is not backed up");
    assert!(stderr.contains("support-chat.db-wal"), "{stderr}");

    let (ok, stderr) = restore(&file, app.data_dir.path(), &["--force"]).await;
    assert!(!ok, "restore over a running server must fail");
    assert!(
        stderr.contains("in use by another running support-chat"),
        "{stderr}"
    );

    let stopped = app.stop().await;
    let dir = stopped.data_dir.path();
    let (ok, stderr) = backup(dir, &file).await;
    assert!(
        ok,
        "a stopped server's directory is backed up too:\n{stderr}"
    );
    assert!(
        !dir.join("support-chat.db-wal").exists(),
        "and nothing is created beside its file"
    );
    let (ok, stderr) = restore(&file, dir, &[]).await;
    assert!(!ok, "restore over an existing database needs --force");
    assert!(stderr.contains("--force"), "{stderr}");

    let foreign = out.path().join("notes.txt");
    std::fs::write(&foreign, "not a database at all, just some text").expect("write");
    let (ok, stderr) = restore(&foreign, dir, &["--force"]).await;
    assert!(!ok, "a text file is not a backup");
    assert!(stderr.contains("notes.txt"), "{stderr}");

    let (ok, stderr) = restore(&file, dir, &["--force"]).await;
    assert!(ok, "restore with --force failed:\n{stderr}");
    let aside: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".replaced-"))
        .collect();
    assert_eq!(aside.len(), 1, "the replaced database is kept aside");

    let app = stopped.start_again();
    let (_, history) = full_history(&app.ws("/ws/customer/keep-me?since=0")).await;
    assert_eq!(history.len(), 1, "the restored database holds the message");
    app.stop().await;
}
