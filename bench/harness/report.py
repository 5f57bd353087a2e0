"""The report: the figures as Markdown tables, printed and appended to bench/RESULTS.md
(``HEADER`` starts a new file and explains every figure), and the one-line summary of each wrk
run printed as it ends."""

from __future__ import annotations

import contextlib
import importlib.metadata
import math
import os
import platform
import sqlite3
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.plan import CEILING, CONNECTIONS, DELIVERED, PRISM, REPO, UNDELIVERABLE, Plan
from harness.wrk import Load


@dataclass
class Results:
    loads: list[Load] = field(default_factory=list)  # step 1
    others: list[Load] = field(default_factory=list)  # steps 2 and 3
    cold: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    rss: dict[str, Any] = field(default_factory=dict)
    lag: dict[str, Any] = field(default_factory=dict)
    sdk: dict[str, Any] = field(default_factory=dict)
    prism_skipped: str | None = None
    failures: list[str] = field(default_factory=list)
    body_bytes: int = 0
    load_at_start: float = 0.0
    emulator_version: str = "?"


def fmt_ms(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_int(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.0f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A Markdown table: the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "| "
        + " | ".join("-" * w if i < left else "-" * (w - 1) + ":" for i, w in enumerate(widths))
        + " |"
    )
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def describe(load: Load) -> str:
    text = (
        f"{load.target:<38} c={load.connections:<3} {load.rps:>9,.0f} req/s"
        f"  p50 {fmt_ms(load.p50)} p95 {fmt_ms(load.p95)} p99 {fmt_ms(load.p99)} ms"
        f"  non-2xx {load.non2xx} socket errors {load.socket_errors}"
    )
    if "others_cpu" in load.extra:
        text += f"  others' CPU {load.extra['others_cpu']:.2f} cores"
    if load.extra.get("quiet_wait_s", 0) >= 1.5:
        text += f" (waited {load.extra['quiet_wait_s']:.0f} s for a quiet machine)"
    if "cb_at_end" in load.extra:
        text += f"  callbacks at end {load.extra['cb_at_end']:.0%}, drained in {load.extra['drain_s']:.1f} s"
    return text


# --- the section appended to RESULTS.md ----------------------------------------------------

HEADER = """\
# Benchmark results

Run with `python bench/run.py` from the repository root, in its virtualenv (about 5 minutes on 2
cores; `--quick` for a ~1 minute smoke run, `--duration S` seconds per wrk run (default 10),
`--no-prism`, `--quiet-wait S`, `--out FILE`). Each run appends a section below; earlier
sections are kept, so progress (or regress) is visible. Figures from different machines, or from
a busy machine, do not compare.

**Load generator.** [wrk](https://github.com/wg/wrk) 4.1, one thread (`-t1`), 1, 32 and 64
connections, a Lua script per request shape (bench/update.lua, replay.lua, create.lua). wrk is
written in C and event-driven: one thread sends and parses far more requests per second than one
Python process can serve, so the generator is not the bottleneck, and the same script drives
every target. Its `done()` hook prints requests, latency percentiles, non-2xx answers and socket
errors as JSON; bench/harness/wrk.py parses that. wrk's `--timeout` is 5 s.

**Targets.**

- *emulator (callbacks delivered)*, the primary figure: `python -m emulator serve --port 0`
  (started by `emulator.testing.EmulatorServer`, which reads the port it bound from its output)
  in a fresh temporary directory (SQLite file `payments-emulator.db` there), default settings
  but `--caller manual` (no simulated caller: only the API is measured) and
  `--log-level warning`. 64 sessions are created first; the load is the **update path**
  (`POST .../Payments/{Sid}.json`, a fresh `IdempotencyKey` per request, `Capture` cycling over
  the four card items, spread over the 64 sessions). Every accepted update makes a
  StatusCallback, which the emulator really delivers to a local receiver process (a raw ASGI app
  under uvicorn answering 204, bench/receiver.py). *cb at end* is the share of the run's
  callbacks that had arrived when wrk stopped; *drain s* how long the rest took. The next run
  starts once the backlog is drained and the emulator idle.
- *emulator (callbacks not deliverable)*: the same, with `StatusCallback=/status`, a relative
  URL the emulator cannot resolve: it records each callback as failed, without any HTTP.
- *ceiling*: a raw ASGI app (bench/ceiling.py) under uvicorn with uvloop and httptools,
  answering 202 with a fixed JSON body as large as the emulator's answer: what one Python
  process can serve at best on this machine.
- *prism*: Stoplight Prism 5.16.0 mocking Twilio's OpenAPI spec (`prism mock
  tests/data/twilio_api_v2010.json`), as people mock Twilio today: it validates the request and answers the
  spec's example, with no state.

**Figures.** *req/s*: completed requests per second over the run. *p50/p95/p99*: latency
percentiles in milliseconds as wrk measures them (request sent → answer read). *non-2xx*:
answers outside 200-299 (should be 0). *socket errors*: connect, read, write errors and
timeouts. *others' CPU*: how many cores' worth of CPU the processes outside the benchmark
(neither the bench, wrk, the target nor the receiver) used during the run, from /proc/stat:
above ~0.2 the machine was shared and the figures are low (before each run the bench waits up to
`--quiet-wait` seconds, 20 by default, for the others to use less than 0.25 core). *Ratios*:
emulator req/s divided by the ceiling's and by Prism's, at the same connection count.

- *Idempotent replays*: the update load replaying 256 keys already used once, with identical
  parameters (each answer is the stored first answer), 32 connections.
- *Create*: `POST .../Payments.json` with a fresh CallSid (registered at first use) and key per
  request, 32 connections (callbacks delivered).
- *Cold start*: median over 5 starts of the time from starting the process to the first 200 of
  `GET /_emulator/health` (the address read from the process's output, then polled every 5 ms),
  and to the first 201 of a create sent right after it; for the ceiling and Prism, to their
  first HTTP answer of any status. Every target binds port 0 and prints the port it got.
- *RSS*: the emulator's VmRSS (/proc/PID/status) idle after start, then after 50,000 and 100,000
  update requests (wrk at 32 connections, in chunks, callbacks delivered; read once the callback
  backlog is drained), and the growth between the two marks.
- *Callback lag*: a separate emulator with the auto caller on (`EMULATOR_CALLER=auto`); while
  wrk drives the update load at 32 connections on 64 other sessions, a Python client sends ~300
  paced capture updates whose StatusCallback is unique per request (`?n=17`) to a receiver
  inside the bench process; lag = arrival of that request's callback - arrival of its 202 answer
  (the callback is committed with the state change and posted at once, so it may even arrive
  before the 202 is read: a small negative lag).
- *twilio-python*: what a test suite sees: 1,000 sequential capture updates on one session
  through the official SDK (`Client(AC, token)`, `client.api.base_url = ...`), on a fresh
  emulator (manual caller): total seconds, and mean, p50, p99 milliseconds per request.
"""


def machine_info(results: Results) -> list[str]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    def output(argv: Sequence[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        return (
            (done.stdout or done.stderr).strip().splitlines()[0]
            if (done.stdout or done.stderr).strip()
            else "?"
        )

    wrk = output(["wrk", "--version"]).split(" [")[0]
    start, end = results.load_at_start, os.getloadavg()[0]
    return [
        f"- machine: {os.cpu_count()} cores, {model}; 1-minute load average {start:.2f} at start, "
        f"{end:.2f} at end (other processes on the machine lower the figures)",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), SQLite {sqlite3.sqlite_version}, "
        f"uvloop {version('uvloop')}, httptools {version('httptools')}, uvicorn {version('uvicorn')}, "
        f"FastAPI {version('fastapi')}, twilio {version('twilio')}",
        f"- emulator {results.emulator_version}; {wrk}; node {output(['node', '--version'])}",
    ]


def git_rev() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "--no-optional-locks",
                "-C",
                str(REPO),
                "diff",
                "--quiet",
                "HEAD",
                "--",
                "emulator",
            ],
            capture_output=True,
            timeout=10,
        ).returncode
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + (" (emulator/ has uncommitted changes)" if dirty else "")


