//! The resources a deploy manages, one module per kind, each owning all of that kind: its desired
//! state from the plan, how it is read, which fields are compared, and how it is created, updated
//! and deleted. The engine drives them through the [`Resource`] trait (`kind.rs`) and the dispatch in
//! `registry.rs`; this module only declares them.
//!
//! Every call goes through [`crate::aws::Clients`] (standard retries, call counting). Errors carry the
//! operation, what it was called on, and AWS's code and message.
//!
//! A new setting of a kind touches that kind's module only. A new kind: its module, one line in the
//! `registry!` call of `registry.rs`, its [`Identity`] and [`ResourceKind`] variants, its slot in
//! [`Live`], and its reads in the engine's read plan (`engine/read.rs`).

pub mod artifacts;
pub mod attachment;
pub mod call;
pub mod change;
pub mod code;
pub mod compare;
pub mod function;
pub mod given_role;
pub mod identity;
pub mod invoke_config;
pub mod kind;
pub mod log_group;
pub mod mapping;
pub mod notification;
pub mod permission;
pub mod registry;
pub mod role;
pub mod rule;
pub mod sources;
pub mod subscription;

pub use call::{CallError, found, gone, is_role_propagation, retry_propagation};
pub use change::{Action, Change, DeleteReason, FieldChange, Recorded};
pub use code::{CodeDigest, CodeSet};
pub use identity::{Identity, ResourceKind};
pub use kind::{Record, Records, Resolver, Resource, Scope, Step, StepError, Wanted};
pub use registry::{
    Live, Spec, adopt, after, apply, deleted_after, deleted_after_writes_of, desired, exists,
    function_of, group_key, removals,
};
pub use sources::Lookups;
