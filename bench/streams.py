"""Long-lived requests against the Twilio API: 1,000 clients that try to keep an event stream
(``GET /_emulator/events``) or a long-poll (``GET /_emulator/callbacks?wait_for=``) open, and
meanwhile 20 Payments creates, each timed.

    python bench/streams.py [--clients 1000] [--creates 20] [--kinds events,polls]

Each stream client reconnects at once when its connection is closed, and after the
``Retry-After`` it was given when refused (503), so the emulator is under that pressure the
whole time. Printed per kind: the creates' statuses and latencies (the target: 20 of 20
answer 201, each within 1 s), what the stream clients got (streams open, 503s, connections
closed), and the emulator's RSS (now and peak; the target: under 150 MB).
Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import secrets
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.testing import Account, EmulatorServer  # noqa: E402

PATHS = {
    "events": "/_emulator/events",
    "polls": "/_emulator/callbacks?payment_sid=PK{sid}&wait_for=1&timeout=60",
}


async def stream_client(
    host: str, port: int, path: str, stop: asyncio.Event, seen: Counter[str]
) -> None:
    """Keeps one stream open, as hard as it can, until ``stop``."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            seen["connect failed"] += 1
            await asyncio.sleep(0.1)
            continue
        try:
            target = path.format(sid=secrets.token_hex(16))
            writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            if status == 503:
                seen["refused 503"] += 1
                retry = 1.0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"retry-after:"):
                        retry = float(line.split(b":", 1)[1])
                writer.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), retry)
                continue
            seen[f"opened {status}"] += 1
            while not stop.is_set() and await reader.read(65536):
                pass
            if not stop.is_set():
                seen["closed by the emulator"] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            seen["closed by the emulator"] += 1
        finally:
            writer.close()


def rss(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) of ``pid`` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def create(client: httpx.Client, server: EmulatorServer, account: Account, call: str) -> float:
    started = time.perf_counter()
    answer = client.post(
        f"{server.base_url}/2010-04-01/Accounts/{account.account_sid}/Calls/{call}/Payments.json",
        data={"StatusCallback": "http://127.0.0.1:9/cb", "IdempotencyKey": secrets.token_hex(4)},
        auth=(account.account_sid, account.auth_token),
        headers={"Connection": "close"},
    )
    elapsed = time.perf_counter() - started
    return elapsed if answer.status_code == 201 else -answer.status_code


async def scenario(kind: str, clients: int, creates: int) -> None:
    with EmulatorServer("--caller", "manual", "--log-level", "error") as server:
        assert server.process is not None
        account = server.control.create_account()
        calls = [
            server.control.create_call(account.account_sid, caller="manual") for _ in range(creates)
        ]
        server.control.close()
        url = httpx.URL(server.base_url)
        assert url.host is not None
        assert url.port is not None
        stop = asyncio.Event()
        seen: Counter[str] = Counter()
        tasks = [
            asyncio.create_task(stream_client(url.host, url.port, PATHS[kind], stop, seen))
            for _ in range(clients)
        ]
        await asyncio.sleep(3)  # every client has tried, and keeps trying
        results: list[float] = []
        with httpx.Client(timeout=10) as client:
            for call in calls:
                try:
                    results.append(await asyncio.to_thread(create, client, server, account, call))
                except httpx.HTTPError as exc:
                    print(f"  create failed: {type(exc).__name__}: {exc}")
                    results.append(-1)
                await asyncio.sleep(0.1)
        now, peak = rss(server.process.pid)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    ok = [r for r in results if r >= 0]
    within = sum(1 for r in ok if r <= 1.0)
    print(f"\n## {clients} {kind} clients, {creates} creates meanwhile")
    print(f"- creates answered 201: {len(ok)} of {creates}; within 1 s: {within}")
    if ok:
        ordered = sorted(ok)
        print(
            f"- create latency: median {ordered[len(ordered) // 2] * 1000:.1f} ms,"
            f" max {ordered[-1] * 1000:.1f} ms"
        )
    failed = Counter(int(-r) for r in results if r < 0)
    if failed:
        print(f"- creates that failed, by status (-1: no answer): {dict(failed)}")
    print(f"- stream clients saw: {dict(sorted(seen.items()))}")
    print(f"- emulator RSS: {now:.0f} MiB at the end, peak {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--creates", type=int, default=20)
    parser.add_argument("--kinds", default="events,polls")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    for kind in args.kinds.split(","):
        asyncio.run(scenario(kind, args.clients, args.creates))


if __name__ == "__main__":
    main()
