#!/usr/bin/env python3
"""Checks that the bootstrap's debug build compiles nothing the deployer's has compiled already.

`scripts/local.sh` runs `cargo run --bin deployer`, and the deployer then runs `cargo build --bin
bootstrap`. A crate both use is compiled once only when cargo gives it the same features, profile
and dependencies in both builds. Cargo resolves a build script's dependencies apart from the
binaries', so the app's build script (which links codegen) drifts from the deployer whenever a
dependency changes its features; Cargo.toml's alignment lines pin them.

Cargo lists a build's units (what it would compile, with features and profile) only behind
`--unit-graph`, unstable since 2020 (rust-lang/cargo#8002): RUSTC_BOOTSTRAP=1 lets the stable
toolchain print it, without compiling anything. If cargo ever refuses, this check fails rather
than passing unchecked.

Usage: scripts/check-shared-builds.py   (from anywhere in the repository; exit 1 on drift)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def unit_graph(binary):
    """The units `cargo build --bin BINARY` compiles, as cargo's unit graph."""
    env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    command = ["cargo", "build", "--locked", "--bin", binary, "--unit-graph", "-Z", "unstable-options"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"check-shared-builds: `{' '.join(command)}` failed:\n{done.stderr}")
    return json.loads(done.stdout)["units"]


def own(unit):
    """What makes a unit itself, before its dependencies: package, target, mode, features, profile."""
    return (
        unit["pkg_id"],
        unit["target"]["name"],
        unit["mode"],
        unit["platform"],
        tuple(unit["features"]),
        json.dumps(unit["profile"], sort_keys=True),
    )


def identities(units):
    """Each unit's identity: its own part and its dependencies' identities (cargo hashes the same)."""
    memo = {}

    def identity(i):
        if i not in memo:
            deps = sorted(identity(d["index"]) for d in units[i]["dependencies"])
            memo[i] = hash((own(units[i]), tuple(deps)))
        return memo[i]

    return [identity(i) for i in range(len(units))]


def difference(ours, theirs):
    """How the bootstrap build's unit differs from the deployer build's, in words."""
    parts = []
    lacks = sorted(set(theirs["features"]) - set(ours["features"]))
    extra = sorted(set(ours["features"]) - set(theirs["features"]))
    if lacks:
        parts.append(f"lacks the deployer's features {lacks}")
    if extra:
        parts.append(f"has features the deployer's lacks {extra}")
    for key in sorted(ours["profile"]):
        if ours["profile"][key] != theirs["profile"].get(key):
            parts.append(f"profile {key} {ours['profile'][key]!r}, the deployer's {theirs['profile'].get(key)!r}")
    return "; ".join(parts) or "the same, but for its dependencies"


def name(unit):
    package = unit["pkg_id"].rsplit("#", 1)[-1]
    return f"{package} ({unit['target']['name']}, {unit['mode']})"


def main():
    deployer, bootstrap = unit_graph("deployer"), unit_graph("bootstrap")
    built = set(identities(deployer))
    packages = {u["pkg_id"] for u in deployer}
    again = [
        unit
        for unit, identity in zip(bootstrap, identities(bootstrap))
        if identity not in built and unit["pkg_id"] in packages
    ]
    if not again:
        print(
            f"check-shared-builds: the bootstrap's build compiles none of the deployer's "
            f"{len(deployer)} units again"
        )
        return
    by_own = {}
    for unit in deployer:
        by_own.setdefault((unit["pkg_id"], unit["target"]["name"], unit["mode"]), []).append(unit)
    own_parts = {own(u) for u in deployer}
    causes = [u for u in again if own(u) not in own_parts]
    crates = len({u["pkg_id"] for u in again})
    print(
        f"check-shared-builds: the bootstrap's build compiles {crates} crate(s) the deployer's has "
        f"compiled, again ({len(again)} units):",
        file=sys.stderr,
    )
    told = set()
    for unit in causes:
        key = (unit["pkg_id"], unit["target"]["name"], unit["mode"])
        for theirs in by_own.get(key, []):
            line = difference(unit, theirs)
            if (unit["pkg_id"], line) not in told:
                told.add((unit["pkg_id"], line))
                print(f"  {name(unit)}: {line}", file=sys.stderr)
        if not by_own.get(key):
            print(f"  {name(unit)}: the deployer builds no such unit", file=sys.stderr)
    for unit in again:
        if unit not in causes:
            print(f"  {name(unit)}: through its dependencies", file=sys.stderr)
    print(
        "hint: give the build script's copy the deployer's features (Cargo.toml's [build-dependencies]"
        " alignment lines), or the deployer's copy the bootstrap's (deployer/Cargo.toml)",
        file=sys.stderr,
    )
    sys.exit(1)


if __name__ == "__main__":
    main()
