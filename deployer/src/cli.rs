//! The `deployer` command line: arguments, dispatch to [`crate::commands`], error reporting, exit codes.

use std::error::Error as _;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{self, CommandError};
use crate::commands::{AppArg, LiveOptions};
use crate::project::ProjectError;
use crate::project::app_file::LoadError;
use crate::project::bootstrap_arg::{BootstrapArg, Bootstraps};
use crate::project::builder::Builder;

pub use crate::commands::{EXIT_CHANGES, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

const AFTER_HELP: &str = "\
Examples:
  deployer new orders                            a new app crate in ./orders, then the next commands
  deployer check                                 validate ./events.chalice
  deployer check --app path/to/events.chalice
  deployer plan --offline                        what stage `dev` would create
  deployer plan --offline --stage prod --json > plan.json
  deployer plan                                  what deploying `dev` would change in AWS
  deployer deploy                                build, plan, confirm, apply
  deployer deploy --yes --bootstrap target/x86_64-unknown-linux-musl/release/bootstrap
  deployer delete --yes                          remove everything stage `dev` deployed
  deployer package --format sam                  a SAM template of stage `dev`, and its code zip
  deployer sample queue                          a sample SQS event, as Lambda delivers it
  deployer invoke on_order --sample              run a handler locally on its sample event
  deployer invoke on_order --remote --sample     invoke the deployed function in AWS
  deployer logs on_order --follow                its CloudWatch Logs, as they arrive
  deployer local                                 run the whole app locally, events and all
  deployer local send on_order --sample          send the running app's on_order an event

Exit status:
  0  success (check: the app file is valid)
  1  the app file has errors, or the command failed (file not found, unknown stage, ...)
  2  the command line is wrong (unknown subcommand or flag, missing value)";

/// Plans, deploys and deletes a chalice-rs app's Lambda functions and event sources.
#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    long_about = "Plans, deploys and deletes a chalice-rs app's Lambda functions and event sources.\n\n\
        The app is described by `events.chalice` (one line per handler and the event source that \
        invokes it). `new` creates an app crate around one, `check` validates it, `plan` shows what deploying a stage would change, `deploy` \
        makes it so, `delete` removes it. AWS settings (region, credentials, endpoint) come from the \
        standard AWS configuration chain.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// When to colour the output.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// The AWS profile to use (wins over AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// The AWS region to use (wins over AWS_REGION and the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// `json`: check, plan, deploy and delete print one JSON document on stdout (progress stays on
    /// stderr); the same as their `--json`.
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new app: a standalone crate with events.chalice, build.rs and a handler that compiles.
    #[command(
        long_about = "Create a new app: a standalone crate with events.chalice, build.rs and a handler that compiles.\n\n\
            Writes, into ./NAME (or --dir PATH, which must not exist or be empty; nothing is ever \
            overwritten): Cargo.toml (the package NAME with its `bootstrap` binary, chalice-runtime as a \
            dependency and chalice-codegen as a build-dependency, release settings for a small binary), \
            build.rs (`chalice_codegen::build::run()`), events.chalice (`app NAME` and one binding: a \
            schedule, `hourly`), src/main.rs (`App`, implementing the generated `Handlers` trait) and \
            .gitignore. Then it prints the next commands.\n\n\
            NAME is the crate's name and the app's (it prefixes every AWS resource name, \
            `<app>-<stage>-<handler>`): lowercase ASCII letters, digits, `-` and `_`, starting with a \
            letter, not a Rust keyword, at most 53 characters.\n\n\
            The chalice-rs crates come from crates.io at this deployer's version (or --chalice-version \
            VER), from a checkout (--chalice-path, the directory holding runtime/ and codegen/), or from a \
            git repository (--chalice-git URL, at --rev REV).",
        after_help = "Examples:\n  deployer new orders\n  deployer new orders --dir services/orders\n  \
            deployer new orders --chalice-path ~/src/chalice-rs\n  \
            deployer new orders --chalice-git https://github.com/chalice-rs/chalice-rs --rev v0.1.0\n  \
            cd orders && deployer check && deployer invoke hourly --sample\n\n\
            Exit status: 0 when the app was created, 1 when it was not (the directory is not empty, the \
            checkout has no runtime/ or codegen/, a file cannot be written), 2 when the command line is \
            wrong (an invalid NAME, --rev without --chalice-git, two sources)."
    )]
    New(commands::new::NewArgs),
    /// Validate the app file and summarise it.
    #[command(
        long_about = "Validate the app file and summarise it.\n\n\
            Every problem is reported with its place in the file and a hint, on stderr. \
            On success one line on stdout names the app, its handlers by kind and its stages.",
        after_help = "Examples:\n  deployer check\n  deployer check --app services/orders/events.chalice\n\n\
            Exit status: 0 when the file is valid, 1 when it has errors or cannot be read."
    )]
    Check(CheckArgs),
    /// Show what deploying a stage would change (or, offline, every resource it needs).
    #[command(
        long_about = "Show what deploying a stage would change.\n\n\
            Reads what is deployed (and the deploy record in .chalice-rs/deployed/<stage>.json) and prints \
            `+ create`, `~ update` (with `field: old → new` lines) and `- delete` per resource, then \
            `Plan: A to create, U to update, D to delete.` or `No changes. Everything is up to date.` \
            Nothing is written to AWS. The code is compared only with --bootstrap FILE (or --out).\n\n\
            With --out FILE the plan is saved with what it was computed against (the stage's plan, the code's \
            hash, the account and region): `deployer deploy --plan FILE` applies exactly it, and refuses, \
            writing nothing, when anything moved since. Without --bootstrap the code is then built as \
            `deploy` builds it.\n\n\
            With --offline nothing is read from AWS: every resource shows as `+ create`, and ARNs keep \
            their {partition}, {region} and {account} placeholders (filled in at deploy time).",
        after_help = "Examples:\n  deployer plan\n  deployer plan --json\n  deployer plan --offline\n  \
            deployer plan --offline --stage prod\n  deployer plan --offline --json | jq '.functions[].name'\n  \
            deployer plan --stage prod --bootstrap bootstrap --out prod.plan.json --detailed-exitcode\n\n\
            Exit status: 0 on success, 1 when the app file has errors, the stage is unknown, or AWS cannot be read. \
            With --detailed-exitcode: 0 when there is nothing to change, 2 when there are changes, 1 on error."
    )]
    Plan(PlanArgs),
    /// Build the bootstrap, plan against what is deployed, confirm, and apply.
    #[command(
        long_about = "Build the bootstrap, plan against what is deployed, confirm, and apply.\n\n\
            The bootstrap is built in release mode for each architecture the app uses (with --builder, \
            by default plain cargo when this machine links the target, else cargo zigbuild), or taken \
            from --bootstrap (checked first: a Linux executable for its functions' architecture, built \
            from this app), zipped deterministically and uploaded once to the artifacts bucket \
            chalice-rs-artifacts-<account>-<region>, only when its hash changed. The plan is shown; on a \
            terminal you are asked to confirm (pass --yes elsewhere). Progress goes to stderr. Every \
            resource is recorded in .chalice-rs/deployed/<stage>.json as soon as it exists, so an interrupted \
            deploy is resumed by running it again. A deploy with nothing changed makes no write call. Every \
            missing source is reported before anything is compiled. While it writes, the deploy holds the \
            stage's lock in the artifacts bucket: another deploy or delete of the stage, from any machine, \
            waits for it (--lock-timeout) or stops naming its holder.",
        after_help = "Examples:\n  deployer deploy\n  deployer deploy --stage prod --yes\n  \
            deployer deploy --yes --bootstrap target/x86_64-unknown-linux-musl/release/bootstrap\n  \
            deployer deploy --builder zigbuild                              # arm64 too, from any host\n  \
            deployer deploy --bootstrap x86_64=target/lambda/bootstrap/bootstrap.zip,arm64=arm64/bootstrap\n  \
            deployer deploy --plan prod.plan.json --bootstrap bootstrap   # a reviewed plan, exactly\n\n\
            Exit status: 0 on success (or nothing to do), 1 on any failure (what was done is said; run it again to resume)."
    )]
    Deploy(DeployArgs),
    /// Write a stage as a CloudFormation or SAM template, with the bootstrap zips it references.
    #[command(
        long_about = "Write a stage as a CloudFormation or SAM template, with the bootstrap zips it references.\n\n\
            The template makes what `deploy` makes, from the same plan, with the same names and settings: \
            each function's own role (under /chalice/<app>/<stage>/) with its inline policy and managed \
            policies, log groups with a retention (kept when the stack is deleted), functions, rules and \
            their targets, permissions, SNS subscriptions, event source mappings and event invoke \
            configurations. This app's entries in a bucket's notifications are merged in by a custom \
            resource (an inline Python function), which keeps every other entry of the bucket.\n\n\
            The bootstrap is built as `deploy` builds it (release, per architecture; --target; or \
            --bootstrap FILE) and zipped deterministically: the same input gives the same bytes.\n\n\
            --format cloudformation writes template.json; its functions take their code from S3 \
            (parameter CodeBucket, and a key per architecture that defaults to the zip's content-addressed \
            key). --format sam writes template.yaml (AWS::Serverless::Function with SQS, Kinesis, DynamoDB \
            and SNS events); `sam deploy` uploads the zips it names. A table bound by name becomes a \
            parameter <Handler>StreamArn (its latest stream ARN). The files go to --out DIR, by default \
            .chalice-rs/package/<stage>/ beside the app file; the commands to upload and deploy them, with \
            every parameter, are printed on stdout. Nothing is read from or written to AWS.",
        after_help = "Examples:\n  deployer package --format cloudformation\n  \
            deployer package --format sam --stage prod --out build/sam\n  \
            deployer package --format cloudformation --bootstrap target/x86_64-unknown-linux-musl/release/bootstrap\n\n\
            Exit status: 0 on success, 1 when the app file has errors, the stage is unknown or the build fails, \
            2 when the command line is wrong."
    )]
    Package(PackageArgs),
    /// Remove everything a stage deployed, and nothing else.
    #[command(
        long_about = "Remove everything a stage deployed, and nothing else.\n\n\
            Deletes what the deploy record lists and what the plan's names find in AWS: functions, their \
            rules, permissions, subscriptions, mappings, this app's bucket notification entries (others' \
            entries are kept), the functions' own roles and their policy attachments (a role given with \
            `role = \"ARN\"` is never touched), the stage's code zips (and the artifacts bucket, if this \
            stage made it and it is empty). The functions' log groups are kept, with their logs, unless \
            --logs is given. Running it again finds nothing and says so.",
        after_help = "Examples:\n  deployer delete\n  deployer delete --stage prod --yes\n  \
            deployer delete --logs      # the functions' log groups too\n\n\
            Exit status: 0 on success (or nothing to delete), 1 on any failure."
    )]
    Delete(DeleteArgs),
    /// Print a sample event, exactly as Lambda delivers it, for a kind or a handler's binding.
    #[command(
        long_about = "Print a sample event, exactly as Lambda delivers it, as JSON on stdout.\n\n\
            Shapes follow AWS's documented events. With --handler the sample is filled in from that \
            binding: its bucket and a key under its prefix and suffix, its queue, topic, stream or table \
            stream ARN, its rule's source and detail-type, its schedule's rule ARN. ARNs name the \
            placeholder account 123456789012 in the configured region (AWS_REGION, else the profile's, \
            else us-east-1). Nothing is read from AWS.",
        after_help = "Examples:\n  deployer sample bucket\n  deployer sample --handler on_upload\n  \
            deployer sample --handler on_order > order.json && deployer invoke on_order --event order.json\n\n\
            Exit status: 0 on success, 1 when the app file has errors or the stage is unknown, \
            2 when the command line is wrong (unknown kind or handler, a KIND that is not the handler's)."
    )]
    Sample(commands::sample::SampleArgs),
    /// Run a handler locally through the real bootstrap and a local Lambda Runtime API.
    #[command(
        long_about = "Run a handler locally through the real bootstrap and a local Lambda Runtime API.\n\n\
            The bootstrap is built with `cargo build --bin bootstrap` (debug; --release for release) \
            unless --bootstrap FILE is given, and runs as Lambda runs it: polling a Runtime API on \
            127.0.0.1, with the function's settings for the stage (memory, timeout as the invocation's \
            deadline, environment, _HANDLER). The event comes from --event FILE (`-` for stdin) or \
            --sample (what `deployer sample --handler HANDLER` prints). The response goes to stdout as \
            JSON; the handler's logs and a REPORT line (durations, memory) go to stderr. A failed \
            invocation prints Lambda's error object ({\"errorType\", \"errorMessage\"}) on stdout. \
            An invocation that outlives the function's timeout is stopped.\n\n\
            With --remote nothing is built or run here: the function deployed in the stage \
            (<app>-<stage>-<handler>) is invoked with Lambda's Invoke (synchronously, with the log \
            tail). The event is optional then (`{}` without --event or --sample). The response goes to \
            stdout as JSON, the last 4 KB of its log (START, END and REPORT lines included) to stderr; \
            a function error prints Lambda's error object on stdout. AWS settings come from the \
            standard AWS configuration chain.",
        after_help = "Examples:\n  deployer invoke on_order --sample\n  \
            deployer invoke on_upload --event upload.json --stage prod\n  \
            deployer sample --handler on_order | deployer invoke on_order --event -\n  \
            deployer invoke on_order --sample --bootstrap target/debug/bootstrap\n  \
            deployer invoke on_order --remote --sample\n  \
            deployer invoke nightly --remote --stage prod\n\n\
            Exit status: 0 when the handler succeeded, 1 when it failed or timed out (or the app file, \
            the event or the build is wrong; with --remote: the function is not deployed or AWS cannot \
            be reached), 2 when the command line is wrong (unknown handler, neither --event nor \
            --sample without --remote)."
    )]
    Invoke(commands::invoke::InvokeArgs),
    /// Print a deployed function's CloudWatch Logs; with --follow, keep printing new ones.
    #[command(
        long_about = "Print a deployed function's CloudWatch Logs; with --follow, keep printing new ones.\n\n\
            Reads the log group /aws/lambda/<app>-<stage>-<handler> from --since on (default: the \
            last 10 minutes) and prints one line per event on stdout, oldest first: \
            `2026-11-25T15:40:01.123Z  <log stream>  <message>`. With --follow it asks for new events \
            every second until Ctrl-C, printing each event once. A function that has not logged yet \
            has no log group: that is said on stderr (with --follow, once, and it waits for it). \
            AWS settings come from the standard AWS configuration chain.",
        after_help = "Examples:\n  deployer logs on_order\n  deployer logs on_order --since 2h\n  \
            deployer logs on_upload --stage prod --since 2026-11-25T15:00:00Z\n  \
            deployer logs on_order --follow\n  \
            deployer invoke on_order --remote --sample && deployer logs on_order --since 1m\n\n\
            Exit status: 0 on success (also when there are no logs yet, and after Ctrl-C with --follow), \
            1 when the app file has errors, the stage is unknown or AWS cannot be read, 2 when the \
            command line is wrong (unknown handler, a --since that is neither a duration nor a time)."
    )]
    Logs(commands::logs::LogsArgs),
    /// Run the whole app locally: an emulator, its event sources, and every event delivered to the handlers.
    #[command(
        long_about = "Run the whole app locally, with events delivered to the handlers as Lambda delivers them.\n\n\
            AWS is the configured endpoint (AWS_ENDPOINT_URL, or a profile's endpoint_url); when none is \
            configured, a local AWS emulator (moto server, installed by scripts/local.sh or scripts/moto.sh) is \
            started on a free 127.0.0.1 port, and the buckets, topics, queues, streams and tables the app file \
            names are created in it (a configured endpoint must have them; missing ones are named). The app is \
            deployed there as `deploy` would (a placeholder code zip: the emulator never runs functions; this \
            process does, each handler in its own `bootstrap` behind a local Lambda Runtime API).\n\n\
            Delivery: queues are long-polled with the binding's batch size and window, messages deleted on \
            success, only a partial batch's failed messages left for redelivery after the visibility timeout; \
            streams and tables are read shard by shard in order from their starting position, with checkpoints; \
            topics, buckets and pattern rules are routed by the emulator into queues the runner owns (so the \
            emulator does the filtering and pattern matching), then delivered one event at a time; schedules \
            fire on a local clock (--fire NAME fires one at start; on a terminal, type its name and Enter).\n\n\
            Each invocation is one line on stdout (time, handler, event, duration, result) with the handler's \
            log lines beneath it (--json: one JSON object per line). Everything else goes to stderr. When the \
            code under src/ changes, the bootstrap is rebuilt and each handler restarts with it at its next \
            event. Ctrl-C stops the pollers and the handlers, removes the runner's own queues, subscriptions, \
            notification entries and rule targets, gives the functions back their rule targets and event \
            source mappings (disabled while it runs: it is the poller), stops the emulator it started, and exits 0. A deploy to a configured endpoint is recorded in .chalice-rs/local/<stage>.json.\n\n\
            While it runs, the runner's endpoint, region and stage are in .chalice-rs/local/<stage>.runner.json \
            (removed on exit): `deployer local send HANDLER` reads it to send a handler an event.",
        after_help = "Examples:\n  deployer local\n  deployer local --fire nightly\n  deployer local --json | jq .\n  \
            AWS_ENDPOINT_URL=http://127.0.0.1:4566 deployer local --stage prod\n  \
            deployer local --bootstrap target/debug/bootstrap --no-watch\n  \
            deployer local send on_order --sample           (from another terminal)\n\n\
            Exit status: 0 when stopped with Ctrl-C (or SIGTERM), 1 when it cannot start (no emulator, a \
            missing source, a failed build or deploy), 2 when the command line is wrong (--fire of a handler \
            that is not a schedule).",
        args_conflicts_with_subcommands = true
    )]
    Local(commands::local::LocalArgs),
    /// Print a shell completion script for `deployer` (bash, zsh, fish, elvish, powershell).
    #[command(
        long_about = "Print a shell completion script for `deployer`.\n\n\
            Load it in the current shell, or install it where your shell looks for completions.",
        after_help = "Examples:\n  source <(deployer completions bash)\n  \
            deployer completions zsh > \"${fpath[1]}/_deployer\"\n  \
            deployer completions fish > ~/.config/fish/completions/deployer.fish"
    )]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub app: AppArg,
    /// Print the result (the handlers and warnings, or the errors) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub app: AppArg,
    /// The stage to plan: `dev` or one the app file declares.
    #[arg(long, value_name = "NAME", default_value = chalice_codegen::model::DEFAULT_STAGE)]
    pub stage: String,
    /// Plan without contacting AWS (everything shows as a creation).
    #[arg(long)]
    pub offline: bool,
    /// Print the plan as JSON on stdout (and nothing else there).
    #[arg(long)]
    pub json: bool,
    /// Compare the deployed code with this prebuilt bootstrap (live plan; otherwise code is not
    /// compared, unless --out is given: then it is built as `deploy` builds it). FILE for an app on
    /// one architecture, or ARCH=FILE per architecture (x86_64=FILE,arm64=FILE; repeatable); a binary
    /// or a zip with a `bootstrap` entry (cargo lambda's outputs). Each is checked, before AWS is
    /// asked anything, to be a Linux executable for its functions' architecture, built from this app.
    #[arg(long, value_name = "FILE|ARCH=FILE", conflicts_with = "offline")]
    pub bootstrap: Vec<BootstrapArg>,
    /// With --out and no --bootstrap: build for this target instead of `<arch>-unknown-linux-musl`.
    #[arg(
        long,
        value_name = "TRIPLE",
        requires = "out",
        conflicts_with = "bootstrap"
    )]
    pub target: Option<String>,
    /// With --out and no --bootstrap: the build tool (default: cargo when this machine links the
    /// target, else cargo zigbuild when installed).
    #[arg(
        long,
        value_enum,
        value_name = "TOOL",
        requires = "out",
        conflicts_with = "bootstrap"
    )]
    pub builder: Option<BuilderChoice>,
    /// Save the live plan (the changes, what they were computed against, the code's hash) to FILE, for
    /// `deploy --plan FILE`.
    #[arg(long, value_name = "FILE", conflicts_with = "offline")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there is nothing to change, 2 when there are changes, 1 on error (for CI).
    #[arg(long, conflicts_with = "offline")]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// How `deploy` and `delete` deal with another deploy of the stage (the lock in the artifacts bucket).
