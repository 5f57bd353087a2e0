"""How fast the inspector's pages load with 1,000 sessions in the database.

    python bench/inspector_load.py                    # 1,000 sessions, 20 loads a page
    python bench/inspector_load.py --sessions 5000 --loads 10

1. Starts an emulator (``emulator.testing.EmulatorServer``, a fresh SQLite file, manual
   callers, StatusCallbacks to a closed port of 127.0.0.1) and fills it through the API:
   ``--sessions`` sessions over 10 accounts, each on a call of its own, in every state
   (a quarter cancelled, a quarter hung up, a quarter left active with the card number keyed,
   a quarter completed with every card item keyed): create, captures, caller entries, completes,
   as a test suite would send them.
2. Times each main page, first over plain HTTP (time to the first byte of the answer, and to
   its last byte), then in Chromium (Playwright, Debian's ``chromium``): the Navigation Timing
   of ``page.goto`` (first byte, DOMContentLoaded, load: the page, its script and style sheet,
   parsed and rendered). The first load of each page is reported apart (it compiles the
   page's templates); the others as median and 95th percentile.

Figures only: nothing is asserted. Requires Playwright for Python (``pip install playwright``)
and a Chromium (``EMULATOR_CHROMIUM`` names one; else ``chromium`` on the PATH).
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.testing import Account, EmulatorServer  # noqa: E402

CALLBACK = "http://127.0.0.1:9/cb"  # nothing listens: every delivery fails at once
CARD_ITEMS = ["payment-card-number", "expiration-date", "security-code", "postal-code"]
DIGITS = {
    "payment-card-number": "4242424242424242",
    "expiration-date": "1299",
    "security-code": "123",
    "postal-code": "94105",
}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@contextmanager
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer("--caller", "manual", "--journal-size", "1000") as server:
        yield server


# --- filling the database -------------------------------------------------------------------


class Filler:
    def __init__(self, server: EmulatorServer, account: Account) -> None:
        self.server = server
        self.account = account
        self.api = httpx.Client(
            base_url=server.base_url,
            auth=(account.account_sid, account.auth_token),
            timeout=30,
        )
        self.control = httpx.Client(base_url=server.base_url, timeout=30)

    def close(self) -> None:
        self.api.close()
        self.control.close()

    def _path(self, call_sid: str, sid: str | None = None) -> str:
        base = f"/2010-04-01/Accounts/{self.account.account_sid}/Calls/{call_sid}/Payments"
        return base + (f"/{sid}.json" if sid else ".json")

    def _post(self, path: str, **form: Any) -> dict[str, Any]:
        form = {"IdempotencyKey": secrets.token_hex(8), "StatusCallback": CALLBACK, **form}
        answer = self.api.post(path, data=form)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def _capture(self, call_sid: str, sid: str, item: str) -> None:
        self._post(self._path(call_sid, sid), Capture=item)
        self.control.post(
            f"/_emulator/payments/{sid}/input", json={"digits": DIGITS[item]}
        ).raise_for_status()

    def session(self, n: int) -> None:
        call = self.control.post(
            "/_emulator/calls", json={"account_sid": self.account.account_sid}
        ).json()["call_sid"]
        sid = self._post(self._path(call), ChargeAmount=f"{10 + n % 90}.50")["sid"]
        self._capture(call, sid, "payment-card-number")
        kind = n % 4
        if kind == 0:
            self._post(self._path(call, sid), Status="cancel")
        elif kind == 1:
            self.control.post(f"/_emulator/calls/{call}/hangup").raise_for_status()
        elif kind == 3:
            for item in CARD_ITEMS[1:]:
                self._capture(call, sid, item)
            self._post(self._path(call, sid), Status="complete")


def fill(server: EmulatorServer, sessions: int, accounts: int = 10) -> tuple[list[str], str]:
    """``sessions`` sessions over ``accounts`` accounts; returns (account SIDs, the SID of a
    completed session)."""
    made = [server.control.create_account() for _ in range(accounts)]
    fillers = [Filler(server, account) for account in made]
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=accounts) as pool:

            def work(filler: Filler, first: int) -> None:
                for n in range(first, sessions, accounts):
                    filler.session(n)

            for done in [pool.submit(work, f, i) for i, f in enumerate(fillers)]:
                done.result()
    finally:
        for filler in fillers:
            filler.close()
    print(f"filled: {sessions} sessions in {time.perf_counter() - started:.1f} s", flush=True)
    completed = httpx.get(
        server.base_url + "/_emulator/requests", params={"status": 202}, timeout=30
    ).json()["requests"]
    last_complete = next(r for r in reversed(completed) if r["params"].get("Status") == "complete")
    return [a.account_sid for a in made], last_complete["payment_sid"]


# --- timing -----------------------------------------------------------------------------------


def http_timings(base_url: str, path: str, loads: int) -> tuple[float, list[float], list[float]]:
    """(first load's total ms, first-byte ms, total ms) over plain HTTP, a new connection
    each time (as a browser opening the page)."""
    parts = urllib.parse.urlsplit(base_url)
    first_total = 0.0
    first_bytes: list[float] = []
    totals: list[float] = []
    for n in range(loads + 1):
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        started = time.perf_counter()
        connection.request("GET", path, headers={"Accept": "text/html"})
        response = connection.getresponse()
        first_byte = (time.perf_counter() - started) * 1000
        body = response.read()
        total = (time.perf_counter() - started) * 1000
        connection.close()
        if response.status != 200 or not body:
            raise RuntimeError(f"GET {path} answered {response.status}")
        if n == 0:
            first_total = total
        else:
            first_bytes.append(first_byte)
            totals.append(total)
    return first_total, first_bytes, totals


NAVIGATION = """() => {
  const t = performance.getEntriesByType("navigation")[0];
  return [t.responseStart - t.startTime, t.domContentLoadedEventEnd - t.startTime,
          t.loadEventEnd - t.startTime];
}"""


def browser_timings(
    page: Any, url: str, loads: int
) -> tuple[list[float], list[float], list[float]]:
    first_bytes: list[float] = []
    ready: list[float] = []
    loaded: list[float] = []
    page.goto(url, wait_until="load")  # untimed: the browser's caches are cold
    for _ in range(loads):
        page.goto(url, wait_until="load")
        page.wait_for_function("performance.getEntriesByType('navigation')[0].loadEventEnd > 0")
        ttfb, dom, load = page.evaluate(NAVIGATION)
        first_bytes.append(ttfb)
        ready.append(dom)
        loaded.append(load)
    return first_bytes, ready, loaded


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("EMULATOR_CHROMIUM") or shutil.which("chromium")
    if executable is None:
        raise SystemExit("no Chromium: apt-get install chromium, or set EMULATOR_CHROMIUM")
    with (
        tempfile.TemporaryDirectory(prefix="inspector-bench-") as profile,
        sync_playwright() as p,
    ):
        context = p.chromium.launch_persistent_context(
            profile, executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield context
        finally:
            context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=20, help="timed loads of each page")
    options = parser.parse_args(argv)

    with emulator() as server:
        accounts, completed = fill(server, options.sessions)
        pages: list[tuple[str, str]] = [
            ("sessions, all", "/_emulator/ui/"),
            ("sessions of an account", f"/_emulator/ui/?account_sid={accounts[0]}"),
            ("sessions, completed", "/_emulator/ui/?state=completed&page=3"),
            ("sessions, free-text search", f"/_emulator/ui/?q={completed[8:16]}"),
            ("sessions, search of a Description", "/_emulator/ui/?q=nothing%25like_this"),
            ("sessions, callbacks failed", "/_emulator/ui/?callbacks=failed&page=2"),
            ("accounts", "/_emulator/ui/accounts"),
            ("an account, its calls", f"/_emulator/ui/accounts/{accounts[0]}"),
            ("a completed session", f"/_emulator/ui/sessions/{completed}"),
            ("request journal", "/_emulator/ui/requests"),
            ("journal, by status, page 4", "/_emulator/ui/requests?status=202&page=4"),
            ("journal, free-text search", f"/_emulator/ui/requests?q={completed[8:16]}"),
            ("fault rules", "/_emulator/ui/faults"),
        ]
        rows: list[tuple[str, ...]] = []
        timed: Callable[[list[float]], str] = lambda v: f"{median(v):.1f} / {p95(v):.1f}"  # noqa: E731
        for label, path in pages:
            first, first_bytes, totals = http_timings(server.base_url, path, options.loads)
            rows.append((label, f"{first:.1f}", timed(first_bytes), timed(totals)))
        with chromium() as context:
            page = context.new_page()
            for i, (_, path) in enumerate(pages):
                ttfb, ready, loaded = browser_timings(page, server.base_url + path, options.loads)
                rows[i] = (*rows[i], timed(ttfb), timed(ready), timed(loaded))
            page.close()

    header = (
        "page",
        "HTTP first load ms",
        "HTTP first byte ms (median / p95)",
        "HTTP last byte ms",
        "Chromium first byte ms",
        "Chromium DOMContentLoaded ms",
        "Chromium load ms",
    )
    print(
        f"\ninspector pages, {options.sessions} sessions over 10 accounts,"
        f" {options.loads} loads each (after one untimed first load in the browser)\n"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    worst = max(float(row[-1].split(" / ")[1]) for row in rows)
    print(f"\nslowest full load in Chromium (p95 over pages): {worst:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
