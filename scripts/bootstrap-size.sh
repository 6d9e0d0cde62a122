#!/usr/bin/env bash
# Builds the release `bootstrap` and prints its stripped size and the size of its Lambda zip.
# Usage: scripts/bootstrap-size.sh [--target <triple>]   (e.g. x86_64-unknown-linux-musl)
set -euo pipefail
cd "$(dirname "$0")/.."

target=""
if [[ "${1:-}" == "--target" && -n "${2:-}" ]]; then
    target="$2"
elif [[ $# -gt 0 ]]; then
    echo "usage: $0 [--target <triple>]" >&2
    exit 2
fi

cargo build --release --locked --bin bootstrap ${target:+--target "$target"} >&2
bin="target/${target:+$target/}release/bootstrap"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# profile.release already strips; strip a copy again so the figure never depends on it.
cp "$bin" "$work/bootstrap"
strip "$work/bootstrap" 2>/dev/null || echo "note: strip failed; size is as built" >&2
stripped=$(stat -c %s "$work/bootstrap")
# What Lambda receives: a zip holding one executable entry named `bootstrap`.
(cd "$work" && zip -q -9 -X bootstrap.zip bootstrap)
zipped=$(stat -c %s "$work/bootstrap.zip")

mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
echo "bootstrap ${target:-$(rustc -vV | sed -n 's/^host: //p')} release"
echo "  stripped: $stripped bytes ($(mib "$stripped"))"
echo "  zipped:   $zipped bytes ($(mib "$zipped"))"
