//! The client commands' exit codes (src/cli/exit.rs): scripts tell a usage
//! error, an unreachable server, a missing object and a refused key apart.

mod common;

use std::process::Command;

use callscore::auth::Role;
use common::{Backend, free_port, spawn_app};

/// Runs `callscore ARGS` against `server` with `key`; the exit code.
fn exit_code(server: &str, key: &str, args: &[&str]) -> i32 {
    let output = Command::new(env!("CARGO_BIN_EXE_callscore"))
        .args(args)
        .args(["--server", server])
        .env("CALLSCORE_API_KEY", key)
        .output()
        .expect("callscore runs");
    assert!(
        !output.status.success() || args[0] == "trends",
        "{args:?} failed as it should: {output:?}"
    );
    output.status.code().expect("an exit code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_failures_have_distinct_exit_codes() {
    let app = spawn_app(Backend::Sqlite).await;
    let server = format!("http://{}", app.address);
    let admin = app.key("acme", Role::Admin).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let missing = "01a23b3a-0000-7000-8000-000000000000";
    let export = ["export", "--from", "2026-12-01", "--to", "2026-12-08"];
    // A flag clap rejects, and a value the server rejects: usage (2).
    assert_eq!(exit_code(&server, &admin, &["scorecard"]), 2);
    assert_eq!(
        exit_code(
            &server,
            &admin,
            &["export", "--from", "2026-12-08", "--to", "2026-12-01"]
        ),
        2,
        "end before start is INVALID_ARGUMENT"
    );
    // Nothing listens on a fresh port: unreachable (3).
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    assert_eq!(exit_code(&nowhere, &admin, &["scorecard", missing]), 3);
    // Not found (4).
    assert_eq!(exit_code(&server, &admin, &["scorecard", missing]), 4);
    // Denied (5): a role without the right, and a key the server does not know.
    assert_eq!(exit_code(&server, &ingest, &export), 5);
    let unknown = format!("cs_{}_{}", "0".repeat(16), "0".repeat(64));
    assert_eq!(exit_code(&server, &unknown, &["scorecard", missing]), 5);
    // And success is 0.
    assert_eq!(
        exit_code(&server, &admin, &["trends", "--agent", "rina"]),
        0
    );
    app.stop().await;
}
