//! Every resource kind, in creation order, and the dispatch from a kind to its module: what lets the
//! engine drive them all without knowing any.

use chalice_codegen::plan::AwsContext;
use serde::Serialize;

use super::change::{Change, Recorded};
use super::identity::{Identity, ResourceKind};
use super::kind::{Record, Resolver, Resource, Scope, Step, StepError, Wanted};
use super::live::Live;
use super::{artifacts, function, mapping, notification, permission, role, rule, subscription};

/// Declares every kind, in creation order: the [`Spec`] enum and the dispatch from a kind to its
/// module's [`Resource`] implementation.
macro_rules! registry {
    ($($kind:ident, $variant:ident => $ty:ty;)*) => {
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
                match self {
                    $(Spec::$variant(s) => <$ty>::changes(id, s, live, preferred),)*
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
            match identity.kind() {
                $(ResourceKind::$kind => <$ty>::exists(identity, live),)*
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
            match rec.identity.kind() {
                $(ResourceKind::$kind => <$ty>::removals(rec, wanted, live),)*
            }
        }

        /// See [`Resource::adopt`].
        pub fn adopt(identity: &Identity, live: &Live, ctx: &AwsContext) -> Option<Record> {
            match identity.kind() {
                $(ResourceKind::$kind => <$ty>::adopt(identity, live, ctx),)*
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
            step: &Step<'_>,
            changes: &[(Change, Option<Spec>)],
        ) -> Vec<Result<Option<String>, StepError>> {
            let Some((first, _)) = changes.first() else {
                return Vec::new();
            };
            match first.kind {
                $(ResourceKind::$kind => {
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
                        match <$ty>::apply_group(step, &typed).await {
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
                        vec![<$ty>::apply(step, change, spec.as_ref()).await]
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
    S3Bucket, ArtifactsBucket => artifacts::Bucket;
    S3Object, CodeObject => artifacts::CodeObject;
    IamRole, Role => role::Role;
    LambdaFunction, Function => function::Function;
    EventsRule, Rule => rule::Rule;
    LambdaPermission, Permission => permission::Permission;
    S3BucketNotification, Notification => notification::Notification;
    SnsSubscription, Subscription => subscription::Subscription;
    LambdaEventSourceMapping, Mapping => mapping::Mapping;
}
