"""What CI sees of the emulator: ``GET /_emulator/metrics`` (Prometheus's text format) and the
JSON log format (``--log-format json``), on real servers driven by twilio-python."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from emulator.testing import EmulatorServer
from tests.api import CALLBACK, basic
from tests.flows import CARD_VALUES, Flow
from tests.gpc_endpoint import PASSWORD, USERNAME, GpcEndpoint, reply
from tests.receiver import Receiver

CREATE = "/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}/Payments.json"
UPDATE = "/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}/Payments/{payment_sid}.json"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: EmulatorServer) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(server.control.metrics()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def test_metrics(tmp_path: Path, receiver: Receiver) -> None:
    with (
        GpcEndpoint().running() as endpoint,
        EmulatorServer("--caller", "manual", database=tmp_path / "e.db") as server,
    ):
        control = server.control
        account = control.create_account()
        # a session on the built-in connector, its callbacks delivered to the receiver
        card = Flow(server, account, callback=receiver.url())
        card.start(charge_amount=5)
        card.capture_all(CARD_VALUES)
        card.finish()
        ended = control.wait_until_ended(card.sid)
        # one on a Generic Pay Connector (its endpoint answers a charge)
        generic = {"endpoint_url": endpoint.url(), "username": USERNAME, "password": PASSWORD}
        control.create_connector(account.account_sid, "gpc", generic=generic)
        endpoint.push(reply(charge_id="ch_1"))
        gpc = Flow(server, account, callback=receiver.url())
        gpc.start(payment_connector="gpc", charge_amount=7)
        gpc.capture_all(CARD_VALUES)
        gpc.finish()
        assert control.wait_until_ended(gpc.sid)["result"] == "success"
        # one still active; and a refused request
        active = Flow(server, account)
        active.start()
        refused = httpx.post(
            server.base_url + f"/2010-04-01/Accounts/{account.account_sid}/Calls/{active.call_sid}"
            "/Payments.json",
            data={"IdempotencyKey": "x", "StatusCallback": CALLBACK},
            headers=basic(account.account_sid, "wrong"),
        )
        assert refused.status_code == 401

        response = httpx.get(server.base_url + "/_emulator/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        samples = scrape(server)
        requests = "payments_emulator_requests_total"
        assert value(samples, requests, route=CREATE, method="POST", status="201", code="") == 3
        assert value(samples, requests, route=UPDATE, method="POST", status="202", code="") == 10
        assert (
            value(samples, requests, route=CREATE, method="POST", status="401", code="20003") == 1
        )
        assert (
            value(
                samples,
                requests,
                route="/_emulator/payments/{payment_sid}/input",
                method="POST",
                status="200",
                code="",
            )
            == 8
        )
        delivered = receiver.wait_for(len(ended["history"]) * 2)
        attempts = value(samples, "payments_emulator_callback_attempts_total", outcome="delivered")
        assert (
            attempts
            == len(delivered)
            == value(samples, "payments_emulator_callbacks", state="delivered")
        )
        assert value(samples, "payments_emulator_callback_delivery_seconds_count") >= attempts
        assert value(samples, "payments_emulator_connector_request_seconds_count") == 1
        assert value(samples, "payments_emulator_sessions", state="completed") == 2
        assert value(samples, "payments_emulator_sessions", state="active") == 1
        assert value(samples, "payments_emulator_sessions", state="ended") == 0
        assert value(samples, "payments_emulator_open_connections") >= 1
        assert value(samples, "payments_emulator_open_streams", kind="long_poll") == 0
        assert value(samples, "payments_emulator_open_streams", kind="events") == 0

        # streams held open: a callbacks long-poll and an event stream
        waiting = threading.Thread(
            target=lambda: control.callbacks(payment_sid=active.sid, wait_for=99, timeout=3)
        )
        waiting.start()
        with httpx.stream("GET", server.base_url + "/_emulator/events") as events:
            lines = events.iter_lines()  # kept: an iterator collected closes the response
            assert next(lines).startswith("retry:")
            until(
                lambda: (
                    value(scrape(server), "payments_emulator_open_streams", kind="long_poll") == 1
                )
            )
            assert value(scrape(server), "payments_emulator_open_streams", kind="events") == 1
        waiting.join()
        until(lambda: value(scrape(server), "payments_emulator_open_streams", kind="events") == 0)
        assert value(scrape(server), "payments_emulator_open_streams", kind="long_poll") == 0


def json_records(log: str) -> list[dict[str, Any]]:
    """Every line of the log as a JSON object (a line that is not one fails the test)."""
    records = [json.loads(line) for line in log.splitlines() if line.strip()]
    for record in records:
        assert isinstance(record, dict)
        assert ISO_MS.match(record["time"]), record
        assert {"time", "level", "logger", "message"} <= set(record), record
    return records


def test_json_logs(tmp_path: Path, receiver: Receiver) -> None:
    card_number = "4000000000000002"  # declined
    with EmulatorServer(
        "--log-format",
        "json",
        "--log-level",
        "debug",
        "--caller",
        "manual",
        database=tmp_path / "e.db",
    ) as server:
        account = server.control.create_account()
        flow = Flow(server, account, callback=receiver.url())
        flow.start(charge_amount=5)
        flow.capture_all({**CARD_VALUES, "payment-card-number": card_number})
        flow.finish()
        view = server.control.wait_until_ended(flow.sid)
        assert view["result"] == "payment-connector-error"
        refused = httpx.post(
            server.base_url + f"/2010-04-01/Accounts/{account.account_sid}/Calls/{flow.call_sid}"
            "/Payments.json",
            data={"IdempotencyKey": "x", "StatusCallback": CALLBACK},
            headers=basic(account.api_key_sid, "wrong"),
        )
        journal = server.control.requests(account_sid=account.account_sid)
        server.stop()
        log = server.log
    assert card_number not in log
    records = json_records(log)
    listening = [r for r in records if r.get("event") == "listening"]
    assert [r["url"] for r in listening] == [server.base_url]
    assert "uvicorn.access" not in {r["logger"] for r in records}  # the emulator's access log
    access = {
        r["request_id"]: r for r in records if r.get("event") == "request" and "request_id" in r
    }
    created = access[journal[0]["request_id"]]
    assert created == {
        **created,
        "level": "debug",
        "logger": "emulator.access",
        "method": "POST",
        "path": journal[0]["path"],
        "status": 201,
        "account": account.account_sid,
        "call": flow.call_sid,
    }
    assert isinstance(created["duration_ms"], float)
    assert "code" not in created
    assert "session" not in created
    update = access[journal[1]["request_id"]]
    assert update["session"] == flow.sid
    denied = access[refused.headers["twilio-request-id"]]
    assert (denied["status"], denied["code"]) == (401, 20003)
    assert denied["auth_failure"] == f"wrong secret for API key {account.api_key_sid}"
    control = [r for r in records if r.get("event") == "request" and "request_id" not in r]
    assert any(
        r["path"] == f"/_emulator/payments/{flow.sid}" and r["status"] == 200 for r in control
    )
    delivered = [r for r in records if r.get("event") == "callback.delivered"]
    assert len(delivered) == len(view["history"])
    for record in delivered:
        assert (record["session"], record["call"], record["account"]) == (
            flow.sid,
            flow.call_sid,
            account.account_sid,
        )
        assert record["status"] == 204


def test_json_logs_at_info_have_no_access_log_and_text_stays_text(tmp_path: Path) -> None:
    with EmulatorServer("--log-format", "json", database=tmp_path / "j.db") as server:
        server.control.create_account()
        server.stop()
    records = json_records(server.log)
    assert not [r for r in records if r["logger"] == "emulator.access"]
    assert {r["level"] for r in records} <= {"info", "warning", "error", "critical"}
    with EmulatorServer(database=tmp_path / "t.db") as server:
        server.stop()
    assert server.log.startswith("payments-emulator ")
    assert f"listening on {server.base_url} (database" in server.log
    assert "{" not in server.log.splitlines()[0]
