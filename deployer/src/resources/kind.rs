//! What every resource kind implements ([`Resource`]), and what the engine hands it: the plan to
//! resolve against, what is desired (for removals), and a step to apply.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chalice_codegen::plan::{AwsContext, Plan};
use serde::Serialize;

use super::call::CallError;
use super::change::{Action, Change, FieldChange, Recorded};
use super::code::CodeSet;
use super::identity::{Identity, ResourceKind};
use super::sources::Lookups;
use crate::aws::Clients;

/// Which resources of another kind a dependency is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every one of them.
    All,
    /// Those of the same function (the function itself, or what invokes it).
    SameFunction,
}

/// One kind of resource: everything the engine needs of it.
pub trait Resource {
    /// The settings a deploy compares and applies (desired from the plan, or as read live).
    type Spec: std::fmt::Debug + Clone + PartialEq + Serialize + Send + Sync;
    /// What the engine read live of this kind (its part of the read phase's result).
    type Store: Sync;
    const KIND: ResourceKind;
    /// Kinds whose creations and updates must be done before this kind's.
    const AFTER: &'static [(ResourceKind, Scope)] = &[];
    /// Kinds whose deletions must be done before this kind's deletions.
    const DELETED_AFTER: &'static [ResourceKind] = &[];
    /// Kinds whose creations and updates must be done before this kind's deletions.
    const DELETED_AFTER_WRITES_OF: &'static [ResourceKind] = &[];

    /// What the resource is found by.
    fn identity(spec: &Self::Spec) -> Identity;

    /// The resources of this kind the plan calls for, under their state keys; problems go to `r`.
    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)>;

    /// The function this resource is, or belongs to, or invokes (for ordering).
    fn function_of(_identity: &Identity, _spec: Option<&Self::Spec>) -> Option<String> {
        None
    }

    /// Whether it exists live (`None`: not read, so not known).
    fn exists(identity: &Identity, live: &Self::Store, facts: &Facts<'_>) -> Option<bool>;

    /// What bringing it to `spec` takes: a create, an update with the fields that differ, deletions of
    /// live duplicates; nothing when it matches (or was not read). `preferred`: the physical id
    /// recorded for it, kept when duplicates are found.
    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        facts: &Facts<'_>,
        preferred: Option<&str>,
    ) -> Vec<Change>;

    /// Deletions for a recorded resource that is not desired: by default, one when it exists (or
    /// was not read: deleting what is gone is harmless, leaving it is an orphan).
    fn removals(
        rec: &Recorded,
        wanted: &Wanted<'_>,
        live: &Self::Store,
        facts: &Facts<'_>,
    ) -> Vec<Change> {
        removal_if_live::<Self>(rec, wanted, live, facts)
    }

    /// What to record for a desired resource found live but not recorded (a deploy killed between a
    /// create and its record); `None` when it does not exist or is not known.
    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        facts: &Facts<'_>,
        ctx: &AwsContext,
    ) -> Option<Record>;

    /// Applies one change (`spec`: the desired settings, for a create or an update), recording what
    /// exists (or forgetting what is gone) through `step.records` the moment it does.
    /// `Ok(Some(note))` when there is something to tell.
    fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> impl Future<Output = Result<Option<String>, StepError>> + Send;

    /// Changes that share this key are applied together, by [`Resource::apply_group`] (a bucket's
    /// notification entries: one read-modify-write).
    fn group_key(_identity: &Identity) -> Option<String> {
        None
    }

    /// Applies a group of changes that share a [`Resource::group_key`] at once.
    fn apply_group(
        _step: &Step<'_, Self::Store>,
        _changes: &[(Change, Option<Self::Spec>)],
    ) -> impl Future<Output = Result<(), StepError>> + Send {
        async {
            Err(StepError::Internal(format!(
                "{} is not applied in groups",
                Self::KIND
            )))
        }
    }
}

/// What the desired state of a plan is resolved against.
pub struct Resolver<'a> {
    pub plan: &'a Plan,
    pub ctx: &'a AwsContext,
    /// The code per architecture; empty when not known (`plan` without a bootstrap).
    pub code: &'a CodeSet,
    pub lookups: &'a Lookups,
    /// Everything that stops the plan from being deployed.
    pub problems: Vec<String>,
}

