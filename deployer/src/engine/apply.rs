//! Executes a plan's changes in dependency order, independent steps concurrently (bounded), each step's
//! result recorded in the state file the moment it is done.
//!
//! Each kind declares what it waits for ([`Resource::AFTER`](crate::resources::Resource::AFTER) and
//! the deletion orders); a step starts as soon as what it depends on is done: role and artifacts
//! bucket → code zip → functions → each function's rule, permission, subscription and mapping → its
//! bucket's notification entries (one read-modify-write per bucket). Deletions wait only where AWS
//! needs it (a role for its attachments, a function for its mappings and bucket entries, the bucket for
//! its objects): a role goes alongside its function. A failed step skips only what depends on it, so
//! everything that can be done is.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::json;

use super::desired::Desired;
use super::diff::{Action, Change, Counts};
use super::state::{ResourceRecord, StateError, StateFile};
use crate::aws::{AwsContext, Clients};
pub use crate::resources::StepError;
use crate::resources::{self, Identity, Live, Record, Recorded, Records, Scope, Spec, Step};

/// How many steps run at once.
pub const APPLY_CONCURRENCY: usize = 16;

/// What happened to one change.
#[derive(Debug)]
pub struct StepResult {
    pub change: Change,
    pub elapsed: Duration,
    /// e.g. "kept: it holds other stages' code"
    pub note: Option<String>,
    pub error: Option<StepError>,
}

/// The result of applying a plan.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every step attempted, in the order they finished.
    pub steps: Vec<StepResult>,
    /// Changes not attempted because an earlier stage failed.
    pub skipped: Vec<Change>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.skipped.is_empty() && self.steps.iter().all(|s| s.error.is_none())
    }

    pub fn failures(&self) -> impl Iterator<Item = &StepResult> {
        self.steps.iter().filter(|s| s.error.is_some())
    }

    pub fn done(&self) -> impl Iterator<Item = &StepResult> {
        self.steps.iter().filter(|s| s.error.is_none())
    }

    /// What failed, what was done, what was not attempted, and how to resume.
    pub fn failure_message(&self, command: &str, state_path: &str) -> String {
        let failures: Vec<_> = self.failures().collect();
        let mut msg = format!("{command} stopped: {} step(s) failed", failures.len());
        for f in &failures {
            let verb = match f.change.action {
                Action::Create => "create",
                Action::Update { .. } => "update",
                Action::Delete { .. } => "delete",
            };
            if let Some(e) = &f.error {
                msg.push_str(&format!(
                    "\n  - {verb} {} {}: {e}",
                    f.change.kind, f.change.name
                ));
            }
        }
        let done: Vec<_> = self.done().map(|s| s.change.clone()).collect();
        let c = Counts::of(&done);
        msg.push_str(&format!(
            "\ndone before stopping: {} created, {} updated, {} deleted (recorded in {state_path})",
            c.create, c.update, c.delete
        ));
        if !self.skipped.is_empty() {
            msg.push_str(&format!(
                "\nnot attempted: {} change(s)",
                self.skipped.len()
            ));
        }
        msg.push_str(&format!("\nrun `deployer {command}` again to resume"));
        msg
    }
}

/// Everything a step needs.
pub struct Applier<'a> {
    pub clients: &'a Clients,
    pub ctx: &'a AwsContext,
    pub desired: &'a Desired,
    pub live: &'a Live,
    /// Code zips by object key.
    pub zips: &'a BTreeMap<String, Vec<u8>>,
    pub state: &'a Mutex<StateFile>,
    /// Called with one line per finished step (progress on stderr).
    pub progress: &'a (dyn Fn(&str) + Sync),
}

/// The function a change belongs to (for ordering): the function itself, or the one its trigger invokes.
fn function_of(change: &Change, desired: &Desired) -> Option<String> {
    let spec = desired.by_identity(&change.identity).map(|r| &r.spec);
    resources::function_of(&change.identity, spec)
}

