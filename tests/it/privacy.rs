//! Export and erasure of one conversation: the export holds everything
//! stored about it and nothing of another; an erase closes its sockets
//! (4004), leaves no trace of its text in the database file's bytes (nor
//! in its log), and the audit log records both; the customer erases their
//! own conversation from its page's origin, with identity verification only
//! with their own signature.

use serde_json::{json, Value};

use crate::audit::entries;
use crate::common::on_each_backend;
use crate::common::{http_client, spawn_app, spawn_app_with, TestApp, WsClient, AGENT_TOKEN};
use crate::db::{data_dir_bytes, TestDb};
use crate::security::signature;

const DB_FILE: &str = "support-chat.db";

/// Says each text as the customer of `id`, each acknowledged.
async fn say_all(app: &TestApp, id: &str, texts: &[&str]) -> WsClient {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    for (n, text) in texts.iter().enumerate() {
        customer.say(text, Some(&format!("{id}-{n}"))).await;
        customer.wait_for("message").await;
    }
    customer
}

/// The database file and its log, as bytes on disk.
fn file_bytes(app: &TestApp) -> Vec<u8> {
    data_dir_bytes(app.data_dir.path())
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

async fn stored(app: &TestApp, text: &str) -> bool {
    TestDb::open(app).await.holds(text).await
}

async fn export(app: &TestApp, cookie: &str, id: &str) -> reqwest::Response {
    app.get_with(&format!("/api/conversations/{id}/export"), cookie)
        .await
}

on_each_backend! {
    async fn an_export_holds_everything_about_one_conversation_and_nothing_of_another() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        let mine = say_all(&app, "export-a", &["alpha one", "alpha two"]).await;
        let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/export-a")).await;
        agent.say("alpha answer", Some("ans-1")).await;
        agent.wait_for("message").await;
        agent.send_json(json!({"type": "resolve"})).await;
        agent.wait_for("status").await;
        let other = say_all(&app, "export-b", &["bravo secret"]).await;

        let response = export(&app, &admin, "export-a").await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-disposition"]
            .to_str()
            .unwrap_or_default()
            .contains("attachment"));
        let body: Value = response.json().await.expect("JSON");
        let texts: Vec<&str> = body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter_map(|m| m["text"].as_str())
            .collect();
        // The chat, then the resolve's event line (agents see it too).
        assert_eq!(
            texts,
            ["alpha one", "alpha two", "alpha answer", "Resolved by API"]
        );
        assert_eq!(body["messages"][3]["event"]["kind"], "resolved");
        assert_eq!(body["client_id"], "export-a");
        assert_eq!(body["conversation"]["status"], "resolved");
        assert_eq!(body["conversation"]["last_seq"], 4);
        assert_eq!(body["messages"][2]["author"]["name"], "API");
        let audited: Vec<&str> = body["audit"]
            .as_array()
            .expect("audit")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(audited, ["resolve"], "its audit entries come along");
        assert!(
            !body.to_string().contains("bravo"),
            "nothing of another conversation"
        );

        let (_, agent_cookie) = app
            .invited_agent(&admin, "Di Agent", "di@example.com", "di's password 1")
            .await;
        assert_eq!(export(&app, &agent_cookie, "export-a").await.status(), 403);
        assert_eq!(export(&app, &admin, "nobody-here").await.status(), 404);
        let second: Value = export(&app, &admin, "export-a")
            .await
            .json()
            .await
            .expect("JSON");
        let audited = second["audit"].as_array().expect("audit");
        assert_eq!(audited.last().expect("an entry")["action"], "export");
        for socket in [mine, other, agent] {
            socket.close().await;
        }
        app.stop().await;
    }
}

