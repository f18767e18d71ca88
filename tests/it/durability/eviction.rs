//! A conversation evicted from memory comes back identical.

use super::*;

/// The number of conversations the server holds in memory.
async fn sessions(app: &TestApp) -> u64 {
    let health: Value = app
        .get("/healthz")
        .await
        .json()
        .await
        .expect("healthz JSON");
    health["sessions"]
        .as_u64()
        .unwrap_or_else(|| panic!("healthz without sessions: {health}"))
}

async fn wait_for_eviction(app: &TestApp) {
    eventually("the idle conversation to be evicted", PATIENCE, || async {
        (sessions(app).await == 0).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn an_evicted_conversation_is_rebuilt_with_identical_history() {
    let app = spawn_app_with(&["--idle-timeout", "300ms"]).await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/evict-1")).await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/evict-1")).await;
    let mut before = Vec::new();
    for i in 1..=4 {
        let (text, id) = (format!("question {i}"), format!("c-{i}"));
        before.push(say_and_ack(&mut customer, Some(&mut agent), &text, Some(&id)).await);
        let (text, id) = (format!("answer {i}"), format!("a-{i}"));
        before.push(say_and_ack(&mut agent, Some(&mut customer), &text, Some(&id)).await);
    }
    assert_eq!(
        sessions(&app).await,
        1,
        "the live conversation is in memory"
    );
    customer.close().await;
    agent.close().await;
    wait_for_eviction(&app).await;

    let (mut customer, welcome, history) =
        WsClient::join(&app.ws("/ws/customer/evict-1?since=0")).await;
    assert_eq!(last_seq(&welcome), 8);
    assert_eq!(
        history_messages(&history),
        before,
        "customer history rebuilt"
    );
    let (mut agent, welcome, history) =
        WsClient::join(&app.ws_as_agent("/ws/agent/evict-1?since=0")).await;
    assert_eq!(last_seq(&welcome), 8);
    assert_eq!(history_messages(&history), before, "agent history rebuilt");

    let next = say_and_ack(&mut customer, Some(&mut agent), "still there?", Some("c-5")).await;
    assert_eq!(next.seq, 9, "the numbering continues after the eviction");
    // Retries of messages from before the eviction are recognised.
    customer.say("question 1", Some("c-1")).await;
    assert_eq!(Msg::parse(&customer.wait_for("message").await), before[0]);
    agent.say("answer 4", Some("a-4")).await;
    assert_eq!(Msg::parse(&agent.wait_for("message").await), before[7]);
    let reply = say_and_ack(&mut agent, Some(&mut customer), "yes", Some("a-5")).await;
    assert_eq!(reply.seq, 10);
    before.extend([next, reply]);
    customer.close().await;
    agent.close().await;

    wait_for_eviction(&app).await;
    let (last, history) = full_history(&app.ws_as_agent("/ws/agent/evict-1?since=0")).await;
    assert_eq!(last, 10);
    assert_eq!(history, before, "history after a second eviction");
}
