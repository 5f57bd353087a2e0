"""What the inspector's tests share: an emulator with the inspector wired in, Chromium driven
by Playwright, the screenshot folder, the SDK flows, and every inspector page of an account
(for the card-data scans).

Chromium is Debian's (``chromium``), given to Playwright as its executable: Playwright cannot
download browsers here. ``EMULATOR_CHROMIUM`` names another binary. Without a browser or
without Playwright the browser tests are skipped, except under ``CI=true``, where that fails.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from twilio.rest import Client

from emulator.testing import Account, EmulatorServer

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

ROOT = Path(__file__).resolve().parent.parent
UI = "/_emulator/ui"
CLOSED_PORT_CALLBACK = "http://127.0.0.1:9/cb"  # nothing listens: deliveries fail at once
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


def artifacts_dir() -> Path:
    """Where the tests' screenshots go: ``EMULATOR_ARTIFACTS_DIR``, else tests/artifacts/."""
    named = os.environ.get("EMULATOR_ARTIFACTS_DIR")
    folder = Path(named) if named else ROOT / "tests" / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- the browser ------------------------------------------------------------------------------


def chromium_path() -> str | None:
    named = os.environ.get("EMULATOR_CHROMIUM")
    if named:
        return named
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the inspector's browser tests cannot run: {reason}")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[BrowserContext]:
    """A headless Chromium with a fresh profile, through Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
        raise  # unreachable: _unavailable raises
    executable = chromium_path()
    if executable is None:
        _unavailable("no Chromium (apt-get install chromium, or set EMULATOR_CHROMIUM)")
    with (
        tempfile.TemporaryDirectory(prefix="inspector-profile-") as profile,
        sync_playwright() as p,
    ):
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
            reduced_motion="reduce",
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    path = artifacts_dir() / f"inspector-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def mark_document(page: Page) -> None:
    """Mark the loaded document, to tell later that the page was never reloaded."""
    page.evaluate("window.__notReloaded = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


# --- flows through twilio-python ------------------------------------------------------------------


_clients: dict[tuple[str, str], Client] = {}


def sdk(server: EmulatorServer, account: Account) -> Client:
    """A twilio-python client of the account, for the server (one per pair, until
    ``close_clients``)."""
    client = _clients.get((server.base_url, account.account_sid))
    if client is None:
        client = Client(account.account_sid, account.auth_token)
        client.api.base_url = server.base_url
        _clients[(server.base_url, account.account_sid)] = client
    return client


def close_clients() -> None:
    """Close the clients' connections (a collected client would leave its socket open)."""
    for client in _clients.values():
        session = getattr(client.http_client, "session", None)
        if session is not None:
            session.close()
    _clients.clear()


def key() -> str:
    return secrets.token_hex(8)


def start_session(
    server: EmulatorServer,
    account: Account,
    caller: str = "manual",
    callback: str = CLOSED_PORT_CALLBACK,
    script: dict[str, str] | None = None,
    **create: Any,
) -> tuple[str, str]:
    """A call of ``caller`` mode and a session on it, created with twilio-python; returns
    (call SID, session SID)."""
    call_sid = server.control.create_call(account.account_sid, caller=caller, script=script)
    payment = (
        sdk(server, account)
        .calls(call_sid)
        .payments.create(idempotency_key=key(), status_callback=callback, **create)
    )
    return call_sid, str(payment.sid)


def update(
    server: EmulatorServer,
    account: Account,
    call_sid: str,
    payment_sid: str,
    callback: str = CLOSED_PORT_CALLBACK,
    **change: Any,
) -> None:
    sdk(server, account).calls(call_sid).payments(payment_sid).update(
        idempotency_key=key(), status_callback=callback, **change
    )


def run_card_flow(
    server: EmulatorServer,
    account: Account,
    script: dict[str, str] | None = None,
    callback: str = CLOSED_PORT_CALLBACK,
) -> tuple[str, str]:
    """A whole charge in auto mode (every card item captured, then complete)."""
    call_sid, sid = start_session(
        server, account, caller="auto", callback=callback, script=script, charge_amount=12.5
    )
    items = ["payment-card-number", "expiration-date", "security-code", "postal-code"]
    for n, item in enumerate(items):
        update(server, account, call_sid, sid, callback=callback, capture=item)
        server.control.callbacks(payment_sid=sid, wait_for=3 + 2 * n)
    update(server, account, call_sid, sid, callback=callback, status="complete")
    server.control.callbacks(payment_sid=sid, wait_for=2 + 2 * len(items))
    return call_sid, sid


# --- every page of an account -----------------------------------------------------------------

_LINK = re.compile(r'href="(/_emulator/ui/[^"#]*)"')


def inspector_pages(server: EmulatorServer, account_sid: str) -> dict[str, str]:
    """The HTML of every inspector page that shows ``account_sid``'s data: the lists (all,
    and filtered to it), its account page, each of its sessions, the journal (filtered each
    way its rows link to), the fault rules. For card-data scans: ``{path: html}``."""
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        pages: dict[str, str] = {}

        def fetch(path: str) -> str:
            if path not in pages:
                answer = http.get(path)
                assert answer.status_code == 200, (path, answer.status_code)
                pages[path] = answer.text
            return pages[path]

        for path in (
            f"{UI}/",
            f"{UI}/accounts",
            f"{UI}/accounts/{account_sid}",
            f"{UI}/?account_sid={account_sid}",
            f"{UI}/requests",
            f"{UI}/requests?account_sid={account_sid}",
            f"{UI}/faults",
        ):
            fetch(path)
        seen = 0
        while seen < len(pages) and len(pages) < 500:  # follow the links, breadth first
            html = list(pages.values())[seen]
            seen += 1
            for link in _LINK.findall(html):
                link = link.replace("&amp;", "&")
                if account_sid in link or "/sessions/" in link or "call_sid=" in link:
                    fetch(link)
        return pages
