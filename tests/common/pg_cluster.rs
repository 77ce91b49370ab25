//! A private PostgreSQL cluster for tests that must reconfigure, stop or
//! restart a server: initdb into a temp dir, its own port, trust auth on
//! 127.0.0.1 (optionally TLS only, with a test CA). The shared server on
//! 5432 is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::certs::TestCa;

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

fn chown_to_postgres(path: &Path, recursive: bool) {
    if running_as_root() {
        let mut chown = Command::new("chown");
        if recursive {
            chown.arg("-R");
        }
        chown.arg("postgres").arg(path);
        run(chown, "chown");
    }
}

/// A cluster in a temp dir, stopped when dropped.
pub struct PrivateCluster {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    ca_file: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl PrivateCluster {
    /// Creates and starts a cluster; `tls_only` refuses plaintext clients.
    pub fn start(tls_only: bool) -> Self {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        chown_to_postgres(dir.path(), false);
        let mut initdb = as_cluster_owner(&bin.join("initdb"));
        initdb
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data);
        run(initdb, "initdb");
        let port = free_port();
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        conf.push_str(&format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             fsync = off\n",
            dir.path().display()
        ));
        let mut ca_file = None;
        let hba = if tls_only {
            let ca = TestCa::new("callscore test PostgreSQL CA");
            ca_file = Some(ca.write(&dir.path().join("ca.pem")));
            let server = ca.server_leaf();
            std::fs::write(data.join("server.crt"), &server.certificate_pem).expect("crt");
            std::fs::write(data.join("server.key"), &server.key_pem).expect("key");
            conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
            "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n"
        } else {
            "host all all 127.0.0.1/32 trust\n"
        };
        std::fs::write(data.join("postgresql.conf"), conf).expect("conf");
        std::fs::write(data.join("pg_hba.conf"), hba).expect("hba");
        chown_to_postgres(&data, true);
        if tls_only {
            let mut key_mode = Command::new("chmod");
            key_mode.arg("600").arg(data.join("server.key"));
            run(key_mode, "chmod key");
        }
        let cluster = Self {
            bin,
            log: dir.path().join("log"),
            data,
            port,
            ca_file,
            _dir: dir,
        };
        cluster.resume();
        cluster
    }

    /// The test CA that signed the server's certificate (TLS clusters).
    pub fn ca_file(&self) -> &Path {
        self.ca_file.as_deref().expect("a TLS cluster")
    }

    /// A URL for the `postgres` database with libpq `query` parameters.
    pub fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@localhost:{}/postgres?{query}",
            self.port
        )
    }

    /// Stops the server (fast shutdown: clients are disconnected).
    pub fn halt(&self) {
        let mut stop = as_cluster_owner(&self.bin.join("pg_ctl"));
        stop.args(["-w", "-m", "fast", "-D"])
            .arg(&self.data)
            .arg("stop");
        run(stop, "pg_ctl stop");
    }

    /// Starts the server again on the same port and data.
    pub fn resume(&self) {
        let mut start = as_cluster_owner(&self.bin.join("pg_ctl"));
        start
            .args(["-w", "-t", "60", "-D"])
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .arg("start");
        run(start, "pg_ctl start");
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
