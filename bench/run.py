"""The emulator's benchmark: one command, figures printed and appended to bench/RESULTS.md.

    python bench/run.py                 # full run (~5 minutes on 2 cores)
    python bench/run.py --quick         # smoke run (~1 minute, indicative figures)
    python bench/run.py --duration 20 --no-prism --out /tmp/results.md

What it measures (bench/RESULTS.md's header explains every figure):

1. the update path (``POST .../Payments/{Sid}.json``, fresh IdempotencyKey each time) under the
   same wrk load for: the emulator with its StatusCallbacks delivered to a local receiver
   process, the emulator with StatusCallbacks it cannot deliver (a relative URL), a ceiling
   (raw ASGI app answering 202, bench/ceiling.py) and Stoplight Prism mocking Twilio's spec;
2. idempotent replays; 3. create; 4. cold start; 5. RSS growth; 6. StatusCallback lag with the
   auto caller, under load; 7. what a test suite driving twilio-python sequentially sees.

Why wrk: it is written in C and event-driven; one wrk thread sends and parses far more requests
per second than one Python process can serve, so the load generator is never the bottleneck
and the same script drives every target. Its Lua ``done()`` hook prints the figures as JSON
(bench/common.lua); this file parses that line, never wrk's text.

Every child process (emulator, receiver, ceiling, Prism) runs in its own process group on
127.0.0.1 and is stopped, by its id, in a ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import http.client
import importlib.metadata
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SPEC = REPO.parent / "shared" / "reference" / "twilio_api_v2010.json"
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
UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
UVICORN_FLAGS += ["--log-level", "warning"]

DELIVERED = "emulator (callbacks delivered)"
UNDELIVERABLE = "emulator (callbacks not deliverable)"
CEILING = "ceiling (raw ASGI)"
PRISM = "prism 5.16.0"


# --- configuration -----------------------------------------------------------------------------


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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


# --- small helpers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


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


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def http_status(
    url: str, method: str = "GET", body: str | None = None, timeout: float = 1.0
) -> int:
    """One request with the standard library (cheap enough to poll every 5 ms)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        headers = {}
        if body is not None:
            headers = {
                "Authorization": AUTH_HEADER,
                "Content-Type": "application/x-www-form-urlencoded",
            }
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path or "/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# --- child processes ---------------------------------------------------------------------------


class Child:
    """A child process in its own process group; its output goes to a log file."""

    def __init__(
        self, name: str, argv: Sequence[str], cwd: Path, env: dict[str, str], log: Path
    ) -> None:
        self.name = name
        self.log_path = log
        self._log = log.open("wb")
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self._log.close()

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for {self.name}")

    def cpu_ticks(self) -> int:
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def wait_until_answers(
        self,
        url: str,
        accept: Callable[[int], bool] = lambda status: True,
        timeout: float = 60.0,
        interval: float = 0.005,
        method: str = "GET",
        body: str | None = None,
    ) -> float:
        """Poll ``url`` until an accepted answer; seconds since the process was started."""
        deadline = time.perf_counter() + timeout
        while True:
            try:
                if accept(http_status(url, method, body)):
                    return time.perf_counter() - self.started
            except (OSError, http.client.HTTPException):
                pass
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.name} did not answer {url} in {timeout:.0f} s")
            time.sleep(interval)

    def wait_idle(self, timeout: float = 120.0) -> float:
        """Wait until the process uses < 10 % of a core over two 0.3 s windows; seconds waited."""
        start = time.perf_counter()
        tick = os.sysconf("SC_CLK_TCK")
        quiet = 0
        last = self.cpu_ticks()
        while time.perf_counter() - start < timeout and quiet < 2:
            time.sleep(0.3)
            now = self.cpu_ticks()
            quiet = quiet + 1 if (now - last) / tick < 0.03 else 0
            last = now
        return time.perf_counter() - start


