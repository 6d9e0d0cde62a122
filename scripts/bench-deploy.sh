#!/usr/bin/env bash
# Deploy timings against one local moto server: fresh deploy, no-op redeploy and delete of the repo's
# events.chalice (8 handlers) and of a generated 80-handler app; median of several rounds, with the AWS
# calls of each phase (counted by the test proxy in deployer/tests/support/fault_proxy.rs).
#
#   scripts/bench-deploy.sh [--rounds N] [--handlers N] [--bootstrap FILE] [--app FILE]
#   BENCH_VERBOSE=1 scripts/bench-deploy.sh      # also every phase's calls per operation
#
# On AWS-like latency: --latency MS makes the proxy hold every call MS before forwarding it (side by side,
# as a region answers), and each phase also reports its sequential round trips ("trips": the longest
# chain of AWS calls made one after another, from the deployer's --calls report). --build TRIPLE deploys
# the workspace's example app with the deployer's own cargo build (no --bootstrap; built once first):
#   scripts/bench-deploy.sh --latency 30 --bootstrap target/x86_64-unknown-linux-gnu/release/bootstrap
#   scripts/bench-deploy.sh --latency 30 --build x86_64-unknown-linux-gnu
#
# Without --bootstrap a 1 MiB incompressible stand-in is deployed (moto stores code, never runs it); pass
# target/x86_64-unknown-linux-musl/release/bootstrap (or wherever `deployer deploy` builds it) for the real one.
#
# Side by side with Chalice (../shared/bench/vs-chalice.py; needs chalice and boto3 from PyPI):
#   scripts/bench-deploy.sh --vs-chalice [ROUNDS] [APP_FILE=events.chalice]
# installs them into target/chalice-venv, builds the release deployer and runs the script through a
# wrapper (target/bench/deployer-vs) that gives `deploy` either `--bootstrap $BOOTSTRAP` (a prebuilt
# binary: the deploy alone is timed) or, when the musl standard library is not installed,
# `--target x86_64-unknown-linux-gnu` (the deployer's own cargo build then runs inside each deploy).
# By hand, from the project root:
#   python3 -m venv target/chalice-venv && target/chalice-venv/bin/pip install -q chalice boto3
#   cargo build --release --bin deployer
#   PATH=$PWD/target/chalice-venv/bin:$(dirname "$(scripts/moto.sh)"):$PATH \
#       python ../shared/bench/vs-chalice.py target/release/deployer events.chalice ROUNDS
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

MOTO_SERVER="$(scripts/moto.sh)"
export MOTO_SERVER

if [ "${1:-}" = "--vs-chalice" ]; then
    rounds="${2:-3}"
    app="$(cd "$(dirname "${3:-events.chalice}")" && pwd)/$(basename "${3:-events.chalice}")"
    script="${VS_CHALICE:-$root/../shared/bench/vs-chalice.py}"
    [ -f "$script" ] || { echo "bench-deploy.sh: $script not found (set VS_CHALICE)" >&2; exit 1; }
    venv="$root/target/chalice-venv"
    if [ ! -x "$venv/bin/chalice" ]; then
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install -q --disable-pip-version-check chalice boto3 >&2
    fi
    cargo build --release --bin deployer >&2
    if [ -n "${BOOTSTRAP:-}" ]; then
        extra="--bootstrap $(cd "$(dirname "$BOOTSTRAP")" && pwd)/$(basename "$BOOTSTRAP")"
    elif [ -d "$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-musl" ]; then
        extra=""
    else
        extra="--target x86_64-unknown-linux-gnu"
    fi
    mkdir -p "$root/target/bench"
    wrapper="$root/target/bench/deployer-vs"
    cat > "$wrapper" <<WRAPPER
#!/bin/sh
if [ "\$1" = deploy ]; then shift; exec "$root/target/release/deployer" deploy $extra "\$@"; fi
exec "$root/target/release/deployer" "\$@"
WRAPPER
    chmod +x "$wrapper"
    echo "deployer deploy $extra" >&2
    PATH="$venv/bin:$(dirname "$MOTO_SERVER"):$PATH" "$venv/bin/python" "$script" "$wrapper" "$app" "$rounds"
    exit 0
fi

exec cargo bench -p chalice-deployer --bench deploy -- "$@"
