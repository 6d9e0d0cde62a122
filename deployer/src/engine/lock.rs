//! The deploy lock of a stage: one object in the artifacts bucket, written only if absent (S3 PutObject
//! with `If-None-Match: *`) or still the free version last read (`If-Match`), so that two `deploy`s or
//! `delete`s of one stage never write at once, from one machine or several. The object names its
//! holder (caller, host, pid, command, start time).
//!
//! Taken only by a command that is about to write, so a no-op redeploy, a refused deploy and `plan`
//! write nothing. The lock object is read with the command's other reads; given back, it is marked
//! free rather than deleted, and taken again only if it is still the version read (`If-Match`). So a
//! lock held during those reads, or taken and given back since, is noticed, and the command reads
//! everything again under the lock before it writes: what it read first may predate the other
//! deploy's writes. (Left unnoticed: a deploy that gave the lock back within the few milliseconds
//! between the first of this command's reads and its read of the lock.)
//!
//! A lock left by a killed deploy: one of a process that no longer runs on this host is taken over with
//! a note; any other is waited for (up to `--lock-timeout`) and then named in the error, with
//! `--force-unlock` to remove it. There is no age limit: a deploy may legitimately run long, and the
//! clocks of two machines need not agree.

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use crate::aws::Clients;
use crate::resources::CallError;
use crate::resources::artifacts;

/// How often a held lock is tried again.
const POLL: Duration = Duration::from_millis(500);
/// How often the wait is told again.
const REMIND: Duration = Duration::from_secs(30);

/// How a command deals with a lock another holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOptions {
    /// How long to wait for a held lock before stopping (zero: stop at once).
    pub timeout: Duration,
    /// Remove a lock someone else holds (its holder is known to be gone).
    pub force_unlock: bool,
}

impl Default for LockOptions {
    fn default() -> LockOptions {
        LockOptions {
            timeout: Duration::from_secs(300),
            force_unlock: false,
        }
    }
}

/// Who holds a lock: what the lock object says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// `deploy` or `delete`.
    pub command: String,
    /// The caller's ARN (STS), when known.
    #[serde(default)]
    pub caller: Option<String>,
    pub host: String,
    pub pid: u32,
    /// RFC 3339, UTC.
    pub started: String,
    #[serde(default)]
    pub deployer: String,
}

impl Holder {
    /// This process, running `command` as `caller`.
    pub fn this_process(command: &str, caller: Option<String>) -> Holder {
        Holder {
            command: command.to_owned(),
            caller,
            host: host_name(),
            pid: std::process::id(),
            started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            deployer: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// `arn:... on host H (pid N), `deploy` started T (5 s ago)`.
    pub fn describe(&self) -> String {
        let who = self.caller.as_deref().unwrap_or("someone");
        let ago = chrono::DateTime::parse_from_rfc3339(&self.started)
            .ok()
            .and_then(|t| {
                (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                    .to_std()
                    .ok()
            })
            .map(|d| format!(" ({} ago)", human(d)))
            .unwrap_or_default();
        format!(
            "{who} on host {} (pid {}, `{}` started {}{ago})",
            self.host, self.pid, self.command, self.started
        )
    }

    /// Whether the holder is a process of this host that is no longer running.
    fn gone_from_this_host(&self) -> bool {
        self.host == host_name() && self.pid != std::process::id() && !process_runs(self.pid)
    }
}

/// Where a stage's lock lives: outside every stage's code prefix (`<app>/<stage>/`, whose wildcards
/// must never match it; an app's name cannot start with a dot).
pub fn key(app: &str, stage: &str) -> String {
    format!(".deploy-locks/{app}/{stage}.json")
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another deploy of stage `{stage}` is running: the lock s3://{bucket}/{key} is held by {holder}; \
         waited {waited} for it; nothing was changed\n  hint: run again when it is done; if that deploy no \
         longer runs (killed, its machine gone), `--force-unlock` removes the lock"
    )]
    Held {
        stage: String,
        bucket: String,
        key: String,
        holder: String,
        waited: String,
    },
    #[error("the deploy lock: {0}")]
    Call(#[from] CallError),
}

/// A lock this process holds; [`Lock::release`] gives it back.
#[derive(Debug)]
pub struct Lock {
    pub bucket: String,
    pub key: String,
    /// The lock object's ETag as written (the release is conditional on it).
    etag: Option<String>,
    /// The artifacts bucket was created to hold the lock (a first deploy to this account and region).
    pub created_bucket: bool,
    /// The lock was held, or changed hands, since it was first seen: what was read before it was
    /// taken may predate another deploy's writes.
    pub waited: bool,
}

/// The lock object as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// No artifacts bucket yet (so no lock either).
    NoBucket,
    /// Never taken.
    Absent,
    /// Given back; the next holder writes over it only if it is still this version.
    Free { etag: Option<String> },
    Held {
        holder: Holder,
        etag: Option<String>,
    },
}

/// What the lock object says right now.
pub async fn peek(c: &Clients, bucket: &str, key: &str) -> Result<Seen, CallError> {
    let target = format!("{bucket}/{key}");
    let out = match c.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = CallError::new("GetObject", &target, e);
            return if e.has_code("NoSuchBucket") {
                Ok(Seen::NoBucket)
            } else if e.has_code("NoSuchKey") {
                Ok(Seen::Absent)
            } else {
                Err(e)
            };
        }
    };
    let etag = out.e_tag().map(str::to_owned);
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| CallError::other("GetObject", &target, e.to_string()))?
        .into_bytes();
    Ok(parse(&body, etag))
}

