#!/usr/bin/env bash
# The first command to run: installs the local AWS emulator (moto server from PyPI, into target/moto-venv, once),
# builds the deployer and the example app's bootstrap, and runs the whole app locally with `deployer local`.
# Arguments go to `deployer local` (e.g. --fire nightly, --json, --stage prod; see `deployer local --help`), so
# `scripts/local.sh send on_order --sample` is `deployer local send on_order --sample` (what the runner's hints say).
set -euo pipefail
# How the user called this script: the runner writes its `send` lines with it.
export CHALICE_LOCAL_SCRIPT="$0"
cd "$(dirname "$0")/.."
if [ "${1:-}" = send ]; then
    exec cargo run --quiet --bin deployer -- local "$@"
fi
echo "Installing the local AWS emulator (moto server) into target/moto-venv if needed..." >&2
MOTO_SERVER="$(scripts/moto.sh)"
export MOTO_SERVER
# cargo's own progress: the first build compiles the AWS SDK (minutes on a small machine).
echo "Building the deployer (the first build takes a few minutes; cargo shows its progress)..." >&2
exec cargo run --bin deployer -- local "$@"
