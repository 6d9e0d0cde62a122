//! A private moto server per test: the local AWS the deployer's integration tests run against.
//!
//! `Moto::start()` finds `moto_server` (`$MOTO_SERVER`, then `target/moto-venv` from `scripts/moto.sh`,
//! then `PATH`), starts it on a free 127.0.0.1 port, waits until the port answers, and kills it on drop.
//! Servers are independent, so tests run in parallel. Nothing here touches the process environment.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chalice_deployer::aws::{ClientOptions, Clients};

use crate::support::aws::{self, ACCESS_KEY, SECRET_KEY};

/// moto's default account id.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const INSTALL_HINT: &str = "run `scripts/moto.sh` (installs moto into target/moto-venv) or set MOTO_SERVER to a moto_server";

/// A running moto server, killed when dropped.
pub struct Moto {
    child: Child,
    port: u16,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Moto {
    /// Starts a fresh server; panics (failing the test) with what to do when moto is missing.
    pub fn start() -> Moto {
        let server = find_moto_server().unwrap_or_else(|| {
            panic!("moto_server not found: {INSTALL_HINT}");
        });
        let mut last_error = String::new();
        // A port found free can be taken before moto binds it: try a few.
        for _ in 0..3 {
            match Moto::try_start(&server) {
                Ok(moto) => return moto,
                Err(e) => last_error = e,
            }
        }
        panic!(
            "moto_server ({}) did not start: {last_error}",
            server.display()
        );
    }

    fn try_start(server: &Path) -> Result<Moto, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let log_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log = log_dir.path().join("moto.log");
        let out = File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot run it: {e} ({INSTALL_HINT})"))?;
        let mut moto = Moto {
            child,
            port,
            log,
            _log_dir: log_dir,
        };
        moto.wait_until_listening()?;
        Ok(moto)
    }

    fn wait_until_listening(&mut self) -> Result<(), String> {
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited ({status}):\n{}", self.log_text()));
            }
            if TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "port {} not answering after {START_TIMEOUT:?}:\n{}",
                    self.port,
                    self.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server printed so far (its request log).
    pub fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Switches its Lambda to run without Docker, as `deployer local` does with its own emulator:
    /// `Invoke` then answers with the event it was sent (without, and without Docker, it answers
    /// `FunctionError: Handled` and `error running docker: ...`). Call it before making functions:
    /// moto keeps the functions of each mode apart.
    pub fn without_docker(&self) -> &Moto {
        let body = r#"{"lambda":{"use_docker":false}}"#;
        let mut stream =
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connect to moto");
        write!(
            stream,
            "POST /moto-api/config HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .expect("send to moto");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("moto's answer");
        let status = response.lines().next().unwrap_or_default();
        assert!(status.contains(" 201"), "moto-api/config: {status}");
        self
    }

    /// Client options pointing at this server, with few, fast retries (moto's 500s are not transient).
    pub fn options(&self) -> ClientOptions {
        aws::options(&self.endpoint(), Some(aws::quick_retries(2)))
    }

    /// Every client, pointed at this server, with dummy credentials and a fresh call counter.
    pub async fn clients(&self) -> Clients {
        aws::clients_with(self.options()).await
    }

    /// Points a child process (e.g. the `deployer` binary) at this server through the standard env.
    pub fn configure(&self, cmd: &mut Command) {
        for var in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL_LAMBDA",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_MAX_ATTEMPTS", "2")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// `$MOTO_SERVER`, else the venv `scripts/moto.sh` makes, else `moto_server` on `PATH`.
pub fn find_moto_server() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let venv = workspace.join("target/moto-venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
}
