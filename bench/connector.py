#!/usr/bin/env python3
"""The API while a Generic Pay Connector is slow: does the merchant's endpoint slow anyone down?

    .venv/bin/python bench/connector.py [--sessions 40] [--delay 10] [--updates 400]

Starts an emulator (``emulator.testing.EmulatorServer``) and a GPC endpoint of its own on
127.0.0.1 that answers each request after ``--delay`` seconds. Then, twice — with no
connector request in flight, and with ``--sessions`` sessions completing against the slow
endpoint at once — it measures the latency of ``--updates`` Capture updates on other sessions
(sequential, one client), and prints p50/p99/max. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import secrets
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator.testing import EmulatorServer
from tests.gpc_endpoint import PASSWORD, USERNAME, GpcEndpoint, Reply, answer

CLOSED = "http://127.0.0.1:9/cb"
CARD = {
    "payment-card-number": "4111111111111111",
    "expiration-date": "1235",
    "security-code": "123",
    "postal-code": "94105",
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Api:
    def __init__(self, server: EmulatorServer, account_sid: str, token: str) -> None:
        auth = base64.b64encode(f"{account_sid}:{token}".encode()).decode()
        self.http = httpx.AsyncClient(
            base_url=server.base_url, headers={"Authorization": f"Basic {auth}"}, timeout=60
        )
        self.account_sid = account_sid

    def path(self, call_sid: str, sid: str | None = None) -> str:
        base = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}/Payments"
        return base + (f"/{sid}.json" if sid else ".json")

    async def post(self, path: str, **form: str) -> httpx.Response:
        data = {"IdempotencyKey": secrets.token_hex(8), "StatusCallback": CLOSED, **form}
        response = await self.http.post(path, data=data)
        assert response.status_code in (201, 202), response.text
        return response


async def ready_session(api: Api, control: httpx.AsyncClient) -> tuple[str, str]:
    """A session on the GPC with every item keyed (manual caller)."""
    call = (
        await control.post(
            "/_emulator/calls", json={"account_sid": api.account_sid, "caller": "manual"}
        )
    ).json()["call_sid"]
    sid = (await api.post(api.path(call), PaymentConnector="gpc", ChargeAmount="5")).json()["sid"]
    for item, digits in CARD.items():
        await api.post(api.path(call, sid), Capture=item)
        await control.post(f"/_emulator/payments/{sid}/input", json={"digits": digits})
    return call, sid


async def update_latencies(api: Api, updates: int) -> list[float]:
    call = "CA" + secrets.token_hex(16)
    sid = (await api.post(api.path(call))).json()["sid"]
    latencies = []
    for _ in range(updates):
        started = time.perf_counter()
        await api.post(api.path(call, sid), Capture="postal-code")
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def measure(server: EmulatorServer, endpoint: GpcEndpoint, args: argparse.Namespace) -> None:
    account = server.control.create_account()
    control = httpx.AsyncClient(base_url=server.base_url, timeout=60)
    body = {
        "account_sid": account.account_sid,
        "name": "gpc",
        "generic": {
            "endpoint_url": endpoint.url(),
            "username": USERNAME,
            "password": PASSWORD,
            "timeout_s": 60,
        },
    }
    assert (await control.post("/_emulator/connectors", json=body)).status_code == 201
    api = Api(server, account.account_sid, account.auth_token)
    quiet = await update_latencies(api, args.updates)
    sessions = [await ready_session(api, control) for _ in range(args.sessions)]
    endpoint.push(*[Reply(delay_s=args.delay, body=answer(charge_id="ch_slow"))] * args.sessions)
    for call, sid in sessions:
        await api.post(api.path(call, sid), Status="complete")
    endpoint.wait_for(args.sessions, timeout=30)  # every request is now in flight
    busy = await update_latencies(api, args.updates)
    states = [
        (await control.get(f"/_emulator/payments/{sid}")).json()["state"] for _, sid in sessions
    ]
    in_flight = states.count("processing")
    print(
        f"{args.sessions} connector requests in flight (each answered after {args.delay} s);"
        f" still processing when the measurement ended: {in_flight}"
    )
    print(f"{'Capture updates on another session':40} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, values in (
        ("no connector request in flight", quiet),
        ("slow endpoint, requests in flight", busy),
    ):
        print(
            f"{label:40} {statistics.median(values):8.2f} {percentile(values, 99):8.2f} {max(values):8.2f}"
        )
    await api.http.aclose()
    await control.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--delay", type=float, default=10.0)
    parser.add_argument("--updates", type=int, default=400)
    args = parser.parse_args()
    with (
        GpcEndpoint().running() as endpoint,
        EmulatorServer("--caller", "manual", "--log-level", "warning") as server,
    ):
        asyncio.run(measure(server, endpoint, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
