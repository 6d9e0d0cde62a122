//! The event each kind of binding receives, and the conveniences on its records.
//!
//! | binding    | event type        | record type          | convenience trait      |
//! |------------|-------------------|----------------------|------------------------|
//! | `schedule` | [`ScheduleEvent`] | —                    | [`EventBridgeEventExt`](eventbridge::EventBridgeEventExt) |
//! | `rule`     | [`RuleEvent`]     | —                    | [`EventBridgeEventExt`](eventbridge::EventBridgeEventExt) |
//! | `bucket`   | [`S3Event`]       | [`S3EventRecord`]    | [`S3RecordExt`](s3::S3RecordExt) |
//! | `topic`    | [`SnsEvent`]      | [`SnsRecord`]        | [`SnsRecordExt`](sns::SnsRecordExt) |
//! | `queue`    | [`SqsEvent`]      | [`SqsMessage`]       | [`SqsMessageExt`](sqs::SqsMessageExt) |
//! | `stream`   | [`KinesisEvent`]  | [`KinesisEventRecord`] | [`KinesisRecordExt`](kinesis::KinesisRecordExt) |
//! | `table`    | [`DynamoDbEvent`] | [`DynamoDbRecord`]   | [`DynamoDbRecordExt`](dynamodb::DynamoDbRecordExt) |

pub mod dynamodb;
pub mod eventbridge;
pub mod kinesis;
pub mod s3;
pub mod sns;
pub mod sqs;

/// What a `schedule` handler receives: an EventBridge "Scheduled Event" (its `detail` is `{}`).
pub type ScheduleEvent = aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value>;
/// What a `rule` handler receives: the matched EventBridge event, `detail` as JSON.
pub type RuleEvent = aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value>;
/// What a `bucket` handler receives.
pub type S3Event = aws_lambda_events::s3::S3Event;
/// One S3 notification.
pub type S3EventRecord = aws_lambda_events::s3::S3EventRecord;
/// What a `topic` handler receives.
pub type SnsEvent = aws_lambda_events::sns::SnsEvent;
/// One SNS delivery.
pub type SnsRecord = aws_lambda_events::sns::SnsRecord;
/// What a `queue` handler receives.
pub type SqsEvent = aws_lambda_events::sqs::SqsEvent;
/// One SQS message.
pub type SqsMessage = aws_lambda_events::sqs::SqsMessage;
/// What a `stream` handler receives.
pub type KinesisEvent = aws_lambda_events::kinesis::KinesisEvent;
/// One Kinesis record (its `data` is already base64-decoded).
pub type KinesisEventRecord = aws_lambda_events::kinesis::KinesisEventRecord;
/// What a `table` handler receives.
pub type DynamoDbEvent = aws_lambda_events::dynamodb::Event;
/// One DynamoDB stream record.
pub type DynamoDbRecord = aws_lambda_events::dynamodb::EventRecord;
