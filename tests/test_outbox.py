"""Delivery of StatusCallbacks: order, failures, retries, redelivery, restarts, hygiene."""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from emulator.testing import Account, EmulatorServer
from tests.api import PaymentsApi, basic, error_code
from tests.inspector_support import inspector_pages
from tests.receiver import Receiver

CARD_ITEMS = ["payment-card-number", "expiration-date", "security-code", "postal-code"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def closed_port_url() -> str:
    return "http://127.0.0.1:9/status"  # port 9 (discard): nothing listens there


def manual_session(server: EmulatorServer, api: PaymentsApi, callback: str) -> tuple[str, str]:
    call_sid = server.control.create_call(api.account.account_sid, caller="manual")
    return api.start(call_sid, StatusCallback=callback)


def settled(server: EmulatorServer, sid: str, timeout: float = 10.0) -> dict[str, object]:
    """The session's only callback, once it is no longer pending (delivered or given up)."""
    deadline = time.monotonic() + timeout
    while True:
        [callback] = server.control.callbacks(payment_sid=sid)
        if callback["state"] != "pending":
            return callback
        assert time.monotonic() < deadline, f"still pending after {timeout} s: {callback}"
        time.sleep(0.02)


def test_order_per_session_under_a_burst(
    server: EmulatorServer, account: Account, receiver: Receiver
) -> None:
    """Fifteen sessions, each sending its captures as fast as it can, all at once."""
    sessions = 15
    calls = [
        server.control.create_call(account.account_sid, caller="manual") for _ in range(sessions)
    ]
    headers = basic(account.account_sid, account.auth_token)
    base = f"/2010-04-01/Accounts/{account.account_sid}/Calls"

    async def one(client: httpx.AsyncClient, call_sid: str) -> str:
        form = {"IdempotencyKey": "c", "StatusCallback": receiver.url()}
        created = await client.post(f"{base}/{call_sid}/Payments.json", data=form)
        sid: str = created.json()["sid"]
        for n, item in enumerate(CARD_ITEMS * 2):
            form = {"IdempotencyKey": f"u{n}", "StatusCallback": receiver.url(), "Capture": item}
            answer = await client.post(f"{base}/{call_sid}/Payments/{sid}.json", data=form)
            assert answer.status_code == 202
        return sid

    async def burst() -> list[str]:
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=headers, timeout=30
        ) as client:
            return list(await asyncio.gather(*(one(client, call) for call in calls)))

    sids = asyncio.run(burst())
    per_session = 1 + len(CARD_ITEMS) * 2
    received = receiver.wait_for(sessions * per_session, timeout=30)
    for sid in sids:
        expected = [c["idempotency_token"] for c in server.control.callbacks(payment_sid=sid)]
        arrived = [
            r.headers["I-Twilio-Idempotency-Token"] for r in received if r.form["Sid"] == sid
        ]
        assert len(expected) == per_session
        assert arrived == expected  # the outbox order, which is the order of the requests
        captures = [r.form.get("Capture") for r in received if r.form["Sid"] == sid][1:]
        assert captures == CARD_ITEMS * 2


def api_latencies(api: PaymentsApi, call_sid: str, sid: str, url: str, count: int) -> list[float]:
    latencies = []
    for n in range(count):
        started = time.perf_counter()
        response = api.update(call_sid, sid, Capture=CARD_ITEMS[n % 4], StatusCallback=url)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 202
    return latencies


def test_a_bad_receiver_does_not_slow_the_api(
    tmp_path: Path, make_api: Callable[..., PaymentsApi], receiver: Receiver
) -> None:
    slow = Receiver(delay_s=3.0)
    failing = Receiver(status=500)
    with (
        slow.running(),
        failing.running(),
        EmulatorServer(
            "--caller", "manual", "--callback-timeout-s", "1", database=tmp_path / "e.db"
        ) as server,
    ):
        api = make_api(server, server.control.create_account())
        figures, sessions = {}, {}
        for name, url in [
            ("healthy", receiver.url()),
            ("slow", slow.url()),
            ("answers 500", failing.url()),
            ("down", closed_port_url()),
        ]:
            call_sid, sid = manual_session(server, api, url)
            latencies = api_latencies(api, call_sid, sid, url, 20)
            figures[name] = (statistics.median(latencies), max(latencies))
            sessions[name] = sid
        print("API latency (median, max) in s by receiver:", figures)
        for name, (_median, worst) in figures.items():
            # a delivery waiting 1 s on a receiver never holds an answer back
            assert worst < 0.5, (name, figures)

        def first_attempted(name: str) -> dict[str, object]:
            callbacks = server.control.callbacks(payment_sid=sessions[name], wait_for=1, timeout=10)
            return next(c for c in callbacks if c["attempts"])

        down = first_attempted("down")
        assert (down["state"], down["status_code"]) == ("failed", None)
        assert "ConnectError" in str(down["error"])
        timed_out = first_attempted("slow")
        assert timed_out["state"] == "failed"
        assert "Timeout" in str(timed_out["error"])
        error = first_attempted("answers 500")
        assert (error["state"], error["status_code"], error["error"]) == ("failed", 500, "HTTP 500")
        healthy = first_attempted("healthy")
        assert (healthy["state"], healthy["status_code"]) == ("delivered", 204)


