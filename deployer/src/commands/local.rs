//! `deployer local`: the command line of the local runner (the engine is [`crate::local::runner`])
//! and of `deployer local send` (the engine is [`crate::local::send`]).

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::AppArg;
use super::CommandError;
use crate::local::runner::{self, RunnerOptions};
use crate::local::send::{self, Extras, Input, SendRequest};
use crate::project::ProjectError;
use crate::project::bootstrap_arg::{BootstrapArg, Bootstraps};
use crate::project::prebuilt;

/// `deployer local [--stage NAME] [--fire HANDLER]... [--json] [--no-watch] [--bootstrap FILE]`, or
/// `deployer local send HANDLER ...`
#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub command: Option<LocalCommand>,
    /// The stage whose settings the functions get (memory, timeout, environment, batch sizes).
    #[arg(long, value_name = "NAME", default_value = chalice_codegen::model::DEFAULT_STAGE)]
    pub stage: String,
    /// Fire this schedule once as soon as the app is ready (repeatable); later, type its name and Enter.
    #[arg(long, value_name = "HANDLER")]
    pub fire: Vec<String>,
    /// One JSON object per invocation on stdout (time, handler, summary, duration_ms, result, logs).
    #[arg(long)]
    pub json: bool,
    /// Do not rebuild when the code changes.
    #[arg(long)]
    pub no_watch: bool,
    /// Run this bootstrap instead of building one (implies --no-watch): FILE, or ARCH=FILE (this
    /// machine's architecture's is run); a binary, a script, or a zip with a `bootstrap` entry. An
    /// ELF binary for another machine is refused.
    #[arg(long, value_name = "FILE|ARCH=FILE")]
    pub bootstrap: Vec<BootstrapArg>,
    /// Build the bootstrap with `--release` (default: the debug profile, quicker to build).
    #[arg(long, conflicts_with = "bootstrap")]
    pub release: bool,
    #[command(flatten)]
    pub app: AppArg,
}

/// What `deployer local` does besides running the app.
#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Send a handler's event source one event, through the running app's emulator.
    #[command(
        long_about = "Send a handler's event source one event, through the running app's emulator, so the \
            runner delivers it to the handler as Lambda would.\n\n\
            The emulator is the one the running `deployer local` of the stage named in \
            .chalice-rs/local/<stage>.runner.json; without a runner, the configured AWS endpoint \
            (AWS_ENDPOINT_URL, or a profile's endpoint_url). Nothing is sent to AWS itself.\n\n\
            What the event FILE holds, by the handler's kind:\n  \
            queue     the message body (SendMessage)\n  \
            bucket    the object's content (PutObject; the key is --key, else one under the binding's \
            prefix and suffix)\n  \
            topic     the message, or {\"Subject\": ..., \"Message\": ...} (Publish)\n  \
            stream    the record's data (PutRecord; the partition key is --partition-key, else 1)\n  \
            table     the item, as DynamoDB JSON ({\"Id\": {\"S\": \"o-1\"}}) or plain JSON ({\"Id\": \"o-1\"}) \
            (PutItem)\n  \
            rule      the event's detail (source and detail-type made to match the rule's pattern), or a \
            whole {\"source\", \"detail-type\", \"detail\"} (PutEvents, to the rule's bus)\n  \
            schedule  nothing: the running runner fires it now\n\
            A body or data that is a JSON string is sent as that string's text, any other JSON as compact \
            JSON, anything else as it is.\n\n\
            --sample (the default) sends the app's own sample, samples/<handler>.json beside the app file, \
            or a generic payload of the kind when the app has none.",
        after_help = "Examples:\n  deployer local send on_order --sample\n  \
            deployer local send on_order --event order.json\n  \
            echo '{\"page\": \"/a\"}' | deployer local send on_click --event - --partition-key u-1\n  \
            deployer local send on_upload --event cat.png --key images/cat.png\n  \
            deployer local send on_audit --event row.json      (row.json: {\"Id\": \"o-1\", \"Status\": \"new\"})\n  \
            deployer local send nightly                     fire a schedule in the running runner\n  \
            AWS_ENDPOINT_URL=http://127.0.0.1:4566 deployer local send on_order --stage prod\n\n\
            Exit status: 0 when the event was sent, 1 when it could not be (no runner and no endpoint, a \
            payload that does not fit the kind, the call failed), 2 when the command line is wrong (an \
            unknown handler)."
    )]
    Send(SendArgs),
}

/// `deployer local send HANDLER [--event FILE | --sample] [--key KEY] [--partition-key KEY]
/// [--stage NAME] [--app FILE]`
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The handler whose source gets the event, as named in the app file.
    #[arg(value_name = "HANDLER")]
    pub handler: String,
    /// The payload to send: a file, or `-` for stdin (what it holds depends on the kind: see above).
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    pub event: Option<PathBuf>,
    /// Send the app's samples/<handler>.json, or a generic payload (the default).
    #[arg(long)]
    pub sample: bool,
    /// A bucket handler: the object's key (default: one under the binding's prefix and suffix).
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// A stream handler: the record's partition key (default: 1).
    #[arg(long, value_name = "KEY")]
    pub partition_key: Option<String>,
    /// The stage of the running runner.
    #[arg(long, value_name = "NAME", default_value = chalice_codegen::model::DEFAULT_STAGE)]
    pub stage: String,
    #[command(flatten)]
    pub app: AppArg,
}

/// Runs the app locally until Ctrl-C, or runs `local send`.
pub fn run(args: LocalArgs, color: bool, out: &mut dyn Write) -> Result<(), CommandError> {
    if let Some(LocalCommand::Send(send)) = args.command {
        return run_send(send, out);
    }
    let given = Bootstraps::combine(args.bootstrap).map_err(ProjectError::from)?;
    // Holds a binary taken out of a zip while the runner runs it.
    let runnable = given.as_ref().map(prebuilt::for_this_machine).transpose()?;
    let opts = RunnerOptions {
        app: args.app.app,
        stage: args.stage,
        fire: args.fire,
        json: args.json,
        color,
        watch: !args.no_watch && runnable.is_none(),
        bootstrap: runnable.as_ref().map(|r| r.path.clone()),
        release: args.release,
    };
    // Several handlers, pollers and the file watcher at once: two worker threads are plenty.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CommandError::Output)?;
    let result = runtime
        .block_on(runner::run(opts))
        .map_err(CommandError::from);
    // A build or a terminal read may still be running on a blocking thread: do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// `deployer local send`: one line on stdout saying what was sent.
fn run_send(args: SendArgs, out: &mut dyn Write) -> Result<(), CommandError> {
    let request = SendRequest {
        app: args.app.app,
        stage: args.stage,
        handler: args.handler,
        input: args.event.map_or(Input::Sample, Input::File),
        extras: Extras {
            key: args.key,
            partition_key: args.partition_key,
            bus: None,
        },
    };
    let runtime = crate::engine::runtime()?;
    let sent = runtime.block_on(send::send(&request))?;
    writeln!(out, "{}", sent.line)?;
    Ok(())
}