/// Whether `before` must be done before `after` starts, as `after`'s kind declares it.
fn precedes(before: &Change, after: &Change, desired: &Desired) -> bool {
    let same_function = || {
        let f = function_of(before, desired);
        f.is_some() && f == function_of(after, desired)
    };
    match (before.is_delete(), after.is_delete()) {
        (false, false) => resources::after(after.kind)
            .iter()
            .any(|&(kind, scope)| kind == before.kind && (scope == Scope::All || same_function())),
        (true, true) => resources::deleted_after(after.kind).contains(&before.kind),
        (false, true) => resources::deleted_after_writes_of(after.kind).contains(&before.kind),
        (true, false) => false,
    }
}

/// One unit of work: a change, or every change of one group (a bucket's notification entries).
struct Task {
    changes: Vec<Change>,
    deps: Vec<usize>,
}

fn tasks(changes: &[Change], desired: &Desired) -> Vec<Task> {
    let mut tasks: Vec<Task> = Vec::new();
    let mut groups: BTreeMap<(resources::ResourceKind, String), usize> = BTreeMap::new();
    for c in changes {
        if let Some(key) = resources::group_key(&c.identity) {
            if let Some(&i) = groups.get(&(c.kind, key.clone())) {
                tasks[i].changes.push(c.clone());
                continue;
            }
            groups.insert((c.kind, key), tasks.len());
        }
        tasks.push(Task {
            changes: vec![c.clone()],
            deps: Vec::new(),
        });
    }
    for i in 0..tasks.len() {
        let deps: Vec<usize> = (0..tasks.len())
            .filter(|&j| {
                j != i
                    && tasks[j].changes.iter().any(|before| {
                        tasks[i]
                            .changes
                            .iter()
                            .any(|after| precedes(before, after, desired))
                    })
            })
            .collect();
        tasks[i].deps = deps;
    }
    tasks
}

/// Applies `changes`: each as soon as what it depends on is done, at most [`APPLY_CONCURRENCY`] at
/// once. A failed step skips what depends on it; everything independent still runs.
pub async fn apply(a: &Applier<'_>, changes: &[Change]) -> Outcome {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Status {
        Pending,
        Running,
        Done,
        Failed,
    }
    let mut outcome = Outcome::default();
    let deleted_functions: BTreeSet<String> = changes
        .iter()
        .filter_map(|c| match (&c.identity, &c.action) {
            (Identity::Function { name }, Action::Delete { .. }) => Some(name.clone()),
            _ => None,
        })
        .collect();
    let tasks = tasks(changes, a.desired);
    let mut status = vec![Status::Pending; tasks.len()];
    let mut running = FuturesUnordered::new();
    loop {
        // Skip what can never run; start what can, up to the limit.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for i in 0..tasks.len() {
                if status[i] != Status::Pending {
                    continue;
                }
                let deps = tasks[i].deps.iter().map(|&d| status[d]);
                if deps.clone().any(|s| s == Status::Failed) {
                    status[i] = Status::Failed;
                    outcome.skipped.extend(tasks[i].changes.iter().cloned());
                    progressed = true;
                } else if deps.clone().all(|s| s == Status::Done)
                    && running.len() < APPLY_CONCURRENCY
                {
                    status[i] = Status::Running;
                    let task = tasks[i].changes.clone();
                    let deleted = &deleted_functions;
                    running.push(async move { (i, a.run_task(task, deleted).await) });
                }
            }
        }
        let Some((i, results)) = running.next().await else {
            break;
        };
        let failed = results.iter().any(|r| r.error.is_some());
        status[i] = if failed { Status::Failed } else { Status::Done };
        outcome.steps.extend(results);
    }
    // A dependency cycle would leave tasks pending: report them as not attempted.
    for (i, s) in status.iter().enumerate() {
        if *s == Status::Pending {
            outcome.skipped.extend(tasks[i].changes.iter().cloned());
        }
    }
    outcome
}

