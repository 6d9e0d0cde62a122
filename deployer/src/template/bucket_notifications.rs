//! This app's entries in the notification configuration of buckets the stack does not own.
//!
//! CloudFormation can only set a bucket's whole notification configuration, and only on a bucket it
//! owns. So, as CDK does, the template carries a custom resource per bucket, backed by a small inline
//! Python function ([`HANDLER_SOURCE`]) that reads the bucket's configuration, replaces the entries whose
//! `Id` is one of this stack's (the plan's `notification_id`s) with the current ones, and writes it back;
//! on delete it removes only those entries. Queue, topic and EventBridge configurations and other
//! apps' Lambda entries are kept as they were, as `deploy` keeps them. One custom resource per bucket
//! carries all of the stack's entries for it, so two of them never race on one bucket.

use std::collections::BTreeMap;

use chalice_codegen::plan::{BucketNotification, Plan};
use serde_json::{Map, Value, json};

use super::cloudformation::{suffix, tag_list};
use super::logical_ids::LogicalIds;
use super::{Template, TemplateError, get_att};

/// The inline handler (Python, boto3 from the Lambda runtime); `merge` is the configuration logic.
pub const HANDLER_SOURCE: &str = include_str!("notification_handler.py");
/// The custom resource type.
pub const RESOURCE_TYPE: &str = "Custom::ChaliceBucketNotifications";
/// The logical id of the handler function.
pub const HANDLER_ID: &str = "ChaliceBucketNotificationsHandler";
/// The logical id of the handler's role.
pub const HANDLER_ROLE_ID: &str = "ChaliceBucketNotificationsHandlerRole";
/// The Python runtime of the handler.
pub const HANDLER_RUNTIME: &str = "python3.13";

/// The logical id of the custom resource for the bucket whose first (in plan order) handler is `first`.
pub fn resource_id(ids: &LogicalIds, first: &str) -> String {
    ids.of(first, "BucketNotifications")
}

