"""A client for the emulator's control plane (``/_emulator/...``), for tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["Account", "ControlClient"]


@dataclass(frozen=True)
class Account:
    account_sid: str
    auth_token: str
    api_key_sid: str
    api_key_secret: str
    parent_account_sid: str | None = None


class ControlClient:
    """A thin client for ``/_emulator/...``."""

    def __init__(self, base_url: str, timeout: float = 30.0, token: str | None = None) -> None:
        self.base_url = base_url
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self.http = httpx.Client(base_url=base_url, timeout=timeout, headers=headers)

    def close(self) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json(self.http.get("/_emulator/health"))
        return result

    def reset(self, account_sid: str | None = None) -> None:
        params = {"account_sid": account_sid} if account_sid else None
        self._json(self.http.post("/_emulator/reset", params=params))

    def create_account(self, parent_account_sid: str | None = None) -> Account:
        body = {"parent_account_sid": parent_account_sid} if parent_account_sid else {}
        return Account(**self._json(self.http.post("/_emulator/accounts", json=body)))

    def create_call(
        self,
        account_sid: str,
        caller: str | None = None,
        script: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> str:
        """A new in-progress call (``caller`` ``auto`` or ``manual``); returns its CallSid."""
        body: dict[str, Any] = {"account_sid": account_sid, "script": dict(script or {})}
        if caller is not None:
            body["caller"] = caller
        if url is not None:
            body["url"] = url
        call_sid: str = self._json(self.http.post("/_emulator/calls", json=body))["call_sid"]
        return call_sid

    def key_in(self, payment_sid: str, digits: str, partial: bool = False) -> dict[str, Any]:
        """The caller keys ``digits`` into the item being captured; returns the session view."""
        body = {"digits": digits, "partial": partial}
        view: dict[str, Any] = self._json(
            self.http.post(f"/_emulator/payments/{payment_sid}/input", json=body)
        )
        return view

    def set_caller(self, call_sid: str, mode: str) -> dict[str, Any]:
        """Switch the call's simulated caller to ``auto`` or ``manual``."""
        result: dict[str, Any] = self._json(
            self.http.post(f"/_emulator/calls/{call_sid}/caller", json={"mode": mode})
        )
        return result

    def hang_up(self, call_sid: str) -> None:
        self._json(self.http.post(f"/_emulator/calls/{call_sid}/hangup"))

    def payment(self, payment_sid: str) -> dict[str, Any]:
        """The session view: state, capturing, required, captured (masked), result, history."""
        view: dict[str, Any] = self._json(self.http.get(f"/_emulator/payments/{payment_sid}"))
        return view

    def callbacks(
        self,
        payment_sid: str | None = None,
        call_sid: str | None = None,
        account_sid: str | None = None,
        wait_for: int = 0,
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """The StatusCallbacks in order; with ``wait_for``, once that many were attempted."""
        params: dict[str, Any] = {
            k: v
            for k, v in {
                "payment_sid": payment_sid,
                "call_sid": call_sid,
                "account_sid": account_sid,
            }.items()
            if v
        }
        if wait_for:
            params |= {"wait_for": wait_for, "timeout": timeout}
        found: list[dict[str, Any]] = self._json(
            self.http.get("/_emulator/callbacks", params=params)
        )["callbacks"]
        return found

    def add_fault(self, action: str, **rule: Any) -> dict[str, Any]:
        """A fault rule: ``action`` ``error`` (``status``, ``code``), ``delay`` (``delay_ms``)
        or ``drop``; matching on ``method``, ``path`` (regex), ``account_sid``; for ``times``
        requests or with a ``probability``. Returns the rule with its ``id``."""
        created: dict[str, Any] = self._json(
            self.http.post("/_emulator/faults", json={"action": action, **rule})
        )
        return created

    def faults(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = self._json(self.http.get("/_emulator/faults"))["faults"]
        return rules

    def clear_faults(self) -> None:
        self._json(self.http.delete("/_emulator/faults"))

    def set_clock(
        self,
        freeze_at: str | None = None,
        advance_seconds: float | None = None,
        reset: bool = False,
    ) -> dict[str, Any]:
        """Freeze the emulator's clock (ISO 8601 with a zone), move it on, or reset it."""
        body: dict[str, Any] = {"reset": reset}
        if freeze_at is not None:
            body["freeze_at"] = freeze_at
        if advance_seconds is not None:
            body["advance_seconds"] = advance_seconds
        state: dict[str, Any] = self._json(self.http.post("/_emulator/clock", json=body))
        return state

    def requests(self, **filters: str | int) -> list[dict[str, Any]]:
        """The request journal, newest last (filters: account_sid, call_sid, payment_sid, status)."""
        result: list[dict[str, Any]] = self._json(
            self.http.get("/_emulator/requests", params=filters)
        )["requests"]
        return result
