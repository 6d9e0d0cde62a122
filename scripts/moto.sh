#!/usr/bin/env bash
# Installs moto server (the local AWS the deployer's tests run against) into target/moto-venv, once.
# Idempotent: a venv that already has the pinned version is left alone. Prints the moto_server path.
set -euo pipefail

MOTO_VERSION="${MOTO_VERSION:-5.2.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MOTO_VENV:-$root/target/moto-venv}"
python="${PYTHON:-python3}"

installed() {
    [ -x "$venv/bin/moto_server" ] &&
        [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null)" = "$MOTO_VERSION" ]
}

if ! installed; then
    mkdir -p "$(dirname "$venv")"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
    installed || { echo "moto.sh: moto $MOTO_VERSION did not install into $venv" >&2; exit 1; }
fi

echo "$venv/bin/moto_server"
