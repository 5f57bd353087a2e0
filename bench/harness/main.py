"""``python bench/run.py``: check the tools, start the receiver, run every step, then print
the section and append it to the results file."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from harness.measurements import Bench
from harness.plan import parse_args
from harness.processes import Children, ensure_prism, say, start_receiver
from harness.report import append_results, report


def main(argv: Sequence[str] | None = None) -> int:
    plan = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk not found (Debian package `wrk`)", file=sys.stderr)
        return 2
    try:
        import emulator  # noqa: F401
    except ImportError:
        print(
            "the emulator package is not importable: use the project's virtualenv", file=sys.stderr
        )
        return 2
    started = datetime.now(UTC)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="payments-bench-") as tmp:
        children = Children(Path(tmp))
        try:
            receiver = start_receiver(children)
            children.receiver = receiver
            bench = Bench(plan, children, receiver.base_url)
            bench.results.load_at_start = os.getloadavg()[0]
            if bench.results.load_at_start > 0.5:
                say(
                    f"warning: load average {bench.results.load_at_start:.2f}: other processes"
                    " compete for the CPU, figures will be lower"
                )
            bench.results.prism_skipped = ensure_prism(plan)
            if bench.results.prism_skipped:
                say(f"Prism skipped: {bench.results.prism_skipped}")
            bench.step("cold start", bench.cold_start)
            bench.step("update path, replays, create", bench.load)
            bench.step("RSS", bench.rss)
            bench.step("callback lag", bench.lag)
            bench.step("twilio-python", bench.sdk)
        finally:
            children.stop_all()
    section = report(plan, bench.results, started)
    append_results(plan.out, section)
    print()
    print(section)
    say(f"done in {time.perf_counter() - began:.0f} s; appended to {plan.out}")
    return 1 if bench.results.failures else 0
