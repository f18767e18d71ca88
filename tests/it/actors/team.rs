//! Several agents in one conversation: a colleague helping, a supervisor
//! watching. Each has their own socket; each one's newer tab replaces only
//! their own older tab.

use super::*;
use support_chat::{AgentId, AgentRole, ConsolesOnline};

fn named(id: i64, name: &str) -> Agent {
    Agent {
        id: AgentId(id),
        name: name.to_owned(),
        role: AgentRole::Agent,
    }
}

impl Chat {
    /// A socket of the named agent `who`, joined and greeted.
    async fn connect_as(&self, who: &Agent) -> TestSocket {
        let socket = TestSocket::new();
        join(
            &self.registry,
            &self.client,
            &Participant::Agent(who.clone()),
            0,
            socket.link.clone(),
        )
        .await
        .expect("joining the conversation");
        socket.greeting().await;
        socket
    }

    /// `who` posts `text` from `socket`.
    async fn post_from(&self, who: &Agent, socket: &TestSocket, text: &str) {
        self.session()
            .await
            .send(Post {
                author: Some(who.author()),
                ..plain_post(
                    Role::Agent,
                    text.to_owned(),
                    Some(&format!("{}-{text}", who.name)),
                    socket_poster(socket.link.id),
                )
            })
            .await
            .expect("the session takes the post");
    }

    async fn type_from(&self, who: &Agent, socket: &TestSocket) {
        self.session()
            .await
            .send(Typing {
                role: Role::Agent,
                author: Some(who.author()),
                socket_id: socket.link.id,
                active: true,
            })
            .await
            .expect("the session takes the typing");
    }
}

#[actix_web::test]
async fn two_agents_both_see_the_customer_and_each_others_replies() {
    let chat = Chat::start();
    let (ana, ben) = (named(1, "Ana"), named(2, "Ben"));
    let customer = chat.connect(Role::Customer).await;
    let ana_tab = chat.connect_as(&ana).await;
    let ben_tab = chat.connect_as(&ben).await;

    chat.post(Role::Customer, "my order is late").await;
    chat.post_from(&ana, &ana_tab, "let me check").await;
    chat.post_from(&ben, &ben_tab, "I shipped it today").await;

    for socket in [&customer, &ana_tab, &ben_tab] {
        let messages = socket.messages_through(3).await;
        assert_eq!(
            texts(&messages),
            ["my order is late", "let me check", "I shipped it today"]
        );
        assert_eq!(messages[0].get("author"), None);
        assert_eq!(messages[1]["author"], json!({"id": 1, "name": "Ana"}));
        assert_eq!(messages[2]["author"], json!({"id": 2, "name": "Ben"}));
    }
    assert!(!ana_tab.was_replaced() && !ben_tab.was_replaced());
}

#[actix_web::test]
async fn an_agents_newer_tab_replaces_only_their_own_older_tab() {
    let chat = Chat::start();
    let (ana, ben) = (named(1, "Ana"), named(2, "Ben"));
    let customer = chat.connect(Role::Customer).await;
    let ana_old = chat.connect_as(&ana).await;
    let ben_tab = chat.connect_as(&ben).await;
    let ana_new = chat.connect_as(&ana).await;
    ana_old.replaced().await;

    chat.post(Role::Customer, "still there?").await;
    ana_new.message(1).await;
    ben_tab.message(1).await;
    assert!(!ben_tab.was_replaced());
    assert!(
        ana_old.messages().is_empty(),
        "the replaced tab gets nothing more"
    );
    assert_eq!(
        customer.presence(),
        [("agent".to_owned(), true)],
        "agents stayed online throughout"
    );
}

#[actix_web::test]
async fn agents_are_online_for_the_customer_until_the_last_one_leaves() {
    let chat = Chat::start();
    let (ana, ben) = (named(1, "Ana"), named(2, "Ben"));
    let customer = chat.connect(Role::Customer).await;
    let ana_tab = chat.connect_as(&ana).await;
    let ben_tab = chat.connect_as(&ben).await;
    chat.detach(Role::Agent, &ana_tab).await;
    chat.post(Role::Customer, "hello").await;
    ben_tab.message(1).await;
    assert_eq!(customer.presence(), [("agent".to_owned(), true)]);

    chat.detach(Role::Agent, &ben_tab).await;
    customer.presence_frame(2).await;
    assert_eq!(
        customer.presence(),
        [("agent".to_owned(), true), ("agent".to_owned(), false)]
    );
}

#[actix_web::test]
async fn an_agents_typing_reaches_the_customer_and_colleagues_with_their_name() {
    let chat = Chat::start();
    let (ana, ben) = (named(1, "Ana"), named(2, "Ben"));
    let customer = chat.connect(Role::Customer).await;
    let ana_tab = chat.connect_as(&ana).await;
    let ben_tab = chat.connect_as(&ben).await;
    chat.type_from(&ana, &ana_tab).await;
    chat.post(Role::Customer, "marker").await;
    for socket in [&customer, &ana_tab, &ben_tab] {
        socket.message(1).await;
    }
    let typing = json!({"type": "typing", "role": "agent", "active": true,
                        "author": {"id": 1, "name": "Ana"}});
    assert_eq!(
        customer.frames_of_type("typing"),
        std::slice::from_ref(&typing)
    );
    assert_eq!(ben_tab.frames_of_type("typing"), [typing]);
    assert!(
        ana_tab.frames_of_type("typing").is_empty(),
        "not to the typist"
    );
}

#[actix_web::test]
async fn a_message_the_store_refuses_is_reported_only_to_the_agent_who_sent_it() {
    let backend = ControlledBackend::new();
    let chat = Chat::start_with(backend.clone(), settings());
    let (ana, ben) = (named(1, "Ana"), named(2, "Ben"));
    let ana_tab = chat.connect_as(&ana).await;
    let ben_tab = chat.connect_as(&ben).await;
    backend.fail(true);
    chat.post_from(&ana, &ana_tab, "lost").await;
    let error = ana_tab.error(1).await;
    assert_eq!(error["code"], "store_unavailable");
    assert_eq!(error["id"], "Ana-lost");
    assert!(ben_tab.errors().is_empty(), "Ben sent nothing");
}

#[actix_web::test]
async fn a_customer_sees_an_agent_online_while_a_console_is_open() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let (welcome, _) = customer.greeting().await;
    assert_eq!(welcome["peer_online"], false);

    chat.registry.send(ConsolesOnline(true)).await.unwrap();
    assert_eq!(customer.presence_frame(1).await["online"], true);
    let second = chat.connect_since(Role::Customer, 0).await;
    let (welcome, _) = second.greeting().await;
    assert_eq!(welcome["peer_online"], true, "told at once on connecting");

    chat.registry.send(ConsolesOnline(false)).await.unwrap();
    assert_eq!(second.presence_frame(1).await["online"], false);
}
