#!/usr/bin/env bash
# Installs moto server (the local AWS the deployer's tests run against) and parliament (the IAM policy
# linter the tests run on every role policy) into target/moto-venv, once. Idempotent: a venv that
# already has the pinned versions is left alone. Prints the moto_server path (parliament is beside it).
set -euo pipefail

MOTO_VERSION="${MOTO_VERSION:-5.2.1}"
PARLIAMENT_VERSION="${PARLIAMENT_VERSION:-1.6.3}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MOTO_VENV:-$root/target/moto-venv}"
python="${PYTHON:-python3}"

installed() {
    [ -x "$venv/bin/moto_server" ] && [ -x "$venv/bin/parliament" ] &&
        [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"), m.version("parliament"))' 2>/dev/null)" = "$MOTO_VERSION $PARLIAMENT_VERSION" ]
}

if ! installed; then
    mkdir -p "$(dirname "$venv")"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" "parliament==$PARLIAMENT_VERSION" >&2
    installed || { echo "moto.sh: moto $MOTO_VERSION and parliament $PARLIAMENT_VERSION did not install into $venv" >&2; exit 1; }
fi

echo "$venv/bin/moto_server"
