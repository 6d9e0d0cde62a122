//! What a chalice-rs `bootstrap` links: typed events with Chalice's conveniences, partial batch
//! failures, a typed invocation context and the dispatch loop the generated code calls.
//!
//! User code implements the generated `Handlers` trait and brings the conveniences into scope
//! with one import:
//!
//! ```no_run
//! use chalice_runtime::prelude::*;
//!
//! async fn on_order(event: SqsEvent, ctx: Context) -> Result<BatchResult, Error> {
//!     let mut result = BatchResult::ok();
//!     for message in &event.records {
//!         match message.body_json::<serde_json::Value>() {
//!             Ok(order) => tracing::info!(handler = ctx.handler(), %order, "order received"),
//!             Err(_) => {
//!                 result.fail(message.message_id());
//!             }
//!         }
//!     }
//!     Ok(result)
//! }
//! ```
//!
//! Events are the `aws_lambda_events` types (re-exported here under the names the generated
//! code uses); the conveniences are extension traits on their records, in [`prelude`].

pub mod batch;
pub mod context;
pub mod dispatch;
pub mod events;
pub mod logs;

pub use aws_lambda_events;
pub use batch::{BatchItem, BatchItemFailure, BatchResult};
pub use context::Context;
pub use events::{
    DynamoDbEvent, DynamoDbRecord, KinesisEvent, KinesisEventRecord, RuleEvent, S3Event,
    S3EventRecord, ScheduleEvent, SnsEvent, SnsRecord, SqsEvent, SqsMessage,
};

/// What a handler returns on failure; reported to Lambda as the invocation's error.
pub type Error = lambda_runtime::Error;

/// Everything a handler module needs: event types, the convenience traits, [`BatchResult`],
/// [`Context`] and [`Error`].
pub mod prelude {
    pub use crate::Error;
    pub use crate::batch::{BatchItem, BatchResult};
    pub use crate::context::Context;
    pub use crate::events::dynamodb::DynamoDbRecordExt;
    pub use crate::events::eventbridge::EventBridgeEventExt;
    pub use crate::events::kinesis::KinesisRecordExt;
    pub use crate::events::s3::S3RecordExt;
    pub use crate::events::sns::SnsRecordExt;
    pub use crate::events::sqs::SqsMessageExt;
    pub use crate::events::{
        DynamoDbEvent, DynamoDbRecord, KinesisEvent, KinesisEventRecord, RuleEvent, S3Event,
        S3EventRecord, ScheduleEvent, SnsEvent, SnsRecord, SqsEvent, SqsMessage,
    };
}

/// Includes the code `chalice_codegen::build::run` generated from `events.chalice`: the
/// `Handlers` trait, `HANDLERS`, `serve`, `serve_handler` and `run`.
///
/// ```ignore
/// mod generated {
///     chalice_runtime::include_handlers!();
/// }
/// ```
#[macro_export]
macro_rules! include_handlers {
    () => {
        include!(concat!(env!("OUT_DIR"), "/handlers.rs"));
    };
}