class Children:
    """Every child started, stopped in reverse order at the end (or on any failure)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: list[Child] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        log = Path(
            tempfile.mkstemp(prefix=f"{name.split()[0]}-", suffix=".log", dir=self.workdir)[1]
        )
        child = Child(name, argv, cwd or self.workdir, env or dict(os.environ), log)
        self.running.append(child)
        return child

    def stop(self, child: Child) -> None:
        child.stop()
        if child in self.running:
            self.running.remove(child)

    def stop_all(self) -> None:
        while self.running:
            self.stop(self.running[-1])

    @contextlib.contextmanager
    def scoped(self, child: Child) -> Iterator[Child]:
        try:
            yield child
        finally:
            self.stop(child)


class BenchChildren(Children):
    """Children, plus the receiver process that lives for the whole run."""

    receiver: Child | None = None

    def stop_all_but_receiver(self) -> None:
        for child in list(reversed(self.running)):
            if child is not self.receiver:
                self.stop(child)


def emulator_env(caller: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")}
    env |= {"EMULATOR_CALLER": caller, "EMULATOR_LOG_LEVEL": "warning", "PYTHONUNBUFFERED": "1"}
    return env


@dataclass
class Server:
    """A started target: its process and base URL (workdir: its working directory)."""

    child: Child
    base_url: str
    workdir: Path


def start_emulator(children: Children, caller: str = "manual", label: str = "emulator") -> Server:
    """``python -m emulator serve --port P`` in a fresh working directory, as a user starts it."""
    workdir = Path(tempfile.mkdtemp(prefix="emulator-", dir=children.workdir))
    port = free_port()
    child = children.start(
        label,
        [sys.executable, "-m", "emulator", "serve", "--port", str(port)],
        env=emulator_env(caller),
        cwd=workdir,
    )
    base_url = f"http://127.0.0.1:{port}"
    child.wait_until_answers(base_url + "/_emulator/health", lambda s: s == 200, timeout=60)
    return Server(child, base_url, workdir)


def uvicorn_argv(app: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(BENCH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *UVICORN_FLAGS,
    ]


def start_ceiling(children: Children, body_bytes: int) -> tuple[Child, str, float]:
    """The ceiling app; with the seconds from process start to its first answer."""
    port = free_port()
    env = dict(os.environ) | {"BENCH_BODY_BYTES": str(body_bytes)}
    child = children.start("ceiling", uvicorn_argv("ceiling:app", port), env=env)
    base_url = f"http://127.0.0.1:{port}"
    first = child.wait_until_answers(base_url + "/", timeout=30)
    return child, base_url, first


def start_receiver(children: Children) -> tuple[Child, str]:
    port = free_port()
    child = children.start("receiver", uvicorn_argv("receiver:app", port))
    base_url = f"http://127.0.0.1:{port}"
    child.wait_until_answers(base_url + "/count", lambda s: s == 200, timeout=30)
    return child, base_url


def start_prism(children: Children) -> tuple[Child, str, float]:
    """Prism mocking Twilio's spec; with the seconds from process start to its first answer."""
    port = free_port()
    child = children.start("prism", [str(PRISM_BIN), "mock", str(SPEC), "-p", str(port)])
    base_url = f"http://127.0.0.1:{port}"
    first = child.wait_until_answers(base_url + "/", timeout=90)
    return child, base_url, first


def receiver_count(base_url: str) -> int:
    with httpx.Client(timeout=5) as client:
        return int(client.get(base_url + "/count").text)


def ensure_prism(plan: Plan) -> str | None:
    """Install Prism once into bench/.prism; the reason it is skipped, or None."""
    if not plan.prism:
        return "--no-prism given"
    if not SPEC.is_file():
        return f"Twilio's spec not found at {SPEC}"
    installed = PRISM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    with contextlib.suppress(OSError, ValueError):
        if PRISM_BIN.exists() and json.loads(installed.read_text())["version"] == PRISM_VERSION:
            return None
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "node/npm not found"
    say(f"installing @stoplight/prism-cli@{PRISM_VERSION} into {PRISM_DIR} ...")
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(PRISM_DIR), f"@stoplight/prism-cli@{PRISM_VERSION}"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"npm install failed: {exc}"
    if done.returncode != 0 or not PRISM_BIN.exists():
        last = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return "npm install failed: " + " / ".join(last)
    return None


# --- the API: sessions, data files for wrk -----------------------------------------------------


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def payments_path(call_sid: str, payment_sid: str | None = None) -> str:
    base = f"/2010-04-01/Accounts/{AC}/Calls/{call_sid}/Payments"
    return f"{base}/{payment_sid}.json" if payment_sid else f"{base}.json"


@dataclass(frozen=True)
class Session:
    call_sid: str
    payment_sid: str
    callback: str

    @property
    def path(self) -> str:
        return payments_path(self.call_sid, self.payment_sid)


def api_client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, auth=(AC, TOKEN), timeout=30)


