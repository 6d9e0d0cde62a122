//! The local runner's life: find or start the emulator, build, create the sources, deploy, connect
//! every event source to its handler, report each invocation, rebuild on edit, and on Ctrl-C stop
//! everything and remove what it created for itself.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chalice_codegen::plan::{AwsContext, Function, FunctionRole, MappingSource, Plan};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::cleanup::undo;
use super::connect::{self, Wiring};
use super::console::hints::{self, SendCommand, Style};
use super::console::output::Output;
use super::console::{print_hints, say};
use super::control;
use super::emulator::{self, Emulator, EmulatorError};
use super::functions::{Code, LocalHandler};
use super::leftovers::{self, Journal};
use super::rebuild::{self, WatchError};
use super::runner_info::{self, RunnerInfo};
use super::sources;
use chalice_lambda::runtime_api::FunctionConfig;
use chalice_lambda::samples::{Origin, SampleContext};

use crate::aws::{self, AwsError, CallCounter, ClientOptions, Clients};
use crate::engine::EngineError;
use crate::engine::converge;
use crate::engine::plan_view;
use crate::engine::read::READ_CONCURRENCY;
use crate::engine::session::Session;
use crate::engine::state::StateFile;
use crate::project::HandlerError;
use crate::project::ProjectError;
use crate::project::code::{self, CodeSource};
use crate::project::package::{self, BuildOptions};
use crate::project::plan::{function_for, load_plan, project_dir};
use crate::project::samples;
use crate::resources::CallError;

/// How long pollers get to finish their current call after Ctrl-C.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// The region when the configuration names none (the emulator accepts any).
const DEFAULT_REGION: &str = "us-east-1";

/// What `deployer local` was asked for.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    pub app: PathBuf,
    pub stage: String,
    /// Schedules to fire once when ready.
    pub fire: Vec<String>,
    pub json: bool,
    pub color: bool,
    /// Rebuild when the code changes.
    pub watch: bool,
    /// A prebuilt bootstrap instead of `cargo build`.
    pub bootstrap: Option<PathBuf>,
    pub release: bool,
}

/// Why the runner could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error("creating the app's event sources in the emulator failed: {0}")]
    Sources(CallError),
    #[error("reading the app's functions at the endpoint failed: {0}")]
    Functions(CallError),
    #[error("connecting the event sources to the handlers failed: {0}")]
    Wiring(CallError),
    #[error(transparent)]
    Watch(#[from] WatchError),
    #[error("cannot prepare the runner's files: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the build did not finish: {0}")]
    BuildAborted(String),
}

// By hand: a handler error and an AWS error reach the runner through their layers' errors.
impl From<HandlerError> for LocalError {
    fn from(e: HandlerError) -> LocalError {
        LocalError::Project(e.into())
    }
}

impl From<AwsError> for LocalError {
    fn from(e: AwsError) -> LocalError {
        LocalError::Engine(e.into())
    }
}

