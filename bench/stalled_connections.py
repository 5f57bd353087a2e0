"""Stalled connections, huge bodies and huge headers: what they cost the emulator and its other
clients. A standalone script, all traffic to 127.0.0.1::

    .venv/bin/python bench/stalled_connections.py
    .venv/bin/python bench/stalled_connections.py --tree before=DIR --tree after=.

Each ``--tree LABEL=DIR`` runs the emulator of the source tree DIR (``python -m emulator serve``
started in DIR, which puts DIR's ``emulator`` package first; e.g. an unpatched checkout made with
``git archive HEAD | tar -x -C DIR``); without one, this tree. One column per tree:

1. idle: the emulator's RSS, and a normal client's latency (``--requests`` Payments creates, each
   on a new connection, p50/p99) with nothing else going on;
2. stalled: ``--connections`` connections (20,000 by default) opened and left stalled, a third
   each idle (connected, nothing sent), half a request head, and a head with half its body; then
   the same normal client's latency, the RSS and how many connections the emulator holds;
3. a ``--body-mb`` (500) MB form body to the Payments endpoint, sent as fast as the emulator
   takes it (the client stops sending once an answer arrives, as curl does): the answer, the
   time to it, the emulator's peak RSS, its RSS after, and the worst latency of a normal client
   (health checks on new connections) meanwhile;
4. a ``--header-mb`` (16) MB header, likewise: the answer, the peak RSS and the RSS after.

The emulator process is started with the open-files limit this script was given (so that the
limit it serves with is the machine's usual one). The stalled connections are held by helper
processes of at most 10,000 connections each (fewer if the open-files hard limit is lower, as
the table then says), so that no process's limit caps their number; they bind their source
ports themselves (see ``SourcePorts``). Each phase has a deadline: a run takes a minute or two.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import json
import multiprocessing
import os
import random
import resource
import secrets
import selectors
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.testing import EmulatorServer  # noqa: E402

ACCOUNT, TOKEN = "AC" + "a" * 32, "a" * 32
AUTH = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
HOST = b"Host: 127.0.0.1\r\n"
MB = 1024 * 1024


# --- requests ----------------------------------------------------------------------------------


def create_path() -> bytes:
    return f"/2010-04-01/Accounts/{ACCOUNT}/Calls/CA{secrets.token_hex(16)}/Payments.json".encode()


def create_head(length: int, close: bool = True) -> bytes:
    return (
        b"POST " + create_path() + b" HTTP/1.1\r\n" + HOST
        + b"Authorization: " + AUTH.encode() + b"\r\n"
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + (b"Connection: close\r\n" if close else b"")
        + b"Content-Length: " + str(length).encode() + b"\r\n\r\n"
    )  # fmt: skip


def create_form(pad: int = 0) -> bytes:
    return (
        f"IdempotencyKey={secrets.token_hex(8)}&ChargeAmount=10"
        f"&StatusCallback=http%3A%2F%2F127.0.0.1%3A9%2Fcb&Pad="
    ).encode() + b"x" * pad


def create_request() -> bytes:
    form = create_form()
    return create_head(len(form)) + form


HEALTH = b"GET /_emulator/health HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n"


def read_status(sock: socket.socket) -> int:
    """The status of the answer on ``sock`` (its head read; the rest left)."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed without an answer")
        data += chunk
    return int(data.split(b" ", 2)[1])


def exchange(port: int, request: bytes, timeout: float) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        return read_status(sock)


@dataclass
class Latency:
    seconds: list[float] = field(default_factory=list)
    failures: int = 0
    not_tried: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def percentile(self, p: float) -> float | None:
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

    def summary(self) -> str:
        p50, p99 = self.percentile(0.5), self.percentile(0.99)
        failed = f"{self.failures} failed" if self.failures else ""
        if self.not_tried:
            failed += f" (then gave up: {self.not_tried} not tried)"
        if p50 is None or p99 is None:
            return f"none answered: {failed}"
        statuses = ", ".join(f"{n}x{s}" for s, n in sorted(self.statuses.items()))
        return f"{p50 * 1000:.1f} / {p99 * 1000:.1f} ms ({statuses}{', ' * bool(failed)}{failed})"


