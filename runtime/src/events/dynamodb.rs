//! DynamoDB stream records: the event name, keys and images as plain JSON.
//!
//! DynamoDB sends attribute values typed (`{"S": "x"}`, `{"N": "1"}`, ...); the images here are
//! the plain JSON a reader expects (`"x"`, `1`), with object members sorted by name so output is
//! deterministic. Numbers become JSON integers when they fit in 64 bits, floats when they have a
//! fraction or exponent; an integer too large for 64 bits stays a string, so no digit is lost.
//! Binary values (`B`, `BS`) become base64 strings. For a typed view use `new_image_as::<T>()`.

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_dynamo::{AttributeValue, Item};
use serde_json::{Map, Number, Value};

use super::DynamoDbRecord;
use crate::batch::BatchItem;

/// Chalice's `DynamoDBEvent` conveniences on each record of a [`DynamoDbEvent`](super::DynamoDbEvent).
pub trait DynamoDbRecordExt {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    fn event_name(&self) -> &str;
    /// The item's key attributes as a JSON object.
    fn keys(&self) -> Value;
    /// The item after the change, if the stream's view type carries it (never for `REMOVE`).
    fn new_image(&self) -> Option<Value>;
    /// The item before the change, if the stream's view type carries it (never for `INSERT`).
    fn old_image(&self) -> Option<Value>;
    /// The new image deserialised into `T` (`Ok(None)` when there is none).
    fn new_image_as<T: DeserializeOwned>(&self) -> Result<Option<T>, serde_dynamo::Error>;
    /// The old image deserialised into `T` (`Ok(None)` when there is none).
    fn old_image_as<T: DeserializeOwned>(&self) -> Result<Option<T>, serde_dynamo::Error>;
    /// The record's sequence number: what [`BatchResult::fail`](crate::BatchResult::fail) takes.
    fn sequence_number(&self) -> &str;
}

impl DynamoDbRecordExt for DynamoDbRecord {
    fn event_name(&self) -> &str {
        &self.event_name
    }

    fn keys(&self) -> Value {
        item_to_json(&self.change.keys)
    }

    fn new_image(&self) -> Option<Value> {
        image(&self.change.new_image)
    }

    fn old_image(&self) -> Option<Value> {
        image(&self.change.old_image)
    }

    fn new_image_as<T: DeserializeOwned>(&self) -> Result<Option<T>, serde_dynamo::Error> {
        image_as(&self.change.new_image)
    }

    fn old_image_as<T: DeserializeOwned>(&self) -> Result<Option<T>, serde_dynamo::Error> {
        image_as(&self.change.old_image)
    }

    fn sequence_number(&self) -> &str {
        self.change.sequence_number.as_deref().unwrap_or_default()
    }
}

impl BatchItem for DynamoDbRecord {
    fn item_id(&self) -> &str {
        self.sequence_number()
    }
}

/// An absent image arrives as an empty item (every real item has at least its key).
fn image(item: &Item) -> Option<Value> {
    (!item.inner().is_empty()).then(|| item_to_json(item))
}

fn image_as<T: DeserializeOwned>(item: &Item) -> Result<Option<T>, serde_dynamo::Error> {
    if item.inner().is_empty() {
        return Ok(None);
    }
    serde_dynamo::from_item(item.clone()).map(Some)
}

/// A DynamoDB item as a JSON object, members sorted by name.
pub fn item_to_json(item: &Item) -> Value {
    map_to_json(item.inner().iter())
}

fn map_to_json<'a>(entries: impl Iterator<Item = (&'a String, &'a AttributeValue)>) -> Value {
    let mut sorted: Vec<_> = entries.collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Value::Object(
        sorted
            .into_iter()
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect::<Map<_, _>>(),
    )
}

/// One DynamoDB attribute value as plain JSON.
pub fn to_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(bytes) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        AttributeValue::M(map) => map_to_json(map.iter()),
        AttributeValue::L(list) => Value::Array(list.iter().map(to_json).collect()),
        AttributeValue::Ss(set) => Value::Array(set.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(set) => Value::Array(set.iter().map(|n| number(n)).collect()),
        AttributeValue::Bs(set) => Value::Array(
            set.iter()
                .map(|b| Value::String(base64::engine::general_purpose::STANDARD.encode(b)))
                .collect(),
        ),
    }
}