impl Applier<'_> {
    async fn run_task(
        &self,
        task: Vec<Change>,
        deleted_functions: &BTreeSet<String>,
    ) -> Vec<StepResult> {
        let start = Instant::now();
        let step = Step {
            clients: self.clients,
            ctx: self.ctx,
            live: self.live,
            zips: self.zips,
            deleted_functions,
            records: &StateRecords(self.state),
        };
        let with_specs: Vec<(Change, Option<Spec>)> = task
            .into_iter()
            .map(|c| {
                let spec = match c.action {
                    Action::Delete { .. } => None,
                    _ => self.spec(&c).cloned(),
                };
                (c, spec)
            })
            .collect();
        let results = resources::apply(&step, &with_specs).await;
        let elapsed = start.elapsed();
        with_specs
            .into_iter()
            .zip(results)
            .map(|((change, _), r)| {
                let (note, error) = match r {
                    Ok(note) => (note, None),
                    Err(e) => (None, Some(e)),
                };
                (self.progress)(&progress_line(
                    &change,
                    elapsed,
                    note.as_deref(),
                    error.as_ref(),
                ));
                StepResult {
                    change,
                    elapsed,
                    note,
                    error,
                }
            })
            .collect()
    }

    /// The desired spec a create or update brings the resource to.
    fn spec(&self, change: &Change) -> Option<&Spec> {
        self.desired
            .get(&change.id)
            .filter(|s| s.identity() == change.identity)
            .or_else(|| self.desired.by_identity(&change.identity).map(|r| &r.spec))
    }
}

/// The deploy record, as steps write to it.
struct StateRecords<'a>(&'a Mutex<StateFile>);

impl Records for StateRecords<'_> {
    fn record(&self, key: &str, identity: &Identity, found: Record) -> Result<(), StepError> {
        record(self.0, key, identity, found).map_err(|e| StepError::Record(Box::new(e)))
    }

    fn forget(&self, identity: &Identity) -> Result<(), StepError> {
        forget(self.0, identity).map_err(|e| StepError::Record(Box::new(e)))
    }
}

/// Records `identity` under `key` at once. A different identity recorded under `key` (a replaced
/// resource whose deletion has not run yet) is first kept under `key@replaced`, so it is never lost.
fn record(
    state: &Mutex<StateFile>,
    key: &str,
    identity: &Identity,
    found: Record,
) -> Result<(), StateError> {
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = state.get(key).cloned()
        && identity_of(&existing).is_some_and(|other| &other != identity)
    {
        let mut n = 1;
        let mut spare = format!("{key}@replaced");
        while state.get(&spare).is_some() {
            n += 1;
            spare = format!("{key}@replaced-{n}");
        }
        state.record(&spare, existing)?;
    }
    let mut settings = json!({ "identity": identity });
    if let Some(created) = found.created {
        settings["created"] = json!(created);
    }
    state.record(
        key,
        ResourceRecord {
            arn: found.arn,
            physical_id: found.physical_id,
            settings,
        },
    )
}

/// Records `identity` under `key` as made by this stage (the artifacts bucket the deploy lock made).
pub fn record_created(
    state: &Mutex<StateFile>,
    key: &str,
    identity: &Identity,
) -> Result<(), StateError> {
    let found = Record {
        created: Some(true),
        ..Record::default()
    };
    record(state, key, identity, found)
}

/// Forgets every record of `identity` (after deleting it).
fn forget(state: &Mutex<StateFile>, identity: &Identity) -> Result<(), StateError> {
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    let keys: Vec<String> = state
        .state()
        .resources
        .iter()
        .filter(|(_, r)| identity_of(r).as_ref() == Some(identity))
        .map(|(k, _)| k.clone())
        .collect();
    for k in keys {
        state.remove(&k)?;
    }
    Ok(())
}

/// The identity a state record was written with.
pub fn identity_of(record: &ResourceRecord) -> Option<Identity> {
    serde_json::from_value(record.settings.get("identity")?.clone()).ok()
}

/// Everything the state file records, as the diff reads it.
pub fn recorded(state: &StateFile) -> Vec<Recorded> {
    state
        .state()
        .resources
        .iter()
        .filter_map(|(key, r)| {
            Some(Recorded {
                key: key.clone(),
                identity: identity_of(r)?,
                owned: r
                    .settings
                    .get("created")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true),
                physical_id: r.physical_id.clone(),
            })
        })
        .collect()
}

