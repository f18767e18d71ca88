//! Sockets that stop reading or are gone.

use super::*;

#[actix_web::test]
async fn a_stalled_agent_is_detached_without_holding_up_the_customer() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    // Room for welcome, history and two messages; the third finds it full.
    let agent = stalled_socket(4);
    chat.attach(Role::Agent, 0, &agent).await;
    assert_eq!(customer.presence_frame(1).await["online"], true);

    let started = Instant::now();
    chat.post_many(Role::Customer, 1..=50).await;
    let acks = customer.messages_through(50).await;
    assert_eq!(seqs(&acks), range(1, 50), "every message acknowledged");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "acknowledgements took {:?}",
        started.elapsed()
    );
    assert!(agent.is_stalled(), "marked stalled");
    assert_eq!(
        customer.presence(),
        [("agent".to_owned(), true), ("agent".to_owned(), false)]
    );

    // The conversation goes on without it, and a new agent socket can join.
    let agent = chat.connect_since(Role::Agent, 48).await;
    let (welcome, history) = agent.greeting().await;
    assert_eq!(welcome["last_seq"], 50);
    assert_eq!(seqs(&history_messages(&history)), [49, 50]);
    assert_eq!(customer.presence_frame(3).await["online"], true);
}

#[actix_web::test]
async fn a_replaced_socket_that_cannot_be_told_is_marked_stalled() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    // Its mailbox is full once welcome and history are in: `Replaced` cannot
    // reach it, so only the stalled flag can make it close.
    let old_tab = stalled_socket(2);
    chat.attach(Role::Agent, 0, &old_tab).await;
    assert_eq!(customer.presence_frame(1).await["online"], true);
    assert!(!old_tab.is_stalled());

    let new_tab = chat.connect(Role::Agent).await;
    chat.post(Role::Customer, "hello?").await;
    new_tab.message(1).await;
    assert_eq!(customer.presence(), [("agent".to_owned(), true)]);
    assert!(
        old_tab.is_stalled(),
        "the old socket was neither told it was replaced nor marked stalled"
    );
}

/// The stall of the brief: a socket whose mailbox holds one frame. It is
/// full after `welcome`, so the session gives up on it during `Attach`.
#[actix_web::test]
async fn an_agent_that_stalls_while_attaching_is_not_announced_online() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = stalled_socket(1);
    chat.attach(Role::Agent, 0, &agent).await;

    chat.post_many(Role::Customer, 1..=50).await;
    let acks = customer.messages_through(50).await;
    assert_eq!(seqs(&acks), range(1, 50), "every message acknowledged");
    assert!(agent.is_stalled(), "marked stalled");
    let presence = customer.presence();
    assert!(
        !presence.contains(&("agent".to_owned(), true)),
        "the customer must never see the stalled agent online, got {presence:?}"
    );
}

#[actix_web::test]
async fn a_socket_that_is_gone_before_its_attach_is_not_announced_online() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;

    // The client hung up while its socket was still joining.
    let agent = TestSocket::new();
    agent.addr.send(Hangup).await.unwrap();
    eventually("the recorder to stop", WAIT, || async {
        (!agent.addr.connected()).then_some(())
    })
    .await;
    chat.attach(Role::Agent, 0, &agent.link).await;

    chat.post(Role::Customer, "anyone?").await;
    customer.message(1).await;
    let presence = customer.presence();
    assert_ne!(
        presence.last(),
        Some(&("agent".to_owned(), true)),
        "the customer is told a vanished agent is online: {presence:?}"
    );
    let (welcome, _) = chat.connect(Role::Customer).await.greeting().await;
    assert_eq!(
        welcome["peer_online"], false,
        "the session knows it is gone"
    );
}