/// Adds the handler, its role and one custom resource per bucket the plan notifies from.
pub fn add(t: &mut Template, plan: &Plan, ids: &LogicalIds) -> Result<(), TemplateError> {
    let mut buckets: BTreeMap<&str, Vec<&BucketNotification>> = BTreeMap::new();
    for n in &plan.bucket_notifications {
        buckets.entry(n.bucket.as_str()).or_default().push(n);
    }
    if buckets.is_empty() {
        return Ok(());
    }
    let bucket_arns: Vec<Value> = buckets
        .keys()
        .map(|b| json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::{b}")}))
        .collect();
    t.resource(
        HANDLER_ROLE_ID,
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }],
                },
                "Policies": [{
                    "PolicyName": "BucketNotifications",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "BucketNotifications",
                            "Effect": "Allow",
                            "Action": ["s3:GetBucketNotification", "s3:PutBucketNotification"],
                            "Resource": bucket_arns,
                        }],
                    },
                }],
                "ManagedPolicyArns": [
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}
                ],
                "Tags": tag_list(&plan.tags),
            },
        }),
    )?;
    t.resource(
        HANDLER_ID,
        json!({
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Description": format!(
                    "Merges the entries of app `{}`, stage `{}` into the notification configuration of buckets \
                     the stack does not own, keeping every other entry",
                    plan.app, plan.stage
                ),
                "Runtime": HANDLER_RUNTIME,
                "Handler": "index.handler",
                "Role": get_att(HANDLER_ROLE_ID, "Arn"),
                "Timeout": 60,
                "Code": {"ZipFile": HANDLER_SOURCE},
                "Tags": tag_list(&plan.tags),
            },
        }),
    )?;
    for (bucket, entries) in buckets {
        let first = entries[0].function.as_str();
        let items: Vec<Value> = entries
            .iter()
            .map(|n| {
                let mut events = n.events.clone();
                events.sort();
                events.dedup();
                let mut e = Map::new();
                e.insert("Id".into(), json!(n.notification_id));
                e.insert(
                    "FunctionArn".into(),
                    get_att(&ids.of(&n.function, suffix::FUNCTION), "Arn"),
                );
                e.insert("Events".into(), json!(events));
                if let Some(p) = &n.prefix {
                    e.insert("Prefix".into(), json!(p));
                }
                if let Some(s) = &n.suffix {
                    e.insert("Suffix".into(), json!(s));
                }
                Value::Object(e)
            })
            .collect();
        // S3 checks that it may invoke each function when the configuration is written.
        let depends: Vec<String> = entries
            .iter()
            .map(|n| ids.of(&n.function, suffix::PERMISSION))
            .collect();
        t.resource(
            &resource_id(ids, first),
            json!({
                "Type": RESOURCE_TYPE,
                "DependsOn": depends,
                "Properties": {
                    "ServiceToken": get_att(HANDLER_ID, "Arn"),
                    "Bucket": bucket,
                    "Entries": items,
                },
            }),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// Runs the handler's Python with `test` appended; panics with its output unless it succeeds.
    fn run_python(test: &str) {
        let program = format!("{HANDLER_SOURCE}\n\n{test}\n");
        let out = Command::new("python3")
            .args(["-c", &program])
            .output()
            .expect("python3 runs (the AWS tests need it too)");
        assert!(
            out.status.success(),
            "python failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn the_handler_fits_inline_code() {
        // CloudFormation's inline ZipFile is limited to 4096 characters.
        assert!(HANDLER_SOURCE.len() < 4096, "{}", HANDLER_SOURCE.len());
    }

    #[test]
    fn merge_keeps_every_other_entry_and_replaces_only_ours() {
        run_python(
            r#"
foreign_lambda = {"Id": "other-app", "LambdaFunctionArn": "arn:aws:lambda:us-east-1:1:function:x", "Events": ["s3:ObjectRemoved:*"]}
queue = {"Id": "q", "QueueArn": "arn:aws:sqs:us-east-1:1:q", "Events": ["s3:ObjectCreated:*"]}
topic = {"Id": "t", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Events": ["s3:ObjectCreated:*"]}
ours_old = {"Id": "orders-dev-on_upload", "LambdaFunctionArn": "old", "Events": ["s3:ObjectCreated:*"]}
config = {
    "ResponseMetadata": {"HTTPStatusCode": 200},
    "LambdaFunctionConfigurations": [foreign_lambda, ours_old],
    "QueueConfigurations": [queue],
    "TopicConfigurations": [topic],
    "EventBridgeConfiguration": {},
}
new = entry({"Id": "orders-dev-on_upload", "FunctionArn": "new", "Events": ["s3:ObjectCreated:*"], "Prefix": "images/", "Suffix": ".png"})
assert new["Filter"] == {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}, {"Name": "suffix", "Value": ".png"}]}}, new
merged = merge(config, {"orders-dev-on_upload"}, [new])
assert merged == {
    "LambdaFunctionConfigurations": [foreign_lambda, new],
    "QueueConfigurations": [queue],
    "TopicConfigurations": [topic],
    "EventBridgeConfiguration": {},
}, merged
removed = merge(merged, {"orders-dev-on_upload"}, [])
assert removed == {"LambdaFunctionConfigurations": [foreign_lambda], "QueueConfigurations": [queue], "TopicConfigurations": [topic], "EventBridgeConfiguration": {}}, removed
only_ours = merge({"LambdaFunctionConfigurations": [ours_old]}, {"orders-dev-on_upload"}, [])
assert only_ours == {}, only_ours
assert merge({}, set(), [new]) == {"LambdaFunctionConfigurations": [new]}
"#,
        );
    }

    #[test]
    fn create_update_and_delete_touch_only_the_stacks_entries() {
        run_python(
            r#"
import urllib.request

sent = []
class Response:
    pass
def fake_urlopen(request, timeout):
    sent.append(json.loads(request.data))
    return Response()
urllib.request.urlopen = fake_urlopen

class FakeS3:
    def __init__(self, buckets):
        self.buckets = buckets
    def get_bucket_notification_configuration(self, Bucket):
        if Bucket not in self.buckets:
            raise Exception("An error occurred (NoSuchBucket)")
        return dict(self.buckets[Bucket], ResponseMetadata={})
    def put_bucket_notification_configuration(self, Bucket, NotificationConfiguration):
        self.buckets[Bucket] = NotificationConfiguration

foreign = {"Id": "keep", "QueueArn": "arn:aws:sqs:us-east-1:1:q", "Events": ["s3:ObjectCreated:*"]}
s3 = FakeS3({"b1": {"QueueConfigurations": [foreign]}, "b2": {}})
def event(kind, props, old=None, physical=None):
    e = {"RequestType": kind, "ResourceProperties": props, "StackId": "s", "RequestId": "r",
         "LogicalResourceId": "L", "ResponseURL": "https://example.invalid/"}
    if old is not None:
        e["OldResourceProperties"] = old
    if physical is not None:
        e["PhysicalResourceId"] = physical
    return e
a = {"Id": "app-dev-a", "FunctionArn": "fa", "Events": ["s3:ObjectCreated:*"]}
b = {"Id": "app-dev-b", "FunctionArn": "fb", "Events": ["s3:ObjectRemoved:*"], "Suffix": ".png"}
v1 = {"ServiceToken": "x", "Bucket": "b1", "Entries": [a, b]}
assert handler(event("Create", v1), None, s3) == "SUCCESS", sent
assert sent[-1]["PhysicalResourceId"] == "b1" and sent[-1]["Status"] == "SUCCESS"
assert s3.buckets["b1"]["QueueConfigurations"] == [foreign]
assert [e["Id"] for e in s3.buckets["b1"]["LambdaFunctionConfigurations"]] == ["app-dev-a", "app-dev-b"]

# b renamed to c: b's entry goes, c's comes, the foreign queue stays.
c = dict(b, Id="app-dev-c")
v2 = dict(v1, Entries=[a, c])
assert handler(event("Update", v2, old=v1, physical="b1"), None, s3) == "SUCCESS"
assert [e["Id"] for e in s3.buckets["b1"]["LambdaFunctionConfigurations"]] == ["app-dev-a", "app-dev-c"]
assert s3.buckets["b1"]["QueueConfigurations"] == [foreign]

# Moved to another bucket: a new physical id (CloudFormation then deletes the old one).
v3 = dict(v2, Bucket="b2")
handler(event("Update", v3, old=v2, physical="b1"), None, s3)
assert sent[-1]["PhysicalResourceId"] == "b2"
assert [e["Id"] for e in s3.buckets["b2"]["LambdaFunctionConfigurations"]] == ["app-dev-a", "app-dev-c"]
handler(event("Delete", v2, physical="b1"), None, s3)
assert s3.buckets["b1"] == {"QueueConfigurations": [foreign]}, s3.buckets["b1"]

# A bucket already gone is no reason to fail a delete; any other error fails the request.
assert handler(event("Delete", dict(v1, Bucket="gone"), physical="gone"), None, s3) == "SUCCESS"
assert handler(event("Create", dict(v1, Bucket="gone")), None, s3) == "FAILED"
assert "NoSuchBucket" in sent[-1]["Reason"]
"#,
        );
    }
}