#[derive(Debug, Args)]
pub struct LockArgs {
    /// How long to wait, in seconds, for another deploy or delete of the stage to finish before
    /// stopping (0: stop at once).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub lock_timeout: u64,
    /// Remove the stage's deploy lock held by another deploy first: only when that deploy no longer
    /// runs (killed, its machine gone). A lock of a process gone from this machine is taken over anyway.
    #[arg(long)]
    pub force_unlock: bool,
}

impl From<LockArgs> for crate::engine::lock::LockOptions {
    fn from(a: LockArgs) -> Self {
        crate::engine::lock::LockOptions {
            timeout: std::time::Duration::from_secs(a.lock_timeout),
            force_unlock: a.force_unlock,
        }
    }
}

/// Options of every command that talks to AWS.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// Attempts per AWS call, with backoff (default: AWS_MAX_ATTEMPTS, else 3).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: Option<u32>,
    /// Write how many AWS calls were made (total, reads, writes, per phase) as JSON to FILE (`-`: stderr).
    #[arg(long, value_name = "FILE")]
    pub calls: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub app: AppArg,
    /// The stage to deploy: `dev` or one the app file declares.
    #[arg(long, value_name = "NAME", default_value = chalice_codegen::model::DEFAULT_STAGE)]
    pub stage: String,
    /// Apply without asking for confirmation (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Ship this prebuilt bootstrap instead of building one: FILE for an app on one architecture, or
    /// ARCH=FILE per architecture (x86_64=FILE,arm64=FILE; repeatable); a binary or a zip with a
    /// `bootstrap` entry (cargo lambda's `target/lambda/<bin>/bootstrap[.zip]`). Each is checked,
    /// before AWS is asked anything, to be a Linux executable for its functions' architecture, built
    /// from this app.
    #[arg(long, value_name = "FILE|ARCH=FILE")]
    pub bootstrap: Vec<BootstrapArg>,
    /// Build for this target instead of `<arch>-unknown-linux-musl`.
    #[arg(long, value_name = "TRIPLE", conflicts_with = "bootstrap")]
    pub target: Option<String>,
    /// The build tool (default: cargo when this machine links the target, else cargo zigbuild when
    /// installed).
    #[arg(long, value_enum, value_name = "TOOL", conflicts_with = "bootstrap")]
    pub builder: Option<BuilderChoice>,
    /// Print the changes applied and the functions as JSON on stdout (and nothing else there); needs
    /// --yes (or --plan).
    #[arg(long)]
    pub json: bool,
    /// Apply exactly this saved plan (`deployer plan --out FILE`), without asking: refused, with
    /// nothing written, when what is deployed or the code changed since it was made. Its stage is the
    /// plan's.
    #[arg(long, value_name = "FILE", conflicts_with = "stage")]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The template format of `deployer package`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateFormat {
    /// template.json: plain CloudFormation, code from S3 (CodeBucket parameter).
    Cloudformation,
    /// template.yaml: AWS SAM, code from the zips beside it (`sam deploy` uploads them).
    Sam,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    #[command(flatten)]
    pub app: AppArg,
    /// The template format.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: TemplateFormat,
    /// The stage to package: `dev` or one the app file declares.
    #[arg(long, value_name = "NAME", default_value = chalice_codegen::model::DEFAULT_STAGE)]
    pub stage: String,
    /// Where to write the template and zips (default: .chalice-rs/package/<stage>/ beside the app file).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Ship this prebuilt bootstrap instead of building one: FILE, or ARCH=FILE per architecture, as
    /// `deploy --bootstrap` takes it (checked the same way).
    #[arg(long, value_name = "FILE|ARCH=FILE")]
    pub bootstrap: Vec<BootstrapArg>,
    /// Build for this target instead of `<arch>-unknown-linux-musl`.
    #[arg(long, value_name = "TRIPLE", conflicts_with = "bootstrap")]
    pub target: Option<String>,
    /// The build tool, as for `deploy`.
    #[arg(long, value_enum, value_name = "TOOL", conflicts_with = "bootstrap")]
    pub builder: Option<BuilderChoice>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub app: AppArg,
    /// The stage to delete.
    #[arg(long, value_name = "NAME", default_value = chalice_codegen::model::DEFAULT_STAGE)]
    pub stage: String,
    /// Delete without asking for confirmation (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Also delete each function's log group (`/aws/lambda/<function>`) and the logs in it.
    #[arg(long)]
    pub logs: bool,
    /// Print what was deleted as JSON on stdout (and nothing else there); needs --yes.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The tool that builds the bootstrap (`--builder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuilderChoice {
    /// `cargo build`: the host's linker (the host's target, or a musl target of its architecture).
    Cargo,
    /// `cargo zigbuild`: any Linux target from any host, arm64 included
    /// (`pip install ziglang && cargo install cargo-zigbuild`).
    Zigbuild,
    /// `cross build`: in a Docker image for the target (`cargo install cross`).
    Cross,
}

