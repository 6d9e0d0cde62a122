//! The AWS CLI's habits: `--profile` and `--region` win over the environment, an honest message when no
//! region is found, `--output json` (or `--json`) on check, plan, deploy and delete with one JSON
//! document on stdout and progress on stderr only, and shell completions.

mod support;

use serde_json::Value;

use support::aws::{ACCESS_KEY, SECRET_KEY};
use support::deployer::{self, Run, without_aws};
use support::moto::Moto;
use support::project::Project;

const APP: &str = "app ledger\nqueue on_entry \"entries\"\nschedule close rate(1 day)\n";

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", run.describe()))
}

#[tokio::test]
async fn profile_and_region_flags_win_over_the_environment() {
    let moto = Moto::start();
    // The queue exists in eu-west-1 only: a plan in any other region reports it missing.
    let mut options = moto.options();
    options.region = Some("eu-west-1".into());
    let eu = support::aws::clients_with(options).await;
    eu.sqs
        .create_queue()
        .queue_name("entries")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "360",
        )
        .send()
        .await
        .expect("queue in eu-west-1");

    let project = Project::new(APP);
    let config = project.join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile team]\nregion = ap-south-1\nendpoint_url = {}\naws_access_key_id = {ACCESS_KEY}\n\
             aws_secret_access_key = {SECRET_KEY}\n",
            moto.endpoint()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = deployer::command(project.path(), args);
        without_aws(&mut cmd)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_PROFILE", "someone-else")
            .env("AWS_REGION", "us-east-1");
        deployer::run(&mut cmd)
    };

    let plan = run(&["--profile", "team", "--region", "eu-west-1", "plan"]);
    plan.assert_success();
    assert!(
        plan.stdout.contains("+ create lambda_event_source_mapping"),
        "{}",
        plan.describe()
    );
    // The profile's region is overridden by --region (in ap-south-1 the queue does not exist)...
    let in_profile_region = run(&["--profile", "team", "plan"]);
    // ... and AWS_REGION wins over the profile's, as in the AWS CLI: us-east-1 has no queue either.
    in_profile_region.assert_code(1);
    assert!(
        in_profile_region.stderr.contains("queue `entries`"),
        "{}",
        in_profile_region.describe()
    );
    // Without --profile, AWS_PROFILE names a profile that does not exist.
    let without = run(&["--region", "eu-west-1", "plan"]);
    without.assert_code(1);
}

#[test]
fn no_region_says_how_to_give_one() {
    let project = Project::new(APP);
    let mut cmd = deployer::command(project.path(), &["plan"]);
    without_aws(&mut cmd)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    let run = deployer::run(&mut cmd);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("no AWS region configured: pass --region REGION"),
        "{}",
        run.describe()
    );
}

#[tokio::test]
async fn json_output_is_one_document_on_stdout() {
    let moto = Moto::start();
    let aws = moto.clients().await;
    support::fixtures::create_queue(&aws, "entries", Some(360)).await;
    let project = Project::new(APP);
    project.write_fake_bootstrap("bootstrap", "v1");
    let run = |args: &[&str]| deployer::run(&mut deployer::against(&moto, project.path(), args));

    let check = run(&["--output", "json", "check"]);
    check.assert_success();
    let doc = json(&check);
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["handlers"][0]["kind"], "queue");

    let deploy = run(&["deploy", "--yes", "--json", "--bootstrap", "bootstrap"]);
    deploy.assert_success();
    let doc = json(&deploy);
    assert_eq!(
        doc["summary"]["create"].as_u64().map(|n| n > 5),
        Some(true),
        "{doc:#}"
    );
    assert_eq!(doc["functions"][0]["name"], "ledger-dev-on_entry");
    assert!(
        deploy.stderr.contains("Applying"),
        "progress on stderr: {}",
        deploy.describe()
    );

    let again = run(&[
        "--output",
        "json",
        "deploy",
        "--yes",
        "--bootstrap",
        "bootstrap",
    ]);
    assert_eq!(json(&again)["summary"]["create"], 0);

    let needs_yes = run(&["deploy", "--json", "--bootstrap", "bootstrap"]);
    needs_yes.assert_code(1);
    assert!(needs_yes.stdout.is_empty(), "{}", needs_yes.describe());

    let delete = run(&["delete", "--yes", "--output", "json"]);
    delete.assert_success();
    let doc = json(&delete);
    assert!(
        doc["summary"]["delete"].as_u64().is_some_and(|n| n > 5),
        "{doc:#}"
    );
    assert_eq!(doc["log_groups_kept"], true);
}