/// Runs the app until Ctrl-C (or SIGTERM); returns once everything it started is stopped.
pub async fn run(opts: RunnerOptions) -> Result<(), LocalError> {
    // Listening from the very start: Ctrl-C during the build or the deploy must still stop the
    // emulator, which runs in a process group of its own.
    let (interrupt_tx, interrupt) = watch::channel(false);
    tokio::spawn(async move {
        interrupted().await;
        let _ = interrupt_tx.send(true);
    });
    let (ready_tx, ready) = watch::channel(false);
    let plan = load_plan(&opts.app, &opts.stage)?;
    let schedules = check_fire(&plan, &opts.fire)?;
    let project_dir = project_dir(&opts.app);
    let mut emulator_slot: Option<Emulator> = None;
    let mut journal = Journal::new(
        &project_dir,
        &leftovers::new_run_id(),
        &plan.app,
        &plan.stage,
    );

    let started = async {
        // 0. What a killed runner of this project left.
        clean_up_after_killed_runners(&project_dir).await;
        // 1. The AWS side: the configured endpoint, or an emulator of our own.
        let chain = ClientOptions::default().load().await;
        let (clients, endpoint) = match chain.endpoint_url() {
            Some(endpoint) => {
                say(&format!("Using the configured AWS endpoint {endpoint}"));
                journal.set_endpoint(endpoint, chain.region().map(|r| r.as_ref()));
                let clients = Clients::from_config(&chain, None, CallCounter::new());
                (clients, endpoint.to_owned())
            }
            None => {
                let program =
                    emulator::find_moto_server(&project_dir).ok_or(EmulatorError::NotInstalled)?;
                let started = Instant::now();
                let emulator = emulator_slot.insert(Emulator::start(&program).await?);
                if let Some(pid) = emulator.pid() {
                    journal.set_emulator(pid, emulator.port());
                }
                let endpoint = emulator.endpoint();
                say(&format!(
                    "No AWS endpoint is configured: started a local AWS emulator (moto) at {endpoint} in {:.1} s",
                    started.elapsed().as_secs_f64()
                ));
                let region = chain
                    .region()
                    .map_or(DEFAULT_REGION.to_owned(), |r| r.to_string());
                (emulator.clients(region).await, endpoint)
            }
        };
        let emulator = emulator_slot.as_ref();
        let ready = Ready {
            interrupt: interrupt.clone(),
            ready: ready_tx,
        };
        serve(
            &opts,
            plan,
            schedules,
            &clients,
            emulator,
            &endpoint,
            ready,
            &mut journal,
        )
        .await
    };
    // Until it is ready, an interrupt abandons the start-up (dropping what it started: the
    // handlers' processes are killed on drop); afterwards `serve` stops in order.
    let mut interrupt_early = interrupt.clone();
    let result = tokio::select! {
        result = started => result,
        _ = async {
            let _ = interrupt_early.wait_for(|stop| *stop).await;
            if *ready.borrow() {
                std::future::pending::<()>().await;
            }
        } => {
            say("Interrupted while starting; stopping.");
            Ok(())
        }
    };
    if let Some(emulator) = emulator_slot
        && let Err(e) = emulator.stop().await
    {
        say(&format!("warning: could not stop the emulator: {e}"));
    }
    // What an interrupted start changed at a configured endpoint is undone here.
    journal.finish().await.iter().for_each(warn_not_undone);
    result
}

fn warn_not_undone(failed: &String) {
    say(&format!(
        "warning: could not undo {failed} (the next runner will try again)"
    ));
}

/// Cleans up after the project's runners that were killed, saying what was done.
async fn clean_up_after_killed_runners(project_dir: &std::path::Path) {
    for swept in leftovers::sweep(project_dir).await {
        let mut line = format!(
            "Cleaned up after a runner that was killed (run {}, pid {})",
            swept.run, swept.pid
        );
        if swept.done.is_empty() {
            line.push_str(": nothing was left");
        } else {
            line.push_str(&format!(": {}", swept.done.join("; ")));
        }
        say(&line);
        swept.failed.iter().for_each(warn_not_undone);
    }
    for file in runner_info::remove_dead(project_dir) {
        say(&format!(
            "Removed {}, left by a runner that is gone",
            file.display()
        ));
    }
}

/// How `serve` learns of Ctrl-C, and tells `run` it no longer needs abandoning.
struct Ready {
    interrupt: watch::Receiver<bool>,
    ready: watch::Sender<bool>,
}