def test_retries_with_backoff(tmp_path: Path, make_api: Callable[..., PaymentsApi]) -> None:
    failing = Receiver(status=503)
    with (
        failing.running(),
        EmulatorServer(
            "--caller",
            "manual",
            "--callback-retries",
            "2",
            "--callback-retry-policy",
            "5xx",
            "--callback-retry-backoff-ms",
            "50",
            database=tmp_path / "e.db",
        ) as server,
    ):
        api = make_api(server, server.control.create_account())
        _, sid = manual_session(server, api, failing.url())
        arrived = failing.wait_for(3)
        assert len({r.headers["I-Twilio-Idempotency-Token"] for r in arrived}) == 1
        assert arrived[1].at - arrived[0].at >= 0.045
        assert arrived[2].at - arrived[1].at >= 0.095  # doubled
        # the third answer arrived; its outcome is recorded just after: wait for it
        callback = settled(server, sid)
        assert (callback["attempts"], callback["state"], callback["status_code"]) == (
            3,
            "failed",
            503,
        )


def test_redeliver(
    server: EmulatorServer, make_api: Callable[..., PaymentsApi], receiver: Receiver
) -> None:
    api = make_api(server, server.control.create_account())
    _, sid = manual_session(server, api, receiver.url())
    [callback] = server.control.callbacks(payment_sid=sid, wait_for=1)
    again = server.control.http.post(f"/_emulator/callbacks/{callback['id']}/redeliver")
    assert again.status_code == 200
    arrived = receiver.wait_for(2)
    assert arrived[0].body == arrived[1].body
    assert (
        arrived[0].headers["I-Twilio-Idempotency-Token"]
        == arrived[1].headers["I-Twilio-Idempotency-Token"]
    )
    [callback] = server.control.callbacks(payment_sid=sid, wait_for=1)
    assert callback["attempts"] == 2
    assert server.control.http.post("/_emulator/callbacks/999999999/redeliver").status_code == 404


def test_refused_and_replayed_requests_make_no_callback(
    server: EmulatorServer, make_api: Callable[..., PaymentsApi], receiver: Receiver
) -> None:
    api = make_api(server, server.control.create_account())
    call_sid, sid = manual_session(server, api, receiver.url())
    assert error_code(api.update(call_sid, sid, Status="complete")) == (400, 64019)
    assert error_code(api.update(call_sid, sid, Capture="bank-account-number")) == (400, 64020)
    assert api.update(call_sid, sid, key="once", Capture="postal-code").status_code == 202
    assert api.update(call_sid, sid, key="once", Capture="postal-code").status_code == 202
    callbacks = server.control.callbacks(payment_sid=sid, wait_for=2)
    assert [c["event"] for c in callbacks] == ["create", "capture"]


def test_wait_for_answers_with_what_there_is_when_time_runs_out(
    server: EmulatorServer, make_api: Callable[..., PaymentsApi], receiver: Receiver
) -> None:
    api = make_api(server, server.control.create_account())
    _, sid = manual_session(server, api, receiver.url())
    started = time.monotonic()
    callbacks = server.control.callbacks(payment_sid=sid, wait_for=5, timeout=0.5)
    assert 0.4 < time.monotonic() - started < 5
    assert len(callbacks) == 1


