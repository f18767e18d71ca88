//! Retention: with `--retention 365d` the conversations whose last
//! activity is older are deleted, exactly those: a recent one and an old
//! one someone is still connected to stay. In anonymise mode their texts
//! are replaced and their numbering and counts kept. Each is audited. The
//! conversations are aged by rewriting their times in the database while
//! the server runs.

use std::time::Duration;

use crate::audit::actions_with;
use crate::common::{eventually, on_each_backend, spawn_app_with, TestApp, WsClient, AGENT_TOKEN};
use crate::db::TestDb;

const PATIENCE: Duration = Duration::from_secs(20);

async fn say_all(app: &TestApp, id: &str, texts: &[&str]) -> WsClient {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    for (n, text) in texts.iter().enumerate() {
        customer.say(text, Some(&format!("{id}-{n}"))).await;
        customer.wait_for("message").await;
    }
    customer
}

/// Makes the conversations' last activity (and messages) `days` old.
async fn age(app: &TestApp, ids: &[&str], days: i64) {
    let db = TestDb::open(app).await;
    let then = chrono::Utc::now().timestamp_millis() - days * 86_400_000;
    for id in ids {
        let aged = db
            .execute(
                "UPDATE conversations SET last_activity_at = ?2, created_at = ?2
                 WHERE client_id = ?1",
                &[(*id).into(), then.into()],
            )
            .await;
        assert_eq!(aged, 1, "{id} is a conversation");
        db.execute(
            "UPDATE messages SET ts = ?2 WHERE client_id = ?1",
            &[(*id).into(), then.into()],
        )
        .await;
    }
}

async fn count(app: &TestApp, sql: &str, id: &str) -> i64 {
    TestDb::open(app).await.count(sql, &[id.into()]).await
}

async fn messages(app: &TestApp, id: &str) -> i64 {
    count(
        app,
        "SELECT count(*) FROM messages WHERE client_id = ?1",
        id,
    )
    .await
}

async fn stored(app: &TestApp, text: &str) -> bool {
    TestDb::open(app).await.holds(text).await
}

/// The audit log's (action, target) pairs; an entry is written once its
/// removal is committed and scrubbed from the file.
async fn audit_actions(app: &TestApp, admin: &str) -> Vec<(String, String)> {
    actions_with(app, admin, "target").await
}

on_each_backend! {
    async fn retention_deletes_exactly_the_old_conversations_and_nothing_live() {
        let app = spawn_app_with(&["--retention", "365d", "--retention-interval", "100ms"]).await;
        let admin = app.admin_cookie().await;
        for id in ["old-1", "old-2"] {
            say_all(&app, id, &[&format!("hotel words of {id}")])
                .await
                .close()
                .await;
        }
        let live = say_all(&app, "old-but-live", &["india words"]).await;
        say_all(&app, "recent-1", &["juliet words"])
            .await
            .close()
            .await;
        let just_young = say_all(&app, "just-young", &["kilo words"]).await;
        just_young.close().await;
        age(&app, &["old-1", "old-2", "old-but-live"], 400).await;
        age(&app, &["just-young"], 300).await;

        let audited = eventually("the old conversations to go", PATIENCE, || async {
            let audited = audit_actions(&app, &admin).await;
            let deleted = audited
                .iter()
                .filter(|(a, _)| a == "retention_delete")
                .count();
            (deleted >= 2).then_some(audited)
        })
        .await;
        assert_eq!(messages(&app, "old-1").await, 0);
        assert_eq!(messages(&app, "old-2").await, 0);
        let conversations = "SELECT count(*) FROM conversations WHERE client_id = ?1";
        assert_eq!(count(&app, conversations, "old-1").await, 0);
        assert_eq!(
            messages(&app, "old-but-live").await,
            1,
            "someone is connected to it"
        );
        assert_eq!(messages(&app, "recent-1").await, 1);
        assert_eq!(messages(&app, "just-young").await, 1, "300 days is within 365");
        assert!(!stored(&app, "hotel words").await, "gone from the file too");
        for id in ["old-1", "old-2"] {
            let entry = ("retention_delete".to_owned(), format!("conversation:{id}"));
            assert!(audited.contains(&entry), "{entry:?} in {audited:?}");
        }
        assert_eq!(
            audited
                .iter()
                .filter(|(a, _)| a == "retention_delete")
                .count(),
            2
        );

        // Once nobody is connected, the old one goes too.
        live.close().await;
        eventually("the old conversation to go once idle", PATIENCE, || async {
            (messages(&app, "old-but-live").await == 0).then_some(())
        })
        .await;
        app.stop().await;
    }
}