def create_sessions(base_url: str, callback: str, count: int = SESSIONS) -> list[Session]:
    sessions = []
    with api_client(base_url) as client:
        for _ in range(count):
            call = new_call_sid()
            answer = client.post(
                payments_path(call),
                data={"IdempotencyKey": secrets.token_hex(8), "StatusCallback": callback},
            )
            if answer.status_code != 201:
                raise RuntimeError(f"create answered {answer.status_code}: {answer.text[:300]}")
            sessions.append(Session(call, answer.json()["sid"], callback))
    return sessions


def update_body_size(base_url: str, session: Session) -> int:
    """The size of the emulator's answer to an update (the ceiling answers as many bytes)."""
    with api_client(base_url) as client:
        answer = client.post(
            session.path,
            data={
                "IdempotencyKey": secrets.token_hex(8),
                "Capture": CAPTURES[0],
                "StatusCallback": session.callback,
            },
        )
    if answer.status_code != 202:
        raise RuntimeError(f"update answered {answer.status_code}: {answer.text[:300]}")
    return len(answer.content)


def write_records(path: Path, records: Sequence[Sequence[str]]) -> Path:
    path.write_text("".join("\t".join(r) + "\n" for r in records))
    return path


def update_records(workdir: Path, sessions: Sequence[Session]) -> Path:
    path = Path(tempfile.mkstemp(prefix="sessions-", suffix=".tsv", dir=workdir)[1])
    return write_records(
        path, [(s.path, urllib.parse.quote(s.callback, safe="")) for s in sessions]
    )


# --- wrk ---------------------------------------------------------------------------------------


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


def own_cpu_s(watched: Sequence[Child]) -> float:
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
    watched: Sequence[Child],
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


