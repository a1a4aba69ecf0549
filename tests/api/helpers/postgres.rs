//! A throwaway PostgreSQL cluster for the tests, started once per test run
//! from the machine's PostgreSQL binaries (`initdb`, `postgres`) in a temp
//! dir, as the `postgres` user when the tests run as root (PostgreSQL refuses
//! to run as root). Each test gets its own database.
//!
//! The server is started through a small shell watchdog that stops it when
//! the test process exits, so no server outlives the run.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, Database};

pub struct PgCluster {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    settings: Vec<String>,
}

static CLUSTER: OnceLock<Result<PgCluster, String>> = OnceLock::new();

/// What the tests' shared cluster runs with: durability off (the tests do
/// not survive power loss; they test switchboard, not the disk).
const FAST: &[&str] = &[
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=300",
];

/// The PostgreSQL binaries directory: `pg_config --bindir`, or the newest
/// /usr/lib/postgresql/*/bin (Debian's layout).
fn bin_dir() -> Result<PathBuf, String> {
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if dir.join("initdb").exists() && dir.join("postgres").exists() {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "PostgreSQL is not installed: no /usr/lib/postgresql (install the `postgresql` package; .ci/run does)".to_owned())?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    candidates.sort();
    candidates
        .pop()
        .ok_or_else(|| "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin".to_owned())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `program args` as the postgres user when we are root.
fn command_as_postgres(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

impl PgCluster {
    /// A new cluster in a temp dir, with `settings` (`name=value`, passed as
    /// `-c`), started. It is stopped when this process exits.
    pub fn start(settings: &[&str]) -> Result<PgCluster, String> {
        let bin = bin_dir()?;
        let dir = std::env::temp_dir().join(format!(
            "switchboard-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("temp dir: {e}"))?;
        std::fs::create_dir_all(dir.join("sock")).map_err(|e| format!("socket dir: {e}"))?;
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err(
                    "cannot chown the temp dir to postgres (does the postgres user exist?)".into(),
                );
            }
        }
        let data = dir.join("data");
        let output = command_as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                &data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let cluster = PgCluster {
            port: super::closed_port(),
            dir,
            bin,
            settings: settings.iter().map(|s| (*s).to_owned()).collect(),
        };
        cluster.run()?;
        Ok(cluster)
    }

    /// Starts the server (again, after `stop_immediately`) and waits until it
    /// answers.
    pub fn run(&self) -> Result<(), String> {
        let data = self.dir.join("data");
        let settings: String = self.settings.iter().map(|s| format!(" -c {s}")).collect();
        // Watchdog: run postgres in the background and stop it (fast
        // shutdown) as soon as this process is gone.
        let script = format!(
            "{postgres} -D {data} -p {port} -k {sock} -c listen_addresses=127.0.0.1{settings} >>{log} 2>&1 & pg=$!; \
             while [ -d /proc/{parent} ] && kill -0 $pg 2>/dev/null; do sleep 1; done; kill -INT $pg 2>/dev/null; wait $pg",
            postgres = self.bin.join("postgres").display(),
            data = data.display(),
            port = self.port,
            sock = self.dir.join("sock").display(),
            log = self.dir.join("postgres.log").display(),
            parent = std::process::id(),
        );
        command_as_postgres(Path::new("/bin/sh"), &["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // Accepting TCP is not quite ready for queries; pg_isready is.
                let ready = Command::new(self.bin.join("pg_isready"))
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &self.port.to_string(),
                        "-U",
                        "postgres",
                    ])
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false);
                if ready {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
                return Err(format!("postgres did not start within 30s: {log}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `pg_ctl stop -m immediate`: the server dies as in a crash, its
    /// clients' connections drop; `run` starts it again (with recovery).
    pub fn stop_immediately(&self) -> Result<(), String> {
        let data = self.dir.join("data").display().to_string();
        let output = command_as_postgres(
            &self.bin.join("pg_ctl"),
            &["stop", "-D", &data, "-m", "immediate", "-w"],
        )
        .output()
        .map_err(|e| format!("pg_ctl: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(())
    }

    /// A fresh, empty database; returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = format!("t_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            self.port
        ))
        .await
        .expect("connect to the test cluster");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        let _ = admin.close().await;
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

/// The shared cluster, started on first use. Panics with the reason when
/// PostgreSQL cannot be started: the PostgreSQL paths are part of the suite,
/// not optional.
pub fn cluster() -> &'static PgCluster {
    match CLUSTER.get_or_init(|| PgCluster::start(FAST)) {
        Ok(cluster) => cluster,
        Err(reason) => panic!("throwaway PostgreSQL cluster: {reason}"),
    }
}

/// A fresh, empty database on the shared cluster; returns its URL.
pub async fn fresh_database() -> String {
    let cluster = tokio::task::spawn_blocking(cluster)
        .await
        .expect("cluster start");
    cluster.fresh_database().await
}
