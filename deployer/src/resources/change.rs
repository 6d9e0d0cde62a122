//! What a plan is made of: one [`Change`] per resource to create, update or delete, with the fields
//! that differ; and the [`Recorded`] resources the deploy record knows of.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::identity::{Identity, ResourceKind};

/// One field that differs: `old` is live, `new` desired; `None` is "not set".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Why a resource is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteReason {
    /// No longer in the app (recorded, or named by the plan for `delete`).
    Removed,
    /// A second copy of a desired resource (e.g. a mapping made twice by a retried create).
    Duplicate,
}

/// What happens to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Create,
    Update { fields: Vec<FieldChange> },
    Delete { reason: DeleteReason },
}

/// One change of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The desired id (`function.h`) or the state key of what is deleted.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ResourceKind,
    pub name: String,
    pub identity: Identity,
    /// The live mapping UUID or subscription ARN the change acts on, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    #[serde(flatten)]
    pub action: Action,
}

impl Change {
    pub fn new(
        id: &str,
        identity: Identity,
        physical_id: Option<String>,
        action: Action,
    ) -> Change {
        Change {
            id: id.to_string(),
            kind: identity.kind(),
            name: identity.display_name(),
            identity,
            physical_id,
            action,
        }
    }

    pub fn is_delete(&self) -> bool {
        matches!(self.action, Action::Delete { .. })
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.action {
            Action::Create => write!(f, "+ create {} {}", self.kind, self.name),
            Action::Update { fields } => {
                write!(f, "~ update {} {}", self.kind, self.name)?;
                for c in fields {
                    write!(f, "\n    {c}")?;
                }
                Ok(())
            }
            Action::Delete { reason } => {
                write!(f, "- delete {} {}", self.kind, self.name)?;
                match (reason, &self.physical_id) {
                    (DeleteReason::Duplicate, Some(id)) => write!(f, " (duplicate {id})"),
                    (DeleteReason::Duplicate, None) => write!(f, " (duplicate)"),
                    (DeleteReason::Removed, _) => Ok(()),
                }
            }
        }
    }
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
        write!(
            f,
            "{}: {} → {}",
            self.field,
            show(&self.old),
            show(&self.new)
        )
    }
}

/// A resource the state file records (or, for `delete`, one the plan's identities name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// The state file key it is recorded under (`function.h`, `notification.h@replaced`, ...).
    pub key: String,
    pub identity: Identity,
    /// Whether this stage made it (false for an artifacts bucket that existed before).
    pub owned: bool,
    /// The mapping UUID or subscription ARN recorded, preferred when duplicates are found live.
    pub physical_id: Option<String>,
}

impl Change {
    /// A second copy of a desired resource, found live (`physical`: which one).
    pub fn duplicate(id: &str, identity: &Identity, physical: &str) -> Change {
        Change::new(
            id,
            identity.clone(),
            Some(physical.to_string()),
            Action::Delete {
                reason: DeleteReason::Duplicate,
            },
        )
    }

    /// A recorded resource that is no longer desired.
    pub fn removed(key: &str, identity: Identity, physical: Option<String>) -> Change {
        Change::new(
            key,
            identity,
            physical,
            Action::Delete {
                reason: DeleteReason::Removed,
            },
        )
    }
}