on_each_backend! {
    async fn anonymise_replaces_the_texts_and_keeps_the_counts() {
        let app = spawn_app_with(&[
            "--retention",
            "30d",
            "--retention-mode",
            "anonymise",
            "--retention-interval",
            "100ms",
        ])
        .await;
        let admin = app.admin_cookie().await;
        say_all(&app, "anon-1", &["lima secret one", "lima secret two"])
            .await
            .close()
            .await;
        let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/anon-1")).await;
        let upload: serde_json::Value = reqwest::Client::new()
            .post(app.http("/api/conversations/anon-1/attachments?name=mike.txt"))
            .bearer_auth(AGENT_TOKEN)
            .body("mike attachment")
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("JSON");
        agent
            .send_json(
                serde_json::json!({"type":"message","text":"mike answer","attachments":[upload["id"]]}),
            )
            .await;
        agent.wait_for("message").await;
        agent.close().await;
        say_all(&app, "anon-2", &["november stays"])
            .await
            .close()
            .await;
        age(&app, &["anon-1"], 40).await;

        let entry = (
            "retention_anonymise".to_owned(),
            "conversation:anon-1".to_owned(),
        );
        eventually("anon-1 to be anonymised", PATIENCE, || async {
            audit_actions(&app, &admin)
                .await
                .contains(&entry)
                .then_some(())
        })
        .await;
        let anonymised =
            "SELECT count(*) FROM conversations WHERE client_id = ?1 AND anonymised_at IS NOT NULL";
        assert_eq!(count(&app, anonymised, "anon-1").await, 1);
        assert_eq!(messages(&app, "anon-1").await, 3, "every message is kept");
        let texts = count(
            &app,
            "SELECT count(*) FROM messages WHERE client_id = ?1 AND text = '[removed]'",
            "anon-1",
        )
        .await;
        assert_eq!(texts, 3, "every text is replaced");
        let files = "SELECT (SELECT count(*) FROM attachments WHERE client_id = ?1)
                          + (SELECT count(*) FROM messages WHERE client_id = ?1 AND attachments IS NOT NULL)";
        assert_eq!(count(&app, files, "anon-1").await, 0, "and every file is deleted");
        assert!(
            !stored(&app, "lima secret").await,
            "not even in the file's free space"
        );
        assert!(stored(&app, "november stays").await);
        let (_, welcome, history) = WsClient::join(&format!(
            "ws://{}/ws/agent/anon-1?since=0&token={AGENT_TOKEN}",
            app.addr
        ))
        .await;
        assert_eq!(welcome["last_seq"], 3, "the numbering stays");
        assert_eq!(history["messages"][2]["from"], "agent");
        assert_eq!(count(&app, anonymised, "anon-2").await, 0);
        let audited = audit_actions(&app, &admin).await;
        assert_eq!(
            audited.iter().filter(|e| **e == entry).count(),
            1,
            "once: {audited:?}"
        );
        app.stop().await;
    }
}

on_each_backend! {
    /// Audit entries past `--audit-retention` are deleted; newer ones stay.
    async fn old_audit_entries_are_deleted_and_newer_ones_kept() {
        let app = spawn_app_with(&["--audit-retention", "30d", "--retention-interval", "100ms"])
            .await;
        let admin = app.admin_cookie().await;
        let old = chrono::Utc::now().timestamp_millis() - 40 * 86_400_000;
        let db = TestDb::open(&app).await;
        let added = db
            .execute(
                "INSERT INTO audit_log (at, actor, action) VALUES (?1, 'Olga Old', 'login')",
                &[old.into()],
            )
            .await;
        assert_eq!(added, 1);
        let olds = "SELECT count(*) FROM audit_log WHERE actor = ?1";
        eventually("the old entry to go", PATIENCE, || async {
            (db.count(olds, &["Olga Old".into()]).await == 0).then_some(())
        })
        .await;
        let kept = audit_actions(&app, &admin).await;
        assert!(
            kept.iter().any(|(action, _)| action == "setup"),
            "today's entries stay: {kept:?}"
        );
        app.stop().await;
    }
}
