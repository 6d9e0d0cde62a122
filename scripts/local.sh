#!/usr/bin/env bash
# The first command to run: installs the local AWS emulator (moto server from PyPI, into target/moto-venv, once),
# builds the deployer and the example app's bootstrap, and runs the whole app locally with `deployer local`.
# Arguments go to `deployer local` (e.g. --fire nightly, --json, --stage prod; see `deployer local --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "Installing the local AWS emulator (moto server) into target/moto-venv if needed..." >&2
MOTO_SERVER="$(scripts/moto.sh)"
export MOTO_SERVER
echo "Building the deployer..." >&2
cargo build --quiet --bin deployer
exec target/debug/deployer local "$@"
