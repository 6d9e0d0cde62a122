//! moto writes CloudWatch Logs times as float epoch milliseconds (`"timestamp": 1796557537829.8408`,
//! from an `Invoke`'s log), which the SDK for Rust refuses to parse (AWS writes integers). Attached to
//! the logs client only when an endpoint is configured (an emulator), [`FloatMillis`] takes an answer
//! that failed to parse, rewrites those floats to whole milliseconds and parses it again.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::client::ser_de::{DeserializeResponse, SharedResponseDeserializer};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

/// The CloudWatch Logs fields that hold epoch milliseconds.
const MILLIS_FIELDS: [&str; 6] = [
    "timestamp",
    "ingestionTime",
    "creationTime",
    "firstEventTimestamp",
    "lastEventTimestamp",
    "lastIngestionTime",
];

/// Parses again, with whole milliseconds, a logs answer that failed to parse (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct FloatMillis;

impl Intercept for FloatMillis {
    fn name(&self) -> &'static str {
        "chalice-deployer float epoch millis (emulators)"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !matches!(context.output_or_error(), Some(Err(_))) {
            return Ok(());
        }
        let Some(deserializer) = cfg.load::<SharedResponseDeserializer>() else {
            return Ok(());
        };
        let Some(response) = context.response_mut() else {
            return Ok(());
        };
        let Some(fixed) = response.body().bytes().and_then(whole_millis) else {
            return Ok(());
        };
        *response.body_mut() = SdkBody::from(fixed);
        let reparsed = deserializer.deserialize_nonstreaming_with_config(response, cfg);
        if let Some(slot) = context.output_or_error_mut() {
            *slot = reparsed;
        }
        Ok(())
    }
}

/// `body` with every float in a [`MILLIS_FIELDS`] field truncated to an integer; `None` when it is
/// not JSON or has no such float (nothing to fix).
pub fn whole_millis(body: &[u8]) -> Option<Vec<u8>> {
    let mut doc: Value = serde_json::from_slice(body).ok()?;
    if !truncate(&mut doc) {
        return None;
    }
    serde_json::to_vec(&doc).ok()
}

/// Truncates the floats in millisecond fields anywhere in `v`; whether any was.
fn truncate(v: &mut Value) -> bool {
    match v {
        Value::Object(map) => {
            let mut changed = false;
            for (key, value) in map.iter_mut() {
                if MILLIS_FIELDS.contains(&key.as_str())
                    && let Value::Number(n) = value
                    && !(n.is_i64() || n.is_u64())
                    && let Some(f) = n.as_f64()
                {
                    // Epoch millis fit an i64 (and an f64 exactly) until the year 287396.
                    *value = Value::from(f.trunc() as i64);
                    changed = true;
                } else {
                    changed |= truncate(value);
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, item| truncate(item) | c),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn float_millis_become_whole_and_nothing_else_changes() {
        let body = br#"{"events": [{"logStreamName": "s", "timestamp": 1796557537829.8408,
            "message": "took 1.5 ms", "ingestionTime": 1796557537829, "eventId": "0"}],
            "searchedLogStreams": [], "nextToken": "t", "ratio": 0.5}"#;
        let fixed: Value = serde_json::from_slice(&whole_millis(body).unwrap()).unwrap();
        assert_eq!(
            fixed,
            json!({"events": [{"logStreamName": "s", "timestamp": 1_796_557_537_829_i64,
                "message": "took 1.5 ms", "ingestionTime": 1_796_557_537_829_i64, "eventId": "0"}],
                "searchedLogStreams": [], "nextToken": "t", "ratio": 0.5})
        );
        assert_eq!(
            whole_millis(br#"{"logGroups": [{"creationTime": 5.9}]}"#),
            Some(br#"{"logGroups":[{"creationTime":5}]}"#.to_vec())
        );
    }

    #[test]
    fn answers_without_float_millis_are_left_alone() {
        assert_eq!(
            whole_millis(br#"{"events": [{"timestamp": 1796557537829}]}"#),
            None
        );
        assert_eq!(whole_millis(br#"{"ratio": 0.5}"#), None, "not a time field");
        assert_eq!(whole_millis(b"<html>not json</html>"), None);
    }
}