def test_pending_deliveries_drain_after_a_kill_and_restart(
    tmp_path: Path, make_api: Callable[..., PaymentsApi]
) -> None:
    slow = Receiver(delay_s=2.0)
    database = tmp_path / "e.db"
    with slow.running(), EmulatorServer("--caller", "manual", database=database) as server:
        api = make_api(server, server.control.create_account())
        # a long input Timeout: no input-timeout callback while the slow ones drain
        call_sid = server.control.create_call(api.account.account_sid, caller="manual")
        _, sid = api.start(call_sid, StatusCallback=slow.url(), Timeout=600)
        for item in CARD_ITEMS:
            assert (
                api.update(call_sid, sid, Capture=item, StatusCallback=slow.url()).status_code
                == 202
            )
        slow.wait_for(1)  # the first is in flight, four wait behind it (one at a time per session)
        server.stop(kill=True)
        with sqlite3.connect(database) as conn:
            pending = conn.execute(
                "SELECT count(*) FROM callbacks WHERE payment_sid = ? AND state = 'pending'", (sid,)
            ).fetchone()[0]
        assert pending == 5  # the in-flight one was never recorded as delivered
        slow.delay_s = 0
        server.start()
        callbacks = server.control.callbacks(payment_sid=sid, wait_for=5, timeout=20)
        assert [c["state"] for c in callbacks] == ["delivered"] * 5
        tokens = [r.headers["I-Twilio-Idempotency-Token"] for r in slow.wait_for(6)]
        expected = [c["idempotency_token"] for c in callbacks]
        assert tokens[0] == tokens[1] == expected[0]  # cut short by the kill: sent again
        assert tokens[1:] == expected


def test_auto_caller_resumes_after_a_restart(
    tmp_path: Path, make_api: Callable[..., PaymentsApi]
) -> None:
    database = tmp_path / "e.db"
    with EmulatorServer("--caller-delay-ms", "1500", database=database) as server:
        api = make_api(server, server.control.create_account())
        call_sid = server.control.create_call(api.account.account_sid, caller="auto")
        _, sid = api.start(call_sid)
        assert api.update(call_sid, sid, Capture="postal-code").status_code == 202
        server.stop(kill=True)  # before the caller keyed anything
        server.start()
        view = server.control.payment(sid)
        assert view["capturing"] == "postal-code"
        server.control.callbacks(payment_sid=sid, wait_for=3, timeout=10)
        view = server.control.payment(sid)
        assert view["captured"] == {"postal-code": "94105"}


def test_no_card_data_in_the_database_or_the_logs(
    tmp_path: Path, make_api: Callable[..., PaymentsApi], receiver: Receiver
) -> None:
    card, cvv, account_number = "4111111111111111", "987", "000987654321"
    database = tmp_path / "e.db"
    with EmulatorServer("--log-level", "debug", database=database) as server:
        account = server.control.create_account()
        api = make_api(server, account)
        card_call = server.control.create_call(
            account.account_sid,
            caller="auto",
            script={"payment-card-number": card, "security-code": cvv},
        )
        call_sid, sid = api.start(
            card_call, StatusCallback=receiver.url(), RequireMatchingInputs="payment-card-number"
        )
        for n, item in enumerate([*CARD_ITEMS, "payment-card-number-matcher"]):
            answer = api.update(call_sid, sid, Capture=item, StatusCallback=receiver.url())
            assert answer.status_code == 202
            server.control.callbacks(payment_sid=sid, wait_for=3 + 2 * n)
        assert (
            api.update(call_sid, sid, Status="complete", StatusCallback=receiver.url()).status_code
            == 202
        )
        manual_call = server.control.create_call(account.account_sid, caller="manual")
        ach_call, ach = api.start(
            manual_call, PaymentMethod="ach-debit", Parameter='{"AVSName": "J"}'
        )
        api.update(ach_call, ach, Capture="bank-account-number")
        server.control.key_in(ach, account_number[:6], partial=True)
        server.control.key_in(ach, account_number[6:])
        views = [server.control.payment(sid), server.control.payment(ach)]
        callbacks = server.control.callbacks(account_sid=account.account_sid)
        journal = server.control.requests(account_sid=account.account_sid)
        pages = inspector_pages(server, account.account_sid)  # the inspector's HTML too
        assert views[0]["result"] == "success"
        server.stop()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("e.db*"))
    exposed = {
        "database": stored.decode("latin-1"),
        "log": server.log,
        "views": str(views),
        "callbacks": str(callbacks),
        "received": str([r.body for r in receiver.received]),
        "journal": str(journal),
        "inspector": "\n".join(pages.values()),
    }
    assert any(sid in page for page in pages.values())  # the pages did show the session
    for where, text in exposed.items():
        assert card not in text, where
        assert account_number not in text, where
        for quoted in (f'"{cvv}"', f"'{cvv}'", f"={cvv}", f"SecurityCode={cvv}"):
            assert quoted not in text, (where, quoted)
    assert "xxxxxxxxxxxx1111" in exposed["database"]  # the masked form is what is kept