/// Everything after the emulator is up; the caller stops the emulator however this ends.
#[allow(clippy::too_many_arguments)]
async fn serve(
    opts: &RunnerOptions,
    plan: Plan,
    schedules: Vec<String>,
    clients: &Clients,
    emulator: Option<&Emulator>,
    endpoint: &str,
    mut ready: Ready,
    journal: &mut Journal,
) -> Result<(), LocalError> {
    let project_dir = project_dir(&opts.app);
    let ctx = aws::resolve_context(clients).await?;

    // 2. The code.
    let mut build = BuildOptions::new(&project_dir);
    build.release = opts.release;
    let program = match &opts.bootstrap {
        Some(path) => path.clone(),
        None => {
            say(&format!(
                "Building the bootstrap ({})...",
                if opts.release { "release" } else { "debug" }
            ));
            let options = build.clone();
            tokio::task::spawn_blocking(move || package::build(&options))
                .await
                .map_err(|e| LocalError::BuildAborted(e.to_string()))?
                .map_err(ProjectError::from)?
        }
    };

    // 3. The sources: ours to create only in our own emulator.
    if emulator.is_some() {
        let wanted = sources::sources(&plan, &ctx);
        let created = sources::create_missing(clients, &ctx.region, &wanted)
            .await
            .map_err(LocalError::Sources)?;
        if !created.is_empty() {
            let names: Vec<String> = created.iter().map(ToString::to_string).collect();
            say(&format!("Created in the emulator: {}", names.join(", ")));
        }
    }

    // 4. The app, deployed there as `deployer deploy` would (the code is a placeholder: the
    // emulator stores functions but never runs them; this process runs them).
    let work = tempfile::Builder::new()
        .prefix("chalice-local-")
        .tempdir()?;
    let state_path = match emulator {
        Some(_) => work.path().join("deployed.json"),
        None => project_dir
            .join(crate::engine::state::LOCAL_DIR)
            .join(format!("{}.json", plan.stage)),
    };
    let mut deployed = plan.clone();
    if emulator.is_some() {
        // moto consumes a table's stream records itself once a mapping reads it (it tries to run
        // the function, fails, and drops them), so in its own emulator the runner deploys the app
        // without its table mappings: it reads those streams itself.
        deployed.event_source_mappings.retain(|m| {
            !matches!(
                m.source,
                MappingSource::Table { .. } | MappingSource::TableStream { .. }
            )
        });
        for note in without_what_only_aws_has(&mut deployed) {
            say(&note);
        }
    }
    if emulator.is_none() && every_function_exists(&plan, clients).await? {
        // Deployed there by `deployer deploy`: deploying again would replace its code with the
        // placeholder (and a redeploy would then have code to change).
        say(&format!(
            "The app's {} function(s) are deployed there: used as they are (the handlers run here).",
            plan.functions.len()
        ));
    } else {
        deploy_app(&deployed, plan_view::count(&plan), clients, state_path).await?;
    }

    // 5. The handlers, one local function each.
    let (code_tx, code_rx) = watch::channel(Code {
        program,
        generation: 0,
    });
    let names: Vec<&str> = plan.functions.iter().map(|f| f.handler.as_str()).collect();
    let output = Arc::new(Output::new(opts.json, opts.color, &names));
    let handlers: BTreeMap<String, Arc<LocalHandler>> = plan
        .functions
        .iter()
        .map(|f| {
            let handler = LocalHandler::new(
                &f.handler,
                function_config(f, &ctx),
                function_env(f, emulator.map(|_| endpoint)),
                code_rx.clone(),
                Arc::clone(&output),
            );
            (f.handler.clone(), Arc::new(handler))
        })
        .collect();
    let warming = handlers
        .values()
        .map(|h| async move { (h.handler(), h.warm().await) });
    for (handler, warmed) in futures_util::future::join_all(warming).await {
        if let Err(e) = warmed {
            say(&format!("warning: handler {handler} did not start: {e}"));
        }
    }

    // 6. Every event source connected to its handler.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let fires: BTreeMap<String, Arc<Notify>> = schedules_of(&plan)
        .into_iter()
        .map(|h| (h, Arc::new(Notify::new())))
        .collect();
    let run = journal.run().to_owned();
    let wiring = Wiring {
        clients,
        plan: &plan,
        ctx: &ctx,
        handlers: &handlers,
        fires: &fires,
        shutdown: stop_rx.clone(),
        run: &run,
    };
    let wired = connect::connect(&wiring, &mut tasks, journal).await;
    if let Err(e) = wired {
        let _ = stop_tx.send(true);
        stop(&mut tasks, &handlers, clients, journal, emulator.is_none()).await;
        return Err(LocalError::Wiring(e));
    }

    // 7. Rebuild on edit.
    if opts.watch {
        let say_fn: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|line: &str| say(line));
        let watch_task = rebuild::run(
            project_dir.clone(),
            opts.app.clone(),
            build,
            code_tx,
            say_fn,
            stop_rx.clone(),
        );
        tasks.spawn(async move {
            if let Err(e) = watch_task.await {
                say(&format!("warning: {e}; edits will not be rebuilt"));
            }
        });
    }

    // 8. Ready.
    let style = match emulator {
        Some(_) => Style::Curl,
        None => Style::AwsCli,
    };
    let send = SendCommand::new(
        &hints::program(&hints::Started::this_process()),
        &opts.app,
        &plan.stage,
    );
    let has_sample = |handler: &str| samples::exists(&project_dir, handler);
    print_hints(&plan, &ctx, endpoint, style, &send, &has_sample);
    // Schedules fired by `deployer local send`, and the file that tells it where we are.
    let control = if fires.is_empty() {
        None
    } else {
        let (listener, addr) = control::listen().await?;
        tasks.spawn(control::serve(listener, fires.clone(), stop_rx.clone()));
        Some(addr)
    };
    let info = RunnerInfo {
        app: plan.app.clone(),
        stage: plan.stage.clone(),
        endpoint: endpoint.to_owned(),
        region: ctx.region.clone(),
        account: ctx.account.clone(),
        own_emulator: emulator.is_some(),
        pid: std::process::id(),
        control,
    };
    let written = match runner_info::write(&project_dir, &info) {
        Ok(written) => Some(written),
        Err(e) => {
            say(&format!(
                "warning: cannot write {} (`deployer local send` will not find this runner): {e}",
                runner_info::path(&project_dir, &plan.stage).display()
            ));
            None
        }
    };
    say(&format!(
        "Ready: {} handler(s) of app `{}`, stage `{}`, receive events from {endpoint}. Ctrl-C stops.",
        handlers.len(),
        plan.app,
        plan.stage
    ));
    for name in &schedules {
        if let Some(fire) = fires.get(name) {
            fire.notify_one();
        }
    }
    if !fires.is_empty() && std::io::stdin().is_terminal() {
        read_fire_commands(fires.clone());
    }

    // 9. Until Ctrl-C.
    let _ = ready.ready.send(true);
    let _ = ready.interrupt.wait_for(|stop| *stop).await;
    say("Stopping...");
    let _ = stop_tx.send(true);
    drop(written);
    stop(&mut tasks, &handlers, clients, journal, emulator.is_none()).await;
    say("Stopped.");
    Ok(())
}

