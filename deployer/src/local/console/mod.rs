//! What `deployer local` prints: its own messages on stderr ([`say`]), the `deployer local send` line
//! of each handler ([`hints`], printed by [`print_hints`]), and one record per invocation on
//! stdout ([`output`]).

pub mod hints;
pub mod output;

use chalice_codegen::plan::{AwsContext, Plan};

/// The runner's own messages go to stderr; invocations go to stdout.
pub fn say(line: &str) {
    eprintln!("{line}");
}

/// The `deployer local send` line of each of `plan`'s handlers and the on-failure queues' readers,
/// under headings (nothing when there are none).
pub fn print_hints(
    plan: &Plan,
    ctx: &AwsContext,
    endpoint: &str,
    style: hints::Style,
    send: &hints::SendCommand,
    has_sample: &dyn Fn(&str) -> bool,
) {
    let hints = hints::commands(plan, ctx, send, has_sample);
    let readers = hints::failure_readers(plan, ctx, endpoint, style);
    if hints.is_empty() && readers.is_empty() {
        return;
    }
    say("\nSend events (from another terminal):");
    for hint in hints {
        say(&format!(
            "  # {} ({}): {}",
            hint.handler,
            hint.kind.keyword(),
            hint.about
        ));
        say(&format!("  {}", hint.command));
    }
    if !readers.is_empty() {
        say("\nRead on-failure records:");
        for reader in readers {
            say(&format!("  # {}", reader.about));
            say(&format!("  {}", reader.command));
        }
    }
    say("");
}
