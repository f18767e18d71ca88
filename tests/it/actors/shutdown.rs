//! Shutdown.

use super::*;

#[actix_web::test]
async fn shutdown_closes_every_socket_and_refuses_later_lookups() {
    let chat = Chat::start();
    let alice = chat.connect(Role::Customer).await;
    let alices_agent = chat.connect(Role::Agent).await;
    let bob_chat = chat.conversation("bob");
    let bob = bob_chat.connect(Role::Customer).await;
    let session = chat.session().await;

    chat.registry.send(ShutdownAll).await.unwrap();
    for socket in [&alice, &alices_agent, &bob] {
        socket.shut_down().await;
        assert!(matches!(socket.events().last(), Some(Got::Shutdown)));
    }
    assert!(!alice.was_replaced());

    let refused = lookup(&chat.registry, &chat.client).await;
    assert!(matches!(refused, Err(AppError::ShuttingDown)));
    let newcomer = chat.conversation("carol");
    let refused = lookup(&newcomer.registry, &newcomer.client).await;
    assert!(matches!(refused, Err(AppError::ShuttingDown)));
    let late = TestSocket::new();
    let joined = join(
        &chat.registry,
        &chat.client,
        &participant(Role::Agent),
        0,
        late.link.clone(),
    )
    .await;
    assert!(joined.is_err(), "no one joins a server that is stopping");

    // The session itself refuses attaches from now on.
    let attach = session
        .send(Attach {
            who: participant(Role::Agent),
            since: 0,
            socket: late.link.clone(),
        })
        .await
        .unwrap();
    assert!(attach.is_err());
    assert!(late.events().is_empty());
    assert!(!late.was_shut_down());
}
