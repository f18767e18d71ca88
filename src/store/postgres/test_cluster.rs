//! Throwaway PostgreSQL servers for tests: one shared per test binary,
//! started on first use (initdb as the `postgres` user in a temp dir, a
//! free port, its unix socket in that dir, fsync on) and stopped when the
//! binary exits; each test gets a fresh database of its own. A test that
//! stops or restarts the server takes a private one. Shared by the unit
//! tests and `tests/it` (included there by path), so std and libc only.
//!
//! Without PostgreSQL's binaries the tests fail, saying what is missing:
//! set `PG_BIN` to their directory (default /usr/lib/postgresql/15/bin).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server of a test run.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// The server's command-line options (`pg_ctl start` does not keep them).
    options: String,
}

static SHARED: OnceLock<Cluster> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The URL of a new, empty database on the server the tests share.
pub fn fresh_database() -> String {
    SHARED.get_or_init(Cluster::shared).fresh_database()
}

impl Cluster {
    /// A server of the caller's own, stopped when dropped: for tests that
    /// stop or restart it, which would break the others' connections.
    pub fn private() -> Cluster {
        Cluster::start()
    }

    /// The URL of a new, empty database on this server.
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let port = self.port.to_string();
        self.run_ok(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", &name],
        );
        format!("postgres://postgres@127.0.0.1:{port}/{name}")
    }

    /// `pg_ctl restart -m immediate`: every connection breaks, as in a
    /// crash of PostgreSQL.
    pub fn restart_immediately(&self) {
        self.pg_ctl(&["restart", "-m", "immediate", "-w"]);
    }

    /// Stops the server (`-m immediate`) until [`Cluster::start_again`].
    pub fn stop(&self) {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
    }

    pub fn start_again(&self) {
        self.pg_ctl(&["start", "-w", "-o", &self.options]);
    }

    /// The shared server; statics are never dropped, so it is stopped when
    /// the test binary exits.
    fn shared() -> Cluster {
        extern "C" fn stop_at_exit() {
            if let Some(cluster) = SHARED.get() {
                cluster.remove();
            }
        }
        let cluster = Cluster::start();
        // SAFETY: registers a plain function without arguments.
        unsafe {
            libc::atexit(stop_at_exit);
        }
        cluster
    }

    fn start() -> Cluster {
        let bin = PathBuf::from(std::env::var("PG_BIN").unwrap_or_else(|_| DEFAULT_BIN.into()));
        for tool in ["initdb", "pg_ctl", "createdb"] {
            assert!(
                bin.join(tool).is_file(),
                "PostgreSQL is needed for these tests and {} is missing: install PostgreSQL 15 \
                 or set PG_BIN to the directory of its binaries",
                bin.join(tool).display()
            );
        }
        let dir = std::env::temp_dir().join(format!(
            "support-chat-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir for PostgreSQL");
        let status = Command::new("chown")
            .arg("postgres:")
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(
            status.success(),
            "cannot give {} to postgres",
            dir.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // fsync on: the durability the tests check is the real one.
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300",
            dir.display()
        );
        let cluster = Cluster {
            bin,
            dir,
            port,
            options,
        };
        let data = cluster.data();
        // --no-sync only speeds up initdb itself; the server keeps fsync on.
        cluster.run_ok(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_again();
        cluster
    }

    fn remove(&self) {
        let _ = self.pg_ctl_output(&["stop", "-m", "immediate"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn pg_ctl(&self, args: &[&str]) {
        let out = self.pg_ctl_output(args);
        assert!(
            out.status.success(),
            "pg_ctl {args:?} failed: {}{}\nserver log: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    fn pg_ctl_output(&self, args: &[&str]) -> Output {
        let data = self.data();
        let log = self.dir.join("log").display().to_string();
        let mut all = vec!["-D", data.as_str(), "-l", log.as_str()];
        all.extend_from_slice(args);
        self.as_postgres("pg_ctl", &all)
    }

    fn run_ok(&self, tool: &str, args: &[&str]) {
        let out = self.as_postgres(tool, args);
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a PostgreSQL tool as the `postgres` user (it refuses root).
    fn as_postgres(&self, tool: &str, args: &[&str]) -> Output {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .current_dir(Path::new("/"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool} as postgres through runuser: {e}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.remove();
    }
}