/// The plan as our own emulator can take it: the handlers run here, so what only exists in the AWS
/// account (layers, managed policies, roles given by ARN: moto refuses a function whose role or
/// layer it does not have) is left out, and a function given a role gets its own with what it needs.
/// Returns a note for each thing left out.
fn without_what_only_aws_has(plan: &mut Plan) -> Vec<String> {
    let mut notes = Vec::new();
    let mut layered = Vec::new();
    for f in &mut plan.functions {
        if !f.layers.is_empty() {
            layered.push(f.handler.clone());
            f.layers.clear();
        }
    }
    if !layered.is_empty() {
        notes.push(format!(
            "note: layers are not deployed to the local emulator (handlers run here, without them): {}",
            layered.join(", ")
        ));
    }
    if plan.roles.iter().any(|r| !r.managed_policies.is_empty()) {
        notes.push(
            "note: managed policies are not attached in the local emulator (it does not enforce IAM)"
                .to_string(),
        );
        for r in &mut plan.roles {
            r.managed_policies.clear();
        }
    }
    let mut given = Vec::new();
    for f in &mut plan.functions {
        let FunctionRole::Given { needs, .. } = &f.role else {
            continue;
        };
        let role = chalice_codegen::emit_plan::own_role(
            &plan.app,
            &plan.stage,
            &f.handler,
            &f.name,
            needs.clone(),
        );
        f.role = FunctionRole::Own {
            id: role.id.clone(),
            arn: role.arn.clone(),
        };
        given.push(f.handler.clone());
        plan.roles.push(role);
    }
    if !given.is_empty() {
        notes.push(format!(
            "note: in the local emulator these run as roles of their own, not the role the file gives: {}",
            given.join(", ")
        ));
    }
    notes
}

/// Whether every function of the plan exists at the endpoint (read side by side, as a deploy reads).
async fn every_function_exists(plan: &Plan, clients: &Clients) -> Result<bool, LocalError> {
    let reads = plan
        .functions
        .iter()
        .map(|f| crate::resources::function::read_function(clients, &f.name));
    let found: Vec<_> = stream::iter(reads)
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await
        .map_err(LocalError::Functions)?;
    Ok(found.iter().all(Option::is_some))
}

