//! Executes a plan's changes in dependency order, independent steps concurrently (bounded), each step's
//! result recorded in the state file the moment it is done.
//!
//! Each step starts as soon as what it depends on is done (see [`precedes`]): role and artifacts
//! bucket → code zip → functions → each function's rule, permission, subscription and mapping → its
//! bucket's notification entries (one read-modify-write per bucket); deletions in reverse. A failed
//! step skips only what depends on it, so everything that can be done is.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::json;

use crate::aws::{AwsContext, Clients};
use crate::engine::diff::{Action, Change, Counts, DeleteReason, MAPPING_REPLACE_FIELDS};
use crate::engine::spec::{
    Desired, Identity, Live, NotificationSpec, Recorded, ResourceKind, Spec,
};
use crate::engine::state::{ResourceRecord, StateError, StateFile};
use crate::resources::{CallError, events, iam, lambda, mappings, permissions, s3, sns};

/// How many steps run at once.
pub const APPLY_CONCURRENCY: usize = 8;

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("could not record it in the state file: {0}")]
    State(#[from] StateError),
    #[error("{0}")]
    Internal(String),
}

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
    let last = |arn: &str| arn.rsplit(':').next().unwrap_or(arn).to_string();
    match &change.identity {
        Identity::Function { name } => Some(name.clone()),
        Identity::Permission { function, .. } | Identity::Mapping { function, .. } => {
            Some(function.clone())
        }
        Identity::Subscription { endpoint, .. } => Some(last(endpoint)),
        Identity::Rule { .. } | Identity::Notification { .. } => {
            match desired.by_identity(&change.identity).map(|r| &r.spec) {
                Some(Spec::Rule(r)) => r.target_arn.as_deref().map(last),
                Some(Spec::Notification(n)) => Some(last(&n.function_arn)),
                _ => None,
            }
        }
        Identity::Role { .. } | Identity::ArtifactsBucket { .. } | Identity::CodeObject { .. } => {
            None
        }
    }
}

/// Whether `before` must be done before `after` starts.
///
/// Creations and updates: bucket → code zip; role and code zip → functions; a function → its rule,
/// permission, subscription and mapping (a mapping also waits for the role's policy); a function and
/// its permission → the notification entries of its bucket. Deletions run the other way: a function
/// after everything that invokes it, the role and old code zips after every function change, the
/// artifacts bucket after the code zips.
fn precedes(before: &Change, after: &Change, desired: &Desired) -> bool {
    use ResourceKind::*;
    let same_function = || {
        let f = function_of(before, desired);
        f.is_some() && f == function_of(after, desired)
    };
    match (before.is_delete(), after.is_delete()) {
        (false, false) => match (before.kind, after.kind) {
            (S3Bucket, S3Object) => true,
            (IamRole | S3Object, LambdaFunction) => true,
            (IamRole, LambdaEventSourceMapping) => true,
            (
                LambdaFunction,
                EventsRule | LambdaPermission | SnsSubscription | LambdaEventSourceMapping,
            ) => same_function(),
            (LambdaFunction | LambdaPermission, S3BucketNotification) => same_function(),
            _ => false,
        },
        (true, true) => matches!(
            (before.kind, after.kind),
            (
                EventsRule
                    | LambdaPermission
                    | SnsSubscription
                    | LambdaEventSourceMapping
                    | S3BucketNotification,
                LambdaFunction,
            ) | (LambdaFunction, IamRole | S3Object)
                | (S3Object, S3Bucket)
        ),
        (false, true) => matches!(
            (before.kind, after.kind),
            (LambdaFunction, IamRole | S3Object)
        ),
        (true, false) => false,
    }
}

/// One unit of work: a change, or every notification change of one bucket (one read-modify-write).
struct Task {
    changes: Vec<Change>,
    deps: Vec<usize>,
}

