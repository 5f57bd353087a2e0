"""Delivery limits against a real server: a bad URL in the outbox, credentials in a URL,
``callback_hosts``; and a graceful stop with deliveries in flight (exactly once across a
restart). Every URL the emulator calls is on 127.0.0.1, or refused before any look-up."""

from __future__ import annotations

import base64
import os
import signal
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

from emulator.testing import EmulatorServer
from tests.api import PaymentsApi
from tests.receiver import Receiver

CARD_ITEMS = ["payment-card-number", "expiration-date", "security-code", "postal-code"]


def test_a_url_the_http_client_refuses_fails_that_attempt_only_also_after_a_restart(
    tmp_path: Path, make_api: Callable[..., PaymentsApi]
) -> None:
    """Such URLs are refused at validation now; rows written before that (or by any other
    path) must not stop their session's queue: each is one failed attempt."""
    database = tmp_path / "e.db"
    receiver = Receiver()
    with (
        receiver.running(),
        EmulatorServer(
            "--caller",
            "manual",
            # a relative StatusCallback resolves against this: an invalid IPv4 address
            "--callback-base-url",
            "http://256.1.1.1/",
            database=database,
        ) as server,
    ):
        account = server.control.create_account()
        api = make_api(server, account)
        call_sid = server.control.create_call(account.account_sid)
        _, sid = api.start(call_sid, StatusCallback="status/relative", Timeout=600)
        answer = api.update(call_sid, sid, Capture=CARD_ITEMS[0], StatusCallback=receiver.url("/1"))
        assert answer.status_code == 202
        first = server.control.callbacks(payment_sid=sid, wait_for=2)
        assert [(c["state"], c["status_code"]) for c in first] == [
            ("failed", None),
            ("delivered", 204),
        ]
        assert "Invalid IPv4 address" in first[0]["error"]
        server.stop()

        # Rows the HTTP client refuses, then a good one, all pending for the same session:
        # the state a restart finds them in.
        bad = ["http://☃.invalid/cb", "http://256.1.1.1/cb", "http://127.0.0.1/" + "a" * 70_000]
        with sqlite3.connect(database) as conn:
            template = conn.execute(
                "SELECT max(id) FROM callbacks WHERE payment_sid = ?", (sid,)
            ).fetchone()[0]
            for n, url in enumerate([*bad, receiver.url("/2")]):
                conn.execute(
                    "INSERT INTO callbacks (payment_sid, account_sid, call_sid, event, url,"
                    " method, params, idempotency_token, state, attempts, created_at_ms)"
                    " SELECT payment_sid, account_sid, call_sid, event, ?, method, params, ?,"
                    " 'pending', 0, created_at_ms FROM callbacks WHERE id = ?",
                    (url, f"token-{n}", template),
                )
        server.start()
        after = server.control.callbacks(payment_sid=sid, wait_for=6, timeout=20)
        assert [(c["state"], c["attempts"]) for c in after[2:6]] == [("failed", 1)] * 3 + [
            ("delivered", 1)
        ]
        errors = [c["error"] for c in after[2:5]]
        assert "Invalid IDNA hostname" in errors[0]
        assert "Invalid IPv4 address" in errors[1]
        assert "URL too long" in errors[2]
        # the session goes on: a new callback is delivered too
        api = make_api(server, account)  # the restarted server listens on another port
        answer = api.update(call_sid, sid, Capture=CARD_ITEMS[1], StatusCallback=receiver.url("/3"))
        assert answer.status_code == 202
        server.control.callbacks(payment_sid=sid, wait_for=7)
    assert [r.path for r in receiver.received] == ["/1", "/2", "/3"]


def test_credentials_in_a_status_callback_are_sent_as_basic_auth_and_masked(
    tmp_path: Path, make_api: Callable[..., PaymentsApi]
) -> None:
    receiver = Receiver(challenge='Basic realm="payments"')
    with (
        receiver.running(),
        EmulatorServer("--caller", "manual", database=tmp_path / "e.db") as server,
    ):
        account = server.control.create_account()
        api = make_api(server, account)
        url = f"http://pay-user:s3cr%40t@127.0.0.1:{receiver.port}/status?tenant=7"
        _, sid = api.start(StatusCallback=url)
        [callback] = server.control.callbacks(payment_sid=sid, wait_for=1)
        challenged, arrived = receiver.wait_for(2)
        log = server.log
        server.stop()
    expected = "Basic " + base64.b64encode(b"pay-user:s3cr@t").decode()
    assert "Authorization" not in challenged.headers  # first without, as Twilio does
    assert arrived.headers["Authorization"] == expected
    assert arrived.path == "/status?tenant=7"
    # signed as Twilio signs an HTTP voice callback: without the username and password
    validator = RequestValidator(account.auth_token)
    plain = f"http://127.0.0.1:{receiver.port}/status?tenant=7"
    assert validator.validate(plain, arrived.form, arrived.headers["X-Twilio-Signature"])
    shown = f"http://pay-user:****@127.0.0.1:{receiver.port}/status?tenant=7"
    assert (callback["state"], callback["url"]) == ("delivered", shown)
    assert callback["headers"]["Authorization"] == "Basic ****"
    with sqlite3.connect(tmp_path / "e.db") as conn:
        attempts = str(conn.execute("SELECT url, headers FROM callback_attempts").fetchall())
    for secret in ("s3cr%40t", "s3cr@t", expected.split()[1]):
        assert secret not in attempts
        assert secret not in str(callback)
        assert secret not in log


