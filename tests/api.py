"""A small form-encoding client for the Payments endpoints, as the SDKs send them."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import httpx

from emulator.testing import Account, EmulatorServer

# Where delivery does not matter: a closed port of this machine (9, "discard", listens nowhere
# here), so the emulator's attempt fails at once and nothing leaves 127.0.0.1. Tests that check
# deliveries pass the URL of a receiver of their own (tests/receiver.py).
CALLBACK = "http://127.0.0.1:9/payments/status"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


class PaymentsApi:
    def __init__(self, server: EmulatorServer, account: Account, *, use_api_key: bool = False):
        self.account = account
        user, password = (
            (account.api_key_sid, account.api_key_secret)
            if use_api_key
            else (account.account_sid, account.auth_token)
        )
        self.http = httpx.Client(
            base_url=server.base_url, headers=basic(user, password), timeout=30
        )

    def calls_path(self, call_sid: str) -> str:
        return f"/2010-04-01/Accounts/{self.account.account_sid}/Calls/{call_sid}"

    def create(self, call_sid: str, key: str | None = None, **params: Any) -> httpx.Response:
        form = {"IdempotencyKey": key or secrets.token_hex(8), "StatusCallback": CALLBACK, **params}
        form = {k: v for k, v in form.items() if v is not None}
        return self.http.post(self.calls_path(call_sid) + "/Payments.json", data=form)

    def update(
        self, call_sid: str, sid: str, key: str | None = None, **params: Any
    ) -> httpx.Response:
        form = {"IdempotencyKey": key or secrets.token_hex(8), "StatusCallback": CALLBACK, **params}
        form = {k: v for k, v in form.items() if v is not None}
        return self.http.post(self.calls_path(call_sid) + f"/Payments/{sid}.json", data=form)

    def start(self, call_sid: str | None = None, **params: Any) -> tuple[str, str]:
        """Create a session; returns (call_sid, payment_sid)."""
        call_sid = call_sid or new_call_sid()
        response = self.create(call_sid, **params)
        assert response.status_code == 201, response.text
        return call_sid, response.json()["sid"]


def error_code(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["code"]
