//! WebSocket conformance: the Autobahn test cases (run by `kosoku`, from
//! PyPI) against `/ws/echo`, which goes through the same socket plumbing as
//! the chat sockets. Cases 9 (performance), 12 and 13 (compression, which
//! we do not negotiate) are left out. The test is `#[ignore]`d (it needs
//! `kosoku`, `pip install kosoku`); `--include-ignored` runs it.

use std::process::Command;

use crate::common::spawn_app;

#[actix_web::test]
#[ignore = "needs kosoku (pip install kosoku)"]
async fn the_echo_socket_passes_the_autobahn_cases() {
    assert!(
        Command::new("kosoku").arg("--help").output().is_ok(),
        "kosoku is not installed: pip install kosoku"
    );
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