/// A DynamoDB number (a decimal string of up to 38 digits) as JSON, losing no integer digit.
fn number(n: &str) -> Value {
    let is_integer = !n.contains(['.', 'e', 'E']);
    if is_integer {
        if let Ok(i) = n.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = n.parse::<u64>() {
            return Value::Number(u.into());
        }
        return Value::String(n.to_owned());
    }
    match n.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(f) => Value::Number(f),
        None => Value::String(n.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DynamoDbEvent;
    use serde_json::json;

    fn event() -> DynamoDbEvent {
        let json = json!({
            "Records": [
                {
                    "eventID": "c4ca4238a0b923820dcc509a6f75849b",
                    "eventName": "MODIFY",
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "dynamodb": {
                        "ApproximateCreationDateTime": 1428537600,
                        "Keys": { "Id": { "N": "101" } },
                        "NewImage": {
                            "Id": { "N": "101" },
                            "Status": { "S": "shipped" },
                            "Total": { "N": "12.5" },
                            "Paid": { "BOOL": true },
                            "Note": { "NULL": true },
                            "Tags": { "SS": ["a", "b"] },
                            "Sizes": { "NS": ["1", "2.5"] },
                            "Blob": { "B": "AAEC" },
                            "Items": { "L": [ { "M": { "sku": { "S": "x" }, "qty": { "N": "2" } } } ] },
                            "Big": { "N": "123456789012345678901234567890" }
                        },
                        "OldImage": { "Id": { "N": "101" }, "Status": { "S": "paid" } },
                        "SequenceNumber": "4421584500000000017450439091",
                        "SizeBytes": 59,
                        "StreamViewType": "NEW_AND_OLD_IMAGES"
                    },
                    "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2015-06-27T00:48:05.899"
                },
                {
                    "eventID": "2",
                    "eventName": "INSERT",
                    "awsRegion": "us-east-1",
                    "dynamodb": {
                        "Keys": { "Id": { "N": "102" } },
                        "SequenceNumber": "4421584500000000017450439092",
                        "SizeBytes": 20,
                        "StreamViewType": "KEYS_ONLY"
                    }
                }
            ]
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn images_are_plain_json() {
        let e = event();
        let r = &e.records[0];
        assert_eq!(r.event_name(), "MODIFY");
        assert_eq!(r.keys(), json!({ "Id": 101 }));
        assert_eq!(
            r.new_image().unwrap(),
            json!({
                "Big": "123456789012345678901234567890",
                "Blob": "AAEC",
                "Id": 101,
                "Items": [ { "qty": 2, "sku": "x" } ],
                "Note": null,
                "Paid": true,
                "Sizes": [1, 2.5],
                "Status": "shipped",
                "Tags": ["a", "b"],
                "Total": 12.5
            })
        );
        assert_eq!(
            r.old_image().unwrap(),
            json!({ "Id": 101, "Status": "paid" })
        );
        assert_eq!(r.sequence_number(), "4421584500000000017450439091");
        assert_eq!(r.item_id(), r.sequence_number());
    }

    #[test]
    fn members_are_sorted() {
        let e = event();
        let text = serde_json::to_string(&e.records[0].new_image().unwrap()).unwrap();
        assert!(text.starts_with(r#"{"Big":"#), "{text}");
        assert!(text.contains(r#"[{"qty":2,"sku":"x"}]"#), "{text}");
    }

    #[test]
    fn absent_images_are_none() {
        let e = event();
        let r = &e.records[1];
        assert_eq!(r.event_name(), "INSERT");
        assert_eq!(r.keys(), json!({ "Id": 102 }));
        assert_eq!(r.new_image(), None);
        assert_eq!(r.old_image(), None);
        assert!(r.new_image_as::<serde_json::Value>().unwrap().is_none());
    }

    #[test]
    fn typed_images() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        #[serde(rename_all = "PascalCase")]
        struct Order {
            id: u64,
            status: String,
        }
        let e = event();
        let r = &e.records[0];
        assert_eq!(
            r.old_image_as::<Order>().unwrap(),
            Some(Order {
                id: 101,
                status: "paid".into()
            })
        );
        assert_eq!(
            r.new_image_as::<Order>().unwrap().unwrap().status,
            "shipped"
        );
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Wrong {
            missing: String,
        }
        assert!(r.new_image_as::<Wrong>().is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(number("-7"), json!(-7));
        assert_eq!(
            number("18446744073709551615"),
            json!(18446744073709551615u64)
        );
        assert_eq!(number("1E+2"), json!(100.0));
        assert_eq!(
            number("99999999999999999999"),
            json!("99999999999999999999")
        );
        assert_eq!(number("junk"), json!("junk"));
    }
}
