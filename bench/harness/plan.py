"""What a run does: the paths, the fixed figures (sessions, connection counts, target names)
and the plan built from the command line (``--quick``, ``--duration``, ``--no-prism``,
``--quiet-wait``, ``--out``)."""

from __future__ import annotations

import argparse
import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
SPEC = REPO / "tests" / "data" / "twilio_api_v2010.json"  # Twilio's full OpenAPI spec, for Prism
PRISM_DIR = BENCH / ".prism"
PRISM_VERSION = "5.16.0"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"

AC = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
TOKEN = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
AUTH_HEADER = "Basic " + base64.b64encode(f"{AC}:{TOKEN}".encode()).decode()
CAPTURES = ("payment-card-number", "expiration-date", "security-code", "postal-code")
SESSIONS = 64
CONNECTIONS = (1, 32, 64)
WRK_TIMEOUT_S = 5

DELIVERED = "emulator (callbacks delivered)"
UNDELIVERABLE = "emulator (callbacks not deliverable)"
CEILING = "ceiling (raw ASGI)"
PRISM = "prism 5.16.0"

DESCRIPTION = (
    "The emulator's benchmark: one command, figures printed and appended to bench/RESULTS.md."
)


@dataclass(frozen=True)
class Plan:
    quick: bool
    duration: int  # seconds per wrk run
    prism: bool
    out: Path
    cold_samples: int
    rss_marks: tuple[int, int]
    lag_probes: int
    sdk_requests: int
    quiet_wait: float  # seconds to wait at most, before each run, for a quiet machine


def parse_args(argv: Sequence[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="short smoke run (~60 s total)")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 10; 2 quick)")
    parser.add_argument("--no-prism", action="store_true", help="skip Stoplight Prism")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help="before each wrk run, wait at most this many seconds until other processes use"
        " < 0.25 core (default 20; 0 quick)",
    )
    parser.add_argument(
        "--out", type=Path, default=BENCH / "RESULTS.md", help="results file (appended)"
    )
    args = parser.parse_args(argv)
    quick: bool = args.quick
    duration = args.duration or (2 if quick else 10)
    if duration < 1:
        parser.error("--duration must be at least 1")
    return Plan(
        quick=quick,
        duration=duration,
        prism=not args.no_prism,
        out=args.out.resolve(),
        cold_samples=2 if quick else 5,
        rss_marks=(5_000, 10_000) if quick else (50_000, 100_000),
        lag_probes=60 if quick else 300,
        sdk_requests=100 if quick else 1_000,
        quiet_wait=args.quiet_wait if args.quiet_wait is not None else (0 if quick else 20),
    )
