//! The local AWS emulator `deployer local` starts when no endpoint is configured: moto server on a
//! free 127.0.0.1 port, its request log in a file, stopped (and its process gone) on [`Emulator::stop`]
//! or drop.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_sts::config::Credentials;
use tokio::process::{Child, Command};

use crate::aws::{CallCounter, ClientOptions, Clients};

/// moto's fixed account id.
pub const ACCOUNT: &str = "123456789012";
/// The credentials the emulator is given (it checks none).
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";
/// How long a fresh moto server may take to listen (about 1-2 s usually).
const START_TIMEOUT: Duration = Duration::from_secs(30);
const INSTALL_HINT: &str = "run `scripts/local.sh` (installs moto into target/moto-venv and starts \
    `deployer local`), or `scripts/moto.sh`, or set MOTO_SERVER to a moto_server; or point \
    AWS_ENDPOINT_URL at an emulator that is already running";

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("no AWS endpoint is configured and moto_server was not found: {INSTALL_HINT}")]
    NotInstalled,
    #[error("cannot start {}: {source} ({INSTALL_HINT})", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("moto_server exited before listening ({status}); its log:\n{log}")]
    Exited { status: String, log: String },
    #[error("moto_server did not listen on port {port} within {START_TIMEOUT:?}; its log:\n{log}")]
    NotListening { port: u16, log: String },
    #[error("moto_server did not take the no-Docker Lambda setting: {0}")]
    Config(String),
    #[error("cannot set up the emulator's log file: {0}")]
    Io(#[from] std::io::Error),
}

/// A moto server this process started.
#[derive(Debug)]
pub struct Emulator {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// `$MOTO_SERVER`, then `target/moto-venv/bin/moto_server` (what `scripts/moto.sh` installs) under
/// the project directory, then `moto_server` on `PATH`.
pub fn find_moto_server(project_dir: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let venv = project_dir.join("target/moto-venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|p| p.is_file())
    })
}

impl Emulator {
    /// Starts moto server on a free loopback port and waits until it answers.
    pub async fn start(program: &Path) -> Result<Emulator, EmulatorError> {
        let mut last = None;
        // A port found free can be taken before moto binds it: try a few.
        for _ in 0..3 {
            match Emulator::try_start(program).await {
                Ok(emulator) => return Ok(emulator),
                Err(e @ (EmulatorError::Spawn { .. } | EmulatorError::Io(_))) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(EmulatorError::NotInstalled))
    }

    async fn try_start(program: &Path) -> Result<Emulator, EmulatorError> {
        let port = free_port()?;
        let dir = tempfile::Builder::new()
            .prefix("chalice-local-")
            .tempdir()?;
        let log = dir.path().join("moto.log");
        let out = std::fs::File::create(&log)?;
        let err = out.try_clone()?;
        let mut command = Command::new(program);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group: a terminal's Ctrl-C reaches only `deployer local`, which then
            // stops the emulator after it has cleaned up.
            .process_group(0)
            .kill_on_drop(true);
        // And gone with the runner however it ends (`kill -9` runs no drop). The runner starts it
        // from the thread of `block_on`, which lives as long as the process.
        chalice_lambda::process::die_with_parent(&mut command);
        let child = command.spawn().map_err(|source| EmulatorError::Spawn {
            program: program.to_owned(),
            source,
        })?;
        let mut emulator = Emulator {
            child,
            port,
            log,
            _dir: dir,
        };
        emulator.wait_until_listening().await?;
        lambda_without_docker(port).await?;
        Ok(emulator)
    }

    async fn wait_until_listening(&mut self) -> Result<(), EmulatorError> {
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(EmulatorError::Exited {
                    status: status.to_string(),
                    log: self.log_text(),
                });
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(EmulatorError::NotListening {
                    port: self.port,
                    log: self.log_text(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every client, pointed at the emulator in `region`, with its credentials.
    pub async fn clients(&self, region: String) -> Clients {
        let config = ClientOptions {
            region: Some(region),
            endpoint_url: Some(self.endpoint()),
            ..ClientOptions::default()
        }
        .loader()
        .credentials_provider(Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            None,
            None,
            "deployer-local",
        ))
        .load()
        .await;
        Clients::from_config(&config, None, CallCounter::new())
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its process id (`None` once it has exited and been waited for).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where its request log is written.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last lines of its log, for error messages.
    pub fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Stops it and waits until its process is gone.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill().await?;
        }
        Ok(())
    }
}

/// Switches moto's Lambda to run without Docker (`Invoke` answers with the event it was sent), so
/// that `invoke --remote` works against it; done before any function is made (moto keeps the
/// functions of each mode apart).
async fn lambda_without_docker(port: u16) -> Result<(), EmulatorError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = r#"{"lambda":{"use_docker":false}}"#;
    let request = format!(
        "POST /moto-api/config HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(START_TIMEOUT, exchange)
        .await
        .map_err(|_| EmulatorError::Config(format!("no answer within {START_TIMEOUT:?}")))?
        .map_err(|e| EmulatorError::Config(e.to_string()))?;
    let status = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    if status
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'))
    {
        Ok(())
    } else {
        Err(EmulatorError::Config(format!("it answered `{status}`")))
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moto_server_is_found_in_the_project_venv() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("target/moto-venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("moto_server"), "").unwrap();
        // MOTO_SERVER, when the test process has it, wins; either way something is found.
        let found = find_moto_server(dir.path()).unwrap();
        if std::env::var_os("MOTO_SERVER").is_none() {
            assert_eq!(found, bin.join("moto_server"));
        }
    }

    #[tokio::test]
    async fn a_program_that_exits_is_reported_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("moto_server");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'no such module: werkzeug'\nexit 3\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let err = Emulator::start(&fake).await.unwrap_err().to_string();
        assert!(err.contains("exited") && err.contains("werkzeug"), "{err}");
    }
}
