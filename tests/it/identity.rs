//! Identity verification by JWT, next to the HMAC `sig`: a token signed
//! HS256 with the identity secret, for this customer (`sub`), not expired,
//! opens the customer page and socket; an expired one, one signed with
//! another key or one for another customer is refused with 403 and says
//! why. `--require-identity` refuses to start without an identity secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use support_chat::{Application, Config};

use crate::common::{http_client, spawn_app_with};
use crate::security::{try_upgrade, ws_request};

const SECRET: &str = "website secret";

/// A JWT as the website's server makes one.
fn jwt(key: &str, sub: &str, exp_in_secs: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let exp = chrono::Utc::now().timestamp() + exp_in_secs;
    let claims = URL_SAFE_NO_PAD.encode(json!({"sub": sub, "exp": exp}).to_string());
    let signed = format!("{header}.{claims}");
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key");
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[actix_web::test]
async fn a_valid_jwt_opens_the_customer_page_and_socket_and_others_are_refused() {
    let app = spawn_app_with(&["--identity-secret", SECRET]).await;
    let http = http_client();
    let page = |query: String| {
        http.get(app.http(&format!("/chat/client/user-7?{query}")))
            .send()
    };
    let good = jwt(SECRET, "user-7", 300);
    assert_eq!(
        page(format!("jwt={good}")).await.expect("page").status(),
        200
    );
    let mut customer = try_upgrade(ws_request(
        &app.ws(&format!("/ws/customer/user-7?jwt={good}")),
        &[],
    ))
    .await
    .unwrap_or_else(|(status, body)| panic!("the socket opens with the JWT: {status} {body}"));
    assert_eq!(customer.expect("welcome").await["client_id"], "user-7");

    for (why, token, says) in [
        ("expired", jwt(SECRET, "user-7", -5), "expired"),
        (
            "another key",
            jwt("not the secret", "user-7", 300),
            "not signed",
        ),
        (
            "another customer",
            jwt(SECRET, "user-8", 300),
            "another customer",
        ),
        ("garbage", "not.a.jwt".to_owned(), "not a JWT"),
    ] {
        let refused = page(format!("jwt={token}")).await.expect("page");
        assert_eq!(refused.status(), 403, "{why}");
        let body = refused.text().await.expect("body");
        assert!(body.contains(says), "{why}: {body}");
        let (status, _) = try_upgrade(ws_request(
            &app.ws(&format!("/ws/customer/user-7?jwt={token}")),
            &[],
        ))
        .await
        .err()
        .expect("refused");
        assert_eq!(status, 403, "{why}");
    }
    customer.close().await;
    app.stop().await;
}

#[actix_web::test]
async fn require_identity_refuses_to_start_without_a_secret_and_anyone_unverified() {
    let data = tempfile::TempDir::new().expect("temp dir");
    let dir = data.path().display().to_string();
    let config = Config::from_args([
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        &dir,
        "--require-identity",
    ])
    .expect("flags parse");
    let refused = Application::build(&config).err().expect("does not start");
    assert!(
        refused.to_string().contains("--identity-secret"),
        "{refused}"
    );

    let app = spawn_app_with(&["--require-identity", "--identity-secret", SECRET]).await;
    let anonymous = http_client()
        .get(app.http("/chat/client/user-9"))
        .send()
        .await
        .expect("page");
    assert_eq!(anonymous.status(), 403);
    let verified = http_client()
        .get(app.http(&format!(
            "/chat/client/user-9?jwt={}",
            jwt(SECRET, "user-9", 60)
        )))
        .send()
        .await
        .expect("page");
    assert_eq!(verified.status(), 200);
    app.stop().await;
}
