#!/usr/bin/env bash
# Installs moto server (the local AWS the deployer's tests run against), parliament (the IAM policy
# linter the tests run on every role policy), cfn-lint (the CloudFormation linter the `package` tests run
# on every template) and aws-sam-translator (which the `package` tests use to transform SAM templates
# offline) into target/moto-venv, once. Idempotent: a venv that already has the pinned versions is left
# alone. Prints the moto_server path (parliament, cfn-lint and python are beside it).
set -euo pipefail

MOTO_VERSION="${MOTO_VERSION:-5.2.1}"
PARLIAMENT_VERSION="${PARLIAMENT_VERSION:-1.6.3}"
CFN_LINT_VERSION="${CFN_LINT_VERSION:-1.58.0}"
SAM_TRANSLATOR_VERSION="${SAM_TRANSLATOR_VERSION:-1.115.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MOTO_VENV:-$root/target/moto-venv}"
python="${PYTHON:-python3}"
want="$MOTO_VERSION $PARLIAMENT_VERSION $CFN_LINT_VERSION $SAM_TRANSLATOR_VERSION"

installed() {
    [ -x "$venv/bin/moto_server" ] && [ -x "$venv/bin/parliament" ] && [ -x "$venv/bin/cfn-lint" ] &&
        [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(*(m.version(p) for p in ("moto", "parliament", "cfn-lint", "aws-sam-translator")))' 2>/dev/null)" = "$want" ]
}

if ! installed; then
    echo "moto.sh: installing moto $MOTO_VERSION, parliament, cfn-lint and aws-sam-translator into $venv (once; pip can take a minute or two)..." >&2
    mkdir -p "$(dirname "$venv")"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" "parliament==$PARLIAMENT_VERSION" \
        "cfn-lint==$CFN_LINT_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION" >&2
    installed || { echo "moto.sh: moto, parliament, cfn-lint and aws-sam-translator ($want) did not install into $venv" >&2; exit 1; }
fi

echo "$venv/bin/moto_server"