/// Deploys `plan` (the app's, less what the runner does itself: `resources` are the app's) with a
/// placeholder bootstrap, recording it at `state_path`, and says how much of the app it deployed.
async fn deploy_app(
    plan: &Plan,
    resources: usize,
    clients: &Clients,
    state_path: PathBuf,
) -> Result<(), LocalError> {
    let placeholder =
        b"#!/bin/sh\necho 'this function is run by `deployer local`, not by the emulator' >&2\nexit 1\n";
    let source = CodeSource::Placeholder(placeholder.to_vec());
    let shipped = code::package(plan, &source).map_err(ProjectError::from)?;
    let state =
        StateFile::open_at(state_path, &plan.app, &plan.stage).map_err(EngineError::from)?;
    let mut session = Session::open("local", plan.clone(), clients.clone(), state, None).await?;
    let deployed = converge::deploy(
        &mut session,
        &shipped.code,
        &shipped.zips,
        |_, _| Ok(true),
        &|_| {},
    )
    .await?;
    let counts = deployed.counts();
    let summary = if deployed.changes.is_empty() {
        "no changes".to_owned()
    } else {
        format!(
            "{} created, {} updated, {} deleted",
            counts.create, counts.update, counts.delete
        )
    };
    // Counted as `plan --offline` and `deploy` count: the app's resources, not the artifacts.
    let deployed_here = plan_view::count(plan);
    let which = if deployed_here == resources {
        format!("its {resources} resources")
    } else {
        format!("{deployed_here} of its {resources} resources (this runner does the rest itself)")
    };
    say(&format!(
        "Deployed the app there: {which}; {summary} in {:.2} s.",
        deployed.elapsed.as_secs_f64()
    ));
    Ok(())
}

/// The names given to `--fire` must be schedule handlers (exit status 2 otherwise).
fn check_fire(plan: &Plan, fire: &[String]) -> Result<Vec<String>, HandlerError> {
    let schedules = schedules_of(plan);
    for name in fire {
        function_for(plan, name)?;
        if !schedules.contains(name) {
            let kind = Origin::for_handler(plan, name, &SampleContext::new("us-east-1"))
                .map_or("non-schedule", |o| o.kind().keyword());
            return Err(HandlerError::KindMismatch {
                handler: name.clone(),
                actual: kind,
                asked: "schedule",
            });
        }
    }
    Ok(fire.to_vec())
}

/// The handlers bound to schedules.
fn schedules_of(plan: &Plan) -> Vec<String> {
    plan.rules
        .iter()
        .filter(|r| r.schedule_expression.is_some())
        .map(|r| r.function.clone())
        .collect()
}

fn function_config(f: &Function, ctx: &AwsContext) -> FunctionConfig {
    FunctionConfig {
        function_name: f.name.clone(),
        region: ctx.region.clone(),
        account_id: ctx.account.clone(),
        memory_mb: f.memory_mb,
        version: "$LATEST".to_owned(),
        timeout: Duration::from_secs(u64::from(f.timeout_s)),
    }
}

/// The function's environment; in our own emulator also its endpoint and credentials, so handler
/// code that calls AWS reaches the emulator (a configured endpoint is inherited as it is).
fn function_env(f: &Function, own_emulator: Option<&str>) -> BTreeMap<String, String> {
    let mut env = f.runtime_env();
    if let Some(endpoint) = own_emulator {
        env.insert("AWS_ENDPOINT_URL".into(), endpoint.into());
        env.insert("AWS_ACCESS_KEY_ID".into(), emulator::ACCESS_KEY.into());
        env.insert("AWS_SECRET_ACCESS_KEY".into(), emulator::SECRET_KEY.into());
    }
    env
}

