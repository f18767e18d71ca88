//! Defects of the adversarial test (issue 11), each shown refused and the
//! honest path still working.

use crate::common::{spawn_app, AGENT_TOKEN};

#[actix_web::test]
async fn next_with_control_characters_lands_on_the_console() {
    let app = spawn_app().await;
    for next in ["/%09/evil.example", "/x%0d%0aSet-Cookie:a=b", "/agent%00"] {
        let response = app
            .get(&format!("/agent/login?token={AGENT_TOKEN}&next={next}"))
            .await;
        assert_eq!(response.status(), 303, "next={next}");
        assert_eq!(response.headers()["location"], "/agent", "next={next}");
    }
    let kept = app
        .get(&format!(
            "/agent/login?token={AGENT_TOKEN}&next=%2Fchat%2Fserver%2Fx%3Flang%3Dzh"
        ))
        .await;
    assert_eq!(kept.headers()["location"], "/chat/server/x?lang=zh");
}
