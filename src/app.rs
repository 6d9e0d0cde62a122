//! The handlers: one method per binding in `events.chalice`.

use std::sync::atomic::{AtomicU64, Ordering};

use chalice_runtime::prelude::*;
use tracing::{info, warn};

use crate::generated::Handlers;
use crate::orders::{Click, Order, OrderRow, RepositoryChange};

/// The app's state, shared by every invocation the process serves.
#[derive(Debug, Default)]
pub struct OrdersApp {
    /// Orders accepted since this process started (a warm container keeps counting).
    orders_accepted: AtomicU64,
}

impl Handlers for OrdersApp {
    async fn every_hour(&self, event: ScheduleEvent, ctx: Context) -> Result<(), Error> {
        info!(
            function = ctx.function_name(),
            time = ?event.time,
            orders_accepted = self.orders_accepted.load(Ordering::Relaxed),
            "hourly tick"
        );
        Ok(())
    }

    async fn nightly(&self, event: ScheduleEvent, ctx: Context) -> Result<(), Error> {
        info!(
            rules = ?event.resources(),
            remaining_ms = ctx.remaining_time().as_millis() as u64,
            "building the nightly report"
        );
        Ok(())
    }

    async fn code_commit(&self, event: RuleEvent, _ctx: Context) -> Result<(), Error> {
        match event.detail_as::<RepositoryChange>() {
            Ok(change) => info!(
                repository = %change.repository_name,
                reference = change.reference_name.as_deref().unwrap_or("-"),
                event = change.event.as_deref().unwrap_or("-"),
                "repository changed"
            ),
            Err(e) => {
                warn!(detail_type = %event.detail_type, error = %e, "unexpected event detail")
            }
        }
        Ok(())
    }

    async fn on_upload(&self, event: S3Event, _ctx: Context) -> Result<(), Error> {
        for record in &event.records {
            let key = record.key();
            // The bucket notification filters on `images/`: anything else means it was changed
            // behind our back, and failing loudly beats thumbnailing the wrong objects.
            if !key.starts_with("images/") {
                return Err(
                    format!("unexpected key `{key}` in bucket `{}`", record.bucket()).into(),
                );
            }
            info!(
                bucket = record.bucket(),
                key = %key,
                size = record.size().unwrap_or(0),
                event = record.event_name(),
                "image uploaded"
            );
        }
        Ok(())
    }

    async fn on_notice(&self, event: SnsEvent, _ctx: Context) -> Result<(), Error> {
        for record in &event.records {
            info!(
                subject = record.subject().unwrap_or("(none)"),
                text = record.message(),
                "notice received"
            );
        }
        Ok(())
    }

    /// Accepts well-formed orders; a message that is not an order is reported back for retry
    /// (and, after the queue's maxReceiveCount, lands in its dead-letter queue), while the rest
    /// of the batch is deleted.
    async fn on_order(&self, event: SqsEvent, ctx: Context) -> Result<BatchResult, Error> {
        let mut result = BatchResult::ok();
        for message in &event.records {
            match message.body_json::<Order>() {
                Ok(order) => {
                    self.orders_accepted.fetch_add(1, Ordering::Relaxed);
                    let skus: Vec<&str> = order.items.iter().map(|i| i.sku.as_str()).collect();
                    info!(order = %order.id, ?skus, total_cents = order.total_cents(), "order accepted");
                }
                Err(e) => {
                    warn!(message_id = message.message_id(), error = %e, "not an order; will retry");
                    result.fail(message.message_id());
                }
            }
        }
        info!(
            handler = ctx.handler(),
            received = event.records.len(),
            failed = result.failed_ids().count(),
            "batch done"
        );
        Ok(result)
    }

    async fn on_click(&self, event: KinesisEvent, _ctx: Context) -> Result<BatchResult, Error> {
        let mut result = BatchResult::ok();
        for record in &event.records {
            match record.data_json::<Click>() {
                Ok(click) => info!(
                    page = %click.page,
                    user = click.user.as_deref().unwrap_or("anonymous"),
                    partition_key = record.partition_key(),
                    "click"
                ),
                Err(e) => {
                    warn!(sequence_number = record.sequence_number(), error = %e, "unreadable click");
                    result.fail(record.sequence_number());
                }
            }
        }
        Ok(result)
    }

    async fn on_audit(&self, event: DynamoDbEvent, _ctx: Context) -> Result<BatchResult, Error> {
        let mut result = BatchResult::ok();
        for record in &event.records {
            let rows = record
                .old_image_as::<OrderRow>()
                .and_then(|before| Ok((before, record.new_image_as::<OrderRow>()?)));
            let (before, after) = match rows {
                Ok(rows) => rows,
                Err(e) => {
                    warn!(keys = %record.keys(), error = %e, "not an order row; will retry");
                    result.fail(record.sequence_number());
                    continue;
                }
            };
            let status = |row: &Option<OrderRow>| row.as_ref().and_then(|r| r.status.clone());
            info!(
                change = record.event_name(),
                order = after
                    .as_ref()
                    .or(before.as_ref())
                    .map_or("?", |r| r.id.as_str()),
                from = status(&before).as_deref().unwrap_or("-"),
                to = status(&after).as_deref().unwrap_or("-"),
                "order row changed"
            );
        }
        Ok(result)
    }
}