def test_callback_hosts_refuses_other_hosts_without_a_look_up(
    tmp_path: Path, make_api: Callable[..., PaymentsApi]
) -> None:
    receiver = Receiver()
    with (
        receiver.running(),
        EmulatorServer(
            "--caller",
            "manual",
            "--callback-hosts",
            "127.0.0.1",
            "app",
            database=tmp_path / "e.db",
        ) as server,
    ):
        api = make_api(server, server.control.create_account())
        refused_urls = [
            # the .invalid TLD never resolves (RFC 6761) and the resolver knows it: even if
            # the list let it through, nothing would be asked of a name server
            "http://nonexistent.invalid/status",
            f"http://localhost:{receiver.port}/status",
        ]
        sessions = [api.start(StatusCallback=url)[1] for url in refused_urls]
        sessions.append(api.start(StatusCallback=receiver.url("/allowed"))[1])
        found = [server.control.callbacks(payment_sid=sid, wait_for=1)[0] for sid in sessions]
    assert [(c["state"], c["attempts"]) for c in found] == [
        ("failed", 1),
        ("failed", 1),
        ("delivered", 1),
    ]
    assert found[0]["error"] == (
        "host 'nonexistent.invalid' is not in callback_hosts (127.0.0.1, app): not sent "
        "(no look-up, no connection)"
    )
    assert "'localhost' is not in callback_hosts" in found[1]["error"]
    assert found[0]["headers"] == {}
    assert [r.path for r in receiver.received] == ["/allowed"]


def test_a_graceful_stop_delivers_each_callback_exactly_once_across_a_restart(
    tmp_path: Path, make_api: Callable[..., PaymentsApi]
) -> None:
    """80 callbacks pending for a slow receiver, SIGTERM while some are in flight: those are
    delivered and recorded before the process exits, the others stay pending and are sent
    after the restart; none twice."""
    database = tmp_path / "e.db"
    slow = Receiver(delay_s=0.3)
    with slow.running(), EmulatorServer("--caller", "manual", database=database) as server:
        api = make_api(server, server.control.create_account())
        sessions = []
        for _ in range(20):
            call_sid, sid = api.start(StatusCallback=slow.url(), Timeout=600)
            for item in CARD_ITEMS[:3]:
                answer = api.update(call_sid, sid, Capture=item, StatusCallback=slow.url())
                assert answer.status_code == 202
            sessions.append(sid)
        slow.wait_for(10)  # deliveries are under way (8 at a time to this host)
        server.stop()  # SIGTERM
        assert server.log.count("Traceback") == 0
        with sqlite3.connect(database) as conn:
            states = dict(
                conn.execute("SELECT state, count(*) FROM callbacks GROUP BY state").fetchall()
            )
        sent_before = len(slow.received)
        assert states.get("delivered") == sent_before  # everything sent was recorded
        assert states.get("pending") == 80 - sent_before  # nothing cut short: none in between
        assert set(states) <= {"delivered", "pending"}
        with sqlite3.connect(database) as conn:
            expected = [
                token for (token,) in conn.execute("SELECT idempotency_token FROM callbacks")
            ]
        slow.delay_s = 0
        server.start()
        for sid in sessions:
            server.control.callbacks(payment_sid=sid, wait_for=4, timeout=30)
    tokens = [r.headers["I-Twilio-Idempotency-Token"] for r in slow.received]
    assert len(expected) == 80
    assert set(expected) <= set(tokens)  # every one delivered
    assert len(tokens) == len(set(tokens))  # none twice


def test_sigterm_answers_a_long_poll_at_once(
    tmp_path: Path, make_api: Callable[..., PaymentsApi]
) -> None:
    """A ``wait_for`` long-poll is a request in progress, which uvicorn waits for on SIGTERM:
    the emulator answers it at the signal (with what there is), so shutdown is not held up.
    Were it not answered, uvicorn would cancel it after the grace period: no 200."""
    with EmulatorServer(
        "--caller", "manual", "--shutdown-grace-s", "30", database=tmp_path / "e.db"
    ) as server:
        api = make_api(server, server.control.create_account())
        _, sid = api.start()  # its one callback goes to a closed port: 2 attempts, never 5
        server.control.callbacks(payment_sid=sid, wait_for=1)
        answers: list[httpx.Response | Exception] = []

        def long_poll() -> None:
            try:
                answers.append(
                    httpx.get(
                        f"{server.base_url}/_emulator/callbacks",
                        params={"payment_sid": sid, "wait_for": 5, "timeout": 60},
                        timeout=90,
                    )
                )
            except httpx.HTTPError as exc:
                answers.append(exc)

        poller = threading.Thread(target=long_poll)

        def open_files() -> int:
            return len(os.listdir(f"/proc/{server.pid}/fd"))

        idle = open_files()
        poller.start()
        for _ in range(1000):  # until the server has accepted the long-poll's connection
            if open_files() > idle:
                break
            threading.Event().wait(0.01)
        threading.Event().wait(0.2)  # and read its request
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(60) == 0
        poller.join(60)
    [answer] = answers
    assert isinstance(answer, httpx.Response), answer
    assert answer.status_code == 200
    # a closed port: Twilio's default connection overrides retry a connect failure once
    assert [c["attempts"] for c in answer.json()["callbacks"]] == [2]
