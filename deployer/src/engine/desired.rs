//! Everything a stage should have, resolved to concrete names and ARNs: what the diff compares with
//! what is live.

use serde::Serialize;

use crate::resources::function::FunctionSpec;
use crate::resources::{Identity, Spec};

/// A desired resource under its stable id (`function.<handler>`, `artifacts.bucket`, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredResource {
    pub id: String,
    pub spec: Spec,
}

/// Everything the stage should have, resolved to concrete names and ARNs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Desired {
    pub resources: Vec<DesiredResource>,
    /// Whether the code is known (`plan` without `--bootstrap` does not compare code).
    pub code_known: bool,
    /// Nothing is desired because the stage is being deleted.
    pub deleting_stage: bool,
}

impl Desired {
    pub fn get(&self, id: &str) -> Option<&Spec> {
        self.resources.iter().find(|r| r.id == id).map(|r| &r.spec)
    }

    /// The desired spec with this identity.
    pub fn by_identity(&self, identity: &Identity) -> Option<&DesiredResource> {
        self.resources
            .iter()
            .find(|r| &r.spec.identity() == identity)
    }

    pub fn functions(&self) -> impl Iterator<Item = &FunctionSpec> {
        self.resources.iter().filter_map(|r| match &r.spec {
            Spec::Function(f) => Some(f),
            _ => None,
        })
    }
}
