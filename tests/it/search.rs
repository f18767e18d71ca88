//! Full-text search (issue 13): over message text, not only the client
//! id; case-insensitive; ranked; paged; private notes found by agents,
//! flagged; what people type is never query syntax.

use serde_json::{json, Value};

use crate::common::on_each_backend;
use crate::common::{http_client, spawn_app, TestApp, WsClient, AGENT_TOKEN};

async fn search(app: &TestApp, query: &str) -> (u16, Value) {
    let response = http_client()
        .get(app.http("/api/search"))
        .query(&[("q", query)])
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("GET search");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn page(app: &TestApp, query: &str, limit: u32, cursor: Option<&str>) -> Value {
    let mut params = vec![("q", query.to_owned()), ("limit", limit.to_string())];
    if let Some(cursor) = cursor {
        params.push(("cursor", cursor.to_owned()));
    }
    http_client()
        .get(app.http("/api/search"))
        .query(&params)
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("GET search")
        .json()
        .await
        .expect("JSON")
}

async fn says(app: &TestApp, id: &str, texts: &[&str]) {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    for text in texts {
        customer.say(text, None).await;
        customer.wait_for("message").await;
    }
}

async fn note(app: &TestApp, id: &str, text: &str) {
    let response = http_client()
        .post(app.http(&format!("/api/conversations/{id}/messages")))
        .bearer_auth(AGENT_TOKEN)
        .json(&json!({"text": text, "private": true}))
        .send()
        .await
        .expect("POST note");
    assert_eq!(response.status(), 201);
}

fn ids(results: &Value) -> Vec<&str> {
    results["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["conversation"]["client_id"].as_str().unwrap_or_default())
        .collect()
}

on_each_backend! {
    async fn words_in_messages_find_their_conversations_best_first_with_the_match_marked() {
        let app = spawn_app().await;
        says(
            &app,
            "s-weak",
            &["Hello, I have a question about my account and a late Order too"],
        )
        .await;
        says(&app, "s-strong", &["ORDER order order"]).await;
        says(&app, "s-none", &["nothing to see here"]).await;
        note(&app, "s-none", "internal: check the order history").await;

        let (status, found) = search(&app, "order").await;
        assert_eq!(status, 200);
        // bm25: the word three times first, then the short note, then the long
        // message that mentions it once.
        assert_eq!(
            ids(&found),
            ["s-strong", "s-none", "s-weak"],
            "ranked by relevance"
        );
        let weak = &found["results"][2];
        let marked: Vec<&str> = weak["highlight"]
            .as_array()
            .expect("fragments")
            .iter()
            .filter(|f| f["match"] == true)
            .map(|f| f["text"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(marked, ["Order"], "case-insensitive, marked as written");
        assert_eq!(weak["message"]["seq"], 1);
        let note_hit = &found["results"][1];
        assert_eq!(
            note_hit["message"]["private"], true,
            "notes are found, flagged"
        );

        // Every word must match; the last may be the start of one.
        assert_eq!(ids(&search(&app, "late ord").await.1), ["s-weak"]);
        assert!(ids(&search(&app, "late banana").await.1).is_empty());
        // Quotes and operators are words, never syntax errors.
        assert_eq!(search(&app, "\"order OR NEAR(").await.0, 200);
        assert_eq!(search(&app, "  ").await.0, 400);
        let anonymous = http_client()
            .get(app.http("/api/search?q=order"))
            .send()
            .await
            .expect("GET");
        assert_eq!(anonymous.status(), 401);
    }
}

on_each_backend! {
    async fn results_come_in_pages_of_conversations() {
        let app = spawn_app().await;
        for i in 0..5 {
            says(&app, &format!("p-{i}"), &["refund please", "my refund?"]).await;
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let found = page(&app, "refund", 2, cursor.as_deref()).await;
            let batch = ids(&found);
            assert!(batch.len() <= 2);
            seen.extend(batch.iter().map(|s| s.to_string()));
            match found["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(
            seen,
            ["p-0", "p-1", "p-2", "p-3", "p-4"],
            "each conversation once"
        );
    }
}