#[test]
fn check_json_carries_the_errors_with_their_place() {
    let project = Project::new("app ledger\nqueue on_entry \"entries\" { batchsize = 10 }\n");
    let mut cmd = deployer::command(project.path(), &["check", "--json"]);
    let run = deployer::run(without_aws(&mut cmd));
    run.assert_code(1);
    let doc = json(&run);
    assert_eq!(doc["valid"], false);
    let e = &doc["errors"][0];
    assert_eq!(
        (e["line"].as_u64(), e["column"].as_u64()),
        (Some(2), Some(28)),
        "{doc:#}"
    );
    assert_eq!(e["severity"], "error");
    assert!(
        e["help"].as_str().is_some_and(|h| h.contains("batch_size")),
        "{doc:#}"
    );
}

#[test]
fn completions_are_printed_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let run = deployer::run(&mut deployer::command(dir.path(), &["completions", shell]));
        run.assert_success();
        assert!(
            run.stdout.contains("deployer"),
            "{shell}: {}",
            run.describe()
        );
        assert!(run.stdout.contains("detailed-exitcode"), "{shell}");
    }
}

/// The `N` of the first line starting with `prefix` and then `N`.
fn number_after(text: &str, prefix: &str) -> Option<usize> {
    text.lines().find_map(|l| {
        l.trim_start()
            .strip_prefix(prefix)?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    })
}

/// Issue #13: `plan --offline`, `plan` and `deploy` against moto, and `delete` count the same
/// resources (the app's); the artifacts bucket and the code zip are shown apart, as what they are.
/// (`deployer local` is checked in tests/local.rs.)
#[tokio::test]
async fn every_command_counts_the_same_resources_and_shows_the_artifacts_apart() {
    let moto = Moto::start();
    let project = Project::example();
    support::fixtures::create_sources(
        &moto.clients().await,
        &support::project::plan_of(&support::project::example_source()),
    )
    .await;
    project.write_fake_bootstrap("bootstrap", "v1");
    let run = |args: &[&str]| deployer::run(&mut deployer::against(&moto, project.path(), args));

    let offline = run(&["plan", "--offline"]);
    offline.assert_success();
    let n = number_after(&offline.stdout, "Plan: ").expect("offline count");
    assert!(
        offline.stdout.contains(
            "Artifacts: 1 code zip to upload, to the artifacts bucket chalice-rs-artifacts-{account}-{region}"
        ),
        "{}",
        offline.describe()
    );

    // Without the code, nothing about it is compared: the same resources, no artifacts line.
    let live = run(&["plan"]);
    live.assert_success();
    assert!(
        live.stdout
            .contains(&format!("Plan: {n} to create, 0 to update, 0 to delete.\n")),
        "{}",
        live.describe()
    );
    assert!(!live.stdout.contains("Artifacts:"), "{}", live.describe());

    let bucket = "chalice-rs-artifacts-123456789012-us-east-1";
    let deploy = run(&["deploy", "--yes", "--bootstrap", "bootstrap"]);
    deploy.assert_success();
    for said in [
        format!(
            "Plan: {n} to create, 0 to update, 0 to delete.\nArtifacts: 1 code zip to upload, the artifacts bucket {bucket} to create (shared by every app and stage in this account and region).\n"
        ),
        format!("Deployed: {n} created, 0 updated, 0 deleted in "),
        format!(
            "Artifacts: 1 code zip uploaded, the artifacts bucket {bucket} created (shared by every app and stage in this account and region).\n"
        ),
    ] {
        assert!(
            deploy.stdout.contains(&said),
            "{said:?} not in:\n{}",
            deploy.describe()
        );
    }

    let plan = run(&["plan", "--json", "--bootstrap", "bootstrap"]);
    let doc = json(&plan);
    assert_eq!(doc["summary"]["create"], 0, "{doc:#}");

    let delete = run(&["delete", "--yes", "--output", "json"]);
    let doc = json(&delete);
    assert_eq!(doc["summary"]["delete"].as_u64(), Some(n as u64), "{doc:#}");
    assert_eq!(doc["artifacts"]["zips_delete"], 1, "{doc:#}");
    assert_eq!(doc["artifacts"]["bucket_delete"], bucket, "{doc:#}");
}