/// The lock object's state from its body: `{"free": true, ...}` or the holder.
fn parse(body: &[u8], etag: Option<String>) -> Seen {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if value["free"] == true {
        return Seen::Free { etag };
    }
    let holder = serde_json::from_value(value).unwrap_or_else(|_| Holder {
        command: "?".into(),
        caller: None,
        host: "?".into(),
        pid: 0,
        started: "?".into(),
        deployer: String::new(),
    });
    Seen::Held { holder, etag }
}

/// Takes the lock `key` in `bucket` (creating the bucket, in `region`, when there is none) for
/// `holder`, starting from what `seen` (read with the command's other reads; `None`: not read) says:
/// written only if absent (`If-None-Match: *`) or still the free version seen (`If-Match`), so that
/// of two deploys one wins, and a deploy that came and went since `seen` is noticed ([`Lock::waited`]).
/// A lock held by another is waited for, taken over or refused as `options` say; `say` tells the user.
#[allow(clippy::too_many_arguments)]
pub async fn acquire(
    c: &Clients,
    bucket: &str,
    region: &str,
    key: &str,
    stage: &str,
    holder: &Holder,
    options: &LockOptions,
    seen: Option<Seen>,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Lock, LockError> {
    let body = serde_json::to_vec_pretty(holder).unwrap_or_default();
    let started = Instant::now();
    let mut lock = Lock {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        etag: None,
        created_bucket: false,
        waited: false,
    };
    let mut told: Option<Instant> = None;
    let mut forced = false;
    let mut current = match seen {
        Some(seen) => seen,
        None => peek(c, bucket, key).await?,
    };
    loop {
        let put =
            c.s3.put_object()
                .bucket(bucket)
                .key(key)
                .content_type("application/json")
                .body(ByteStream::from(body.clone()));
        let put = match current {
            Seen::NoBucket if !lock.created_bucket => {
                artifacts::create_bucket(c, bucket, region).await?;
                lock.created_bucket = true;
                current = Seen::Absent;
                continue;
            }
            Seen::NoBucket | Seen::Absent => put.if_none_match("*"),
            Seen::Free { etag: Some(etag) } => put.if_match(etag),
            // A free lock whose version is unknown: take it only as new.
            Seen::Free { etag: None } => put.if_none_match("*"),
            Seen::Held {
                holder: other,
                etag,
            } => {
                if other == *holder {
                    // Our own write: its answer was lost and the SDK's retry found it done.
                    lock.etag = etag;
                    return Ok(lock);
                }
                lock.waited = true;
                if other.gone_from_this_host() {
                    say(&format!(
                        "Taking over the deploy lock of stage `{stage}`: its holder, pid {} on this host, no longer runs.",
                        other.pid
                    ));
                    artifacts::delete_object(c, bucket, key).await?;
                    current = Seen::Absent;
                    continue;
                }
                if options.force_unlock && !forced {
                    say(&format!(
                        "Removing the deploy lock of stage `{stage}` held by {} (--force-unlock).",
                        other.describe()
                    ));
                    artifacts::delete_object(c, bucket, key).await?;
                    forced = true;
                    current = Seen::Absent;
                    continue;
                }
                let waited = started.elapsed();
                if waited >= options.timeout {
                    return Err(LockError::Held {
                        stage: stage.to_owned(),
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                        holder: other.describe(),
                        waited: human(waited),
                    });
                }
                if told.is_none_or(|t| t.elapsed() >= REMIND) {
                    say(&format!(
                        "Waiting for the deploy lock of stage `{stage}`, held by {} (up to {}; Ctrl-C stops).",
                        other.describe(),
                        human(options.timeout)
                    ));
                    told = Some(Instant::now());
                }
                tokio::time::sleep(POLL.min(options.timeout.saturating_sub(waited))).await;
                current = peek(c, bucket, key).await?;
                continue;
            }
        };
        match put.send().await {
            Ok(out) => {
                lock.etag = out.e_tag().map(str::to_owned);
                return Ok(lock);
            }
            Err(e) => {
                let e = CallError::new("PutObject", &format!("{bucket}/{key}"), e);
                // 412: changed since seen; 409: another conditional write of it in flight; 404: the
                // free version seen was deleted (a stage deleted). All: someone else came by.
                let raced = [
                    "PreconditionFailed",
                    "ConditionalRequestConflict",
                    "NoSuchKey",
                ]
                .iter()
                .any(|code| e.has_code(code));
                if e.has_code("NoSuchBucket") {
                    current = Seen::NoBucket;
                } else if raced {
                    lock.waited = true;
                    current = peek(c, bucket, key).await?;
                } else {
                    return Err(e.into());
                }
            }
        }
    }
}

impl Lock {
    /// Gives the lock back: marks it free, unless someone removed and took it meanwhile
    /// (`--force-unlock`), whose lock is then left alone.
    pub async fn release(&self, c: &Clients) -> Result<(), CallError> {
        let body = serde_json::json!({
            "free": true,
            "released": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        let mut put =
            c.s3.put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type("application/json")
                .body(ByteStream::from(body.to_string().into_bytes()));
        if let Some(etag) = &self.etag {
            put = put.if_match(etag);
        }
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = CallError::new("PutObject", &format!("{}/{}", self.bucket, self.key), e);
                if e.has_code("PreconditionFailed") || e.has_code("NoSuchKey") {
                    eprintln!(
                        "warning: the deploy lock s3://{}/{} was removed (--force-unlock?) while this command held it",
                        self.bucket, self.key
                    );
                    return Ok(());
                }
                Err(e)
            }
        }
    }

    /// Gives the lock back for good (the stage was deleted): removes its object.
    pub async fn remove(&self, c: &Clients) -> Result<(), CallError> {
        artifacts::delete_object(c, &self.bucket, &self.key).await
    }
}

/// `1.2 s`, `3 min 5 s`, `2 h 10 min`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..10 => format!("{:.1} s", d.as_secs_f64()),
        10..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// This machine's name, as other machines' deploys will see it in the lock.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Whether process `pid` runs on this machine (when that cannot be told: yes).
pub(crate) fn process_runs(pid: u32) -> bool {
    if std::path::Path::new("/proc/self").exists() {
        return std::path::Path::new(&format!("/proc/{pid}")).exists();
    }
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .map_or(true, |s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_round_trips_and_describes_itself() {
        let h = Holder::this_process("deploy", Some("arn:aws:iam::1:user/alice".into()));
        let etag = Some("\"e1\"".to_string());
        assert_eq!(
            parse(&serde_json::to_vec(&h).unwrap(), etag.clone()),
            Seen::Held {
                holder: h.clone(),
                etag: etag.clone()
            }
        );
        assert_eq!(
            parse(
                br#"{"free": true, "released": "2026-01-01T00:00:00Z"}"#,
                etag.clone()
            ),
            Seen::Free { etag }
        );
        let text = h.describe();
        assert!(
            text.starts_with("arn:aws:iam::1:user/alice on host "),
            "{text}"
        );
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("`deploy` started"), "{text}");
        assert!(matches!(parse(b"not json", None), Seen::Held { holder, .. } if holder.pid == 0));
    }

    #[test]
    fn a_holder_of_this_host_is_gone_only_when_its_process_is() {
        let mut h = Holder::this_process("deploy", None);
        assert!(!h.gone_from_this_host(), "this very process");
        // The highest pid Linux hands out is below 2^22.
        h.pid = 4_194_304 + 17;
        assert!(h.gone_from_this_host());
        h.host = "another-machine".into();
        assert!(!h.gone_from_this_host(), "another host's pid says nothing");
    }

    #[test]
    fn the_key_is_outside_the_stages_code_prefix() {
        assert_eq!(key("orders", "dev"), ".deploy-locks/orders/dev.json");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_secs(42)), "42 s");
        assert_eq!(human(Duration::from_secs(185)), "3 min 5 s");
        assert_eq!(human(Duration::from_secs(7800)), "2 h 10 min");
    }
}