impl From<BuilderChoice> for Builder {
    fn from(choice: BuilderChoice) -> Builder {
        match choice {
            BuilderChoice::Cargo => Builder::Cargo,
            BuilderChoice::Zigbuild => Builder::Zigbuild,
            BuilderChoice::Cross => Builder::Cross,
        }
    }
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// When writing to a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always, even into a pipe or file.
    Always,
    /// Never.
    Never,
}

impl ColorWhen {
    /// Whether to colour a stream that is (or is not) a terminal.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// Parses the process's arguments, runs the command, reports any error on stderr.
pub fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(cli) => run(cli),
        Err(e) => {
            // Help and version go to stdout with code 0; usage errors to stderr with code 2.
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_USAGE))
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    crate::aws::set_overrides(crate::aws::Overrides {
        profile: cli.profile.clone(),
        region: cli.region.clone(),
    });
    let stderr_color = cli.color.enabled(io::stderr().is_terminal());
    let stdout_color = cli.color.enabled(io::stdout().is_terminal());
    // Not locked for the whole command: `local` writes to stdout from several threads.
    let mut out = io::stdout();
    let mut exit = EXIT_OK;
    let json = cli.output == OutputFormat::Json;
    let result = match cli.command {
        Command::Check(args) => commands::check::run(
            &args.app.app,
            args.json || json,
            &mut out,
            &mut io::stderr(),
            stderr_color,
        ),
        Command::Plan(args) => bootstraps(args.bootstrap).and_then(|bootstrap| {
            let opts = commands::plan::PlanOptions {
                app: args.app.app,
                stage: args.stage,
                offline: args.offline,
                json: args.json || json,
                color: stdout_color && !(args.json || json),
                bootstrap,
                target: args.target,
                builder: args.builder.map(Builder::from),
                out: args.out,
                max_attempts: args.aws.max_attempts,
                calls: args.aws.calls,
            };
            let detailed = args.detailed_exitcode;
            commands::plan::run(&opts, &mut out).map(|changes| {
                if detailed && changes {
                    exit = EXIT_CHANGES;
                }
            })
        }),
        Command::Deploy(args) => bootstraps(args.bootstrap).and_then(|bootstrap| {
            let opts = commands::deploy::DeployOptions {
                live: LiveOptions {
                    app: args.app.app,
                    stage: args.stage,
                    max_attempts: args.aws.max_attempts,
                    calls: args.aws.calls,
                    lock: args.lock.into(),
                },
                yes: args.yes,
                bootstrap,
                target: args.target,
                builder: args.builder.map(Builder::from),
                saved_plan: args.plan,
                json: args.json || json,
                color: stdout_color,
            };
            commands::deploy::run(&opts, &mut out)
        }),
        Command::Delete(args) => {
            let opts = commands::delete::DeleteOptions {
                live: LiveOptions {
                    app: args.app.app,
                    stage: args.stage,
                    max_attempts: args.aws.max_attempts,
                    calls: args.aws.calls,
                    lock: args.lock.into(),
                },
                yes: args.yes,
                logs: args.logs,
                json: args.json || json,
                color: stdout_color,
            };
            commands::delete::run(&opts, &mut out)
        }
        Command::Package(args) => bootstraps(args.bootstrap).and_then(|bootstrap| {
            let opts = commands::package::PackageOptions {
                app: args.app.app,
                stage: args.stage,
                format: match args.format {
                    TemplateFormat::Cloudformation => crate::template::Format::CloudFormation,
                    TemplateFormat::Sam => crate::template::Format::Sam,
                },
                out: args.out,
                bootstrap,
                target: args.target,
                builder: args.builder.map(Builder::from),
            };
            commands::package::run(&opts, &mut out)
        }),
        Command::New(args) => commands::new::run(&args, &mut out),
        Command::Sample(args) => commands::sample::run(&args, &mut out),
        Command::Invoke(args) => commands::invoke::run(&args, &mut out),
        Command::Logs(args) => commands::logs::run(&args, &mut out),
        Command::Local(args) => commands::local::run(args, stdout_color, &mut out),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "deployer", &mut out);
            Ok(())
        }
    };
    let result = result.and_then(|()| out.flush().map_err(CommandError::from));
    match result {
        Ok(()) => ExitCode::from(exit),
        Err(e) => {
            report(&e, stderr_color);
            ExitCode::from(e.exit_code())
        }
    }
}