def report(plan: Plan, results: Results, started: datetime) -> str:
    out: list[str] = []
    stamp = started.strftime("%Y-%m-%d %H:%M:%S UTC")
    out.append(f"## {stamp} — {git_rev()}")
    out.append("")
    mode = "quick smoke run (figures indicative only)" if plan.quick else "full run"
    out.append(
        f"- {mode}: {plan.duration} s per wrk run, waiting up to {plan.quiet_wait:g} s before each"
        " for a quiet machine"
    )
    out.extend(machine_info(results))
    if results.prism_skipped:
        out.append(f"- Prism skipped: {results.prism_skipped}")
    if results.failures:
        out.extend(f"- **failed** {failure}" for failure in results.failures)
    out.append("")

    summary = summary_rows(results)
    if summary:
        out.append("### Summary")
        out.append("")
        out.append(table(["figure", "value"], summary, left=2))
        out.append("")

    if results.loads:
        out.append(
            f"### Update path under the same wrk load (answers of {results.body_bytes} bytes)"
        )
        out.append("")
        rows = []
        for load in sorted(results.loads, key=lambda ld: (ld.connections, order(ld.target))):
            rows.append(load_row(load))
        out.append(table(LOAD_HEADERS, rows))
        out.append("")
        out.append("Requests/s ratios at each connection count:")
        out.append("")
        ratio_rows = []
        by = {(ld.target, ld.connections): ld for ld in results.loads}
        for c in CONNECTIONS:
            row = [str(c)]
            for emu in (DELIVERED, UNDELIVERABLE):
                for ref in (CEILING, PRISM):
                    a, b = by.get((emu, c)), by.get((ref, c))
                    row.append(f"{a.rps / b.rps:.2f}" if a and b and b.rps else "-")
            ratio_rows.append(row)
        out.append(
            table(
                [
                    "conns",
                    "delivered / ceiling",
                    "delivered / Prism",
                    "not deliverable / ceiling",
                    "not deliverable / Prism",
                ],
                ratio_rows,
                left=0,
            )
        )
        out.append("")

    if results.others:
        out.append("### Idempotent replays and create (emulator, 32 connections)")
        out.append("")
        reference = [ld for ld in results.loads if ld.target == DELIVERED and ld.connections == 32]
        out.append(table(LOAD_HEADERS, [load_row(ld) for ld in reference + results.others]))
        out.append("")

    if results.cold:
        out.append("### Cold start (process start → first answer; ms)")
        out.append("")
        rows = []
        for target, figures in results.cold.items():
            for what, values in figures.items():
                label = {
                    "health": "first 200 on GET /_emulator/health",
                    "create": "first 201 on create",
                    "first": "first HTTP answer",
                }[what]
                rows.append(
                    [
                        target,
                        label,
                        fmt_ms(statistics.median(values) * 1000),
                        fmt_ms(min(values) * 1000),
                        fmt_ms(max(values) * 1000),
                        str(len(values)),
                    ]
                )
        out.append(table(["target", "until", "median", "min", "max", "starts"], rows, left=2))
        out.append("")

    if results.rss.get("marks"):
        rss = results.rss
        out.append("### Emulator memory (VmRSS, callbacks delivered)")
        out.append("")
        rows = [["idle after start", "0", f"{rss['idle'] / 1024:.1f}"]]
        rows += [
            [f"after {mark:,} updates", f"{total:,}", f"{kib / 1024:.1f}"]
            for mark, total, kib in rss["marks"]
        ]
        (m1, t1, k1), (m2, t2, k2) = rss["marks"]
        per_10k = (k2 - k1) / max(t2 - t1, 1) * 10_000 / 1024
        rows.append(
            [
                f"growth {m1:,} → {m2:,}",
                f"{t2 - t1:,}",
                f"{(k2 - k1) / 1024:+.1f} ({per_10k:+.2f} per 10k requests)",
            ]
        )
        out.append(table(["when", "requests sent", "RSS MiB"], rows))
        out.append("")

    if results.lag:
        lag = results.lag
        load = lag["load"]
        out.append("### StatusCallback lag with the auto caller (under wrk load at 32 connections)")
        out.append("")
        out.append(
            table(
                [
                    "probes answered 202",
                    "probes refused",
                    "callbacks arrived",
                    "lag p50 ms",
                    "lag p99 ms",
                    "lag max ms",
                    "background req/s",
                    "background p99 ms",
                ],
                [
                    [
                        str(lag["sent"]),
                        str(lag["refused"]),
                        str(lag["arrived"]),
                        fmt_ms(lag["p50"]),
                        fmt_ms(lag["p99"]),
                        fmt_ms(lag["max"]),
                        fmt_int(load.rps),
                        fmt_ms(load.p99),
                    ]
                ],
                left=0,
            )
        )
        out.append("")

    if results.sdk:
        sdk = results.sdk
        out.append("### What a test suite sees: sequential twilio-python updates")
        out.append("")
        out.append(
            table(
                ["requests", "total s", "mean ms", "p50 ms", "p99 ms"],
                [
                    [
                        f"{sdk['requests']:,}",
                        f"{sdk['total_s']:.2f}",
                        fmt_ms(sdk["mean"]),
                        fmt_ms(sdk["p50"]),
                        fmt_ms(sdk["p99"]),
                    ]
                ],
                left=0,
            )
        )
        out.append("")
    return "\n".join(out) + "\n"


