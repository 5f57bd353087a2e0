"""Payment flows the tests drive: the agent through twilio-python, the caller through the
control plane (a manual caller), callbacks read back from the control plane."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from twilio.rest import Client

from emulator.testing import Account, EmulatorServer

CLOSED = "http://127.0.0.1:9/pay/status"  # a closed local port: delivery does not matter
CARD_VALUES = {
    "payment-card-number": "4111111111111111",  # a Generic Pay Connector TEST mode card
    "expiration-date": "1230",
    "security-code": "123",
    "postal-code": "94105",
}
ACH_VALUES = {"bank-routing-number": "121000358", "bank-account-number": "123456789"}


class Flow:
    """One session: ``start``, ``capture`` (keys the value unless told otherwise),
    ``finish``; ``callbacks`` waits for the callbacks made so far."""

    def __init__(self, server: EmulatorServer, account: Account, callback: str = CLOSED) -> None:
        self.server = server
        self.control = server.control
        if account.api_key_sid:
            self.client = Client(account.api_key_sid, account.api_key_secret, account.account_sid)
        else:  # a fixture account: its SID and auth token
            self.client = Client(account.account_sid, account.auth_token)
        self.client.api.base_url = server.base_url
        self.account = account
        self.callback = callback
        self.call_sid = self.control.create_call(account.account_sid, caller="manual")
        self.sid = ""
        self.made = 0  # callbacks the session made so far

    def _key(self) -> str:
        return secrets.token_hex(8)

    def start(self, **params: Any) -> str:
        payment = self.client.calls(self.call_sid).payments.create(
            idempotency_key=self._key(), status_callback=self.callback, **params
        )
        self.sid = payment.sid
        self.made = 1
        return self.sid

    def update(self, **params: Any) -> None:
        self.client.calls(self.call_sid).payments(self.sid).update(
            idempotency_key=self._key(), status_callback=self.callback, **params
        )

    def capture(self, item: str, digits: str | None = None, *, partial: bool = False) -> None:
        self.update(capture=item)
        self.made += 1
        if digits is not None:
            self.control.key_in(self.sid, digits, partial)
            self.made += 1

    def capture_all(self, values: Mapping[str, str]) -> None:
        for item, digits in values.items():
            self.capture(item, digits)

    def finish(self, status: str = "complete") -> None:
        self.update(status=status)

    def callbacks(self, count: int | None = None, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The session's callbacks once ``count`` (default: those made so far) were attempted."""
        wanted = self.made if count is None else count
        found = self.control.callbacks(payment_sid=self.sid, wait_for=wanted, timeout=timeout)
        assert len(found) >= wanted, [c["event"] for c in found]
        return found

    def last(self, count: int | None = None) -> dict[str, str]:
        params: dict[str, str] = self.callbacks(count)[-1]["params"]
        return params

    def view(self) -> dict[str, Any]:
        return self.control.payment(self.sid)