/// Records what exists live as desired but is not recorded (a deploy killed between a create and its
/// record, or a lost state file), and forgets records of what is neither desired nor live. No AWS call.
pub fn reconcile(
    state: &Mutex<StateFile>,
    ctx: &AwsContext,
    desired: &Desired,
    live: &Live,
) -> Result<(), StateError> {
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    for r in &desired.resources {
        let identity = r.spec.identity();
        if state.get(&r.id).and_then(identity_of).is_some() {
            continue;
        }
        if let Some(found) = resources::adopt(&identity, live, ctx) {
            state.record(
                &r.id,
                ResourceRecord {
                    arn: found.arn,
                    physical_id: found.physical_id,
                    settings: json!({ "identity": identity }),
                },
            )?;
        }
    }
    let stale: Vec<String> = state
        .state()
        .resources
        .iter()
        .filter(|(_, rec)| {
            identity_of(rec).is_some_and(|identity| {
                desired.by_identity(&identity).is_none()
                    && resources::exists(&identity, live) == Some(false)
            })
        })
        .map(|(k, _)| k.clone())
        .collect();
    for k in stale {
        state.remove(&k)?;
    }
    Ok(())
}

fn progress_line(
    change: &Change,
    elapsed: Duration,
    note: Option<&str>,
    error: Option<&StepError>,
) -> String {
    let verb = match (&change.action, error.is_some()) {
        (Action::Create, false) => "created",
        (Action::Update { .. }, false) => "updated",
        (Action::Delete { .. }, false) => "deleted",
        (Action::Create, true) => "failed to create",
        (Action::Update { .. }, true) => "failed to update",
        (Action::Delete { .. }, true) => "failed to delete",
    };
    let mut line = format!("  {verb} {} {}", change.kind, change.name);
    if let Some(e) = error {
        line.push_str(&format!(": {e}"));
    } else {
        line.push_str(&format!(" ({} ms)", elapsed.as_millis()));
    }
    if let Some(n) = note {
        line.push_str(&format!(" [{n}]"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::desired::DesiredResource;
    use crate::resources::{DeleteReason, FieldChange};

    fn change(identity: Identity, action: Action) -> Change {
        Change {
            id: "x".into(),
            kind: identity.kind(),
            name: identity.display_name(),
            identity,
            physical_id: None,
            action,
        }
    }

    #[test]
    fn dependencies_follow_functions_and_deletions_run_backwards() {
        let del = || Action::Delete {
            reason: DeleteReason::Removed,
        };
        let f = |n: &str| Identity::Function { name: n.into() };
        let perm = |n: &str| Identity::Permission {
            function: n.into(),
            statement_id: "s".into(),
        };
        let notification = |id: &str| Identity::Notification {
            bucket: "b".into(),
            id: id.into(),
        };
        let desired = Desired::default();
        let changes = vec![
            change(Identity::Role { name: "a".into() }, Action::Create), // 0: a's own role
            change(f("a"), Action::Create),                              // 1
            change(f("b"), Action::Create),                              // 2
            change(perm("a"), Action::Create),                           // 3
            change(perm("b"), Action::Create),                           // 4
            change(notification("x"), del()),                            // 5: bucket b's task
            change(f("old"), del()),                                     // 6
            change(perm("old"), del()),                                  // 7
            change(notification("y"), del()),                            // joins task 5
        ];
        let t = tasks(&changes, &desired);
        assert_eq!(t.len(), 8, "one task per bucket");
        assert_eq!(t[5].changes.len(), 2);
        assert_eq!(t[0].deps, Vec::<usize>::new());
        assert_eq!(t[1].deps, [0], "a waits for its own role");
        assert_eq!(
            t[2].deps,
            Vec::<usize>::new(),
            "b does not wait for a's role"
        );
        assert_eq!(t[3].deps, [1], "a's permission waits for a only");
        assert_eq!(t[4].deps, [2]);
        assert_eq!(
            t[6].deps,
            [5],
            "a function is deleted after its bucket entries, not its permissions"
        );
        assert_eq!(t[7].deps, Vec::<usize>::new());
    }

    /// The longest chain of calls `tasks` make one after another, task `i` making `calls[i]`.
    fn trips(tasks: &[Task], calls: &[usize]) -> usize {
        fn end(i: usize, tasks: &[Task], calls: &[usize]) -> usize {
            let start = tasks[i]
                .deps
                .iter()
                .map(|&d| end(d, tasks, calls))
                .max()
                .unwrap_or(0);
            start + calls[i]
        }
        (0..tasks.len())
            .map(|i| end(i, tasks, calls))
            .max()
            .unwrap_or(0)
    }

    /// Names each task's dependencies by the names given to the changes (one change per task).
    fn waits<'a>(tasks: &[Task], names: &[&'a str]) -> Vec<(&'a str, Vec<&'a str>)> {
        assert_eq!(tasks.len(), names.len(), "one change per task");
        tasks
            .iter()
            .zip(names)
            .map(|(t, &n)| (n, t.deps.iter().map(|&d| names[d]).collect()))
            .collect()
    }

    fn stage(function: &str) -> Vec<(&'static str, Identity)> {
        let f = function.to_string();
        vec![
            ("role", Identity::Role { name: f.clone() }),
            (
                "attachment",
                Identity::Attachment {
                    role: f.clone(),
                    policy_arn: "arn:aws:iam::aws:policy/P".into(),
                },
            ),
            (
                "log group",
                Identity::LogGroup {
                    name: format!("/aws/lambda/{f}"),
                },
            ),
            (
                "code",
                Identity::CodeObject {
                    bucket: "artifacts".into(),
                    key: "app/dev/bootstrap.zip".into(),
                },
            ),
            ("function", Identity::Function { name: f.clone() }),
            (
                "rule",
                Identity::Rule {
                    name: format!("{f}-rule"),
                    bus: None,
                },
            ),
            (
                "permission",
                Identity::Permission {
                    function: f.clone(),
                    statement_id: "s".into(),
                },
            ),
            (
                "notification",
                Identity::Notification {
                    bucket: "uploads".into(),
                    id: f.clone(),
                },
            ),
            (
                "subscription",
                Identity::Subscription {
                    topic_arn: "arn:aws:sns:us-east-1:123456789012:t".into(),
                    endpoint: format!("arn:aws:lambda:us-east-1:123456789012:function:{f}"),
                },
            ),
            (
                "mapping",
                Identity::Mapping {
                    function: f.clone(),
                    source_arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
                },
            ),
            ("invoke config", Identity::InvokeConfig { function: f }),
        ]
    }

    /// The calls a step makes: a role and its inline policy, a rule and its targets, a bucket's
    /// notifications read then written take two; a permission or invoke configuration deleted with
    /// its function none.
    fn calls(name: &str, delete: bool) -> usize {
        match name {
            "role" | "rule" | "notification" => 2,
            "permission" | "invoke config" if delete => 0,
            _ => 1,
        }
    }

    #[test]
    fn a_stage_is_deleted_in_the_levels_aws_needs() {
        let del = || Action::Delete {
            reason: DeleteReason::Removed,
        };
        let stage = stage("f");
        let names: Vec<&str> = stage.iter().map(|(n, _)| *n).collect();
        let changes: Vec<Change> = stage.into_iter().map(|(_, i)| change(i, del())).collect();
        let t = tasks(&changes, &Desired::default());
        let none = Vec::<&str>::new;
        assert_eq!(
            waits(&t, &names),
            [
                ("role", vec!["attachment"]),
                ("attachment", none()),
                ("log group", none()),
                ("code", none()),
                ("function", vec!["notification", "mapping"]),
                ("rule", none()),
                ("permission", none()),
                ("notification", none()),
                ("subscription", none()),
                ("mapping", none()),
                ("invoke config", none()),
            ]
        );
        let calls: Vec<usize> = names.iter().map(|n| calls(n, true)).collect();
        assert_eq!(
            trips(&t, &calls),
            3,
            "the bucket's notifications read and written, then the function"
        );
    }

    #[test]
    fn a_stage_is_deployed_in_the_levels_aws_needs() {
        let stage = stage("f");
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
        // A rule's and a bucket entry's function is their spec's target.
        let desired = Desired {
            resources: vec![
                DesiredResource {
                    id: "rule".into(),
                    spec: Spec::Rule(crate::resources::rule::RuleSpec {
                        name: "f-rule".into(),
                        bus: None,
                        schedule_expression: Some("rate(1 hour)".into()),
                        event_pattern: None,
                        description: None,
                        state: "ENABLED".into(),
                        target_id: "t".into(),
                        target_arn: Some(arn.into()),
                        tags: BTreeMap::new(),
                    }),
                },
                DesiredResource {
                    id: "notification".into(),
                    spec: Spec::Notification(crate::resources::notification::NotificationSpec {
                        bucket: "uploads".into(),
                        id: "f".into(),
                        function_arn: arn.into(),
                        events: vec!["s3:ObjectCreated:*".into()],
                        prefix: None,
                        suffix: None,
                    }),
                },
            ],
            ..Desired::default()
        };
        let names: Vec<&str> = stage.iter().map(|(n, _)| *n).collect();
        let changes: Vec<Change> = stage
            .into_iter()
            .map(|(_, i)| change(i, Action::Create))
            .collect();
        let t = tasks(&changes, &desired);
        let none = Vec::<&str>::new;
        assert_eq!(
            waits(&t, &names),
            [
                ("role", none()),
                ("attachment", vec!["role"]),
                ("log group", none()),
                ("code", none()),
                ("function", vec!["role", "attachment", "log group", "code"]),
                ("rule", vec!["function"]),
                ("permission", vec!["function"]),
                ("notification", vec!["function", "permission"]),
                ("subscription", vec!["function"]),
                ("mapping", vec!["role", "function"]),
                ("invoke config", vec!["role", "function"]),
            ]
        );
        let calls: Vec<usize> = names.iter().map(|n| calls(n, false)).collect();
        assert_eq!(
            trips(&t, &calls),
            7,
            "role then its policy, attachment, function, permission, notifications read then written"
        );
    }

    #[test]
    fn a_failure_says_what_was_done_and_how_to_resume() {
        let change = |name: &str, action| {
            let identity = Identity::Function { name: name.into() };
            Change {
                id: format!("function.{name}"),
                kind: identity.kind(),
                name: name.into(),
                identity,
                physical_id: None,
                action,
            }
        };
        let outcome = Outcome {
            steps: vec![
                StepResult {
                    change: change("a", Action::Create),
                    elapsed: Duration::ZERO,
                    note: None,
                    error: None,
                },
                StepResult {
                    change: change("b", Action::Create),
                    elapsed: Duration::ZERO,
                    note: None,
                    error: Some(StepError::Internal("CreateFunction b: Throttling".into())),
                },
            ],
            skipped: vec![change(
                "c",
                Action::Delete {
                    reason: DeleteReason::Removed,
                },
            )],
        };
        let msg = outcome.failure_message("deploy", ".chalice-rs/deployed/dev.json");
        assert_eq!(
            msg,
            "deploy stopped: 1 step(s) failed\n  - create lambda_function b: CreateFunction b: Throttling\n\
             done before stopping: 1 created, 0 updated, 0 deleted (recorded in .chalice-rs/deployed/dev.json)\n\
             not attempted: 1 change(s)\nrun `deployer deploy` again to resume"
        );
    }

    #[test]
    fn progress_lines_say_what_happened() {
        let c = change(
            Identity::Function {
                name: "app-dev-h".into(),
            },
            Action::Update {
                fields: vec![FieldChange {
                    field: "memory_mb".into(),
                    old: Some("128".into()),
                    new: Some("256".into()),
                }],
            },
        );
        assert_eq!(
            progress_line(&c, Duration::from_millis(12), None, None),
            "  updated lambda_function app-dev-h (12 ms)"
        );
        let e = StepError::Internal("boom".into());
        assert_eq!(
            progress_line(&c, Duration::ZERO, None, Some(&e)),
            "  failed to update lambda_function app-dev-h: boom"
        );
    }

    #[test]
    fn records_keep_a_replaced_identity_until_it_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let state = Mutex::new(StateFile::open(dir.path(), "app", "dev").unwrap());
        let old = Identity::Notification {
            bucket: "a".into(),
            id: "n".into(),
        };
        let new = Identity::Notification {
            bucket: "b".into(),
            id: "n".into(),
        };
        record(&state, "notification.h", &old, Record::default()).unwrap();
        record(&state, "notification.h", &new, Record::default()).unwrap();
        let rec = recorded(&state.lock().unwrap());
        let keys: Vec<(&str, &Identity)> =
            rec.iter().map(|r| (r.key.as_str(), &r.identity)).collect();
        assert_eq!(
            keys,
            [("notification.h", &new), ("notification.h@replaced", &old)]
        );
        forget(&state, &old).unwrap();
        let rec = recorded(&state.lock().unwrap());
        assert_eq!(rec.len(), 1);
        assert_eq!(rec[0].identity, new);
    }
}
