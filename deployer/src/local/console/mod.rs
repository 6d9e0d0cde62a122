//! What `deployer local` prints: its own messages on stderr ([`say`]), the copy-paste commands that
//! send each handler an event ([`hints`], printed by [`print_hints`]), and one record per invocation on
//! stdout ([`output`]).

pub mod hints;
pub mod output;

use chalice_codegen::plan::{AwsContext, Plan};

/// The runner's own messages go to stderr; invocations go to stdout.
pub fn say(line: &str) {
    eprintln!("{line}");
}

/// The copy-paste commands for `plan`'s handlers, under a heading (nothing when there are none).
pub fn print_hints(plan: &Plan, ctx: &AwsContext, endpoint: &str, style: hints::Style) {
    let hints = hints::commands(plan, ctx, endpoint, style);
    let readers = hints::failure_readers(plan, ctx, endpoint, style);
    if hints.is_empty() && readers.is_empty() {
        return;
    }
    say("\nSend events (copy and paste):");
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
