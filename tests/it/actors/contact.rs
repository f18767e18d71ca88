//! The customer's contact details through the SessionActor: told to both
//! sides once, answered with the details as they now are, and nothing
//! sent when nothing changed.

use super::*;
use support_chat::{ContactUpdate, SetContact};

impl Chat {
    async fn set_contact(&self, name: Option<Option<&str>>, email: Option<Option<&str>>) -> Value {
        let own = |v: Option<Option<&str>>| v.map(|v| v.map(str::to_owned));
        let update = ContactUpdate::parse(own(name), own(email)).expect("a valid update");
        let contact = self
            .session()
            .await
            .send(SetContact(update))
            .await
            .expect("the session answers")
            .expect("the change is taken");
        serde_json::to_value(contact).expect("JSON")
    }
}

#[actix_web::test]
async fn a_contact_change_goes_to_both_sides_once() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    let answer = chat.set_contact(Some(Some("Ana")), None).await;
    assert_eq!(answer, json!({"name": "Ana", "email": null}));
    for side in [&customer, &agent] {
        side.wait_until("a contact frame", |log| {
            (of_type(&frames_of(log), "contact").len() == 1).then_some(())
        })
        .await;
    }
    assert_eq!(
        agent.frames_of_type("contact")[0],
        json!({"type": "contact", "contact": {"name": "Ana", "email": null}})
    );

    let answer = chat.set_contact(None, Some(Some("ana@example.com"))).await;
    assert_eq!(
        answer,
        json!({"name": "Ana", "email": "ana@example.com"}),
        "the name stays"
    );
    let same = chat.set_contact(Some(Some("Ana")), None).await;
    assert_eq!(same, answer);
    agent
        .wait_until("the second change", |log| {
            (of_type(&frames_of(log), "contact").len() == 2).then_some(())
        })
        .await;
    let late = chat.connect(Role::Agent).await;
    assert_eq!(
        late.frames_of_type("welcome")[0]["contact"],
        answer,
        "a new socket is welcomed with it"
    );
    // Had the no-op been sent, it would be the third frame.
    chat.set_contact(None, Some(None)).await;
    customer
        .wait_until("the third change", |log| {
            (of_type(&frames_of(log), "contact").len() >= 3).then_some(())
        })
        .await;
    assert_eq!(
        customer.frames_of_type("contact")[2]["contact"],
        json!({"name": "Ana", "email": null}),
        "an update that changes nothing is not sent"
    );
}
