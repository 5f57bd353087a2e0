"""Fuzz the two Payments operations of Twilio's spec against a fresh emulator, and print figures.

    python bench/fuzz.py                    # 10,000 cases, seed 0
    python bench/fuzz.py --cases 2000 --seed 7
    python bench/fuzz.py --json figures.json

The same generation and checks as the CI test (tests/test_fuzz.py, through tests/fuzzing.py):
schemathesis draws positive and negative requests for ``POST .../Payments.json`` and
``POST .../Payments/{Sid}.json`` from tests/data/payments-openapi-excerpt.json; path parameters
point at a fresh account's calls and sessions (some at random SIDs, some with wrong credentials);
every answer is checked: no 5xx, a 2xx validates against the response schema, any other status
is one the spec cannot describe (400, 401, 404, 409) and carries Twilio's error body.

Needs the test dependencies (``pip install -e ".[test]"``: schemathesis, openapi-core). The
emulator runs on 127.0.0.1 with ``--callback-hosts 127.0.0.1``, and every generated
StatusCallback is rewritten to a closed port of 127.0.0.1: nothing leaves the machine. The run
is reproducible: the same seed draws the same cases (SIDs and the answers that quote them
differ). Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.testing import EmulatorServer  # noqa: E402
from tests.fuzzing import (  # noqa: E402
    CALLBACK,
    EXPECTED_STATUSES,
    KNOWN_DEVIATIONS,
    SERVER_ARGS,
    Fuzzer,
    Outcome,
    Tally,
    fuzz,
)


def _row(cells: list[str], widths: list[int]) -> str:
    return (
        "| "
        + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        + " |"
    )


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [_row(header, widths), "| " + " | ".join("-" * w for w in widths) + " |"]
    lines += [_row([str(c) for c in r], widths) for r in rows]
    return "\n".join(lines)


def figures(tally: Tally, wall: float, callbacks: list[dict[str, Any]]) -> dict[str, Any]:
    requests_sent = tally.total + tally.setup_requests
    off_machine = [c["url"] for c in callbacks if not c["url"].startswith(CALLBACK + "/")]
    return {
        "cases": dict(tally.cases),
        "total_cases": tally.total,
        "statuses": {
            operation: {
                str(status): count
                for (op, status), count in sorted(tally.statuses.items())
                if op == operation
            }
            for operation in ("create", "update")
        },
        "codes": {
            f"{status} {code}": n for (status, code), n in sorted(tally.codes.items(), key=str)
        },
        "modes": {f"{op} {mode}": n for (op, mode), n in sorted(tally.modes.items())},
        "targets": dict(sorted(tally.targets.items())),
        "credentials": dict(sorted(tally.auths.items())),
        "expected_deviations": dict(sorted(tally.allowed.items())),
        "findings": dict(tally.findings.most_common()),
        "server_errors": tally.server_errors,
        "schema_violations": tally.schema_violations,
        "error_shape_violations": tally.shape_violations,
        "other_violations": tally.other_violations,
        "setup_requests": tally.setup_requests,
        "status_callbacks_recorded": len(callbacks),
        "status_callbacks_off_127_0_0_1": len(off_machine),
        "wall_seconds": round(wall, 1),
        "cases_per_second": round(tally.total / wall, 1),
        "requests_per_second": round(requests_sent / wall, 1),
    }


def report(data: dict[str, Any], tally: Tally) -> str:
    out = []
    statuses = sorted({int(s) for op in data["statuses"].values() for s in op})
    rows = [
        [
            op,
            str(data["cases"].get(op, 0)),
            *[str(data["statuses"][op].get(str(s), 0)) for s in statuses],
        ]
        for op in ("create", "update")
    ]
    rows.append(
        [
            "total",
            str(data["total_cases"]),
            *[
                str(sum(data["statuses"][op].get(str(s), 0) for op in data["statuses"]))
                for s in statuses
            ],
        ]
    )
    out.append(table(["operation", "cases", *[str(s) for s in statuses]], rows))
    out.append("")
    out.append(
        table(
            ["figure", "value"],
            [
                ["5xx answers", str(data["server_errors"])],
                ["schema violations (2xx off the response schema)", str(data["schema_violations"])],
                [
                    "error-shape violations (non-2xx not Twilio's body)",
                    str(data["error_shape_violations"]),
                ],
                ["other check failures", str(data["other_violations"])],
                [
                    "set-up requests (sessions, captures, keying, hang-ups)",
                    str(data["setup_requests"]),
                ],
                [
                    "StatusCallbacks recorded / not on 127.0.0.1",
                    f"{data['status_callbacks_recorded']} / "
                    f"{data['status_callbacks_off_127_0_0_1']}",
                ],
                ["wall time", f"{data['wall_seconds']} s"],
                ["fuzzed cases/s", str(data["cases_per_second"])],
                ["requests/s (cases + set-up)", str(data["requests_per_second"])],
            ],
        )
    )
    out.append("")
    out.append("Expected deviations (the spec documents 201 and 202 only):")
    for status, why in EXPECTED_STATUSES.items():
        out.append(f"  {status}: {why}")
    out.append("Known deviations the spec could describe (allowed by name, counted below):")
    for name, what in KNOWN_DEVIATIONS.items():
        out.append(f"  {name}: {what}")
    out.append("")
    out.append(table(["status code", "answers"], [[k, str(v)] for k, v in data["codes"].items()]))
    out.append("")
    out.append(
        table(
            ["check not applied (expected deviation)", "times"],
            [[k, str(v)] for k, v in data["expected_deviations"].items()],
        )
    )
    out.append("")
    out.append(table(["generation mode", "cases"], [[k, str(v)] for k, v in data["modes"].items()]))
    out.append("")
    out.append(table(["target", "cases"], [[k, str(v)] for k, v in data["targets"].items()]))
    out.append("")
    out.append(
        table(["credentials", "cases"], [[k, str(v)] for k, v in data["credentials"].items()])
    )
    if data["findings"]:
        out.append("")
        out.append(table(["finding", "times"], [[k, str(v)] for k, v in data["findings"].items()]))
    if tally.failures:
        out.append("")
        out.append(f"First {min(len(tally.failures), 20)} cases with findings:")
        out.append(tally.failure_report(20))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=10_000, help="cases to send (default 10,000)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--progress", type=int, default=1000, help="print progress every N cases (0: never)"
    )
    args = parser.parse_args(argv)

    with EmulatorServer(*SERVER_ARGS, env={"EMULATOR_LOG_LEVEL": "warning"}) as server:
        control = server.control
        account, stranger = control.create_account(), control.create_account()
        fuzzer = Fuzzer(server.base_url, control, account, stranger)
        started = time.perf_counter()
        done = 0

        def progress(outcome: Outcome) -> None:
            nonlocal done
            done += 1
            if args.progress and done % args.progress == 0:
                elapsed = time.perf_counter() - started
                print(f"{done} cases, {elapsed:.0f} s", file=sys.stderr, flush=True)

        try:
            tally = fuzz(fuzzer, args.cases, seed=args.seed, on_outcome=progress)
        finally:
            fuzzer.close()
        wall = time.perf_counter() - started
        callbacks = control.callbacks(account_sid=account.account_sid)
        data = figures(tally, wall, callbacks)
        data["seed"] = args.seed
        if "Traceback" in server.log:
            data["server_tracebacks"] = server.log.count("Traceback")
    print(f"bench/fuzz.py: {args.cases} cases requested, seed {args.seed}")
    print(report(data, tally))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    found = (
        data["server_errors"]
        + data["schema_violations"]
        + data["error_shape_violations"]
        + data["other_violations"]
        + data["status_callbacks_off_127_0_0_1"]
        + data.get("server_tracebacks", 0)
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