#[actix_web::test]
async fn an_erased_conversation_is_gone_from_the_file_and_its_sockets_close() {
    let app = spawn_app().await;
    let admin = app.admin_cookie().await;
    let mut customer = say_all(
        &app,
        "erase-a",
        &["charlie unique words", "charlie more words"],
    )
    .await;
    let other = say_all(&app, "erase-b", &["delta unique words"]).await;
    let bytes = file_bytes(&app);
    assert!(
        holds(&bytes, "charlie unique words"),
        "the test sees text in the file"
    );
    let mut console = WsClient::connect(&app.ws_as_agent("/ws/inbox")).await;
    console.send_json(json!({"type": "list"})).await;
    console.wait_for("conversations").await;

    let client = http_client();
    let refused = client
        .delete(app.http("/api/conversations/erase-a"))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(refused.status(), 403, "the service token is no admin");
    assert_eq!(app.erase("erase-a", &admin).await, 204);
    assert_eq!(customer.expect_close().await, Some(4004));
    let removed = console.wait_for("removed").await;
    assert_eq!(removed["client_id"], "erase-a", "the console drops its row");

    let bytes = file_bytes(&app);
    assert!(
        !holds(&bytes, "charlie"),
        "no erased text in the file's bytes"
    );
    assert!(
        holds(&bytes, "delta unique words"),
        "the other conversation stays"
    );
    assert_eq!(export(&app, &admin, "erase-a").await.status(), 404);
    assert_eq!(app.erase("erase-a", &admin).await, 404, "erased already");
    let (fresh, welcome, _) = WsClient::join(&app.ws("/ws/customer/erase-a?since=0")).await;
    assert_eq!(
        welcome["last_seq"], 0,
        "coming back starts an empty conversation"
    );

    let audit = entries(&app, &admin).await;
    assert_eq!(audit[0]["action"], "erase");
    assert_eq!(audit[0]["target"], "conversation:erase-a");
    fresh.close().await;
    other.close().await;
    console.close().await;

    let stopped = app.stop().await;
    let bytes = std::fs::read(stopped.data_dir.path().join(DB_FILE)).expect("db");
    assert!(!holds(&bytes, "charlie"), "nor after a clean stop");
}

on_each_backend! {
    async fn a_customer_erases_only_their_own_conversation() {
        const SECRET: &str = "website secret";
        let app = spawn_app_with(&["--identity-secret", SECRET]).await;
        let mine = signature(SECRET, "cust-a");
        let theirs = signature(SECRET, "cust-b");
        let connect = |id: &str, sig: &str| app.ws(&format!("/ws/customer/{id}?sig={sig}"));
        let (mut a, _, _) = WsClient::join(&connect("cust-a", &mine)).await;
        a.say("echo words of a", Some("a-1")).await;
        a.wait_for("message").await;
        let (mut b, _, _) = WsClient::join(&connect("cust-b", &theirs)).await;
        b.say("foxtrot words of b", Some("b-1")).await;
        b.wait_for("message").await;

        let client = http_client();
        let delete = |query: String, origin: &str| {
            client
                .delete(app.http(&format!("/chat/client/cust-a{query}")))
                .header("origin", origin.to_owned())
                .send()
        };
        let own = format!("http://{}", app.addr);
        for query in [String::new(), format!("?sig={theirs}")] {
            let refused = delete(query, &own).await.expect("DELETE");
            assert_eq!(
                refused.status(),
                403,
                "not without the customer's own signature"
            );
        }
        let cross_site = delete(format!("?sig={mine}"), "https://evil.example").await;
        assert_eq!(
            cross_site.expect("DELETE").status(),
            403,
            "not from another site"
        );
        assert!(stored(&app, "echo words of a").await, "nothing was erased");

        let erased = delete(format!("?sig={mine}"), &own).await.expect("DELETE");
        assert_eq!(erased.status(), 204);
        assert_eq!(a.expect_close().await, Some(4004));
        assert!(!stored(&app, "echo words of a").await);
        assert!(
            stored(&app, "foxtrot words of b").await,
            "the other customer's stays"
        );
        b.close().await;
        app.stop().await;
    }
}
