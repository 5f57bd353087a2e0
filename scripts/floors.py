"""The floors of emulator/: which floor each module is on, and a check that imports only point
down.

    python scripts/floors.py            the check: exit status 1 and the offending imports
                                        when an import runs up a floor, two packages import
                                        each other, a rule below is broken, or a module is
                                        on no floor
    python scripts/floors.py --graph    also print every module, its floor and its imports
    python scripts/floors.py --root DIR check the emulator/ package under DIR instead

Floors, bottom up (a module may import its own floor and the floors below):

    domain     pure rules and records: no I/O, no HTTP, no SQL
    store      SQL, and nothing else                       (beside it: outgoing)
    outgoing   every HTTP request the emulator sends       (beside it: store)
    services   what the emulator does, over store and outgoing
    edges      what speaks HTTP to clients: the Twilio API, the control plane, the inspector
    shell      assembly, serving, the command line, the test helpers

and the rules on top:

* store and outgoing stand beside each other: neither imports the other;
* the edges reach the services and the domain only (never the store, never outgoing);
* the control plane and the inspector do not import each other;
* no two packages import each other.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOORS = ("domain", "store", "outgoing", "services", "edges", "shell")
RANK = {"domain": 0, "store": 1, "outgoing": 1, "services": 2, "edges": 3, "shell": 4}

PLACES: dict[str, str] = {
    # domain: pure
    "emulator": "domain",  # __init__: the version and nothing else
    "emulator.domain.*": "domain",
    "emulator.domain": "domain",
    "emulator.errors": "domain",
    "emulator.clock": "domain",
    "emulator.ids": "domain",
    "emulator.paths": "domain",
    # store and outgoing, beside each other
    "emulator.store": "store",
    "emulator.store.*": "store",
    "emulator.outgoing": "outgoing",
    "emulator.outgoing.*": "outgoing",
    # services
    "emulator.services": "services",
    "emulator.services.*": "services",
    # edges
    "emulator.twilio_api": "edges",
    "emulator.twilio_api.*": "edges",
    "emulator.control": "edges",
    "emulator.control.*": "edges",
    "emulator.inspector": "edges",
    "emulator.inspector.*": "edges",
    "emulator.deps": "edges",
    # shell
    "emulator.app": "shell",
    "emulator.settings": "shell",
    "emulator.certs": "shell",
    "emulator.cli": "shell",
    "emulator.logs": "shell",
    "emulator.__main__": "shell",
    "emulator.server": "shell",
    "emulator.server.*": "shell",
    "emulator.testing": "shell",
    "emulator.testing.*": "shell",
    "emulator.pytest_plugin": "shell",
}
"""Every module's floor (the first pattern that matches, in this order)."""

BESIDE = {("store", "outgoing"), ("outgoing", "store")}
EDGES_REACH = {"domain", "services", "edges"}
APART = {("emulator.control", "emulator.inspector"), ("emulator.inspector", "emulator.control")}


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted((root / "emulator").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def floor_of(module: str) -> str | None:
    for pattern, floor in PLACES.items():
        if module == pattern or fnmatch.fnmatchcase(module, pattern):
            return floor
    return None


def package_of(module: str) -> str:
    """``emulator.services.caller`` -> ``emulator.services``; a root module is its own."""
    parts = module.split(".")
    return ".".join(parts[:2])


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of emulator/ that ``name`` imports (anywhere in it, typing ones too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module]
            # ``from emulator.domain import machine`` imports a module
            targets += [f"{node.module}.{alias.name}" for alias in node.names]
        for target in targets:
            if target in known and target != name:
                found.add(target)
    # ``from emulator.domain import machine`` also names the package: keep the module only
    return {t for t in found if not any(o.startswith(t + ".") for o in found) or t == "emulator"}


def check(root: Path = ROOT, graph: bool = False) -> list[str]:
    found = modules(root)
    known = set(found)
    problems: list[str] = []
    edges: dict[str, set[str]] = {}
    for name, path in found.items():
        if floor_of(name) is None:
            problems.append(f"{name}: on no floor (add it to PLACES in scripts/floors.py)")
        edges[name] = imports(name, path, known)
    package_deps: dict[str, set[str]] = defaultdict(set)
    count = 0
    for name, targets in sorted(edges.items()):
        floor = floor_of(name)
        for target in sorted(targets):
            count += 1
            target_floor = floor_of(target)
            if floor is None or target_floor is None:
                continue
            if package_of(name) != package_of(target):
                package_deps[package_of(name)].add(package_of(target))
            if RANK[target_floor] > RANK[floor]:
                problems.append(f"{name} ({floor}) imports {target} ({target_floor}): up a floor")
            elif (floor, target_floor) in BESIDE:
                problems.append(f"{name} ({floor}) imports {target} ({target_floor}): beside it")
            elif floor == "edges" and target_floor not in EDGES_REACH:
                problems.append(
                    f"{name} (edges) imports {target} ({target_floor}): edges reach services"
                )
            elif (package_of(name), package_of(target)) in APART:
                problems.append(f"{name} imports {target}: these packages stay apart")
    for package, deps in sorted(package_deps.items()):
        for other in sorted(deps):
            if package < other and package in package_deps.get(other, set()):
                problems.append(f"{package} and {other} import each other")
    if graph:
        floors: dict[str, list[str]] = defaultdict(list)
        for name in found:
            floors[floor_of(name) or "?"].append(name)
        for floor in reversed(FLOORS):
            print(f"{floor}:")
            for name in floors[floor]:
                print(f"  {name} -> {', '.join(sorted(edges[name])) or '-'}")
        print(f"{len(found)} modules, {len(package_deps)} packages with imports, {count} imports")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", action="store_true", help="print every module and its imports")
    parser.add_argument("--root", type=Path, default=ROOT, help="the folder holding emulator/")
    arguments = parser.parse_args()
    problems = check(arguments.root, arguments.graph)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problems with the floors", file=sys.stderr)
        return 1
    print("floors: every import points down", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
