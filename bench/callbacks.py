#!/usr/bin/env python3
"""StatusCallback delivery when receivers misbehave: the figures of "one bad receiver harms
nobody else" and of shutdown and a full disk.

    .venv/bin/python bench/callbacks.py            # every scenario (about two minutes)
    .venv/bin/python bench/callbacks.py lag dns    # some of them

Scenarios (each starts emulators of its own with ``emulator.testing.EmulatorServer``, and
receivers of its own on 127.0.0.1; nothing leaves the machine):

``lag``
    a healthy session's callback lag (from sending the update to the callback's arrival)
    while 100 sessions point at a receiver that accepts connections and never answers.
``dns``
    update throughput (wrk, 32 connections, ``--seconds`` each) with every StatusCallback on
    a closed local port, then on a host that does not resolve. The name is resolved by a
    stand-in for ``getaddrinfo`` loaded into the emulator process (``sitecustomize``): it
    answers "Name or service not known" after ``--dns-delay-ms`` (a name server's round
    trip), and counts the look-ups.
``answers``
    update latency and the emulator's RSS (peak) with a receiver answering 204, 10 MB, and
    an endless chunked answer.
``sigterm``
    80 callbacks pending for a slow receiver, SIGTERM while some are in flight, a restart:
    how many arrived twice.
``diskfull``
    (root only) the database on an 8 MiB tmpfs, filled while deliveries are in flight, then
    freed; a restart: how many arrived twice, what the API answered meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.testing import Account, EmulatorServer  # noqa: E402
from tests import tmpfs  # noqa: E402

CARD_ITEMS = ["payment-card-number", "expiration-date", "security-code", "postal-code"]

# --- receivers on 127.0.0.1, on an event loop in a thread of their own ------------------------

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[bool]]


class Receiver:
    """Records (time.monotonic(), request line, idempotency token) of every request; what it
    answers is ``behaviour``'s business (it returns whether the connection may go on)."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.arrivals: list[tuple[float, str, str]] = []
        self.open = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                token = re.search(rb"(?i)i-twilio-idempotency-token: *(\S+)", head)
                line = head.split(b"\r\n", 1)[0].decode()
                self.arrivals.append(
                    (time.monotonic(), line, token.group(1).decode() if token else "")
                )
                if not await self.behaviour(reader, writer, head):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self.open -= 1
            writer.close()

    def __enter__(self) -> Receiver:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def url(self, path: str = "/status") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


async def answer_204(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: bytes) -> bool:
    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    await writer.drain()
    return True


def answer_after(seconds: float) -> Behaviour:
    async def behaviour(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: bytes
    ) -> bool:
        await asyncio.sleep(seconds)
        return await answer_204(reader, writer, _)

    return behaviour


async def never_answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: bytes
) -> bool:
    await reader.read()  # until the emulator gives up and closes the connection
    return False


BIG = b"x" * 65536