fn tasks(changes: &[Change], desired: &Desired) -> Vec<Task> {
    let mut tasks: Vec<Task> = Vec::new();
    let mut bucket_task: BTreeMap<String, usize> = BTreeMap::new();
    for c in changes {
        if let Identity::Notification { bucket, .. } = &c.identity {
            if let Some(&i) = bucket_task.get(bucket) {
                tasks[i].changes.push(c.clone());
                continue;
            }
            bucket_task.insert(bucket.clone(), tasks.len());
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
        let results: Vec<(Change, Result<Option<String>, StepError>)> =
            match task.first().map(|c| &c.identity) {
                Some(Identity::Notification { bucket, .. }) => {
                    let bucket = bucket.clone();
                    match self.bucket_notifications(&bucket, &task).await {
                        Ok(()) => task.into_iter().map(|c| (c, Ok(None))).collect(),
                        Err(e) => {
                            let message = e.to_string();
                            let mut first = Some(e);
                            task.into_iter()
                                .map(|c| {
                                    let err = first
                                        .take()
                                        .unwrap_or_else(|| StepError::Internal(message.clone()));
                                    (c, Err(err))
                                })
                                .collect()
                        }
                    }
                }
                _ => {
                    let mut out = Vec::new();
                    for c in task {
                        let r = self.step(&c, deleted_functions).await;
                        out.push((c, r));
                    }
                    out
                }
            };
        let elapsed = start.elapsed();
        results
            .into_iter()
            .map(|(change, r)| {
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

    fn spec(&self, change: &Change) -> Result<&Spec, StepError> {
        self.desired
            .get(&change.id)
            .filter(|s| s.identity() == change.identity)
            .or_else(|| self.desired.by_identity(&change.identity).map(|r| &r.spec))
            .ok_or_else(|| StepError::Internal(format!("no desired spec for {}", change.id)))
    }

    /// Runs one change; `Ok(Some(note))` when there is something to tell.
    async fn step(
        &self,
        change: &Change,
        deleted_functions: &BTreeSet<String>,
    ) -> Result<Option<String>, StepError> {
        let c = self.clients;
        let id = change.id.as_str();
        let identity = &change.identity;
        let is_duplicate = matches!(
            change.action,
            Action::Delete {
                reason: DeleteReason::Duplicate
            }
        );
        match (identity, &change.action) {
            (Identity::ArtifactsBucket { bucket }, Action::Delete { .. }) => {
                let gone = s3::delete_bucket_if_empty(c, bucket).await?;
                self.forget(identity)?;
                Ok((!gone).then(|| "kept: it holds other apps' or stages' code".to_string()))
            }
            (Identity::ArtifactsBucket { bucket }, _) => {
                let Spec::ArtifactsBucket(spec) = self.spec(change)? else {
                    return Err(StepError::Internal(format!("{id} is not a bucket")));
                };
                s3::create_bucket(c, bucket, &spec.region).await?;
                self.record(id, identity, None, None, Some(true))?;
                Ok(None)
            }
            (Identity::CodeObject { bucket, key }, Action::Delete { .. }) => {
                s3::delete_object(c, bucket, key).await?;
                self.forget(identity)?;
                Ok(None)
            }
            (Identity::CodeObject { bucket, key }, _) => {
                let zip = self
                    .zips
                    .get(key)
                    .ok_or_else(|| StepError::Internal(format!("no code zip for {key}")))?;
                s3::put_object(c, bucket, key, zip.clone()).await?;
                self.record(id, identity, None, Some(key.clone()), None)?;
                Ok(None)
            }
            (Identity::Role { name }, Action::Delete { .. }) => {
                iam::delete_role(c, name, name).await?;
                self.forget(identity)?;
                Ok(None)
            }
            (Identity::Role { name }, action) => {
                let Spec::Role(spec) = self.spec(change)? else {
                    return Err(StepError::Internal(format!("{id} is not a role")));
                };
                let arn = match (action, self.live.roles.get(name)) {
                    (Action::Update { .. }, Some(Some(live))) => {
                        iam::update_role(c, spec, &live.spec).await?;
                        live.arn.clone()
                    }
                    _ => iam::create_role(c, spec).await?,
                };
                self.record(id, identity, Some(arn), None, None)?;
                Ok(None)
            }
            (Identity::Function { name }, Action::Delete { .. }) => {
                lambda::delete_function(c, name).await?;
                self.forget(identity)?;
                Ok(None)
            }
            (Identity::Function { name }, action) => {
                let Spec::Function(spec) = self.spec(change)? else {
                    return Err(StepError::Internal(format!("{id} is not a function")));
                };
                let arn = match (action, self.live.function(name)) {
                    (Action::Update { .. }, Some(Some(live))) => {
                        lambda::update_function(c, spec, live).await?;
                        live.arn.clone()
                    }
                    _ => lambda::create_function(c, spec).await?,
                };
                self.record(id, identity, Some(arn), None, None)?;
                Ok(None)
            }
            (Identity::Rule { name, bus }, Action::Delete { .. }) => {
                let targets = match self.live.rules.get(&(bus.clone(), name.clone())) {
                    Some(Some(rule)) => rule.target_ids.clone(),
                    _ => events::list_targets(c, name, bus.as_deref())
                        .await?
                        .into_iter()
                        .map(|(id, _)| id)
                        .collect(),
                };
                events::delete_rule(c, name, bus.as_deref(), &targets).await?;
                self.forget(identity)?;
                Ok(None)
            }
            (Identity::Rule { .. }, action) => {
                let Spec::Rule(spec) = self.spec(change)? else {
                    return Err(StepError::Internal(format!("{id} is not a rule")));
                };
                let (rule_changed, target_changed) = match action {
                    Action::Update { fields } => (
                        fields.iter().any(|f| !f.field.starts_with("target.")),
                        fields.iter().any(|f| f.field.starts_with("target.")),
                    ),
                    _ => (true, true),
                };
                let live_arn = match self.live.rules.get(&(spec.bus.clone(), spec.name.clone())) {
                    Some(Some(rule)) => Some(rule.arn.clone()),
                    _ => None,
                };
                let arn = match (rule_changed, live_arn) {
                    (false, Some(arn)) => arn,
                    _ => events::put_rule(c, spec).await?,
                };
                // Recorded before the target exists: a rule without its target is still ours to delete.
                self.record(id, identity, Some(arn), None, None)?;
                if target_changed {
                    events::put_target(c, spec).await?;
                }
                Ok(None)
            }
            (
                Identity::Permission {
                    function,
                    statement_id,
                },
                Action::Delete { .. },
            ) => {
                let note = if deleted_functions.contains(function) {
                    Some("removed with its function".to_string())
                } else {
                    permissions::remove_permission(c, function, statement_id).await?;
                    None
                };
                if !is_duplicate {
                    self.forget(identity)?;
                }
                Ok(note)
            }
            (
                Identity::Permission {
                    function,
                    statement_id,
                },
                action,
            ) => {
                let Spec::Permission(spec) = self.spec(change)? else {
                    return Err(StepError::Internal(format!("{id} is not a permission")));
                };
                if matches!(action, Action::Update { .. }) {
                    permissions::remove_permission(c, function, statement_id).await?;
                }
                permissions::add_permission(c, spec).await?;
                self.record(id, identity, None, Some(statement_id.clone()), None)?;
                Ok(None)
            }
            (Identity::Subscription { .. }, Action::Delete { .. }) => {
                if let Some(arn) = &change.physical_id {
                    sns::unsubscribe(c, arn).await?;
                }
                if !is_duplicate {
                    self.forget(identity)?;
                }
                Ok(None)
            }
            (
                Identity::Subscription {
                    topic_arn,
                    endpoint,
                },
                _,
            ) => {
                let arn = sns::subscribe(c, topic_arn, endpoint).await?;
                self.record(id, identity, Some(arn.clone()), Some(arn), None)?;
                Ok(None)
            }
            (Identity::Mapping { .. }, Action::Delete { .. }) => {
                if let Some(uuid) = &change.physical_id {
                    mappings::delete_mapping(c, uuid).await?;
                }
                if !is_duplicate {
                    self.forget(identity)?;
                }
                Ok(None)
            }
            (Identity::Mapping { .. }, action) => {
                let Spec::Mapping(spec) = self.spec(change)? else {
                    return Err(StepError::Internal(format!("{id} is not a mapping")));
                };
                let uuid = match (action, &change.physical_id) {
                    (Action::Update { fields }, Some(uuid))
                        if !fields
                            .iter()
                            .any(|f| MAPPING_REPLACE_FIELDS.contains(&f.field.as_str())) =>
                    {
                        mappings::update_mapping(c, uuid, spec).await?;
                        uuid.clone()
                    }
                    (Action::Update { .. }, Some(uuid)) => {
                        // The starting position cannot change in place: make it again.
                        mappings::delete_mapping(c, uuid).await?;
                        self.forget(identity)?;
                        mappings::create_mapping(c, spec).await?
                    }
                    _ => mappings::create_mapping(c, spec).await?,
                };
                let arn = format!(
                    "arn:{}:lambda:{}:{}:event-source-mapping:{uuid}",
                    self.ctx.partition, self.ctx.region, self.ctx.account
                );
                self.record(id, identity, Some(arn), Some(uuid), None)?;
                Ok(None)
            }
            (Identity::Notification { .. }, _) => Err(StepError::Internal(
                "bucket notifications are applied per bucket".to_string(),
            )),
        }
    }

    fn record(
        &self,
        key: &str,
        identity: &Identity,
        arn: Option<String>,
        physical_id: Option<String>,
        created: Option<bool>,
    ) -> Result<(), StateError> {
        record(self.state, key, identity, arn, physical_id, created)
    }

    fn forget(&self, identity: &Identity) -> Result<(), StateError> {
        forget(self.state, identity)
    }

    /// Every change to `bucket`'s notification entries, in one read-modify-write.
    async fn bucket_notifications(
        &self,
        bucket: &str,
        changes: &[Change],
    ) -> Result<(), StepError> {
        let mut remove = BTreeSet::new();
        let mut put: Vec<NotificationSpec> = Vec::new();
        for change in changes {
            let Identity::Notification { id, .. } = &change.identity else {
                continue;
            };
            match change.action {
                Action::Delete { .. } => {
                    remove.insert(id.clone());
                }
                _ => match self.spec(change)? {
                    Spec::Notification(n) => put.push(n.clone()),
                    _ => {
                        return Err(StepError::Internal(format!(
                            "{} is not a notification",
                            change.id
                        )));
                    }
                },
            }
        }
        s3::update_notifications(self.clients, bucket, &remove, &put).await?;
        for change in changes {
            let Identity::Notification { id, .. } = &change.identity else {
                continue;
            };
            match change.action {
                Action::Delete { .. } => self.forget(&change.identity)?,
                _ => self.record(&change.id, &change.identity, None, Some(id.clone()), None)?,
            }
        }
        Ok(())
    }
}

/// Records `identity` under `key` at once. A different identity recorded under `key` (a replaced
/// resource whose deletion has not run yet) is first kept under `key@replaced`, so it is never lost.
fn record(
    state: &Mutex<StateFile>,
    key: &str,
    identity: &Identity,
    arn: Option<String>,
    physical_id: Option<String>,
    created: Option<bool>,
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
    if let Some(created) = created {
        settings["created"] = json!(created);
    }
    state.record(
        key,
        ResourceRecord {
            arn,
            physical_id,
            settings,
        },
    )
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
        let (exists, arn, physical) = match &identity {
            Identity::Role { name } => match live.roles.get(name) {
                Some(Some(role)) => (true, Some(role.arn.clone()), None),
                _ => (false, None, None),
            },
            Identity::Function { name } => match live.function(name) {
                Some(Some(f)) => (true, Some(f.arn.clone()), None),
                _ => (false, None, None),
            },
            Identity::Rule { name, bus } => match live.rules.get(&(bus.clone(), name.clone())) {
                Some(Some(rule)) => (true, Some(rule.arn.clone()), None),
                _ => (false, None, None),
            },
            Identity::Permission { statement_id, .. } => (
                live.exists(&identity) == Some(true),
                None,
                Some(statement_id.clone()),
            ),
            Identity::Notification { id, .. } => {
                (live.exists(&identity) == Some(true), None, Some(id.clone()))
            }
            Identity::Subscription { .. } => match live.subscriptions(&identity).first() {
                Some(s) => (true, Some(s.arn.clone()), Some(s.arn.clone())),
                None => (false, None, None),
            },
            Identity::Mapping { .. } => match live.mappings_for(&identity).first() {
                Some(m) => (
                    true,
                    Some(format!(
                        "arn:{}:lambda:{}:{}:event-source-mapping:{}",
                        ctx.partition, ctx.region, ctx.account, m.uuid
                    )),
                    Some(m.uuid.clone()),
                ),
                None => (false, None, None),
            },
            // Not read on a no-op deploy: recorded when made.
            Identity::ArtifactsBucket { .. } | Identity::CodeObject { .. } => (false, None, None),
        };
        let recorded = state.get(&r.id).and_then(identity_of);
        if exists && recorded.is_none() {
            state.record(
                &r.id,
                ResourceRecord {
                    arn,
                    physical_id: physical,
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
                desired.by_identity(&identity).is_none() && live.exists(&identity) == Some(false)
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
    use crate::engine::diff::FieldChange;

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
            change(Identity::Role { name: "r".into() }, Action::Create), // 0
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
        assert_eq!(t[1].deps, [0]);
        assert_eq!(t[3].deps, [1], "a's permission waits for a only");
        assert_eq!(t[4].deps, [2]);
        assert_eq!(
            t[6].deps,
            [5, 7],
            "a function is deleted after what invokes it"
        );
        assert_eq!(t[7].deps, Vec::<usize>::new());
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
        let msg = outcome.failure_message("deploy", ".chalice/deployed/dev.json");
        assert_eq!(
            msg,
            "deploy stopped: 1 step(s) failed\n  - create lambda_function b: CreateFunction b: Throttling\n\
             done before stopping: 1 created, 0 updated, 0 deleted (recorded in .chalice/deployed/dev.json)\n\
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
        record(&state, "notification.h", &old, None, None, None).unwrap();
        record(&state, "notification.h", &new, None, None, None).unwrap();
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