impl Resolver<'_> {
    /// The ARN of the function serving `handler`.
    pub fn function_arn(&self, handler: &str) -> Option<String> {
        self.plan.function(handler).map(|f| f.arn.resolve(self.ctx))
    }

    /// The name of the function serving `handler`.
    pub fn function_name(&self, handler: &str) -> Option<String> {
        self.plan.function(handler).map(|f| f.name.clone())
    }
}

/// What is desired, for deciding what to remove.
pub struct Wanted<'a> {
    pub identities: &'a BTreeSet<Identity>,
    /// Whether the code is known: without it, code zips are neither desired nor removed.
    pub code_known: bool,
    /// The whole stage is being deleted (not a deploy leaving something out).
    pub deleting_stage: bool,
}

/// A deletion of `rec` unless it is desired or known to be gone (the default [`Resource::removals`]).
pub fn removal_if_live<K: Resource + ?Sized>(
    rec: &Recorded,
    wanted: &Wanted<'_>,
    live: &K::Store,
    facts: &Facts<'_>,
) -> Vec<Change> {
    if wanted.identities.contains(&rec.identity)
        || K::exists(&rec.identity, live, facts) == Some(false)
    {
        return Vec::new();
    }
    vec![Change::removed(
        &rec.key,
        rec.identity.clone(),
        rec.physical_id.clone(),
    )]
}

/// The change of a resource read as `found` (`Some(None)`: it does not exist; `None`: not read): a
/// create, an update with the `fields` that differ, or nothing.
pub fn create_or_update<L>(
    id: &str,
    identity: Identity,
    found: Option<Option<&L>>,
    fields: impl FnOnce(&L) -> Vec<FieldChange>,
) -> Vec<Change> {
    match found {
        Some(None) => vec![Change::new(id, identity, None, Action::Create)],
        Some(Some(live)) => {
            let fields = fields(live);
            if fields.is_empty() {
                Vec::new()
            } else {
                vec![Change::new(id, identity, None, Action::Update { fields })]
            }
        }
        None => Vec::new(),
    }
}

/// What a deploy record keeps of one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub arn: Option<String>,
    /// A mapping UUID, subscription ARN, statement id, notification id or object key.
    pub physical_id: Option<String>,
    /// Whether this stage made it (`Some(false)` for an artifacts bucket that existed before).
    pub created: Option<bool>,
}

/// Where a step records what exists: the deploy record, written through at once.
pub trait Records {
    /// Records `identity` under `key`.
    fn record(&self, key: &str, identity: &Identity, record: Record) -> Result<(), StepError>;
    /// Forgets every record of `identity` (after deleting it).
    fn forget(&self, identity: &Identity) -> Result<(), StepError>;
}

/// Everything a step needs; `live`: what was read of its kind.
pub struct Step<'a, S: ?Sized> {
    pub clients: &'a Clients,
    pub ctx: &'a AwsContext,
    pub live: &'a S,
    /// Code zips by object key.
    pub zips: &'a BTreeMap<String, Vec<u8>>,
    /// Functions this apply deletes (what goes with them needs no call of its own).
    pub deleted_functions: &'a BTreeSet<String>,
    pub records: &'a (dyn Records + Sync),
}

impl<'a, S: ?Sized> Step<'a, S> {
    /// The same step, seeing `live` (one kind's part of what was read).
    pub fn with_live<T: ?Sized>(&self, live: &'a T) -> Step<'a, T> {
        Step {
            clients: self.clients,
            ctx: self.ctx,
            live,
            zips: self.zips,
            deleted_functions: self.deleted_functions,
            records: self.records,
        }
    }
}

/// What a kind may ask of the other kinds' reads.
#[derive(Clone, Copy)]
pub struct Facts<'a> {
    function_exists: &'a (dyn Fn(&str) -> Option<bool> + Sync),
}

impl<'a> Facts<'a> {
    pub fn new(function_exists: &'a (dyn Fn(&str) -> Option<bool> + Sync)) -> Facts<'a> {
        Facts { function_exists }
    }

    /// Whether function `name` exists (`None`: it was not read).
    pub fn function(&self, name: &str) -> Option<bool> {
        (self.function_exists)(name)
    }
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("could not record it in the state file: {0}")]
    Record(Box<dyn std::error::Error + Send + Sync>),
    #[error("{0}")]
    Internal(String),
}
