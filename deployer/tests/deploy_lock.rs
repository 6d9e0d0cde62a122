//! A deploy checks its sources before it builds, and holds its stage's lock while it writes: against a
//! private moto server per test, the `deployer` binary as a user runs it. Two deploys of one stage never
//! write at once (one waits, or stops naming the other), a lock is given back on failure and on Ctrl-C,
//! and a missing source is reported before any compiling.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::deployer::{self, Run};
use support::fault_proxy::FaultProxy;
use support::world::{APP_V1, RUN_TIMEOUT, World};

const LOCK_KEY: &str = ".deploy-locks/suite/dev.json";

/// The app with two sources that do not exist.
fn two_missing() -> String {
    APP_V1
        .replace("\"suite-orders\"", "\"suite-no-such-queue\"")
        .replace("\"suite-uploads\"", "\"suite-no-such-bucket\"")
}

/// A `cargo` stand-in: notes that it started (its pid in `started`), takes `seconds`, then notes
/// that it finished and fails (it builds nothing).
fn fake_cargo(dir: &Path, seconds: u32) -> std::path::PathBuf {
    let script = dir.join("fake-cargo");
    let text = format!(
        "#!/bin/sh\necho $$ > '{d}/started'\nsleep {seconds}\necho done > '{d}/finished'\nexit 1\n",
        d = dir.display()
    );
    std::fs::write(&script, text).unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    script
}

/// `deploy --yes` building the bootstrap itself (no `--bootstrap`), with `cargo` as given.
fn deploy_building(w: &World, cargo: &Path) -> Run {
    let mut cmd = w.command(&["deploy", "--yes", "--target", "x86_64-unknown-linux-gnu"]);
    cmd.env("CARGO", cargo);
    w.run_command(cmd)
}

fn assert_names_both_missing(run: &Run) {
    assert_eq!(run.code, Some(1), "{}", run.describe());
    for name in [
        "suite-no-such-queue",
        "suite-no-such-bucket",
        "nothing was changed",
    ] {
        assert!(
            run.stderr.contains(name),
            "{name} not said:\n{}",
            run.describe()
        );
    }
    assert_eq!(run.calls().writes(), 0, "{}", run.describe());
}

#[tokio::test]
async fn missing_sources_are_reported_before_anything_is_compiled() {
    let w = World::new().await;
    w.write_app(&two_missing());
    let marks = tempfile::tempdir().unwrap();

    // A first build (no bootstrap under target/ yet) starts only once every source was found.
    let cargo = fake_cargo(marks.path(), 60);
    let run = deploy_building(&w, &cargo);
    assert_names_both_missing(&run);
    assert!(
        !marks.path().join("started").exists(),
        "cargo ran although sources were missing:\n{}",
        run.describe()
    );
    assert!(
        !run.stderr.contains("Building the bootstrap"),
        "{}",
        run.describe()
    );

    // A bootstrap built before: cargo (most likely only checking it is fresh) runs alongside the
    // reads, and is stopped, not waited for, when they find a source missing.
    let built = w
        .project
        .path()
        .join("target/x86_64-unknown-linux-gnu/release");
    std::fs::create_dir_all(&built).unwrap();
    std::fs::write(built.join("bootstrap"), b"an earlier build").unwrap();
    let cargo = fake_cargo(marks.path(), 3);
    let run = deploy_building(&w, &cargo);
    assert_names_both_missing(&run);
    assert!(
        run.elapsed < Duration::from_secs(3),
        "the deploy waited for the build: {:?}\n{}",
        run.elapsed,
        run.describe()
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !marks.path().join("finished").exists(),
        "the build was not stopped:\n{}",
        run.describe()
    );
}

fn artifacts_bucket() -> String {
    format!(
        "chalice-rs-artifacts-{}-{}",
        support::moto::ACCOUNT,
        support::moto::REGION
    )
}

/// Starts a deploy through the world's proxy and waits until it holds the lock and is held at its
/// first write after it.
async fn deploy_held_after_lock(w: &World) -> deployer::Running {
    // The lock lives in the artifacts bucket: a first deploy creates it first.
    let bucket = w
        .aws
        .s3
        .head_bucket()
        .bucket(artifacts_bucket())
        .send()
        .await;
    let lock_write = if bucket.is_ok() { 1 } else { 2 };
    w.proxy.stall_writes_after(Some(lock_write));
    let args = w.deploy_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut running = w.spawn(&args);
    let deadline = Instant::now() + RUN_TIMEOUT;
    while !w.proxy.wait_for_stalled(Duration::from_millis(50)) {
        assert!(
            running.exited().is_none(),
            "the first deploy ended early:\n{}",
            running.stderr()
        );
        assert!(Instant::now() < deadline, "the first deploy never wrote");
    }
    let log = w.proxy.log();
    assert_eq!(
        log.write_names()[lock_write - 1],
        "s3.PutObject",
        "the lock is the first write: {:?}",
        log.write_names()
    );
    running
}

