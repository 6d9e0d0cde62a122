//! Reviewed deploys on moto: `plan --out FILE` saves the live plan, `deploy --plan FILE` applies exactly
//! it, and refuses, writing nothing, once what is deployed (or the code, or the app) moved since;
//! `plan --detailed-exitcode` says whether there is anything to do.

mod support;

use std::ops::Deref;

use serde_json::Value;

use support::deployer::Run;
use support::fixtures::create_queue;
use support::proxied::Proxied;

fn app(memory: u32) -> String {
    format!(
        "app ledger\ndefaults {{ memory = {memory} }}\nqueue on_entry \"entries\"\nschedule close rate(1 day)\n"
    )
}

/// The ledger app (memory 128) with its queue, and what this suite does with it.
struct Setup(Proxied);

impl Deref for Setup {
    type Target = Proxied;
    fn deref(&self) -> &Proxied {
        &self.0
    }
}

impl Setup {
    async fn new() -> Setup {
        let s = Proxied::start().await;
        create_queue(&s.aws, "entries", Some(360)).await;
        s.write_app(&app(128));
        Setup(s)
    }

    /// `plan --out FILE --detailed-exitcode` with the bootstrap; its exit code and the saved file.
    fn save_plan(&self, file: &str) -> (Run, Value) {
        let run = self.run(&[
            "plan",
            "--bootstrap",
            "bootstrap",
            "--out",
            file,
            "--detailed-exitcode",
        ]);
        let saved = std::fs::read_to_string(self.project.join(file))
            .map(|t| serde_json::from_str(&t).expect("saved plan JSON"))
            .unwrap_or(Value::Null);
        (run, saved)
    }

    fn apply(&self, file: &str, bootstrap: &str) -> Run {
        self.run(&["deploy", "--plan", file, "--bootstrap", bootstrap])
    }

    async fn memory(&self, handler: &str) -> Option<i32> {
        self.aws
            .lambda
            .get_function_configuration()
            .function_name(format!("ledger-dev-{handler}"))
            .send()
            .await
            .ok()?
            .memory_size()
    }
}

/// Every write of the run, the deploy lock's too, in order.
fn writes(run: &Run) -> Vec<String> {
    run.calls().write_names()
}

/// The `~`/`+`/`-` header lines of a plan or deploy output, in order.
fn change_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("+ ") || l.starts_with("~ ") || l.starts_with("- "))
        .collect()
}

#[tokio::test]
async fn a_saved_plan_is_applied_exactly_and_refused_once_stale() {
    let s = Setup::new().await;

    // A fresh plan: changes (exit 2), saved with what it was computed against; nothing written.
    let (plan, saved) = s.save_plan("first.json");
    assert_eq!(plan.code, Some(2), "{}", plan.describe());
    assert_eq!(writes(&plan), Vec::<String>::new(), "{}", plan.describe());
    assert_eq!(saved["format"], "chalice-rs saved plan");
    assert_eq!(saved["stage"], "dev");
    assert_eq!(saved["account"], support::aws::ACCOUNT);
    assert!(
        saved["code"]["x86_64"]
            .as_str()
            .is_some_and(|h| h.len() == 64),
        "{saved:#}"
    );
    let planned: Vec<String> = saved["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["type"].as_str().unwrap(),
                c["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(planned.len() >= 8, "{planned:?}");

    // Applied exactly: the same changes, in the same order, without asking (stdin is not a terminal).
    let applied = s.apply("first.json", "bootstrap");
    applied.assert_success();
    assert_eq!(
        change_lines(&applied.stdout),
        change_lines(&plan.stdout),
        "{}",
        applied.describe()
    );
    assert!(!writes(&applied).is_empty());
    assert_eq!(s.memory("on_entry").await, Some(128));

    // Now in sync: exit 0; and the applied plan cannot be applied again.
    let (in_sync, _) = s.save_plan("again.json");
    assert_eq!(in_sync.code, Some(0), "{}", in_sync.describe());
    let twice = s.apply("first.json", "bootstrap");
    twice.assert_code(1);
    assert!(
        twice.stderr.contains("the saved plan is stale"),
        "{}",
        twice.describe()
    );
    assert_eq!(writes(&twice), Vec::<String>::new(), "{}", twice.describe());

    // A reviewed change: memory 128 → 256 for both functions.
    s.project.write_app(&app(256));
    let (change, saved) = s.save_plan("second.json");
    assert_eq!(change.code, Some(2), "{}", change.describe());
    assert_eq!(saved["changes"].as_array().unwrap().len(), 2, "{saved:#}");

    // Other code than the plan was made with: refused, nothing written.
    s.project.write_fake_bootstrap("other", "v2");
    let other_code = s.apply("second.json", "other");
    other_code.assert_code(1);
    assert!(
        other_code.stderr.contains("bootstrap with sha256"),
        "{}",
        other_code.describe()
    );
    assert_eq!(writes(&other_code), Vec::<String>::new());

    // Someone changes a function out of band: the plan no longer describes what it would do.
    s.aws
        .lambda
        .update_function_configuration()
        .function_name("ledger-dev-close")
        .memory_size(1024)
        .send()
        .await
        .expect("out-of-band change");
    let stale = s.apply("second.json", "bootstrap");
    stale.assert_code(1);
    let err = &stale.stderr;
    assert!(
        err.contains("the saved plan is stale"),
        "{}",
        stale.describe()
    );
    assert!(
        err.contains("planned, no longer so: ~ update lambda_function ledger-dev-close"),
        "{}",
        stale.describe()
    );
    assert!(
        err.contains("memory_mb: 1024 → 256"),
        "{}",
        stale.describe()
    );
    assert_eq!(writes(&stale), Vec::<String>::new(), "{}", stale.describe());
    assert_eq!(s.memory("on_entry").await, Some(128), "nothing applied");

    // Planned again, it applies.
    let (_, _) = s.save_plan("third.json");
    s.apply("third.json", "bootstrap").assert_success();
    assert_eq!(s.memory("close").await, Some(256));
    assert_eq!(s.memory("on_entry").await, Some(256));

    // Not a saved plan: a clear error.
    std::fs::write(s.project.join("junk.json"), "{}").unwrap();
    let junk = s.apply("junk.json", "bootstrap");
    junk.assert_code(1);
    assert!(
        junk.stderr.contains("is not a saved plan"),
        "{}",
        junk.describe()
    );
}
