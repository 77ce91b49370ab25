//! sqlx to PostgreSQL over TLS: a private cluster (initdb, a test CA,
//! `hostssl` only) started for this test on its own port; the shared server
//! on 5432 is never touched. The service opens, migrates and serves on it
//! with `sslmode=verify-full`, and refuses plaintext or an unknown CA.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use callscore::app::Application;
use callscore::auth::Role;
use callscore::proto::ListCallsRequest;
use common::certs::TestCa;
use common::{BearerKey, test_settings};

/// The newest installed PostgreSQL's programs (Debian keeps them per version).
fn postgres_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CALLSCORE_TEST_POSTGRES_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's programs under /usr/lib/postgresql (scripts/setup.sh installs them)")
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
        .1
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// PostgreSQL refuses to run as root; the `postgres` account runs it then.
fn as_cluster_owner(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(output.status.success(), "{what}: {output:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// A TLS-only PostgreSQL cluster in a temp dir, stopped when dropped.
struct PrivateCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl PrivateCluster {
    fn start() -> Self {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let ca = TestCa::new("callscore test PostgreSQL CA");
        let ca_file = ca.write(&dir.path().join("ca.pem"));
        let server = ca.server_leaf();
        if running_as_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres").arg(dir.path());
                    c
                },
                "chown",
            );
        }
        let mut initdb = as_cluster_owner(&bin.join("initdb"));
        initdb
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data);
        run(initdb, "initdb");
        std::fs::write(data.join("server.crt"), &server.certificate_pem).expect("crt");
        std::fs::write(data.join("server.key"), &server.key_pem).expect("key");
        let port = free_port();
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        conf.push_str(&format!(
            "\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
             listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             fsync = off\n",
            dir.path().display()
        ));
        std::fs::write(data.join("postgresql.conf"), conf).expect("conf");
        // TLS or nothing.
        std::fs::write(
            data.join("pg_hba.conf"),
            "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
        )
        .expect("hba");
        if running_as_root() {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg("postgres").arg(&data);
            run(chown, "chown data");
        }
        let mut key_mode = Command::new("chmod");
        key_mode.arg("600").arg(data.join("server.key"));
        run(key_mode, "chmod key");
        let mut start = as_cluster_owner(&bin.join("pg_ctl"));
        start
            .args(["-w", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .arg("start");
        run(start, "pg_ctl start");
        Self {
            bin,
            data,
            port,
            ca_file,
            _dir: dir,
        }
    }

    fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@localhost:{}/postgres?{query}",
            self.port
        )
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let mut stop = as_cluster_owner(&self.bin.join("pg_ctl"));
        stop.args(["-m", "immediate", "-D"])
            .arg(&self.data)
            .arg("stop");
        let _ = stop.output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_on_postgres_over_verified_tls() {
    let cluster = tokio::task::spawn_blocking(PrivateCluster::start)
        .await
        .expect("cluster");
    let verified = cluster.url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        cluster.ca_file.display()
    ));

    // The whole server on it: open, migrate, authenticate, answer.
    let blobs = tempfile::tempdir().expect("blobs");
    let app = Application::build(test_settings(&verified, blobs.path()))
        .await
        .expect("the server starts on PostgreSQL over TLS");
    let address = app.local_addr();
    let store = app.store();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let key = {
        callscore::tenants::provision_tenant(store.as_ref(), "acme")
            .await
            .expect("tenant");
        let issued = callscore::auth::issue_key();
        store
            .insert_api_key(&callscore::store::ApiKeyRecord {
                key_id: issued.key_id.clone(),
                tenant_id: "acme".into(),
                role: Role::Coach,
                secret_sha256: issued.secret_sha256,
                label: String::new(),
                revoked: false,
                expires_at_ms: None,
                last_used_at_ms: None,
            })
            .await
            .expect("key");
        secrecy::ExposeSecret::expose_secret(&issued.token).to_string()
    };
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut calls = callscore::proto::call_service_client::CallServiceClient::with_interceptor(
        channel,
        BearerKey(Some(key)),
    );
    let listed = calls
        .list_calls(ListCallsRequest::default())
        .await
        .expect("ListCalls over a TLS database connection");
    assert!(listed.into_inner().calls.is_empty());
    shutdown.cancel();
    server.await.expect("joined").expect("stopped cleanly");

    // Plaintext is refused by the cluster, and a CA the client does not
    // know fails verification: neither silently connects.
    let plaintext = callscore::store::open(&cluster.url("sslmode=disable"), 1).await;
    assert!(plaintext.is_err(), "plaintext connected");
    let dir = tempfile::tempdir().expect("temp dir");
    let stranger = TestCa::new("not the database's CA").write(&dir.path().join("other.pem"));
    let unverified = tokio::time::timeout(
        Duration::from_secs(30),
        callscore::store::open(
            &cluster.url(&format!(
                "sslmode=verify-full&sslrootcert={}",
                stranger.display()
            )),
            1,
        ),
    )
    .await
    .expect("answers");
    assert!(unverified.is_err(), "connected with an unknown CA");
    // `require` encrypts without verifying, as libpq does.
    let required = callscore::store::open(&cluster.url("sslmode=require"), 1).await;
    assert!(required.is_ok(), "{:?}", required.err());
}