def summary_rows(results: Results) -> list[list[str]]:
    """The headline figures, one per row."""
    rows: list[list[str]] = []
    by = {(ld.target, ld.connections): ld for ld in results.loads}
    for c in CONNECTIONS:
        main = by.get((DELIVERED, c))
        if main is None:
            continue
        text = f"{main.rps:,.0f} req/s, p50 {fmt_ms(main.p50)} ms, p99 {fmt_ms(main.p99)} ms"
        ratios = [
            f"{main.rps / ref.rps:.2f} x {name}"
            for name, ref in (("ceiling", by.get((CEILING, c))), ("Prism", by.get((PRISM, c))))
            if ref is not None and ref.rps
        ]
        if ratios:
            text += " (" + ", ".join(ratios) + ")"
        rows.append([f"update, callbacks delivered, {c} conn", text])
    undeliverable = by.get((UNDELIVERABLE, 32))
    if undeliverable is not None:
        rows.append(
            [
                "update, callbacks not deliverable, 32 conn",
                f"{undeliverable.rps:,.0f} req/s, p99 {fmt_ms(undeliverable.p99)} ms",
            ]
        )
    for ref_name in (CEILING, PRISM):
        ref = by.get((ref_name, 32))
        if ref is not None:
            rows.append([f"{ref_name}, 32 conn", f"{ref.rps:,.0f} req/s, p99 {fmt_ms(ref.p99)} ms"])
    for other in results.others:
        rows.append(
            [f"{other.target}, 32 conn", f"{other.rps:,.0f} req/s, p99 {fmt_ms(other.p99)} ms"]
        )
    cold = results.cold.get("emulator")
    if cold:
        rows.append(
            [
                "emulator cold start (median)",
                f"health {fmt_ms(statistics.median(cold['health']) * 1000)} ms, "
                f"first create {fmt_ms(statistics.median(cold['create']) * 1000)} ms",
            ]
        )
    if results.rss.get("marks"):
        (m1, _, k1), (m2, _, k2) = results.rss["marks"]
        rows.append(
            [
                "emulator RSS",
                f"idle {results.rss['idle'] / 1024:.1f} MiB, {k1 / 1024:.1f} MiB after {m1:,}, "
                f"{k2 / 1024:.1f} MiB after {m2:,} ({(k2 - k1) / 1024:+.1f} MiB)",
            ]
        )
    if results.lag:
        lag = results.lag
        rows.append(
            [
                "callback lag, auto caller, under load",
                f"p50 {fmt_ms(lag['p50'])} ms, p99 {fmt_ms(lag['p99'])} ms "
                f"({lag['arrived']}/{lag['sent']} arrived)",
            ]
        )
    others = [
        ld.extra["others_cpu"] for ld in results.loads + results.others if "others_cpu" in ld.extra
    ]
    if others:
        rows.append(
            [
                "others' CPU during the wrk runs",
                f"max {max(others):.2f}, mean {statistics.fmean(others):.2f} cores",
            ]
        )
    if results.sdk:
        sdk = results.sdk
        rows.append(
            [
                f"twilio-python, {sdk['requests']:,} sequential updates",
                f"{sdk['total_s']:.2f} s, mean {fmt_ms(sdk['mean'])} ms, "
                f"p50 {fmt_ms(sdk['p50'])} ms, p99 {fmt_ms(sdk['p99'])} ms",
            ]
        )
    return rows


LOAD_HEADERS = [
    "target",
    "conns",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "non-2xx",
    "socket errors",
    "cb at end",
    "drain s",
    "others' CPU",
]


def order(target: str) -> int:
    return (
        [DELIVERED, UNDELIVERABLE, CEILING, PRISM].index(target)
        if target in (DELIVERED, UNDELIVERABLE, CEILING, PRISM)
        else 9
    )


def load_row(load: Load) -> list[str]:
    at_end = load.extra.get("cb_at_end")
    drain = load.extra.get("drain_s")
    others = load.extra.get("others_cpu")
    return [
        load.target,
        str(load.connections),
        fmt_int(load.rps),
        fmt_ms(load.p50),
        fmt_ms(load.p95),
        fmt_ms(load.p99),
        str(load.non2xx),
        str(load.socket_errors),
        "-" if at_end is None else f"{min(at_end, 1.0):.0%}",
        "-" if drain is None else ("> 300" if math.isinf(drain) else f"{drain:.1f}"),
        "-" if others is None else f"{others:.2f}",
    ]


def append_results(path: Path, section: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or not path.read_text().strip():
        path.write_text(HEADER + "\n")
    with path.open("a") as f:
        f.write("\n" + section)
