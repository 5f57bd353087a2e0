"""The emulator cannot be turned against itself, and never loses a merchant's answer: each
finding of an outside probe, reproduced on 127.0.0.1 against a real emulator process.

1. A StatusCallback at the emulator's own control plane does not run it.
2. A StatusCallback at its own redeliver endpoint starts no loop.
3. A Generic Pay Connector pointed at the emulator itself reaches nothing.
4. A merchant's answer survives SIGTERM (the shutdown grace) and a full disk.
6. Card numbers a merchant echoes (spaced, dashed, inside a longer run) are not kept or sent.
7. A StatusCallback host with an invisible character is refused; two Host headers are too.
8. The Twilio paths answer no foreign name and no cross-site page outside ``cors_origins``.
(5, long-lived streams, is tests/test_streams.py's.)
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.testing import Account, EmulatorServer
from tests.flows import CARD_VALUES, Flow
from tests.gpc_endpoint import GpcEndpoint, Reply, answer, install
from tests.receiver import Receiver

OWN = "the emulator's own address"
PAN = "4111111111111111"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer("--caller", "manual") as running:
        yield running


@pytest.fixture
def account(server: EmulatorServer) -> Account:
    return server.control.create_account()


def basic(account: Account) -> tuple[str, str]:
    return (account.account_sid, account.auth_token)


# --- 1, 2: StatusCallbacks at the emulator itself -----------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2", "[::1]"])
def test_a_status_callback_at_the_control_plane_does_not_run_it(
    server: EmulatorServer, account: Account, host: str
) -> None:
    port = httpx.URL(server.base_url).port
    other = Flow(server, account)
    other.start()
    flow = Flow(server, account, callback=f"http://{host}:{port}/_emulator/reset")
    flow.start()
    [callback] = flow.callbacks(1)
    assert callback["state"] == "failed"
    assert callback["attempts"] == 1  # final at once: never retried
    assert callback["error"].startswith(OWN), callback["error"]
    # nothing was wiped: the session made before, and this one, are still there
    assert server.control.payment(other.sid)["state"] == "active"
    assert server.control.payment(flow.sid)["state"] == "active"


def test_a_status_callback_at_its_own_redeliver_starts_no_loop(tmp_path: Path) -> None:
    with EmulatorServer("--caller", "manual") as fresh:
        account = fresh.control.create_account()
        # the first callback of a fresh database is callback 1: this one
        flow = Flow(fresh, account, callback=fresh.base_url + "/_emulator/callbacks/1/redeliver")
        flow.start()
        [callback] = flow.callbacks(1)
        assert callback["id"] == 1
        time.sleep(1.0)  # a loop would have made hundreds of attempts by now
        [again] = fresh.control.callbacks(payment_sid=flow.sid)
        assert (again["attempts"], again["state"]) == (1, "failed")
        assert again["error"].startswith(OWN)
        assert len(fresh.control.callbacks()) == 1


def test_the_control_plane_refuses_a_webhook_of_the_emulators_own(
    server: EmulatorServer, account: Account
) -> None:
    """The second wall: even a request that got there carrying I-Twilio-Idempotency-Token (only
    the emulator's own webhooks send it) is refused."""
    flow = Flow(server, account)
    flow.start()
    refused = httpx.post(
        server.base_url + "/_emulator/reset", headers={"I-Twilio-Idempotency-Token": "x"}
    )
    assert refused.status_code == 403
    assert "webhook of the emulator's own" in refused.json()["detail"]
    assert server.control.payment(flow.sid)["state"] == "active"


# --- 3: a connector pointed at the emulator --------------------------------------------------------


def test_a_connector_at_the_emulator_itself_reaches_nothing(
    server: EmulatorServer, account: Account
) -> None:
    other = Flow(server, account)
    other.start()
    install(server, account, server.base_url + "/_emulator/reset")
    flow = Flow(server, account)
    flow.start(payment_connector="gpc", charge_amount=10)
    flow.capture_all(CARD_VALUES)
    flow.finish()
    flow.made += 1
    done = flow.last()
    assert done["Result"] == "payment-connector-error"
    assert "No response from Payment Provider" in done["PaymentError"]
    [attempt] = server.control.payment(flow.sid)["connector_requests"]  # final: not retried
    assert attempt["error"].startswith(OWN)
    assert server.control.payment(other.sid)["state"] == "active"


# --- 4: a merchant's answer is never lost while the process lives ----------------------------------


def test_sigterm_gives_a_charge_in_flight_the_shutdown_grace(tmp_path: Path) -> None:
    database = tmp_path / "e.db"
    with GpcEndpoint([Reply(delay_s=1.5, body=answer(charge_id="ch_late"))]).running() as gpc:
        server = EmulatorServer("--caller", "manual", database=database)
        with server:
            account = server.control.create_account()
            install(server, account, gpc.url())
            flow = Flow(server, account)
            flow.start(payment_connector="gpc", charge_amount=10)
            flow.capture_all(CARD_VALUES)
            flow.finish()
            deadline = time.monotonic() + 10
            while not gpc.requests and time.monotonic() < deadline:
                time.sleep(0.02)
            assert gpc.requests, "the connector request never arrived"
            started = time.monotonic()
            server.stop()  # SIGTERM while the merchant takes 1.5 s to answer
            stopping = time.monotonic() - started
            server.start()
            view = server.control.payment(flow.sid)
    assert stopping >= 1.0, f"stopped after {stopping:.2f} s, before the merchant answered"
    assert view["state"] == "completed"
    assert view["result"] == "success"
    [attempt] = view["connector_requests"]
    assert attempt["status_code"] == 200


# --- 6: card numbers a merchant echoes -----------------------------------------------------------


@pytest.mark.parametrize(
    "echoed",
    [
        "card 4111 1111 1111 1111 is declined",
        "card 4111-1111-1111-1111 is declined",
        "ref 0000" + PAN + "000: declined",
    ],
)
def test_card_numbers_a_merchant_echoes_are_not_kept_or_sent(
    server: EmulatorServer, account: Account, echoed: str
) -> None:
    reply = answer(charge_id=None, error_code="card_declined", error_message=echoed)
    with Receiver().running() as receiver, GpcEndpoint([Reply(body=reply)]).running() as gpc:
        install(server, account, gpc.url())
        flow = Flow(server, account, callback=receiver.url())
        flow.start(payment_connector="gpc", charge_amount=10)
        flow.capture_all(CARD_VALUES)
        flow.finish()
        flow.made += 1
        done = flow.last()
        received = receiver.wait_for(flow.made)
    assert done["Result"] == "payment-connector-error"
    view = server.control.payment(flow.sid)
    shown = json.dumps([view, received[-1].form, [r.form for r in received]])
    assert PAN not in shown.replace(" ", "").replace("-", "")
    assert "declined" in done["PaymentError"]


# --- 7: invisible characters, two Host headers --------------------------------------------------


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\u2060", "\ufeff"])
def test_a_status_callback_host_with_an_invisible_character_is_refused(
    server: EmulatorServer, account: Account, invisible: str
) -> None:
    call_sid = server.control.create_call(account.account_sid, caller="manual")
    response = httpx.post(
        f"{server.base_url}/2010-04-01/Accounts/{account.account_sid}/Calls/{call_sid}/Payments.json",
        data={"StatusCallback": f"https://pay{invisible}ments.example/cb", "IdempotencyKey": "k"},
        auth=basic(account),
    )
    assert response.status_code == 400
    assert response.json()["code"] == 64020
    assert "StatusCallback" in response.json()["message"]


def raw_post(server: EmulatorServer, path: str, head: str) -> tuple[int, dict[str, Any]]:
    """POST ``path`` over a socket of our own (HTTP clients refuse to send two Hosts)."""
    url = httpx.URL(server.base_url)
    request = f"POST {path} HTTP/1.1\r\n{head}Content-Length: 0\r\nConnection: close\r\n\r\n"
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        sock.sendall(request.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(body)


def test_two_host_headers_are_refused(server: EmulatorServer, account: Account) -> None:
    two = "Host: 127.0.0.1\r\nHost: evil.example\r\n"
    status, body = raw_post(server, f"/2010-04-01/Accounts/{account.account_sid}/Calls.json", two)
    assert (status, body["code"]) == (400, 20400)
    assert "more than one Host header" in body["message"]
    status, body = raw_post(server, "/_emulator/reset", two)
    assert status == 400
    assert "more than one Host header" in body["detail"]


# --- 8: no relay for web pages ---------------------------------------------------------------------


def create_path(server: EmulatorServer, account: Account) -> str:
    call_sid = server.control.create_call(account.account_sid, caller="manual")
    return f"{server.base_url}/2010-04-01/Accounts/{account.account_sid}/Calls/{call_sid}/Payments.json"


def test_a_cross_site_page_is_refused_unless_its_origin_is_allowed(
    server: EmulatorServer, account: Account
) -> None:
    url = create_path(server, account)
    form = {"StatusCallback": "http://127.0.0.1:9/cb", "IdempotencyKey": "k1"}
    page = {"Sec-Fetch-Site": "cross-site", "Origin": "https://attacker.example"}
    refused = httpx.post(url, data=form, auth=basic(account), headers=page)
    assert refused.status_code == 403
    assert refused.json()["code"] == 20403
    assert "cors_origins" in refused.json()["message"]
    preflight = httpx.options(url, headers={**page, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403
    local = {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost:3000"}
    allowed = httpx.post(url, data=form, auth=basic(account), headers=local)
    assert allowed.status_code == 201
    assert allowed.headers["access-control-allow-origin"] == "*"  # Twilio's CORS headers kept
    sdk = httpx.post(
        create_path(server, account), data={**form, "IdempotencyKey": "k2"}, auth=basic(account)
    )
    assert sdk.status_code == 201  # no Sec-Fetch-Site: not a browser page


def test_cors_origins_star_restores_api_twilio_coms_answer() -> None:
    with EmulatorServer("--caller", "manual", "--cors-origins", "*") as open_server:
        account = open_server.control.create_account()
        answered = httpx.post(
            create_path(open_server, account),
            data={"StatusCallback": "http://127.0.0.1:9/cb", "IdempotencyKey": "k1"},
            auth=basic(account),
            headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://anywhere.example"},
        )
        assert answered.status_code == 201


def test_a_page_in_chromium_on_another_site_cannot_create_a_payment(
    server: EmulatorServer, account: Account
) -> None:
    """The probe's attack, in a real browser: a page served from 127.0.0.2 (another site)
    posts a create with the public fixture-style credentials; the emulator refuses it."""
    from tests.inspector_support import chromium

    url = create_path(server, account)
    credentials = base64.b64encode(":".join(basic(account)).encode()).decode()
    page_html = (
        "<!doctype html><script>"
        f"fetch({json.dumps(url)}, {{method: 'POST', headers: {{Authorization: "
        f"{json.dumps('Basic ' + credentials)}, "
        "'Content-Type': 'application/x-www-form-urlencoded'}, body: "
        "'IdempotencyKey=k&StatusCallback=http%3A%2F%2F127.0.0.1%3A9%2Fcb'})"
        ".then(r => r.status, e => 'blocked: ' + e).then(s => document.title = String(s));"
        "</script>"
    ).encode()
    site = _StaticSite(page_html)
    with site.running("127.0.0.2") as page_url, chromium() as context:
        page = context.new_page()
        page.goto(page_url)
        page.wait_for_function("document.title !== ''", timeout=15_000)
        title = page.title()
    # the preflight (Authorization makes it one) was refused: the browser never sent the POST
    assert title.startswith("blocked") or title == "403", title
    calls = server.control.callbacks(account_sid=account.account_sid)
    assert calls == []  # no session was created, so no callback


class _StaticSite:
    """One page, served over HTTP on another loopback address (another site)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def running(self, host: str) -> Any:
        import contextlib
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        body = self.body

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        @contextlib.contextmanager
        def serving() -> Iterator[str]:
            httpd = ThreadingHTTPServer((host, 0), Handler)
            thread = threading.Thread(target=httpd.serve_forever, daemon=True)
            thread.start()
            try:
                yield f"http://{host}:{httpd.server_address[1]}/"
            finally:
                httpd.shutdown()
                httpd.server_close()
                thread.join(5)

        return serving()
