//! `deployer sample`: print a sample event for a kind of binding, or for one handler's binding.

use std::io::Write;

use chalice_codegen::ast::Kind;
use clap::Args;

use super::AppArg;
use super::CommandError;
use super::invoke;
use crate::project::HandlerError;
use crate::project::plan::load_plan;
use chalice_lambda::samples::{self, KINDS};

/// `deployer sample [KIND] [--handler NAME] [--app FILE] [--stage NAME]`
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The kind of event: schedule, rule, bucket, topic, queue, stream or table (optional with --handler).
    #[arg(
        value_name = "KIND",
        required_unless_present = "handler",
        value_parser = clap::builder::PossibleValuesParser::new(KINDS),
    )]
    pub kind: Option<String>,
    /// Fill the sample in from this handler's binding (its bucket, queue, topic, stream, table or rule).
    #[arg(long, value_name = "NAME")]
    pub handler: Option<String>,
    #[command(flatten)]
    pub app: AppArg,
    /// The stage whose resource names the sample uses (with --handler).
    #[arg(long, value_name = "NAME", default_value = chalice_codegen::model::DEFAULT_STAGE)]
    pub stage: String,
}

/// Writes the sample event, pretty JSON, to `out`.
pub fn run(args: &SampleArgs, out: &mut dyn Write) -> Result<(), CommandError> {
    let kind = args.kind.as_deref().and_then(Kind::from_keyword);
    let ctx = crate::engine::runtime()?.block_on(crate::aws::sample_context());
    let event = match &args.handler {
        None => match kind {
            Some(kind) => samples::sample(kind, &ctx),
            // clap requires KIND without --handler and accepts only keywords.
            None => return Err(CommandError::Usage("name a KIND or pass --handler".into())),
        },
        Some(handler) => {
            let plan = load_plan(&args.app.app, &args.stage)?;
            let origin = invoke::origin_for(&plan, handler, &ctx)?;
            if let Some(kind) = kind
                && kind != origin.kind()
            {
                return Err(HandlerError::KindMismatch {
                    handler: handler.clone(),
                    actual: origin.kind().keyword(),
                    asked: kind.keyword(),
                }
                .into());
            }
            origin.event(&ctx)
        }
    };
    super::write_json(out, &event)
}
