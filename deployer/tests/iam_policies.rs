//! Every role policy the deployer would write, linted by parliament (Duo Labs' IAM policy linter, from
//! PyPI into `target/moto-venv` by `scripts/moto.sh`): malformed or unknown actions, resources that
//! cannot match their actions, missing elements. The one finding allowed is the VPC statement's
//! `Resource: "*"` on the network-interface actions, which is what Lambda needs (as AWS's own
//! AWSLambdaVPCAccessExecutionRole grants them): the interfaces do not exist before Lambda makes them.
//! And one false positive: parliament splits ARNs at every `:`, so a DynamoDB stream ARN as AWS writes
//! it (its label is a time, `2026-01-01T00:00:00.000`) does not match its own format there.

mod support;

use std::path::PathBuf;
use std::process::Command;

use chalice_deployer::engine::resolve;
use chalice_deployer::resources::{CodeSet, Lookups, Spec};
use serde_json::Value;

use support::aws::context;
use support::moto::find_moto_server;
use support::project::{example_source, plan_of};

/// `parliament`, installed beside `moto_server`.
fn parliament() -> PathBuf {
    let server = find_moto_server().expect("moto_server not found: run scripts/moto.sh");
    let linter = server.with_file_name("parliament");
    assert!(
        linter.is_file(),
        "{} not found: run scripts/moto.sh (it installs parliament beside moto)",
        linter.display()
    );
    linter
}

/// An app with every grant the tool writes: each pull source, X-Ray, VPC, the file's own statements
/// (with variables and a condition), a table given by its stream ARN, and every kind of on-failure
/// destination.
const EVERY_GRANT: &str = r#"app lint
defaults {
    tracing = active
    policy = { "Statement": [
        { "Sid": "ReadUploads", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
          "Resource": ["arn:${partition}:s3:::uploads-${stage}", "arn:${partition}:s3:::uploads-${stage}/*"] },
        { "Effect": "Allow", "Action": "dynamodb:GetItem",
          "Resource": "arn:${partition}:dynamodb:${region}:${account}:table/orders",
          "Condition": { "ForAllValues:StringEquals": { "dynamodb:Attributes": ["Id", "Status"] } } } ] }
}
queue  on_order "orders-${stage}"
stream on_click "clicks"
table  on_audit "orders"
table  on_feed  "arn:aws:dynamodb:us-east-1:123456789012:table/feed/stream/2026-01-01T00:00:00.000"
schedule tick rate(1 hour) { vpc { subnets = ["subnet-0abc1234"], security_groups = ["sg-0abc1234"] } }
stream on_view "views" { on_failure { bucket = "failed-${stage}" } }
table  on_stock "stock" { on_failure { topic = "alerts" } }
bucket on_upload "uploads-${stage}" { on_failure { queue = "dead" } }
topic  on_notice "notices" { on_failure { bus = "failures" } }
schedule nightly cron(0 2 * * ? *) { on_failure { function = "arn:${partition}:lambda:${region}:${account}:function:sink" } }
"#;

/// Each own role's inline policy as the deployer would write it, by role name.
fn role_policies(source: &str) -> Vec<(String, Value)> {
    let plan = plan_of(source);
    let (desired, _) = resolve::desired(&plan, &context(), &CodeSet::new(), &Lookups::default());
    desired
        .resources
        .iter()
        .filter_map(|r| match &r.spec {
            Spec::Role(role) => Some((role.name.clone(), role.policy.clone()?)),
            _ => None,
        })
        .collect()
}

/// parliament's findings on `policy`, as (issue, detail) pairs.
fn lint(policy: &Value) -> Vec<(String, String)> {
    let out = Command::new(parliament())
        .args(["--json", "--string", &policy.to_string()])
        .output()
        .expect("run parliament");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() || !stdout.trim().is_empty(),
        "parliament failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let finding: Value = serde_json::from_str(l).expect("a JSON finding per line");
            (
                finding["issue"].as_str().unwrap_or("?").to_owned(),
                finding["detail"].to_string(),
            )
        })
        .collect()
}

#[test]
fn every_role_policy_passes_parliament() {
    let vpc_star = (
        "RESOURCE_STAR".to_owned(),
        r#"["ec2:AssignPrivateIpAddresses","ec2:CreateNetworkInterface","ec2:DeleteNetworkInterface","ec2:UnassignPrivateIpAddresses"]"#
            .to_owned(),
    );
    let mismatches = ["DescribeStream", "GetRecords", "GetShardIterator"].map(|a| {
        format!(
            r#"{{"action":"dynamodb:{a}","required_format":"arn:*:dynamodb:*:*:table/*/stream/*"}}"#
        )
    });
    let stream_label = (
        "RESOURCE_MISMATCH".to_owned(),
        format!("[{}]", mismatches.join(",")),
    );
    let mut linted = 0;
    for source in [example_source(), EVERY_GRANT.to_owned()] {
        for (role, policy) in role_policies(&source) {
            let findings = lint(&policy);
            let expected = match role.as_str() {
                "lint-dev-tick" => vec![vpc_star.clone()],
                "lint-dev-on_feed" => vec![stream_label.clone()],
                _ => Vec::new(),
            };
            assert_eq!(findings, expected, "{role}: {policy:#}");
            linted += 1;
        }
    }
    assert_eq!(linted, 8 + 10, "every role of both apps was linted");
}

#[test]
fn parliament_finds_what_is_wrong() {
    // The check above can fail: a statement IAM would accept but that can never match is flagged.
    let wrong = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:sqs:us-east-1:123456789012:q"}
    ]});
    let findings = lint(&wrong);
    assert!(
        findings
            .iter()
            .any(|(issue, _)| issue == "RESOURCE_MISMATCH"),
        "{findings:?}"
    );
}
