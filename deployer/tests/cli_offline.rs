//! The deployer's offline commands (`check`, `plan --offline`) run as a user would, over temp files.

mod support;

use std::path::Path;

use chalice_deployer::project::package::{self, BuildOptions};
use support::bootstrap::workspace;
use support::deployer::{self, without_aws};
use support::project::Project;

const SMALL_APP: &str = r#"app shop

stage prod { memory = 512 }

schedule tick   rate(5 minutes)
queue    orders "orders" { batch_size = 5, batching_window = 2s }
"#;

/// `schedul` is a typo: one error, on line 3.
const BROKEN_APP: &str = "app shop\n\nschedul tick rate(5 minutes)\n";

/// `deployer` run in `dir`, colours off whatever the environment says, no AWS settings.
fn deployer(dir: &Path) -> assert_cmd::Command {
    let mut cmd = deployer::command(dir, &[]);
    without_aws(&mut cmd);
    deployer::assert_cmd(cmd)
}

fn app_dir(source: &str) -> Project {
    Project::new(source)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn check_valid_app_prints_a_summary() {
    let dir = app_dir(SMALL_APP);
    let out = deployer(dir.path())
        .arg("check")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        text(&out.stdout),
        "events.chalice: app `shop` is valid: 2 handlers (1 schedule, 1 queue); stages: dev, prod\n"
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn check_shows_warnings_and_passes() {
    let dir = app_dir(
        "app shop\ntable on_audit \"orders\" { filter = { \"eventName\": [\"DELETE\"] } }\n",
    );
    let out = deployer(dir.path())
        .arg("check")
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = text(&out.stderr);
    assert!(stderr.contains("warning[W001]"), "{stderr}");
    assert!(stderr.contains("events.chalice:2:"), "{stderr}");
    assert!(
        text(&out.stdout).contains("app `shop` is valid: 1 handler (1 table)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_invalid_app_renders_diagnostics_and_fails() {
    let dir = app_dir(BROKEN_APP);
    let out = deployer(dir.path())
        .arg("check")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = text(&out.stderr);
    assert_eq!(text(&out.stdout), "");
    assert!(stderr.contains("events.chalice:3:"), "{stderr}");
    assert!(
        stderr.contains("error: could not compile `events.chalice`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "no colour when stderr is not a terminal: {stderr}"
    );
}

#[test]
fn check_colours_diagnostics_on_request() {
    let dir = app_dir(BROKEN_APP);
    let out = deployer(dir.path())
        .args(["--color", "always", "check"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(text(&out.stderr).contains('\x1b'));
}

#[test]
fn check_with_app_flag_reads_that_file() {
    let dir = Project::empty();
    std::fs::write(dir.path().join("other.chalice"), SMALL_APP).unwrap();
    let out = deployer(dir.path())
        .args(["check", "--app", "other.chalice"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(text(&out.stdout).starts_with("other.chalice: app `shop` is valid"));
}

#[test]
fn missing_file_names_the_path() {
    let dir = Project::empty();
    for args in [&["check"][..], &["plan", "--offline"][..]] {
        let out = deployer(dir.path())
            .args(args)
            .assert()
            .code(1)
            .get_output()
            .clone();
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("error: app file `events.chalice` not found in "),
            "{stderr}"
        );
        assert!(stderr.contains("pass --app FILE"), "{stderr}");
        assert_eq!(text(&out.stdout), "");
    }
    let out = deployer(dir.path())
        .args(["check", "--app", "nope/app.chalice"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(text(&out.stderr).contains("`nope/app.chalice` not found"));
}

#[test]
fn plan_offline_lists_every_resource() {
    let dir = app_dir(SMALL_APP);
    let out = deployer(dir.path())
        .args(["plan", "--offline"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = text(&out.stdout);
    let creates: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("+ create "))
        .collect();
    assert_eq!(
        creates,
        [
            "+ create iam_role shop-dev-tick",
            "+ create lambda_function shop-dev-tick",
            "+ create events_rule shop-dev-tick",
            "+ create lambda_permission shop-dev-tick/chalice-schedule-tick",
            "+ create iam_role shop-dev-orders",
            "+ create lambda_function shop-dev-orders",
            "+ create lambda_event_source_mapping shop-dev-orders",
        ]
    );
    assert!(stdout.contains("\n# tick (schedule)\n"), "{stdout}");
    assert!(stdout.contains("    memory       = 128 MB\n"), "{stdout}");
    assert!(
        stdout.contains("    schedule = rate(5 minutes)\n"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("    source           = sqs arn:{partition}:sqs:{region}:{account}:orders\n"),
        "{stdout}"
    );
    assert!(stdout.contains("    batch_size       = 5\n"), "{stdout}");
    assert!(
        stdout.ends_with(
            "\nPlan: 7 to create.\nArtifacts: 1 code zip to upload, to the artifacts bucket \
             chalice-rs-artifacts-{account}-{region} (shared by every app and stage in the account and \
             region; made by the first deploy there).\n"
        ),
        "{stdout}"
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn plan_applies_the_stage() {
    let dir = app_dir(SMALL_APP);
    let out = deployer(dir.path())
        .args(["plan", "--offline", "--stage", "prod"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("+ create lambda_function shop-prod-tick\n    memory       = 512 MB\n"),
        "{stdout}"
    );
}

#[test]
fn plan_json_is_the_plan_and_nothing_else() {
    let dir = app_dir(SMALL_APP);
    let out = deployer(dir.path())
        .args([
            "--color",
            "always",
            "plan",
            "--offline",
            "--json",
            "--stage",
            "prod",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let plan: chalice_codegen::Plan = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((plan.app.as_str(), plan.stage.as_str()), ("shop", "prod"));
    let names: Vec<&str> = plan.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["shop-prod-tick", "shop-prod-orders"]);
    assert_eq!(plan.event_source_mappings[0].batch_size, 5);
    assert_eq!(plan.event_source_mappings[0].batching_window_s, Some(2));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn plan_unknown_stage_lists_the_known_ones() {
    let dir = app_dir(SMALL_APP);
    let out = deployer(dir.path())
        .args(["plan", "--offline", "--stage", "prd"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(
        text(&out.stderr),
        "error: unknown stage `prd` (did you mean `prod`?); known stages: dev, prod\n"
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn plan_of_an_invalid_app_shows_its_diagnostics() {
    let dir = app_dir(BROKEN_APP);
    let out = deployer(dir.path())
        .args(["plan", "--offline", "--json"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(text(&out.stderr).contains("error: could not compile `events.chalice`"));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn live_plan_says_what_to_run_instead() {
    let dir = app_dir(SMALL_APP);
    let out = deployer(dir.path())
        .arg("plan")
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(text(&out.stderr).contains("deployer plan --offline"));
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let dir = Project::empty();
    deployer(dir.path())
        .args(["plan", "--bogus"])
        .assert()
        .code(2);
    deployer(dir.path()).assert().code(2);
    let out = deployer(dir.path())
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .clone();
    let help = text(&out.stdout);
    assert!(help.contains("Exit status:"), "{help}");
    assert!(help.contains("deployer plan --offline"), "{help}");
}

/// `plan --offline --json` prints the very document the example app's build writes beside its code.
#[test]
fn plan_json_is_the_document_the_build_writes() {
    let mut build = BuildOptions::new(workspace());
    build.release = false;
    let built = package::build_artifacts(&build).expect("cargo build --bin bootstrap");
    let out_dir = built
        .out_dir
        .expect("the example app's build script OUT_DIR");
    for stage in ["dev", "prod"] {
        let written = std::fs::read_to_string(out_dir.join(format!("plan.{stage}.json")))
            .expect("the plan the build wrote");
        let out = deployer(workspace())
            .args(["plan", "--offline", "--json", "--stage", stage])
            .assert()
            .success();
        assert_eq!(text(&out.get_output().stdout), written, "stage {stage}");
    }
}

/// A real bootstrap carries its handler manifest; shipped with another app file it is refused, with
/// the differences named, before AWS is asked anything.
#[test]
fn a_bootstrap_built_from_another_app_is_refused() {
    let dir = app_dir(SMALL_APP);
    let out = deployer(dir.path())
        .args(["plan", "--bootstrap"])
        .arg(support::bootstrap::bootstrap())
        .assert()
        .failure()
        .code(1);
    let err = text(&out.get_output().stderr);
    for expected in [
        "was built from a different app file",
        "it is app `orders`, the app file is app `shop`",
        "it has no handler `tick` (schedule)",
        "it has a handler `on_order` (queue) the app file does not declare",
        "hint: rebuild it from this app",
    ] {
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
    }
    // The example app itself is served by it: no manifest complaint (the AWS settings are missing).
    let out = deployer(workspace())
        .args(["plan", "--bootstrap"])
        .arg(support::bootstrap::bootstrap())
        .assert()
        .failure();
    let err = text(&out.get_output().stderr);
    assert!(!err.contains("different app file"), "{err}");
}

#[test]
fn local_send_without_a_runner_or_an_endpoint_says_start_one() {
    let dir = app_dir(SMALL_APP);
    let out = deployer(dir.path())
        .args(["local", "send", "orders", "--sample"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "error: no runner is running for stage dev: start `deployer local` first (or point \
         AWS_ENDPOINT_URL at an emulator)\n"
    );
    // A runner's file whose process is gone does not count.
    let info = dir.join(".chalice-rs/local/prod.runner.json");
    std::fs::create_dir_all(info.parent().unwrap()).unwrap();
    std::fs::write(
        &info,
        r#"{"app": "shop", "stage": "prod", "endpoint": "http://127.0.0.1:9", "region": "us-east-1",
            "account": "123456789012", "own_emulator": true, "pid": 4294967295, "control": null}"#,
    )
    .unwrap();
    let out = deployer(dir.path())
        .args(["local", "send", "tick", "--stage", "prod"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(
        text(&out.stderr).contains("no runner is running for stage prod"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn local_send_of_an_unknown_handler_is_a_usage_error() {
    let dir = app_dir(SMALL_APP);
    let out = deployer(dir.path())
        .args(["local", "send", "ordres"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(
        text(&out.stderr).contains("did you mean `orders`"),
        "{}",
        text(&out.stderr)
    );
    // The runner's own flags do not mix with `send`.
    deployer(dir.path())
        .args(["local", "--json", "send", "orders"])
        .assert()
        .code(2);
}