/// The `--bootstrap` values given, combined.
fn bootstraps(args: Vec<BootstrapArg>) -> Result<Option<Bootstraps>, CommandError> {
    Bootstraps::combine(args).map_err(|e| CommandError::Project(e.into()))
}

/// Writes `e` to stderr: an invalid app file as rendered diagnostics, anything else as
/// `error: ...` with its causes.
fn report(e: &CommandError, color: bool) {
    let mut err = io::stderr().lock();
    if let CommandError::Output(io) = e
        && io.kind() == io::ErrorKind::BrokenPipe
    {
        // The reader went away (`deployer plan --offline | head`): nothing left to tell.
        return;
    }
    if let CommandError::Project(ProjectError::Load(LoadError::Invalid { diagnostics, .. })) = e {
        let _ = err.write_all(diagnostics.render(color).as_bytes());
        return;
    }
    let label = if color {
        Style::new().bold().fg_color(Some(AnsiColor::Red.into()))
    } else {
        Style::new()
    };
    let _ = writeln!(err, "{label}error{label:#}: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        let _ = writeln!(err, "  caused by: {cause}");
        source = cause.source();
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn plan_defaults_to_events_chalice_and_dev() {
        let cli = Cli::try_parse_from(["deployer", "plan", "--offline"]).unwrap();
        let Command::Plan(args) = cli.command else {
            panic!("not plan: {cli:?}");
        };
        assert_eq!(args.app.app, PathBuf::from("events.chalice"));
        assert_eq!(args.stage, "dev");
        assert!(args.offline && !args.json);
    }

    #[test]
    fn deploy_and_delete_take_the_contract_flags() {
        let cli = Cli::try_parse_from([
            "deployer",
            "deploy",
            "--yes",
            "--bootstrap",
            "b",
            "--calls",
            "c.json",
        ])
        .unwrap();
        let Command::Deploy(args) = cli.command else {
            panic!("not deploy: {cli:?}");
        };
        assert!(args.yes);
        assert_eq!(args.bootstrap, [BootstrapArg::File(PathBuf::from("b"))]);
        assert_eq!(args.aws.calls, Some(PathBuf::from("c.json")));
        assert_eq!(
            (args.stage.as_str(), args.app.app.to_str()),
            ("dev", Some("events.chalice"))
        );
        let cli = Cli::try_parse_from([
            "deployer",
            "delete",
            "--stage",
            "prod",
            "--max-attempts",
            "5",
        ])
        .unwrap();
        let Command::Delete(args) = cli.command else {
            panic!("not delete: {cli:?}");
        };
        assert!(!args.yes);
        assert_eq!(args.aws.max_attempts, Some(5));
        assert!(
            Cli::try_parse_from(["deployer", "deploy", "--bootstrap", "b", "--target", "t"])
                .is_err()
        );
        assert!(
            Cli::try_parse_from(["deployer", "plan", "--offline", "--bootstrap", "b"]).is_err()
        );
    }

    #[test]
    fn new_takes_one_source_of_the_chalice_crates() {
        let cli = Cli::try_parse_from(["deployer", "new", "orders"]).unwrap();
        let Command::New(args) = cli.command else {
            panic!("not new: {cli:?}");
        };
        assert_eq!(args.name, "orders");
        assert!(args.dir.is_none() && args.chalice_path.is_none());
        let ok = |args: &[&str]| Cli::try_parse_from(args).is_ok();
        assert!(ok(&[
            "deployer",
            "new",
            "o",
            "--chalice-git",
            "u",
            "--rev",
            "r"
        ]));
        assert!(ok(&[
            "deployer",
            "new",
            "o",
            "--dir",
            "d",
            "--chalice-path",
            "p"
        ]));
        assert!(ok(&["deployer", "new", "o", "--chalice-version", "0.1"]));
        assert!(!ok(&["deployer", "new", "o", "--rev", "r"]));
        assert!(!ok(&[
            "deployer",
            "new",
            "o",
            "--chalice-path",
            "p",
            "--chalice-git",
            "u"
        ]));
        assert!(!ok(&["deployer", "new"]));
    }

    #[test]
    fn local_runs_the_app_or_sends_an_event() {
        use crate::commands::local::LocalCommand;
        let cli =
            Cli::try_parse_from(["deployer", "local", "--fire", "nightly", "--json"]).unwrap();
        let Command::Local(args) = cli.command else {
            panic!("not local: {cli:?}");
        };
        assert!(args.command.is_none() && args.json);
        assert_eq!(args.fire, ["nightly"]);
        let cli = Cli::try_parse_from([
            "deployer", "local", "send", "on_order", "--event", "o.json", "--stage", "prod",
        ])
        .unwrap();
        let Command::Local(args) = cli.command else {
            panic!("not local: {cli:?}");
        };
        let Some(LocalCommand::Send(send)) = args.command else {
            panic!("not send: {args:?}");
        };
        assert_eq!(
            (send.handler.as_str(), send.stage.as_str()),
            ("on_order", "prod")
        );
        assert_eq!(send.event, Some(PathBuf::from("o.json")));
        assert!(
            Cli::try_parse_from(["deployer", "local", "send", "h", "--event", "f", "--sample"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["deployer", "local", "--json", "send", "h"]).is_err());
    }

    #[test]
    fn color_never_and_always_ignore_the_terminal() {
        assert!(!ColorWhen::Never.enabled(true));
        assert!(ColorWhen::Always.enabled(false));
        assert!(!ColorWhen::Auto.enabled(false));
    }
}
