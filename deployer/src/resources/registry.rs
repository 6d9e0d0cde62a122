//! Every resource kind, in creation order, and the dispatch from a kind to its module: what lets the
//! engine drive them all without knowing any.

use chalice_codegen::plan::AwsContext;
use serde::Serialize;

use super::change::{Change, Recorded};
use super::identity::{Identity, ResourceKind};
use super::kind::{Record, Resolver, Resource, Scope, Step, StepError, Wanted};
use std::collections::{BTreeMap, BTreeSet};

use super::artifacts::LiveArtifacts;
use super::function::LiveFunction;
use super::invoke_config::InvokeConfigSpec;
use super::kind::Facts;
use super::log_group::LogGroupSpec;
use super::mapping::LiveMapping;
use super::notification::NotificationSpec;
use super::permission::PermissionSpec;
use super::role::LiveRole;
use super::rule::LiveRule;
use super::subscription::LiveSubscription;
use super::{
    artifacts, attachment, function, invoke_config, log_group, mapping, notification, permission,
    role, rule, subscription,
};

/// Everything read from AWS for one plan, each kind's part in the shape its module reads it (a
/// key missing from a map: not read; `None`: read, does not exist).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    pub artifacts: Option<LiveArtifacts>,
    pub roles: BTreeMap<String, Option<LiveRole>>,
    /// Managed policies attached, by role (`None`: the role does not exist).
    pub attachments: BTreeMap<String, Option<BTreeSet<String>>>,
    /// Log groups by name.
    pub log_groups: BTreeMap<String, Option<LogGroupSpec>>,
    pub functions: BTreeMap<String, Option<LiveFunction>>,
    /// By (bus, name).
    pub rules: BTreeMap<(Option<String>, String), Option<LiveRule>>,
    /// Resource policy statements by function name.
    pub policies: BTreeMap<String, Vec<PermissionSpec>>,
    /// Lambda notification entries by bucket (`None`: the bucket does not exist).
    pub buckets: BTreeMap<String, Option<Vec<NotificationSpec>>>,
    /// Subscriptions by topic ARN (`None`: the topic does not exist).
    pub topics: BTreeMap<String, Option<Vec<LiveSubscription>>>,
    /// Mappings by function name.
    pub mappings: BTreeMap<String, Vec<LiveMapping>>,
    /// Event invoke configurations by function name (`None`: the function has none).
    pub invoke_configs: BTreeMap<String, Option<InvokeConfigSpec>>,
    /// Custom event buses that do not exist.
    pub missing_buses: BTreeSet<String>,
}

impl Live {
    /// The function as read: `Some(None)` when it does not exist, `None` when not read.
    pub fn function(&self, name: &str) -> Option<Option<&LiveFunction>> {
        self.functions.get(name).map(Option::as_ref)
    }

    /// Whether function `name` exists, as the other kinds ask it.
    fn function_exists(&self, name: &str) -> Option<bool> {
        self.functions.get(name).map(Option::is_some)
    }
}

