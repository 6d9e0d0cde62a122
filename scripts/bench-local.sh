#!/usr/bin/env bash
# `deployer local` figures (issue #4), printed as small tables:
#   - `deployer invoke on_order --sample --bootstrap target/release/bootstrap`, end to end (median, p90);
#   - event sent through the emulator (AWS SDK for Rust) -> handler start, per kind (queue, topic, bucket,
#     rule, stream, table), median and p90, on a copy of events.chalice without batching windows;
#   - idle `deployer local` CPU over a quiet minute after Ready: the deployer, the moto server it started
#     and the bootstraps, each and in total, as % of one core (utime+stime from /proc/PID/stat);
#   - on_order with the app's own batching window (a few events).
# The load average is printed beside each figure: on a shared machine, quote it with them.
#
#   scripts/bench-local.sh [--count N] [--idle SECONDS] [--window-count N] [--invoke-runs N]
#                          [--bootstrap FILE] [--app FILE]
#   BENCH_VERBOSE=1 scripts/bench-local.sh     # also what `deployer local` says on stderr
#
# Defaults: 25 events per kind, 60 s idle, 3 windowed events, 30 invoke runs, target/release/bootstrap,
# events.chalice. Takes about 3 minutes. Needs moto (installed by scripts/moto.sh into target/moto-venv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

MOTO_SERVER="$(scripts/moto.sh)"
export MOTO_SERVER

# The bootstrap serves the repo's events.chalice; `cargo bench` builds the deployer it runs (release).
cargo build --release --bin bootstrap >&2
cargo bench -p chalice-deployer --bench local --no-run >&2

echo "uptime before: $(uptime)"
cargo bench -p chalice-deployer --bench local -- "$@"
echo "uptime after: $(uptime)"
