//! WebSocket conformance: the Autobahn test cases (run by `kosoku`, from
//! PyPI) against `/ws/echo`, which goes through the same socket plumbing as
//! the chat sockets. Cases 9 (performance), 12 and 13 (compression, which
//! we do not negotiate) are left out. Without `kosoku` the test is skipped
//! with a notice, except under `CI=true`, where that is a failure.

use std::process::Command;

use crate::common::spawn_app;

#[actix_web::test]
async fn the_echo_socket_passes_the_autobahn_cases() {
    let available = Command::new("kosoku").arg("--help").output().is_ok();
    if !available {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "kosoku is missing on CI: pip install kosoku"
        );
        eprintln!("skipped: kosoku not installed (pip install kosoku)");
        return;
    }
    let app = spawn_app().await;
    let url = app.ws("/ws/echo");
    let reports = tempfile::tempdir().unwrap();
    let run = actix_web::rt::task::spawn_blocking(move || {
        Command::new("kosoku")
            .arg(&url)
            .args(["-x", "9.*", "-x", "12.*", "-x", "13.*", "-p", "4"])
            .arg("-o")
            .arg(reports.path())
            .output()
            .expect("run kosoku")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "Autobahn cases failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("cases passed"), "{stdout}");
}