/// `deployer ARGS` straight to moto through `proxy` (not the world's stalling one).
fn command_via(w: &World, proxy: &FaultProxy, args: &[&str]) -> std::process::Command {
    let mut cmd = deployer::against(&w.moto, w.project.path(), args);
    cmd.env("AWS_ENDPOINT_URL", proxy.endpoint());
    cmd
}

#[tokio::test]
async fn a_second_deploy_of_a_stage_waits_or_stops_and_never_interleaves() {
    let w = World::new().await;
    let first = deploy_held_after_lock(&w).await;
    let first_pid = first.child.id();
    let other = FaultProxy::start(&w.moto.endpoint());
    let mut args = w.deploy_args();

    // Told not to wait: stopped at once, naming the holder, having written nothing of the app.
    args.extend(["--lock-timeout".into(), "0".into()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut run = deployer::run(&mut command_via(&w, &other, &argv));
    run.log = Some(other.log());
    assert_eq!(run.code, Some(1), "{}", run.describe());
    for said in [
        "another deploy of stage `dev` is running",
        &format!("pid {first_pid}, `deploy` started"),
        "--force-unlock",
        "nothing was changed",
    ] {
        assert!(
            run.stderr.contains(said),
            "{said:?} not said:\n{}",
            run.describe()
        );
    }
    run.assert_no_writes();

    // By default it waits, says so, and once the first is done finds nothing left to do.
    other.reset();
    let args = w.deploy_args();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut second = deployer::spawn(command_via(&w, &other, &argv));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !second.stderr().contains("Waiting for the deploy lock") {
        assert!(
            second.exited().is_none() && Instant::now() < deadline,
            "the second deploy did not wait:\n{}",
            second.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let waiting = second.stderr();
    assert!(
        waiting.contains("Waiting for the deploy lock of stage `dev`")
            && waiting.contains(&format!("pid {first_pid}")),
        "{waiting}"
    );
    let app_writes_while_waiting: Vec<String> = other
        .log()
        .write_names()
        .into_iter()
        .filter(|w| w != "s3.PutObject")
        .collect();
    assert!(
        app_writes_while_waiting.is_empty(),
        "{app_writes_while_waiting:?}"
    );

    // The first goes on (its held write is retried) and gives the lock back.
    w.proxy.release_stalled();
    let first = w.finish(first);
    let mut second = second.finish(RUN_TIMEOUT);
    second.log = Some(other.log());
    second.assert_success();
    if first.code == Some(0) {
        let writes = second.calls().write_names();
        assert!(
            writes.iter().all(|w| w == "s3.PutObject"),
            "the first deployed everything; the second only took and gave back the lock: {writes:?}\n{}",
            second.describe()
        );
    }
    w.assert_deployed(APP_V1, &second).await;
    assert_lock_free(&w).await;
}

#[tokio::test]
async fn ctrl_c_while_writing_gives_the_lock_back() {
    let w = World::new().await;
    let mut first = deploy_held_after_lock(&w).await;
    // New writes (the lock's release) go through; the one held stays held, in flight.
    w.proxy.stall_writes_after(None);
    let status = deployer::interrupt(&mut first.child, Duration::from_secs(30));
    let run = w.finish(first);
    assert!(
        status.is_some(),
        "still running after Ctrl-C:\n{}",
        run.describe()
    );
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stderr
            .contains("Ctrl-C: stopped; the deploy lock was released"),
        "{}",
        run.describe()
    );
    w.proxy.release_stalled();
    assert_lock_free(&w).await;
    // The next deploy neither waits nor takes anything over, and finishes the job.
    let again = w.deploy();
    again.assert_success();
    assert!(
        !again.stderr.contains("deploy lock"),
        "{}",
        again.describe()
    );
    w.assert_deployed(APP_V1, &again).await;
}

#[tokio::test]
async fn a_lock_left_by_a_killed_deploy_of_this_host_is_taken_over() {
    let w = World::new().await;
    let mut first = deploy_held_after_lock(&w).await;
    first.kill();
    let _ = w.finish(first);
    w.proxy.release_stalled();
    let again = w.deploy();
    again.assert_success();
    assert!(
        again
            .stderr
            .contains("Taking over the deploy lock of stage `dev`"),
        "{}",
        again.describe()
    );
    w.assert_deployed(APP_V1, &again).await;
    assert_lock_free(&w).await;
    // A delete removes the lock with the stage.
    let delete = w.delete();
    delete.assert_success();
    w.assert_nothing_deployed(&delete).await;
}

/// The stage's lock object says it is free.
async fn assert_lock_free(w: &World) {
    let out = w
        .aws
        .s3
        .get_object()
        .bucket(artifacts_bucket())
        .key(LOCK_KEY)
        .send()
        .await
        .expect("the lock object");
    let body = out.body.collect().await.unwrap().into_bytes();
    let lock: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(lock["free"], true, "{lock}");
}
