"""wrk: one run's command line, its figures (the JSON line bench/common.lua's ``done()``
prints; never wrk's text), and the CPU other processes used meanwhile.

Why wrk: it is written in C and event-driven; one wrk thread sends and parses far more requests
per second than one Python process can serve, so the load generator is never the bottleneck
and the same script drives every target.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import secrets
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.plan import AUTH_HEADER, BENCH, WRK_TIMEOUT_S
from harness.processes import Process


@dataclass
class Load:
    """One wrk run's figures (latencies in milliseconds)."""

    target: str
    connections: int
    requests: int
    seconds: float
    p50: float
    p95: float
    p99: float
    non2xx: int
    socket_errors: int
    statuses: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def accepted(self) -> int:
        return self.requests - self.non2xx


def wrk_argv(
    script: str, base_url: str, connections: int, duration: float, data: Path, run_id: str
) -> list[str]:
    return [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration:g}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        "-s",
        str(BENCH / script),
        base_url,
        "--",
        AUTH_HEADER,
        str(data),
        run_id,
    ]


def parse_wrk(target: str, connections: int, stdout: str, stderr: str) -> Load:
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            found = json.loads(line.removeprefix("BENCH_JSON "))
            errors = found["errors"]
            latency = found["latency_us"]
            return Load(
                target=target,
                connections=connections,
                requests=found["requests"],
                seconds=found["duration_us"] / 1e6,
                p50=latency["p50"] / 1000,
                p95=latency["p95"] / 1000,
                p99=latency["p99"] / 1000,
                non2xx=found["non2xx"],
                socket_errors=errors["connect"]
                + errors["read"]
                + errors["write"]
                + errors["timeout"],
                statuses=found["statuses"],
            )
    raise RuntimeError(f"wrk printed no figures:\n{stdout[-2000:]}\n{stderr[-2000:]}")


def run_wrk(
    target: str, script: str, base_url: str, connections: int, duration: float, data: Path
) -> Load:
    argv = wrk_argv(script, base_url, connections, duration, data, secrets.token_hex(4))
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    return parse_wrk(target, connections, done.stdout, done.stderr)


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat, not idle or iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_s(watched: Sequence[Process]) -> float:
    """CPU seconds used by the bench itself, its waited-for children (wrk) and ``watched``."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for child in watched:
        with contextlib.suppress(OSError, ValueError):
            total += child.cpu_ticks() / tick
    return total


def run_wrk_watched(
    target: str,
    script: str,
    base_url: str,
    connections: int,
    duration: float,
    data: Path,
    watched: Sequence[Process],
    quiet_wait: float = 0.0,
) -> Load:
    """``run_wrk``, also measuring the CPU that processes outside the bench used meanwhile.

    First waits (at most ``quiet_wait`` seconds) until the processes outside the bench use
    less than a quarter of a core over one second: other people's test suites on a shared
    machine would otherwise lower the figures.
    """
    waited = wait_quiet(watched, quiet_wait) if quiet_wait > 0 else 0.0
    busy, own = machine_busy_s(), own_cpu_s(watched)
    load = run_wrk(target, script, base_url, connections, duration, data)
    others = (machine_busy_s() - busy) - (own_cpu_s(watched) - own)
    load.extra["others_cpu"] = max(0.0, others / load.seconds) if load.seconds else math.nan
    load.extra["quiet_wait_s"] = waited
    return load


def wait_quiet(watched: Sequence[Process], limit: float, threshold: float = 0.25) -> float:
    """Wait until other processes use < ``threshold`` cores over 1 s; seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        busy, own = machine_busy_s(), own_cpu_s(watched)
        time.sleep(1.0)
        if (machine_busy_s() - busy) - (own_cpu_s(watched) - own) < threshold:
            break
    return time.perf_counter() - start