/// Reads schedule names from the terminal and fires them (a thread: a blocking read must not hold
/// up the runtime's shutdown).
fn read_fire_commands(fires: BTreeMap<String, Arc<Notify>>) {
    say("Type a schedule's name and Enter to fire it now.");
    std::thread::spawn(move || {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            let name = line.trim();
            match fires.get(name) {
                Some(fire) => fire.notify_one(),
                None if name.is_empty() => {}
                None => say(&format!(
                    "`{name}` is not a schedule; schedules: {}",
                    fires.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
            }
            line.clear();
        }
    });
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminate = async {
        match term.as_mut() {
            Some(term) => {
                term.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// Stops pollers (giving them a moment), the handlers' processes, and, against a configured
/// endpoint, removes the runner's own queues, subscriptions, notification entries and targets.
async fn stop(
    tasks: &mut JoinSet<()>,
    handlers: &BTreeMap<String, Arc<LocalHandler>>,
    clients: &Clients,
    journal: &mut Journal,
    configured_endpoint: bool,
) {
    let drained = tokio::time::timeout(STOP_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tasks.abort_all();
    }
    futures_util::future::join_all(handlers.values().map(|h| h.stop())).await;
    // In our own emulator everything goes with it.
    let cleanup = journal.take_items();
    if configured_endpoint {
        let mut failed = Vec::new();
        for item in cleanup.into_iter().rev() {
            if undo(clients, &item).await.is_err() {
                failed.push(item);
            }
        }
        // Tried once more when the runner has stopped, and kept for the next runner if that fails.
        for item in failed.into_iter().rev() {
            journal.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let source = include_str!("../../../events.chalice");
        let model = chalice_codegen::load("events.chalice", source).unwrap();
        chalice_codegen::emit_plan::plan(&model, "dev").unwrap()
    }

    /// At a configured endpoint the app's functions are looked up all at once (one round trip, not
    /// one per function), and one that is missing makes the app undeployed there.
    #[tokio::test]
    async fn every_function_is_read_side_by_side() {
        let source = "app fns\nschedule one rate(1 hour)\nschedule two rate(1 hour)\n\
                      schedule three rate(1 hour)\n";
        let model = chalice_codegen::load("events.chalice", source).unwrap();
        let plan = chalice_codegen::emit_plan::plan(&model, "dev").unwrap();
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let program = emulator::find_moto_server(&workspace)
            .expect("moto_server: run scripts/moto.sh or set MOTO_SERVER");
        let emulator = Emulator::start(&program).await.unwrap();
        let clients = emulator.clients(DEFAULT_REGION.into()).await;
        let one_round_of_reads = |clients: &Clients| {
            let calls = clients.calls().take();
            let names: Vec<String> = calls.iter().map(ToString::to_string).collect();
            assert_eq!(names, ["Lambda.GetFunction"; 3]);
            assert_eq!(aws::calls::sequential_round_trips(&calls), 1, "{calls:#?}");
        };

        assert!(!every_function_exists(&plan, &clients).await.unwrap());
        one_round_of_reads(&clients);

        let work = tempfile::tempdir().unwrap();
        deploy_app(
            &plan,
            plan.functions.len(),
            &clients,
            work.path().join("dev.json"),
        )
        .await
        .unwrap();
        clients.calls().take();
        assert!(every_function_exists(&plan, &clients).await.unwrap());
        one_round_of_reads(&clients);

        clients
            .lambda
            .delete_function()
            .function_name("fns-dev-two")
            .send()
            .await
            .unwrap();
        clients.calls().take();
        assert!(!every_function_exists(&plan, &clients).await.unwrap());
        one_round_of_reads(&clients);
        emulator.stop().await.unwrap();
    }

    #[test]
    fn only_schedules_can_be_fired() {
        let plan = plan();
        assert_eq!(schedules_of(&plan), ["every_hour", "nightly"]);
        assert!(check_fire(&plan, &["nightly".into()]).is_ok());
        let err = check_fire(&plan, &["on_order".into()]).unwrap_err();
        assert!(matches!(err, HandlerError::KindMismatch { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "handler `on_order` is a queue handler, not a schedule one"
        );
        let err = check_fire(&plan, &["nightyl".into()]).unwrap_err();
        assert!(err.to_string().contains("did you mean `nightly`"), "{err}");
    }

    #[test]
    fn handlers_in_our_emulator_are_pointed_at_it() {
        let plan = plan();
        let f = plan.function("on_order").unwrap();
        let env = function_env(f, Some("http://127.0.0.1:5000"));
        assert_eq!(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:5000");
        assert_eq!(
            env["AWS_LAMBDA_LOG_LEVEL"], "INFO",
            "the function's logging config"
        );
        assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON");
        assert!(!function_env(f, None).contains_key("AWS_ENDPOINT_URL"));
    }

    #[test]
    fn our_emulator_gets_no_layers_managed_policies_or_given_roles() {
        let source = "app a\ndefaults { layers = [\"arn:aws:lambda:us-east-1:123456789012:layer:x:1\"], \
                      managed_policies = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"] }\n\
                      stage prod { role = \"arn:aws:iam::123456789012:role/given\" }\n\
                      queue q \"jobs\"\n";
        let model = chalice_codegen::load("events.chalice", source).unwrap();
        let mut dev = chalice_codegen::emit_plan::plan(&model, "dev").unwrap();
        let notes = without_what_only_aws_has(&mut dev);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(dev.functions[0].layers.is_empty());
        assert!(dev.roles[0].managed_policies.is_empty());
        let mut prod = chalice_codegen::emit_plan::plan(&model, "prod").unwrap();
        assert!(prod.roles.is_empty());
        without_what_only_aws_has(&mut prod);
        let role = prod.role("q").expect("an own role in the emulator");
        assert!(role.statements.iter().any(|s| s.sid == "SqsConsume"));
        assert!(matches!(prod.functions[0].role, FunctionRole::Own { .. }));
    }
}
