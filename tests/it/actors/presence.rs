//! Takeover and presence.

use super::*;

#[actix_web::test]
async fn a_second_socket_of_the_same_role_takes_over_without_the_peer_seeing_it_leave() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let first_tab = chat.connect(Role::Agent).await;
    customer.presence_frame(1).await;

    let second_tab = chat.connect(Role::Agent).await;
    first_tab.replaced().await;
    let (welcome, _) = second_tab.greeting().await;
    assert_eq!(welcome["peer_online"], true);
    assert!(!second_tab.was_replaced());

    chat.post(Role::Customer, "still there?").await;
    customer.message(1).await;
    second_tab.message(1).await;
    assert_eq!(
        customer.presence(),
        [("agent".to_owned(), true)],
        "no offline/online flicker on takeover"
    );
    assert!(
        first_tab.messages().is_empty(),
        "the replaced socket gets nothing more"
    );
    assert!(
        matches!(first_tab.events().last(), Some(Got::Replaced)),
        "replaced is the last thing the old socket hears"
    );
}

#[actix_web::test]
async fn the_peer_learns_when_the_other_side_comes_and_goes() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;

    let agent = chat.connect(Role::Agent).await;
    assert_eq!(
        customer.presence_frame(1).await,
        json!({"type": "presence", "role": "agent", "online": true})
    );
    chat.detach(Role::Agent, &agent).await;
    assert_eq!(
        customer.presence_frame(2).await,
        json!({"type": "presence", "role": "agent", "online": false})
    );

    let agent = chat.connect(Role::Agent).await;
    assert_eq!(customer.presence_frame(3).await["online"], true);
    chat.detach(Role::Customer, &customer).await;
    assert_eq!(
        agent.presence_frame(1).await,
        json!({"type": "presence", "role": "customer", "online": false})
    );
    let (welcome, _) = chat.connect(Role::Customer).await.greeting().await;
    assert_eq!(welcome["peer_online"], true);
    assert_eq!(agent.presence_frame(2).await["online"], true);
}

#[actix_web::test]
async fn a_late_detach_from_a_replaced_socket_changes_nothing() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let old_tab = chat.connect(Role::Agent).await;
    let new_tab = chat.connect(Role::Agent).await;
    old_tab.replaced().await;

    chat.detach(Role::Agent, &old_tab).await;
    // The wrong role with the current id changes nothing either.
    chat.detach_id(Role::Customer, new_tab.link.id).await;

    chat.post(Role::Customer, "hello?").await;
    customer.message(1).await;
    new_tab.message(1).await;
    assert_eq!(customer.presence(), [("agent".to_owned(), true)]);
    assert!(new_tab.presence().is_empty());

    // The current socket's detach does count.
    chat.detach(Role::Agent, &new_tab).await;
    assert_eq!(customer.presence_frame(2).await["online"], false);
}

#[actix_web::test]
async fn an_agent_who_comes_first_is_seen_by_the_customer_later() {
    let chat = Chat::start();
    let agent = chat.connect(Role::Agent).await;
    let (welcome, _) = agent.greeting().await;
    assert_eq!(welcome["peer_online"], false);

    chat.post(Role::Agent, "Hi! How can we help?").await;
    let said = agent.message(1).await;

    let customer = chat.connect(Role::Customer).await;
    let (welcome, history) = customer.greeting().await;
    assert_eq!(welcome["last_seq"], 1);
    assert_eq!(welcome["peer_online"], true);
    assert_eq!(history_messages(&history), [as_history_entry(&said)]);
    assert_eq!(history["has_more"], false);
    assert_eq!(
        agent.presence_frame(1).await,
        json!({"type": "presence", "role": "customer", "online": true})
    );
}