async def answer_10_mb(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: bytes
) -> bool:
    size = 10 * 1024 * 1024
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
    for _piece in range(size // len(BIG)):
        writer.write(BIG)
        await writer.drain()
    return True


async def answer_endless_chunks(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: bytes
) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (len(BIG), BIG)
    while True:  # "3 GB" and more: until the emulator closes the connection
        writer.write(chunk)
        await writer.drain()


def closed_port() -> int:
    return 9  # the discard port: nothing listens there


# --- load ------------------------------------------------------------------------------------

WRK_SCRIPT = """
local captures = { "payment-card-number", "expiration-date", "security-code", "postal-code" }
local sessions = {}
for line in io.lines(os.getenv("BENCH_SESSIONS")) do table.insert(sessions, line) end
local auth = os.getenv("BENCH_AUTH")
local callback = os.getenv("BENCH_CALLBACK")
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
function init(args) counter = 0 end
function request()
  counter = counter + 1
  local path = sessions[(counter + id) % #sessions + 1]
  local body = "IdempotencyKey=k" .. id .. "-" .. counter .. "-" .. os.time()
    .. "&Capture=" .. captures[counter % 4 + 1] .. "&StatusCallback=" .. callback
  return wrk.format("POST", path, {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
"""


def basic(account: Account) -> str:
    token = f"{account.account_sid}:{account.auth_token}".encode()
    return "Basic " + base64.b64encode(token).decode()


def sessions_for(
    server: EmulatorServer, account: Account, count: int, callback: str
) -> list[tuple[str, str]]:
    """``count`` sessions (call sid, payment sid), each with a long input Timeout."""
    made = []
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for n in range(count):
            call_sid = "CA" + os.urandom(16).hex()
            answer = http.post(
                f"/2010-04-01/Accounts/{account.account_sid}/Calls/{call_sid}/Payments.json",
                data={"IdempotencyKey": f"c{n}", "StatusCallback": callback, "Timeout": "600"},
                headers={"Authorization": basic(account)},
            )
            answer.raise_for_status()
            made.append((call_sid, answer.json()["sid"]))
    return made


def update_path(account: Account, call_sid: str, sid: str) -> str:
    return f"/2010-04-01/Accounts/{account.account_sid}/Calls/{call_sid}/Payments/{sid}.json"


def wrk(server: EmulatorServer, account: Account, callback: str, seconds: int) -> dict[str, float]:
    """Updates for ``seconds`` on 32 connections; requests/s and latency percentiles (ms)."""
    sessions = sessions_for(server, account, 32, callback)
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "update.lua"
        script.write_text(WRK_SCRIPT)
        listing = Path(scratch) / "sessions"
        listing.write_text("".join(update_path(account, *s) + "\n" for s in sessions))
        env = {
            **os.environ,
            "BENCH_SESSIONS": str(listing),
            "BENCH_AUTH": basic(account),
            "BENCH_CALLBACK": callback,
        }
        done = subprocess.run(
            [
                "wrk",
                "-t2",
                "-c32",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                server.base_url,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    out = done.stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for percentile in ("50", "99"):
        match = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", out)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        figures[f"p{percentile}"] = value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["errors"] = float(non_2xx.group(1)) if non_2xx else 0.0
    return figures


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


EXTRA_ARGS: list[str] = []  # from the command line: flags for every emulator started


def emulator(
    *args: str, env: dict[str, str] | None = None, database: Path | None = None
) -> EmulatorServer:
    return EmulatorServer(
        "--caller",
        "manual",
        "--log-level",
        "warning",
        *EXTRA_ARGS,
        *args,
        env=env,
        database=database,
        clean_env=True,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- scenarios ---------------------------------------------------------------------------------


def scenario_lag(args: argparse.Namespace) -> None:
    print(
        f"\n## Healthy-session callback lag, {args.hanging} sessions pointing at a hanging receiver"
    )
    with (
        Receiver(never_answer) as hanging,
        Receiver(answer_204) as healthy,
        emulator() as server,
    ):
        account = server.control.create_account()
        stuck = sessions_for(server, account, args.hanging, hanging.url("/hang"))
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            auth = {"Authorization": basic(account)}
            for n, (call_sid, sid) in enumerate(stuck):  # three more each: 400 stuck callbacks
                for item in CARD_ITEMS[:3]:
                    http.post(
                        update_path(account, call_sid, sid),
                        data={
                            "IdempotencyKey": f"s{n}{item}",
                            "Capture": item,
                            "StatusCallback": hanging.url("/hang"),
                        },
                        headers=auth,
                    ).raise_for_status()
            [(call_sid, sid)] = sessions_for(server, account, 1, healthy.url("/healthy-create"))
            sent: dict[str, float] = {}
            answered: dict[str, float] = {}
            for n in range(args.lag_updates):
                path = f"/healthy?n={n}"
                sent[path] = time.monotonic()
                http.post(
                    update_path(account, call_sid, sid),
                    data={
                        "IdempotencyKey": f"h{n}",
                        "Capture": CARD_ITEMS[n % 4],
                        "StatusCallback": healthy.url(path),
                    },
                    headers=auth,
                ).raise_for_status()
                answered[path] = time.monotonic()
                time.sleep(0.01)
            deadline = time.monotonic() + 30
            while len(healthy.arrivals) < args.lag_updates + 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            hanging_open = hanging.open
        arrived = {line.split(" ")[1]: at for at, line, _ in healthy.arrivals}
        lags = [(arrived[p] - sent[p]) * 1000 for p in sent if p in arrived]
        after_answer = [max(arrived[p] - answered[p], 0) * 1000 for p in sent if p in arrived]
    print(f"- healthy callbacks arrived: {len(lags)} of {args.lag_updates}")
    print(
        f"- lag from the update's 202 to the callback's arrival: "
        f"p50 {statistics.median(after_answer):.1f} ms, p99 {percentile(after_answer, 99):.1f} ms, "
        f"max {max(after_answer):.1f} ms"
    )
    print(
        f"- from sending the update (API latency included): p50 {statistics.median(lags):.1f} ms, "
        f"p99 {percentile(lags, 99):.1f} ms"
    )
    print(
        f"- connections the hanging receiver held: {hanging_open}"
        " (at most callback_host_concurrency: a hanging host holds only its own slots)"
    )
    print("- before (issue): another session's callback arrived 14.3 s late")


SITECUSTOMIZE = """
import os, socket, time
_real = socket.getaddrinfo
_delay = float(os.environ.get("BENCH_DNS_DELAY_MS", "50")) / 1000
_log = os.environ.get("BENCH_LOOKUP_LOG")
def getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".unresolvable.test"):
        if _log:
            with open(_log, "a") as f:
                f.write(host + "\\n")
        time.sleep(_delay)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real(host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
"""


def drain(server: EmulatorServer, account: Account, limit_s: float = 30) -> tuple[int, int, float]:
    """Once the load stops: (callbacks, attempted when it stopped, rate at which the rest
    was attempted per second; 0 when nothing was left)."""

    def attempted() -> tuple[int, int]:
        found = server.control.callbacks(account_sid=account.account_sid)
        return len(found), sum(1 for c in found if c["attempts"])

    total, first = attempted()
    started, done = time.monotonic(), first
    while done < total and time.monotonic() - started < limit_s:
        time.sleep(0.5)
        total, done = attempted()
    elapsed = time.monotonic() - started
    return total, first, (done - first) / elapsed if done > first else 0.0


def scenario_dns(args: argparse.Namespace) -> None:
    print("\n## Update throughput: StatusCallback on a closed port vs an unresolvable host")
    print(f"(the name fails after {args.dns_delay_ms:.0f} ms, in a getaddrinfo stand-in)")
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "sitecustomize.py").write_text(SITECUSTOMIZE)
        lookups = Path(scratch) / "lookups"
        env = {
            "PYTHONPATH": scratch,
            "BENCH_DNS_DELAY_MS": str(args.dns_delay_ms),
            "BENCH_LOOKUP_LOG": str(lookups),
        }
        results: dict[str, list[float]] = {}
        cases = [
            ("closed local port", f"http://127.0.0.1:{closed_port()}/status"),
            ("unresolvable host", "http://pay.unresolvable.test/status"),
        ]
        for _ in range(args.rounds):  # interleaved: the machine's load drifts
            for name, callback in cases:
                with emulator(env=env) as server:
                    account = server.control.create_account()
                    figures = wrk(server, account, callback, args.seconds)
                    total, attempted, rate = drain(server, account)
                results.setdefault(name, []).append(figures["rps"])
                print(
                    f"- {name}: {figures['rps']:,.0f} updates/s, p50 {figures['p50']:.1f} ms, "
                    f"p99 {figures['p99']:.1f} ms; {total:,} callbacks, {attempted:,} attempted "
                    f"when the load stopped, the rest at {rate:,.0f}/s"
                )
        count = len(lookups.read_text().splitlines()) if lookups.exists() else 0
    closed = statistics.mean(results["closed local port"])
    dead = statistics.mean(results["unresolvable host"])
    print(
        f"- mean of {args.rounds}: closed port {closed:,.0f}/s, unresolvable {dead:,.0f}/s "
        f"(ratio {dead / closed:.2f}); name look-ups made in all: {count}"
    )
    print("- before (issue): 600 req/s unresolvable vs 2,239 closed port; a backlog drained at 5/s")


def scenario_answers(args: argparse.Namespace) -> None:
    print("\n## Receivers answering big: update latency and the emulator's memory")
    for name, behaviour in [
        ("204, empty", answer_204),
        ("10 MB answer", answer_10_mb),
        ("endless chunked answer", answer_endless_chunks),
    ]:
        with Receiver(behaviour) as receiver, emulator() as server:
            account = server.control.create_account()
            before = memory(server.pid)
            figures = wrk(server, account, receiver.url(), args.seconds)
            callbacks = server.control.callbacks(account_sid=account.account_sid)
            delivered = sum(1 for c in callbacks if c["state"] == "delivered")
            after = memory(server.pid)
        print(
            f"- {name}: {figures['rps']:,.0f} updates/s, p50 {figures['p50']:.1f} ms, "
            f"p99 {figures['p99']:.1f} ms; RSS {before['VmRSS']:.0f} -> {after['VmRSS']:.0f} MiB "
            f"(peak {after['VmHWM']:.0f} MiB); {delivered:,} of {len(callbacks):,} delivered"
        )
    print("- before (issue): a 10 MB answer made updates 14x slower; 3 GB chunked: 6.1 GB RSS")


def scenario_sigterm(args: argparse.Namespace) -> None:
    print("\n## SIGTERM with 80 callbacks pending (slow receiver, 0.3 s per answer)")
    delay = [0.3]

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        await asyncio.sleep(delay[0])
        return await answer_204(reader, writer, head)

    with tempfile.TemporaryDirectory() as scratch, Receiver(slow) as receiver:
        server = emulator(database=Path(scratch) / "e.db")
        with server:
            account = server.control.create_account()
            made = sessions_for(server, account, 20, receiver.url())
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                for n, (call_sid, sid) in enumerate(made):
                    for item in CARD_ITEMS[:3]:
                        http.post(
                            update_path(account, call_sid, sid),
                            data={
                                "IdempotencyKey": f"u{n}{item}",
                                "Capture": item,
                                "StatusCallback": receiver.url(),
                            },
                            headers={"Authorization": basic(account)},
                        ).raise_for_status()
            while len(receiver.arrivals) < 10:
                time.sleep(0.01)
            started = time.monotonic()
            server.stop()
            stopped_after = time.monotonic() - started
            before = len(receiver.arrivals)
            delay[0] = 0
            server.start()
            for _, sid in made:
                server.control.callbacks(payment_sid=sid, wait_for=4, timeout=30)
            total = len(server.control.callbacks(account_sid=account.account_sid))
    tokens = Counter(token for _, _, token in receiver.arrivals)
    duplicates = sum(n - 1 for n in tokens.values() if n > 1)
    print(
        f"- {before} delivered before the process exited ({stopped_after:.2f} s after SIGTERM), "
        f"{len(receiver.arrivals) - before} after the restart, {total} callbacks in all"
    )
    print(f"- duplicates: {duplicates}")
    print("- before (issue): the 20 in flight were delivered, left pending and sent again")


def scenario_diskfull(args: argparse.Namespace) -> None:
    print("\n## A full disk (database on an 8 MiB tmpfs), then space again; a restart")
    reason = tmpfs.unavailable()
    if reason is not None:
        print(f"- skipped: {reason}")
        return
    with tempfile.TemporaryDirectory() as scratch:
        mountpoint = Path(scratch) / "small"
        try:
            with tmpfs.small_filesystem(mountpoint) as holder:
                _disk_full_run(holder, mountpoint, Path(scratch))
        except tmpfs.Unavailable as exc:
            print(f"- skipped: {exc}")


def _disk_full_run(holder: int, mountpoint: Path, scratch: Path) -> None:
    gate = threading.Event()

    async def gated(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes
    ) -> bool:
        await asyncio.get_running_loop().run_in_executor(None, gate.wait, 60)
        return await answer_204(reader, writer, head)

    inside = Path(f"/proc/{holder}/root") / mountpoint.relative_to("/")
    server = tmpfs.NamespacedServer(
        holder,
        "--caller",
        "manual",
        "--log-level",
        "warning",
        database=mountpoint / "e.db",
        log_file=scratch / "log",
        clean_env=True,
    )
    statuses: Counter[int] = Counter()
    with Receiver(gated) as receiver, server:
        account = server.control.create_account()
        made = sessions_for(server, account, 7, receiver.url())  # 7 in flight, held
        while len(receiver.arrivals) < 7:
            time.sleep(0.01)
        pinned = tmpfs.wal_pinned(holder, mountpoint / "e.db")
        pinned.__enter__()
        filler = tmpfs.fill(inside)
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            auth = {"Authorization": basic(account)}
            for n in range(50):
                call_sid, sid = made[n % len(made)]
                answer = http.post(
                    update_path(account, call_sid, sid),
                    data={
                        "IdempotencyKey": f"f{n}",
                        "Capture": CARD_ITEMS[n % 4],
                        "StatusCallback": receiver.url(),
                    },
                    headers=auth,
                )
                statuses[answer.status_code] += 1
            reads_ok = http.get(f"/_emulator/payments/{made[0][1]}").status_code == 200
        gate.set()  # the seven held deliveries complete while the disk is full
        while len(receiver.arrivals) < 7 + statuses[202]:
            time.sleep(0.01)
        time.sleep(0.5)
        shown = server.control.callbacks(account_sid=account.account_sid)
        shown_delivered = sum(1 for c in shown if c["state"] == "delivered")
        [[stored_delivered]] = tmpfs.query(
            holder, mountpoint / "e.db", "SELECT count(*) FROM callbacks WHERE state = 'delivered'"
        )
        pinned.__exit__(None, None, None)
        filler.unlink()
        time.sleep(2)  # the kept outcomes are written (first retry after 0.2 s)
        server.stop()
        sent_before = len(receiver.arrivals)
        server.start()
        for _, sid in made:
            server.control.callbacks(payment_sid=sid, wait_for=1, timeout=10)
        time.sleep(1)
    tokens = Counter(token for _, _, token in receiver.arrivals)
    duplicates = sum(n - 1 for n in tokens.values() if n > 1)
    print(
        f"- updates while full: {dict(statuses)} (503 = DatabaseFull, code 20503); reads: "
        f"{'200' if reads_ok else 'failed'}"
    )
    print(
        f"- while full: {shown_delivered} callbacks shown delivered, {stored_delivered} of them "
        "recorded in the database (the rest kept in memory until space returned)"
    )
    print(
        f"- {sent_before} callbacks delivered before the restart, "
        f"{len(receiver.arrivals) - sent_before} after; duplicates: {duplicates}"
    )
    print("- before (issue): generic 500/20500; 7 delivered while full were sent again")


SCENARIOS = {
    "lag": scenario_lag,
    "dns": scenario_dns,
    "answers": scenario_answers,
    "sigterm": scenario_sigterm,
    "diskfull": scenario_diskfull,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", help=f"some of: {', '.join(SCENARIOS)}")
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--lag-updates", type=int, default=300)
    parser.add_argument("--hanging", type=int, default=100, help="sessions at the hanging receiver")
    parser.add_argument("--dns-delay-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=2, help="of the dns comparison")
    parser.add_argument(
        "--host-concurrency", type=int, help="--callback-host-concurrency for every emulator"
    )
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (Debian: apt-get install wrk)")
    if args.host_concurrency:
        EXTRA_ARGS.extend(["--callback-host-concurrency", str(args.host_concurrency)])
    load = os.getloadavg()[0]
    print(
        f"# bench/callbacks.py ({os.cpu_count()} cores, load average {load:.1f} at the start; "
        f"the load generator shares them) {' '.join(EXTRA_ARGS)}"
    )
    for name in args.scenarios or SCENARIOS:
        SCENARIOS[name](args)


if __name__ == "__main__":
    main()
