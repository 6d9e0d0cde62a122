//! S3 notifications: the bucket, and the object key URL-decoded as Chalice does.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::S3EventRecord;

/// Chalice's `S3Event` conveniences on each record of an [`S3Event`](super::S3Event).
pub trait S3RecordExt {
    /// The bucket's name.
    fn bucket(&self) -> &str;
    /// The object key, decoded: S3 sends keys URL-encoded with `+` for a space.
    fn key(&self) -> String;
    /// The object key exactly as S3 sent it (still URL-encoded).
    fn raw_key(&self) -> &str;
    /// The S3 event name, e.g. `ObjectCreated:Put`.
    fn event_name(&self) -> &str;
    /// The object's size in bytes (absent for deletions).
    fn size(&self) -> Option<i64>;
}

impl S3RecordExt for S3EventRecord {
    fn bucket(&self) -> &str {
        self.s3.bucket.name.as_deref().unwrap_or_default()
    }

    fn key(&self) -> String {
        decode_key(self.raw_key()).into_owned()
    }

    fn raw_key(&self) -> &str {
        self.s3.object.key.as_deref().unwrap_or_default()
    }

    fn event_name(&self) -> &str {
        self.event_name.as_deref().unwrap_or_default()
    }

    fn size(&self) -> Option<i64> {
        self.s3.object.size
    }
}

/// Decodes an S3 notification key: `+` is a space, then `%XX` escapes; invalid UTF-8 is replaced.
pub fn decode_key(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['+', '%']) {
        return Cow::Borrowed(raw);
    }
    let spaced = raw.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::S3Event;

    fn event(key: &str) -> S3Event {
        let json = serde_json::json!({
            "Records": [{
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2024-01-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": { "principalId": "AWS:EXAMPLE" },
                "requestParameters": { "sourceIPAddress": "127.0.0.1" },
                "responseElements": {},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "on_upload",
                    "bucket": { "name": "mybucket-name", "arn": "arn:aws:s3:::mybucket-name" },
                    "object": { "key": key, "size": 1024, "eTag": "abc", "sequencer": "0A" }
                }
            }]
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn bucket_and_plain_key() {
        let e = event("images/cat.png");
        let r = &e.records[0];
        assert_eq!(r.bucket(), "mybucket-name");
        assert_eq!(r.key(), "images/cat.png");
        assert_eq!(r.event_name(), "ObjectCreated:Put");
        assert_eq!(r.size(), Some(1024));
    }

    #[test]
    fn key_plus_is_a_space() {
        let e = event("images/my+cat+photo.png");
        assert_eq!(e.records[0].key(), "images/my cat photo.png");
        assert_eq!(e.records[0].raw_key(), "images/my+cat+photo.png");
    }

    #[test]
    fn key_percent_escapes_are_decoded() {
        // A literal '+' is sent as %2B, a '/' inside an escaped key as %2F, UTF-8 as bytes.
        let e = event("a%2Fb%2Bc+d%C3%A9.png");
        assert_eq!(e.records[0].key(), "a/b+c dé.png");
    }

    #[test]
    fn malformed_escapes_do_not_panic() {
        assert_eq!(decode_key("100%"), "100%");
        assert_eq!(decode_key("%zz"), "%zz");
        assert_eq!(decode_key("%FF"), "\u{FFFD}");
    }

    #[test]
    fn missing_names_are_empty() {
        let r = S3EventRecord::default();
        assert_eq!(r.bucket(), "");
        assert_eq!(r.key(), "");
    }
}
