//! A team in conversations, over real sockets: who wrote what, who is
//! online for the customer.

use crate::common::{spawn_app, WsClient, AGENT_TOKEN};
use serde_json::{json, Value};

#[actix_web::test]
async fn a_customer_sees_an_agent_online_while_a_console_is_open() {
    let app = spawn_app().await;
    let (_, welcome, _) = WsClient::join(&app.ws("/ws/customer/c1")).await;
    assert_eq!(welcome["peer_online"], false, "nobody is watching yet");

    let console = WsClient::connect(&app.ws_as_agent("/ws/inbox")).await;
    let (mut customer, welcome, _) = WsClient::join(&app.ws("/ws/customer/c2")).await;
    assert_eq!(
        welcome["peer_online"], true,
        "an agent has the console open"
    );

    console.close().await;
    let presence = customer.wait_for("presence").await;
    assert_eq!(
        presence,
        json!({"type": "presence", "role": "agent", "online": false})
    );
}

#[actix_web::test]
async fn an_agent_reply_names_its_author_and_the_agent_socket_knows_who_it_is() {
    let app = spawn_app().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/c3")).await;
    let (mut agent, welcome, _) = WsClient::join(&app.ws_as_agent("/ws/agent/c3")).await;
    let service = json!({"id": 0, "name": "API"});
    assert_eq!(
        welcome["me"], service,
        "the service token acts as the API agent"
    );
    assert_eq!(customer.wait_for("presence").await["online"], true);

    agent.say("hello from the team", Some("a-1")).await;
    assert_eq!(agent.wait_for("message").await["author"], service);
    assert_eq!(customer.wait_for("message").await["author"], service);

    let stored: Value = reqwest::Client::new()
        .get(app.http("/api/conversations/c3/messages"))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stored["messages"][0]["author"], service,
        "the API shows it too"
    );
}
