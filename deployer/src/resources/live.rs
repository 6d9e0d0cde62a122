//! Everything read from AWS for one plan, each kind's part in the shape its module reads it.
//!
//! A key missing from a map means "not read"; `None` means "read, does not exist".

use std::collections::{BTreeMap, BTreeSet};

use super::artifacts::LiveArtifacts;
use super::function::LiveFunction;
use super::identity::{Identity, matches};
use super::mapping::LiveMapping;
use super::notification::NotificationSpec;
use super::permission::PermissionSpec;
use super::role::LiveRole;
use super::rule::LiveRule;
use super::subscription::LiveSubscription;

/// What was read live, per kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    pub artifacts: Option<LiveArtifacts>,
    pub roles: BTreeMap<String, Option<LiveRole>>,
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
    /// Custom event buses that do not exist.
    pub missing_buses: BTreeSet<String>,
}

impl Live {
    /// The function as read: `Some(None)` when it does not exist, `None` when not read.
    pub fn function(&self, name: &str) -> Option<Option<&LiveFunction>> {
        self.functions.get(name).map(Option::as_ref)
    }

    /// The lambda subscriptions a [`Identity::Subscription`] finds (more than one: duplicates).
    pub fn subscriptions(&self, identity: &Identity) -> Vec<&LiveSubscription> {
        let Identity::Subscription {
            topic_arn,
            endpoint,
        } = identity
        else {
            return Vec::new();
        };
        self.topics
            .get(topic_arn)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|s| s.protocol == "lambda" && &s.endpoint == endpoint)
            .collect()
    }

    /// The mappings a [`Identity::Mapping`] finds (more than one: duplicates, or a wildcard).
    pub fn mappings_for(&self, identity: &Identity) -> Vec<&LiveMapping> {
        let Identity::Mapping {
            function,
            source_arn,
        } = identity
        else {
            return Vec::new();
        };
        self.mappings
            .get(function)
            .into_iter()
            .flatten()
            .filter(|m| matches(source_arn, &m.spec.source_arn))
            .collect()
    }
}