def normal_client(port: int, requests: int, timeout: float = 5.0) -> Latency:
    """Payments creates, each on a new connection; gives up after 3 failures in a row."""
    result = Latency()
    in_a_row = 0
    for done in range(requests):
        started = time.perf_counter()
        try:
            status = exchange(port, create_request(), timeout)
        except OSError:
            result.failures += 1
            in_a_row += 1
            if in_a_row == 3:
                result.not_tried = requests - done - 1
                break
            continue
        in_a_row = 0
        result.seconds.append(time.perf_counter() - started)
        result.statuses[status] = result.statuses.get(status, 0) + 1
    return result


@contextlib.contextmanager
def bystander(port: int) -> Iterator[Latency]:
    """Health checks on new connections, every 50 ms, while the block runs."""
    result = Latency()
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = exchange(port, HEALTH, timeout=30.0)
                result.seconds.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
            except OSError:
                result.failures += 1
            stop.wait(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(35)


# --- the emulator process ----------------------------------------------------------------------


def status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def rss_mb(pid: int) -> float:
    return status_kb(pid, "VmRSS") / 1024


def peak_rss_mb(pid: int) -> float:
    return status_kb(pid, "VmHWM") / 1024


def reset_peak(pid: int) -> None:
    """Start VmHWM afresh (Linux 4.0+: writing 5 to clear_refs), when allowed."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def open_sockets(pid: int) -> int:
    count = 0
    for name in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                count += 1
    return count


# --- stalled connections -----------------------------------------------------------------------

KINDS = ("idle", "half head", "half body")


def stalled_payload(kind: str) -> bytes:
    if kind == "half head":
        return create_head(1000, close=False)[:60]
    if kind == "half body":
        return create_head(1000, close=False) + create_form(1000 - len(create_form()))[:500]
    return b""


class SourcePorts:
    """Source ports chosen here rather than by the kernel: once half of its ephemeral range is
    in use (its even ports, which connect() prefers), the kernel searches the range for each new
    connection, and 20,000 connections to one server take minutes instead of seconds."""

    FIRST, LAST = 10_000, 65_000

    def __init__(self) -> None:
        self.next = random.randrange(self.FIRST, self.LAST)

    def bind(self, sock: socket.socket) -> None:
        for _ in range(self.LAST - self.FIRST):
            port = self.next
            self.next = self.FIRST + (port + 1 - self.FIRST) % (self.LAST - self.FIRST)
            try:
                sock.bind(("127.0.0.1", port))
                return
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        raise OSError(errno.EADDRNOTAVAIL, "no free source port")


def open_stalled(
    port: int, count: int, deadline: float
) -> tuple[list[socket.socket], dict[str, int]]:
    """Connect ``count`` sockets (at most 512 connecting at a time) and send each its kind's
    payload; those not connected by ``deadline`` are given up."""
    ports = SourcePorts()
    selector = selectors.DefaultSelector()
    sockets: list[socket.socket] = []
    stats = dict.fromkeys(("connected", "failed", "timed out"), 0)
    started = 0
    connecting = 0
    while (started < count or connecting) and time.monotonic() < deadline:
        while started < count and connecting < 512:
            kind = KINDS[started % len(KINDS)]
            started += 1
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError:
                stats["failed"] += 1
                continue
            sock.setblocking(False)
            try:
                ports.bind(sock)
                code = sock.connect_ex(("127.0.0.1", port))
            except OSError as exc:
                code = exc.errno or errno.EIO
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                stats["failed"] += 1
                continue
            selector.register(sock, selectors.EVENT_WRITE, kind)
            connecting += 1
        for key, _ in selector.select(timeout=0.2):
            sock = key.fileobj  # type: ignore[assignment]
            selector.unregister(sock)
            connecting -= 1
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                sock.close()
                stats["failed"] += 1
                continue
            with contextlib.suppress(OSError):
                sock.send(stalled_payload(key.data))
            sockets.append(sock)
            stats["connected"] += 1
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
        stats["timed out"] += 1
    stats["not started"] = count - started
    selector.close()
    return sockets, stats


PER_PROCESS = 10_000


def _hold(port: int, count: int, deadline: float, pipe: Connection) -> None:
    """In a process of its own: open ``count`` stalled connections, report, hold them (and
    say how many the server closed, when asked) until told to close them."""
    sockets, stats = open_stalled(port, count, deadline)
    pipe.send(stats)
    while pipe.recv() == "closed?":
        pipe.send(closed_by_server(sockets))
    for sock in sockets:
        sock.close()
    pipe.send("closed")


@contextlib.contextmanager
def stalled(
    port: int, count: int, deadline: float, per_process: int
) -> Iterator[tuple[dict[str, int], int, Callable[[], int]]]:
    """``count`` stalled connections, held by processes of ``per_process`` at most: yields
    what opening them gave (summed), how many processes, and a function counting how many
    of them the server closed so far."""
    context = multiprocessing.get_context("fork")
    shares = [per_process] * (count // per_process) + [count % per_process] * bool(
        count % per_process
    )
    holders = []
    for share in shares:
        ours, theirs = context.Pipe()
        process = context.Process(target=_hold, args=(port, share, deadline, theirs), daemon=True)
        process.start()
        holders.append((process, ours))
    stats: Counter[str] = Counter()
    for _, pipe in holders:
        if pipe.poll(deadline - time.monotonic() + 30):
            stats.update(pipe.recv())

    def closed_count() -> int:
        total = 0
        for _, pipe in holders:
            pipe.send("closed?")
            total += pipe.recv()
        return total

    try:
        yield dict(stats), len(holders), closed_count
    finally:
        for process, pipe in holders:
            with contextlib.suppress(OSError):
                pipe.send("close")
                pipe.poll(30)
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()


def closed_by_server(sockets: list[socket.socket]) -> int:
    """How many of ``sockets`` the server closed (EOF or reset readable now)."""
    closed = 0
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    for key, _ in selector.select(timeout=0.5):
        sock = key.fileobj  # type: ignore[assignment]
        try:
            while sock.recv(65536):
                pass
        except BlockingIOError:
            continue  # data (an answer) but not closed
        except OSError:
            pass
        closed += 1
    selector.close()
    return closed


# --- huge bodies and headers -------------------------------------------------------------------


def send_huge(
    port: int, head: bytes, total: int, tail: bytes = b"", deadline_s: float = 120.0
) -> dict[str, Any]:
    """Send ``head``, ``total`` more bytes and ``tail`` as fast as the server reads them,
    stopping when an answer arrives; the answer's status (None: none), the time to it and the
    bytes sent."""
    started = time.perf_counter()
    chunk = b"x" * MB
    sent = 0
    status: int | None = None
    with socket.create_connection(("127.0.0.1", port), timeout=deadline_s) as sock:
        try:
            sock.sendall(head)
            selector = selectors.DefaultSelector()
            selector.register(sock, selectors.EVENT_READ)
            while sent < total and not selector.select(timeout=0):
                sock.sendall(chunk[: min(MB, total - sent)])
                sent += min(MB, total - sent)
            if sent == total:
                sock.sendall(tail)
            selector.close()
        except OSError:
            pass  # the server stopped reading
        with contextlib.suppress(OSError):
            status = read_status(sock)
    return {"status": status, "seconds": time.perf_counter() - started, "sent_mb": sent / MB}


def huge_body(port: int, megabytes: int) -> dict[str, Any]:
    total = megabytes * 1_000_000
    form = create_form()
    return send_huge(port, create_head(total) + form, total - len(form))


def huge_header(port: int, megabytes: int) -> dict[str, Any]:
    head = b"GET /2010-04-01/Accounts/" + ACCOUNT.encode() + b".json HTTP/1.1\r\n" + HOST
    return send_huge(port, head + b"X-Big: ", megabytes * 1_000_000, tail=b"\r\n\r\n")


# --- a run -------------------------------------------------------------------------------------


def raise_own_open_files(wanted: int) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return f"{soft} (enough)"
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
        return f"{wanted} (raised from {soft}/{hard})"
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return f"{soft} (the hard limit: fewer than {wanted} connections can be held)"


def run_tree(label: str, directory: Path, args: argparse.Namespace) -> dict[str, Any]:
    print(f"[{label}] starting the emulator of {directory}", file=sys.stderr)
    server_limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    row: dict[str, Any] = {
        "emulator open-files limit at start (soft/hard)": "{}/{}".format(*server_limit)
    }
    with EmulatorServer("--log-level", "warning", cwd=directory, clean_env=True) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        pid = server.pid
        # The stalled connections are held by processes of at most PER_PROCESS each (or what
        # the open-files limit allows), so that this process's limit caps none of the counts.
        row["own open-files limit"] = raise_own_open_files(PER_PROCESS + 256)
        per_process = min(PER_PROCESS, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 256)

        print(f"[{label}] idle", file=sys.stderr)
        normal_client(port, 20)  # warm-up
        row["RSS idle"] = f"{rss_mb(pid):.0f} MB"
        row["normal client p50 / p99, idle"] = normal_client(port, args.requests).summary()

        print(f"[{label}] {args.connections} stalled connections", file=sys.stderr)
        opened = time.monotonic()
        with stalled(port, args.connections, opened + args.connect_s, per_process) as held:
            stats, processes, closed_count = held
            row["stalled connections opened"] = (
                f"{stats.pop('connected')} in {time.monotonic() - opened:.1f} s"
                f" (by {processes} processes)"
                + "".join(f", {n} {what}" for what, n in stats.items() if n)
            )
            time.sleep(1.0)
            row["sockets the emulator holds (listener + 2 internal included)"] = str(
                open_sockets(pid)
            )
            row["normal client p50 / p99, stalled"] = normal_client(port, args.requests).summary()
            row["RSS with the stalled connections"] = f"{rss_mb(pid):.0f} MB"
            row["stalled connections closed by the emulator"] = str(closed_count())
        time.sleep(1.0)

        print(f"[{label}] a {args.body_mb} MB body", file=sys.stderr)
        reset_peak(pid)
        with bystander(port) as others:
            body = huge_body(port, args.body_mb)
            time.sleep(max(0.0, 2.0 - body["seconds"]))  # the bystander's sample: 2 s at least
        row[f"{args.body_mb} MB body: answer"] = (
            f"{body['status']} after {body['seconds']:.2f} s ({body['sent_mb']:.0f} MiB sent)"
        )
        row[f"{args.body_mb} MB body: peak RSS / RSS after"] = (
            f"{peak_rss_mb(pid):.0f} MB / {rss_mb(pid):.0f} MB"
        )
        worst = max(others.seconds, default=0.0)
        row[f"{args.body_mb} MB body: other clients' worst latency"] = (
            f"{worst * 1000:.0f} ms ({len(others.seconds)} health checks"
            + (f", {others.failures} failed" if others.failures else "")
            + ")"
        )

        print(f"[{label}] a {args.header_mb} MB header", file=sys.stderr)
        reset_peak(pid)
        header = huge_header(port, args.header_mb)
        row[f"{args.header_mb} MB header: answer"] = (
            f"{header['status']} after {header['seconds']:.2f} s ({header['sent_mb']:.0f} MiB sent)"
        )
        row[f"{args.header_mb} MB header: peak RSS / RSS after"] = (
            f"{peak_rss_mb(pid):.0f} MB / {rss_mb(pid):.0f} MB"
        )
        with contextlib.suppress(OSError):
            row["emulator still answering"] = str(exchange(port, HEALTH, timeout=10.0))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", default=[], metavar="LABEL=DIR")
    parser.add_argument("--connections", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--body-mb", type=int, default=500)
    parser.add_argument("--header-mb", type=int, default=16)
    parser.add_argument("--connect-s", type=float, default=30.0, help="deadline to connect")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    trees = [tuple(tree.split("=", 1)) for tree in args.tree] or [("this tree", str(ROOT))]
    results = {label: run_tree(label, Path(path).resolve(), args) for label, path in trees}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    labels = list(results)
    measures = list(dict.fromkeys(m for row in results.values() for m in row))
    print("| measure | " + " | ".join(labels) + " |")
    print("| --- |" + " --- |" * len(labels))
    for measure in measures:
        cells = [results[label].get(measure, "") for label in labels]
        print(f"| {measure} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
