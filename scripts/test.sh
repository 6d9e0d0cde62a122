#!/usr/bin/env bash
# The project's test command (README "Tests"): installs what the tests need, then runs every test.
# On a fresh machine it creates target/moto-venv with moto's server from PyPI; the AWS tests start
# their own moto servers on free 127.0.0.1 ports.
set -euo pipefail
cd "$(dirname "$0")/.."
# The deployer and the bootstrap share their common crates' builds (Cargo.toml's alignment lines).
scripts/check-shared-builds.py
MOTO_SERVER="$(scripts/moto.sh)"
export MOTO_SERVER
cargo test --workspace --locked "$@"
