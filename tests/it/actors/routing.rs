//! What sessions tell the router: when a conversation joins the queue, once.

use super::*;
use support_chat::{AssigneeChanged, QueueChanged};

/// Stands in for the router and keeps what it is told.
#[derive(Default)]
struct RouterSpy {
    queue_changes: Vec<ClientId>,
}

impl Actor for RouterSpy {
    type Context = Context<Self>;
}

impl Handler<QueueChanged> for RouterSpy {
    type Result = ();

    fn handle(&mut self, msg: QueueChanged, _: &mut Context<Self>) {
        self.queue_changes.push(msg.client);
    }
}

impl Handler<AssigneeChanged> for RouterSpy {
    type Result = ();

    fn handle(&mut self, _: AssigneeChanged, _: &mut Context<Self>) {}
}

/// What the spy was told so far. Whatever a session sent before the test
/// saw its effect is in the spy's mailbox ahead of this request.
#[derive(Message)]
#[rtype(result = "Vec<ClientId>")]
struct Heard;

impl Handler<Heard> for RouterSpy {
    type Result = MessageResult<Heard>;

    fn handle(&mut self, _: Heard, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.queue_changes.clone())
    }
}

#[actix_web::test]
async fn the_router_hears_when_a_conversation_starts_waiting_not_of_every_message_while_it_waits() {
    let spy = RouterSpy::default().start();
    let chat = Chat::start_linked(in_memory_backend(), settings(), |registry| {
        registry.with_router(spy.clone().recipient(), spy.clone().recipient())
    });
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    for text in ["Hello?", "Is anyone there?", "I need help with my order"] {
        chat.post(Role::Customer, text).await;
    }
    agent.message(3).await;
    let heard = spy.send(Heard).await.expect("the spy answers");
    assert_eq!(
        heard,
        vec![chat.client.clone()],
        "once, when it started waiting"
    );

    chat.post(Role::Agent, "Sorry for the wait").await;
    customer.message(4).await;
    chat.post(Role::Customer, "Thanks! One more question").await;
    agent.message(5).await;
    let heard = spy.send(Heard).await.expect("the spy answers");
    assert_eq!(heard.len(), 2, "a new wait after the answer is told again");
}