def wait_quiet(watched: Sequence[Child], limit: float, threshold: float = 0.25) -> float:
    """Wait until other processes use < ``threshold`` cores over 1 s; seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        busy, own = machine_busy_s(), own_cpu_s(watched)
        time.sleep(1.0)
        if (machine_busy_s() - busy) - (own_cpu_s(watched) - own) < threshold:
            break
    return time.perf_counter() - start


def settle(emulator: Server, load: Load, receiver: str | None, before: int) -> None:
    """After a run: wait for the callback backlog to drain and the emulator to go idle.

    With a receiver, records how many of the run's callbacks had arrived when wrk stopped
    (``cb_at_end``, a share of the accepted requests) and how long the rest took (``drain_s``).
    """
    start = time.perf_counter()
    if receiver is not None:
        expected = before + load.accepted
        at_end = receiver_count(receiver) - before
        load.extra["cb_at_end"] = at_end / load.accepted if load.accepted else math.nan
        deadline = start + 300
        while receiver_count(receiver) < expected and time.perf_counter() < deadline:
            if not emulator.child.alive():
                raise RuntimeError(f"emulator exited:\n{emulator.child.tail()}")
            time.sleep(0.05)
        drained = receiver_count(receiver) >= expected
        load.extra["drain_s"] = (time.perf_counter() - start) if drained else math.inf
    emulator.child.wait_idle()


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


# --- the steps ---------------------------------------------------------------------------------


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


class Bench:
    def __init__(self, plan: Plan, children: BenchChildren, receiver: str) -> None:
        self.plan = plan
        self.children = children
        self.receiver = receiver
        self.callback = receiver + "/cb"
        self.results = Results()

    def step(self, name: str, run: Callable[[], None]) -> None:
        say(f"--- {name}")
        try:
            run()
        except Exception as exc:  # one failing step must not lose the others' figures
            traceback.print_exc()
            self.results.failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
        finally:
            self.children.stop_all_but_receiver()

    def wrk(self, target: str, script: str, server: Server, connections: int, data: Path) -> Load:
        """One wrk run of ``plan.duration`` seconds against ``server`` (any target)."""
        watched = [server.child] + ([self.children.receiver] if self.children.receiver else [])
        return run_wrk_watched(
            target,
            script,
            server.base_url,
            connections,
            self.plan.duration,
            data,
            watched,
            self.plan.quiet_wait,
        )

    def quiet(self, watched: Sequence[Child] = ()) -> None:
        """Wait (at most ``plan.quiet_wait`` s) until other processes leave the CPU alone."""
        if self.plan.quiet_wait > 0:
            receiver = [self.children.receiver] if self.children.receiver else []
            waited = wait_quiet([*watched, *receiver], self.plan.quiet_wait)
            if waited >= 1.5:
                say(f"waited {waited:.0f} s for a quiet machine")

    # step 4
    def cold_start(self) -> None:
        samples = self.plan.cold_samples
        cold = self.results.cold
        self.quiet()
        for i in range(samples):
            health, create = self._cold_emulator()
            cold.setdefault("emulator", {"health": [], "create": []})
            cold["emulator"]["health"].append(health)
            cold["emulator"]["create"].append(create)
            say(
                f"emulator cold start {i + 1}/{samples}: health {health * 1000:.0f} ms, create {create * 1000:.0f} ms"
            )
        for i in range(samples):
            child, _, first = start_ceiling(self.children, self.results.body_bytes or 406)
            self.children.stop(child)
            cold.setdefault(CEILING, {"first": []})["first"].append(first)
            say(f"ceiling cold start {i + 1}/{samples}: {first * 1000:.0f} ms")
        if self.results.prism_skipped is None:
            for i in range(samples):
                child, _, first = start_prism(self.children)
                self.children.stop(child)
                cold.setdefault(PRISM, {"first": []})["first"].append(first)
                say(f"prism cold start {i + 1}/{samples}: {first * 1000:.0f} ms")

    def _cold_emulator(self) -> tuple[float, float]:
        workdir = Path(tempfile.mkdtemp(prefix="cold-", dir=self.children.workdir))
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        child = self.children.start(
            "emulator",
            [sys.executable, "-m", "emulator", "serve", "--port", str(port)],
            env=emulator_env("manual"),
            cwd=workdir,
        )
        with self.children.scoped(child):
            health = child.wait_until_answers(base_url + "/_emulator/health", lambda s: s == 200)
            body = urllib.parse.urlencode(
                {"IdempotencyKey": "cold", "StatusCallback": self.callback}
            )
            create = child.wait_until_answers(
                base_url + payments_path(new_call_sid()),
                lambda s: s == 201,
                method="POST",
                body=body,
            )
        return health, create

    # step 1, 2, 3
    def load(self) -> None:
        workdir = self.children.workdir

        # emulator, callbacks delivered (the primary measurement), then replays and creates
        emulator = start_emulator(self.children, label="emulator")
        self.results.emulator_version = (
            httpx.get(emulator.base_url + "/_emulator/health").json().get("version", "?")
        )
        sessions = create_sessions(emulator.base_url, self.callback)
        self.results.body_bytes = update_body_size(emulator.base_url, sessions[0])
        data = update_records(workdir, sessions)
        emulator.child.wait_idle()
        for connections in CONNECTIONS:
            before = receiver_count(self.receiver)
            load = self.wrk(DELIVERED, "update.lua", emulator, connections, data)
            settle(emulator, load, self.receiver, before)
            self.results.loads.append(load)
            say(describe(load))

        # 2. idempotent replays: every (session, capture) once, then the load replays them
        records = []
        with api_client(emulator.base_url) as client:
            for i, session in enumerate(sessions):
                for capture in CAPTURES:
                    form = {
                        "IdempotencyKey": f"replay-{i}-{capture}",
                        "Capture": capture,
                        "StatusCallback": session.callback,
                    }
                    answer = client.post(session.path, data=form)
                    if answer.status_code != 202:
                        raise RuntimeError(f"update answered {answer.status_code}: {answer.text}")
                    records.append((session.path, urllib.parse.urlencode(form)))
        replay_data = write_records(workdir / "replay.tsv", records)
        emulator.child.wait_idle()
        load = self.wrk(
            "replay (same keys, same parameters)", "replay.lua", emulator, 32, replay_data
        )
        settle(emulator, load, None, 0)
        self.results.others.append(load)
        say(describe(load))

        # 3. create: a fresh CallSid and key per request
        create_data = write_records(
            workdir / "create.tsv", [(AC, urllib.parse.quote(self.callback, safe=""))]
        )
        before = receiver_count(self.receiver)
        load = self.wrk("create (fresh CallSid and key)", "create.lua", emulator, 32, create_data)
        settle(emulator, load, self.receiver, before)
        self.results.others.append(load)
        say(describe(load))
        self.children.stop(emulator.child)

        # emulator, callbacks not deliverable (a relative URL, no call url, no base url)
        emulator = start_emulator(self.children, label="emulator")
        sessions_rel = create_sessions(emulator.base_url, "/status")
        data_rel = update_records(workdir, sessions_rel)
        emulator.child.wait_idle()
        for connections in CONNECTIONS:
            load = self.wrk(UNDELIVERABLE, "update.lua", emulator, connections, data_rel)
            settle(emulator, load, None, 0)
            self.results.loads.append(load)
            say(describe(load))
        self.children.stop(emulator.child)

        # ceiling: same paths, same script
        child, base_url, _ = start_ceiling(self.children, self.results.body_bytes)
        for connections in CONNECTIONS:
            load = self.wrk(
                CEILING, "update.lua", Server(child, base_url, workdir), connections, data
            )
            self.results.loads.append(load)
            say(describe(load))
            child.wait_idle()
        self.children.stop(child)

        # Prism: same paths, same script
        if self.results.prism_skipped is None:
            child, base_url, _ = start_prism(self.children)
            for connections in CONNECTIONS:
                target = Server(child, base_url, workdir)
                load = self.wrk(PRISM, "update.lua", target, connections, data)
                self.results.loads.append(load)
                say(describe(load))
                child.wait_idle()
            self.children.stop(child)

    # step 5
    def rss(self) -> None:
        marks = self.plan.rss_marks
        emulator = start_emulator(self.children, label="emulator")
        time.sleep(1.0)
        emulator.child.wait_idle()
        rss = self.results.rss
        rss["idle"] = emulator.child.rss_kib()
        sessions = create_sessions(emulator.base_url, self.callback)
        data = update_records(self.children.workdir, sessions)
        emulator.child.wait_idle()
        total = 0
        rate = 0.0
        rss["marks"] = []
        for mark in marks:
            while total < mark:
                remaining = mark - total
                chunk = 3.0 if rate == 0 else min(10.0, max(1.0, remaining / rate * 1.02))
                before = receiver_count(self.receiver)
                load = run_wrk(
                    DELIVERED, "update.lua", emulator.base_url, 32, math.ceil(chunk), data
                )
                settle(emulator, load, self.receiver, before)
                if load.requests == 0:
                    raise RuntimeError("wrk made no request")
                total += load.requests
                rate = load.rps
            rss["marks"].append((mark, total, emulator.child.rss_kib()))
            say(f"RSS after {total:,} update requests: {rss['marks'][-1][2] / 1024:.1f} MiB")
        self.children.stop(emulator.child)

    # step 6
    def lag(self) -> None:
        emulator = start_emulator(self.children, caller="auto", label="emulator")
        sessions = create_sessions(emulator.base_url, self.callback)
        data = update_records(self.children.workdir, sessions)
        emulator.child.wait_idle()
        self.quiet([emulator.child])
        asyncio.run(self._lag(emulator, data))
        self.children.stop(emulator.child)

    async def _lag(self, emulator: Server, data: Path) -> None:
        arrivals: dict[int, float] = {}
        arrived = asyncio.Event()  # set at each new arrival
        connections: set[asyncio.StreamWriter] = set()
        handlers: set[asyncio.Task[None]] = set()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            """A minimal HTTP/1.1 server: records when each ``?n=`` callback arrives, 204."""
            connections.add(writer)
            task = asyncio.current_task()
            if task is not None:
                handlers.add(task)
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    now = time.perf_counter()
                    lines = head.decode("latin-1").split("\r\n")
                    target = lines[0].split(" ")[1]
                    length = 0
                    for line in lines[1:]:
                        name, _, value = line.partition(":")
                        if name.strip().lower() == "content-length":
                            length = int(value)
                    if length:
                        await reader.readexactly(length)
                    query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
                    n = query.get("n", [""])[0]
                    if n.isdigit() and int(n) not in arrivals:
                        arrivals[int(n)] = now
                        arrived.set()
                    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                pass
            finally:
                connections.discard(writer)
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        lag_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/lag"
        probes = self.plan.lag_probes
        interval = self.plan.duration / probes  # the pace, when the answers are faster
        sent: dict[int, float] = {}
        refused = 0
        process: asyncio.subprocess.Process | None = None
        client = httpx.AsyncClient(base_url=emulator.base_url, auth=(AC, TOKEN), timeout=30)
        try:
            probe_sessions = []
            for _ in range(4):
                call = new_call_sid()
                answer = await client.post(
                    payments_path(call),
                    data={
                        "IdempotencyKey": secrets.token_hex(8),
                        "StatusCallback": lag_url + "?n=create",
                    },
                )
                answer.raise_for_status()
                probe_sessions.append(payments_path(call, answer.json()["sid"]))
            # wrk runs until every probe is sent, then is interrupted (it prints its figures)
            longest = 5 * self.plan.duration + 60
            argv = wrk_argv(
                "update.lua", emulator.base_url, 32, longest + 30, data, secrets.token_hex(4)
            )
            process = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            finished = asyncio.ensure_future(process.communicate())
            await asyncio.sleep(0.5)  # let the load build up
            start = next_at = time.perf_counter()
            for n in range(probes):
                if finished.done() or time.perf_counter() - start > longest:
                    break
                answer = await client.post(
                    probe_sessions[n % len(probe_sessions)],
                    data={
                        "IdempotencyKey": f"lag-{n}",
                        "Capture": CAPTURES[(n // len(probe_sessions)) % len(CAPTURES)],
                        "StatusCallback": f"{lag_url}?n={n}",
                    },
                )
                if answer.status_code == 202:
                    sent[n] = time.perf_counter()
                else:
                    refused += 1
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            stdout, stderr = await finished
            load = parse_wrk("emulator, auto caller", 32, stdout.decode(), stderr.decode())
            deadline = time.perf_counter() + 120
            while not sent.keys() <= arrivals.keys():
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), remaining)
        finally:
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
            await client.aclose()
            server.close()
            for writer in list(connections):
                writer.close()
            await asyncio.gather(*handlers, return_exceptions=True)
            await server.wait_closed()
        lags = [(arrivals[n] - sent[n]) * 1000 for n in sent if n in arrivals]
        self.results.lag = {
            "sent": len(sent),
            "refused": refused,
            "arrived": len(lags),
            "p50": percentile(lags, 50),
            "p99": percentile(lags, 99),
            "max": max(lags) if lags else math.nan,
            "load": load,
        }
        say(
            f"callback lag: {len(lags)}/{len(sent)} arrived, p50 {fmt_ms(percentile(lags, 50))} ms,"
            f" p99 {fmt_ms(percentile(lags, 99))} ms (background load {load.rps:,.0f} req/s)"
        )

    # step 7
    def sdk(self) -> None:
        from twilio.rest import Client

        for variable in ("TWILIO_EDGE", "TWILIO_REGION"):
            os.environ.pop(variable, None)
        emulator = start_emulator(self.children, label="emulator")
        client = Client(AC, TOKEN)
        client.api.base_url = emulator.base_url
        call = new_call_sid()
        self.quiet([emulator.child])
        payment = client.calls(call).payments.create(
            idempotency_key="sdk-create", status_callback=self.callback
        )
        times = []
        count = self.plan.sdk_requests
        start = time.perf_counter()
        for i in range(count):
            t0 = time.perf_counter()
            client.calls(call).payments(payment.sid).update(
                idempotency_key=f"sdk-{i}",
                status_callback=self.callback,
                capture=CAPTURES[i % len(CAPTURES)],
            )
            times.append((time.perf_counter() - t0) * 1000)
        total = time.perf_counter() - start
        self.results.sdk = {
            "requests": count,
            "total_s": total,
            "mean": statistics.fmean(times),
            "p50": percentile(times, 50),
            "p99": percentile(times, 99),
        }
        say(
            f"twilio-python: {count} updates in {total:.2f} s, mean {statistics.fmean(times):.2f} ms"
        )
        self.children.stop(emulator.child)


# --- the report --------------------------------------------------------------------------------

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
errors as JSON; bench/run.py parses that. wrk's `--timeout` is 5 s.

**Targets.**

- *emulator (callbacks delivered)*, the primary figure: `python -m emulator serve --port P` in a
  fresh temporary directory (default SQLite file `payments-emulator.db` there), default settings
  but `EMULATOR_CALLER=manual` (no simulated caller: only the API is measured) and
  `EMULATOR_LOG_LEVEL=warning`. 64 sessions are created first; the load is the **update path**
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
  twilio_api_v2010.json`), as people mock Twilio today: it validates the request and answers the
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
  `GET /_emulator/health` (polled every 5 ms), and to the first 201 of a create sent right after
  it; for the ceiling and Prism, to their first HTTP answer of any status.
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


# --- main --------------------------------------------------------------------------------------


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
        children = BenchChildren(Path(tmp))
        try:
            receiver, receiver_url = start_receiver(children)
            children.receiver = receiver
            bench = Bench(plan, children, receiver_url)
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


if __name__ == "__main__":
    sys.exit(main())
