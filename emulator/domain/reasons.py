"""Why a session failed, in a few words: what the inspector shows next to its state. Pure.

A session that ended other than with ``success`` (or a cancel) failed for the reason its
complete callback gives: its ``Result``, and the connector's ``PayErrorCode``,
``PaymentError`` and ``ConnectorError``. A session still under way has not failed, but its
caller's last entry may have been refused: that entry's ``ErrorType`` (and ``PaymentError``,
when a Timeout ended it) says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from emulator.domain.machine import Result, Session, State

__all__ = ["Reason", "reason_of"]

_NOT_FAILED = frozenset({Result.SUCCESS, Result.CANCELLED})


@dataclass(frozen=True, slots=True)
class Reason:
    """``label``: the Result or ErrorType; ``detail``: the code and texts that explain it
    (empty when there are none); ``ended``: whether the session ended with it (else it is
    the caller's last entry, refused)."""

    label: str
    detail: str
    ended: bool

    @property
    def text(self) -> str:
        return f"{self.label}: {self.detail}" if self.detail else self.label


def _joined(*parts: str) -> str:
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return " · ".join(seen)


def reason_of(session: Session, last_entry: Mapping[str, str] | None = None) -> Reason | None:
    """Why ``session`` failed, or why its caller's last entry (``last_entry``: the fields of
    its callback) was refused; None when nothing went wrong."""
    settlement = session.settlement
    if settlement is not None and session.state is not State.ACTIVE:
        if settlement.result in _NOT_FAILED:
            return None
        code = str(settlement.pay_error_code) if settlement.pay_error_code else ""
        detail = _joined(code, settlement.error, settlement.connector_error)
        return Reason(settlement.result.value, detail, ended=True)
    if session.state is State.ACTIVE and last_entry:
        error = last_entry.get("ErrorType", "")
        if error:
            payment_error = last_entry.get("PaymentError", "")
            detail = "" if payment_error == error else payment_error
            return Reason(error, detail, ended=False)
    return None
