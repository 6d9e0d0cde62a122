//! How `deployer local send SCHEDULE` fires a schedule in a running runner: the runner listens on
//! `127.0.0.1` (its address is in the runner's file, [`super::runner_info`]) for one schedule name
//! per connection, fires it, and answers `fired` or why not.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::{Shutdown, stopped};

/// The answer to a name that was fired.
const FIRED: &str = "fired";
/// How long `fire` waits for the runner.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a schedule could not be fired through the runner.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot reach the runner at {addr}: {source}")]
    Unreachable { addr: String, source: io::Error },
    #[error("the runner at {addr} did not answer in time")]
    Timeout { addr: String },
    #[error("the runner refused: {0}")]
    Refused(String),
}

/// A listener on a free port of `127.0.0.1`, and its address.
pub async fn listen() -> io::Result<(TcpListener, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    Ok((listener, addr))
}

/// Fires the schedules named on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    fires: BTreeMap<String, Arc<Notify>>,
    mut shutdown: Shutdown,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut shutdown) => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let fires = fires.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(TIMEOUT, answer(stream, &fires)).await;
        });
    }
}

async fn answer(stream: TcpStream, fires: &BTreeMap<String, Arc<Notify>>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let name = line.trim();
    let reply = match fires.get(name) {
        Some(fire) => {
            fire.notify_one();
            FIRED.to_owned()
        }
        None => format!(
            "`{name}` is not a schedule of this runner; schedules: {}",
            fires.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    write.write_all(format!("{reply}\n").as_bytes()).await
}

/// Asks the runner at `addr` to fire `schedule` now.
pub async fn fire(addr: &str, schedule: &str) -> Result<(), ControlError> {
    let exchange = async {
        let unreachable = |source| ControlError::Unreachable {
            addr: addr.to_owned(),
            source,
        };
        let stream = TcpStream::connect(addr).await.map_err(unreachable)?;
        let (read, mut write) = stream.into_split();
        write
            .write_all(format!("{schedule}\n").as_bytes())
            .await
            .map_err(unreachable)?;
        let mut reply = String::new();
        BufReader::new(read)
            .read_line(&mut reply)
            .await
            .map_err(unreachable)?;
        match reply.trim() {
            FIRED => Ok(()),
            other => Err(ControlError::Refused(other.to_owned())),
        }
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| ControlError::Timeout {
            addr: addr.to_owned(),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_named_schedule_is_fired_and_another_name_refused() {
        let (listener, addr) = listen().await.unwrap();
        let nightly = Arc::new(Notify::new());
        let fires = BTreeMap::from([("nightly".to_owned(), Arc::clone(&nightly))]);
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(serve(listener, fires, shutdown));
        fire(&addr, "nightly").await.unwrap();
        tokio::time::timeout(TIMEOUT, nightly.notified())
            .await
            .unwrap();
        let err = fire(&addr, "on_order").await.unwrap_err();
        assert!(
            err.to_string()
                .contains("`on_order` is not a schedule of this runner; schedules: nightly"),
            "{err}"
        );
        stop.send(true).unwrap();
        server.await.unwrap();
    }
}