/// Declares every kind, in creation order: the [`Spec`] enum and the dispatch from a kind to its
/// module's [`Resource`] implementation.
macro_rules! registry {
    ($($kind:ident, $variant:ident => $ty:ty, $field:ident;)*) => {
        /// One desired resource, of any kind.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum Spec {
            $($variant(<$ty as Resource>::Spec),)*
        }

        impl Spec {
            pub fn identity(&self) -> Identity {
                match self {
                    $(Spec::$variant(s) => <$ty>::identity(s),)*
                }
            }

            pub fn kind(&self) -> ResourceKind {
                match self {
                    $(Spec::$variant(_) => ResourceKind::$kind,)*
                }
            }

            /// See [`Resource::changes`].
            pub fn changes(&self, id: &str, live: &Live, preferred: Option<&str>) -> Vec<Change> {
                let exists = |name: &str| live.function_exists(name);
                let facts = Facts::new(&exists);
                match self {
                    $(Spec::$variant(s) => <$ty>::changes(id, s, &live.$field, &facts, preferred),)*
                }
            }
        }

        /// Every desired resource of the plan, kind by kind in creation order, under its state key.
        pub fn desired(r: &mut Resolver<'_>) -> Vec<(String, Spec)> {
            let mut out = Vec::new();
            $(out.extend(<$ty>::desired(r).into_iter().map(|(id, s)| (id, Spec::$variant(s))));)*
            out
        }

        /// See [`Resource::exists`].
        pub fn exists(identity: &Identity, live: &Live) -> Option<bool> {
            let exists = |name: &str| live.function_exists(name);
            let facts = Facts::new(&exists);
            match identity.kind() {
                $(ResourceKind::$kind => <$ty>::exists(identity, &live.$field, &facts),)*
            }
        }

        /// See [`Resource::function_of`].
        pub fn function_of(identity: &Identity, spec: Option<&Spec>) -> Option<String> {
            match identity.kind() {
                $(ResourceKind::$kind => <$ty>::function_of(
                    identity,
                    match spec {
                        Some(Spec::$variant(s)) => Some(s),
                        _ => None,
                    },
                ),)*
            }
        }

        /// See [`Resource::removals`].
        pub fn removals(rec: &Recorded, wanted: &Wanted<'_>, live: &Live) -> Vec<Change> {
            let exists = |name: &str| live.function_exists(name);
            let facts = Facts::new(&exists);
            match rec.identity.kind() {
                $(ResourceKind::$kind => <$ty>::removals(rec, wanted, &live.$field, &facts),)*
            }
        }

        /// See [`Resource::adopt`].
        pub fn adopt(identity: &Identity, live: &Live, ctx: &AwsContext) -> Option<Record> {
            let exists = |name: &str| live.function_exists(name);
            let facts = Facts::new(&exists);
            match identity.kind() {
                $(ResourceKind::$kind => <$ty>::adopt(identity, &live.$field, &facts, ctx),)*
            }
        }

        /// See [`Resource::group_key`].
        pub fn group_key(identity: &Identity) -> Option<String> {
            match identity.kind() {
                $(ResourceKind::$kind => <$ty>::group_key(identity),)*
            }
        }

        /// Applies one change, or a group of changes of one kind that share a group key.
        pub async fn apply(
            step: &Step<'_, Live>,
            changes: &[(Change, Option<Spec>)],
        ) -> Vec<Result<Option<String>, StepError>> {
            let Some((first, _)) = changes.first() else {
                return Vec::new();
            };
            match first.kind {
                $(ResourceKind::$kind => {
                    let step = step.with_live(&step.live.$field);
                    let typed: Vec<(Change, Option<<$ty as Resource>::Spec>)> = changes
                        .iter()
                        .map(|(c, s)| {
                            let s = match s {
                                Some(Spec::$variant(s)) => Some(s.clone()),
                                _ => None,
                            };
                            (c.clone(), s)
                        })
                        .collect();
                    if changes.len() > 1 || <$ty>::group_key(&first.identity).is_some() {
                        match <$ty>::apply_group(&step, &typed).await {
                            Ok(()) => typed.iter().map(|_| Ok(None)).collect(),
                            Err(e) => {
                                let message = e.to_string();
                                let mut first = Some(e);
                                typed
                                    .iter()
                                    .map(|_| {
                                        Err(first
                                            .take()
                                            .unwrap_or_else(|| StepError::Internal(message.clone())))
                                    })
                                    .collect()
                            }
                        }
                    } else {
                        let (change, spec) = &typed[0];
                        vec![<$ty>::apply(&step, change, spec.as_ref()).await]
                    }
                })*
            }
        }

        /// See [`Resource::AFTER`].
        pub fn after(kind: ResourceKind) -> &'static [(ResourceKind, Scope)] {
            match kind {
                $(ResourceKind::$kind => <$ty>::AFTER,)*
            }
        }

        /// See [`Resource::DELETED_AFTER`].
        pub fn deleted_after(kind: ResourceKind) -> &'static [ResourceKind] {
            match kind {
                $(ResourceKind::$kind => <$ty>::DELETED_AFTER,)*
            }
        }

        /// See [`Resource::DELETED_AFTER_WRITES_OF`].
        pub fn deleted_after_writes_of(kind: ResourceKind) -> &'static [ResourceKind] {
            match kind {
                $(ResourceKind::$kind => <$ty>::DELETED_AFTER_WRITES_OF,)*
            }
        }
    };
}

registry! {
    S3Bucket, ArtifactsBucket => artifacts::Bucket, artifacts;
    S3Object, CodeObject => artifacts::CodeObject, artifacts;
    IamRole, Role => role::Role, roles;
    IamRolePolicyAttachment, Attachment => attachment::Attachment, attachments;
    LogsLogGroup, LogGroup => log_group::LogGroup, log_groups;
    LambdaFunction, Function => function::Function, functions;
    EventsRule, Rule => rule::Rule, rules;
    LambdaPermission, Permission => permission::Permission, policies;
    LambdaEventInvokeConfig, InvokeConfig => invoke_config::InvokeConfig, invoke_configs;
    S3BucketNotification, Notification => notification::Notification, buckets;
    SnsSubscription, Subscription => subscription::Subscription, topics;
    LambdaEventSourceMapping, Mapping => mapping::Mapping, mappings;
}
