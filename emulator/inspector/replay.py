"""Copy as code's plan: how a session is played again on a fresh call of a fresh emulator, so
that it ends in the same state with the same ``Result``. Pure: the routes fetch, this plans,
:mod:`emulator.inspector.snippets` writes the programs.

What the emulator keeps of a session is enough to play it again, not to copy it: its requests
(the journal's form values), its callbacks (what each event did), the caller's mode, the
outcome. Never the digits a caller keyed or a script held: those are card data. So

- each accepted request is sent again, in the order its callback came in, after waiting for
  the callbacks that came before it (``wait_for``: the control plane's long-poll, no sleep);
- a manual caller's entries are keyed again through the control plane with published test
  values (:data:`~emulator.domain.cards.TEST_CARDS`...), or, for an entry that was refused,
  a value refused for the same reason; an auto caller keys its own defaults again, scripted
  only where the session needs another value (a refusal, another card brand, a ``*``);
- a Timeout that passed is passed again by moving the emulator's clock on;
- the outcome of ``Status=complete``, when it was not a success, is forced
  (``set_outcome``) rather than reached with the card that reached it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from emulator.domain import cards
from emulator.domain.fixtures import BUILT_IN_ACCOUNT_SID
from emulator.domain.machine import ErrorType, EventKind, Result, State
from emulator.domain.records import CallbackRecord, ForcedOutcome, SessionRecord
from emulator.domain.vocabulary import MATCHER_SUFFIX

__all__ = ["AccountKind", "Replay", "ReplayStep", "plan"]

AccountKind = Literal["built-in", "fixture", "created"]
"""Where the session's account came from: the built-in fixture set (its credentials are
public), another fixture file (its secret is read from the environment), the control plane
(the program makes a fresh account)."""

DEFAULT_CONNECTOR = "Default"
AUTO, MANUAL = "auto", "manual"

# A value refused with each ErrorType (none a card or account number).
_REFUSED: Mapping[str, str] = {
    ErrorType.INVALID_CARD_NUMBER: "12345678",
    ErrorType.INVALID_DATE: "0120",
    ErrorType.INVALID_SECURITY_CODE: "12345",
    ErrorType.CAPTURE_SEQUENCE: cards.DEFAULT_SECURITY_CODE,
    ErrorType.INVALID_POSTAL_CODE: "#####",
    ErrorType.INVALID_BANK_ROUTING_NUMBER: "123456789",
    ErrorType.INVALID_BANK_ACCOUNT_NUMBER: "123",
    ErrorType.INPUT_MATCHING_FAILED: "12345678",
}


@dataclass(frozen=True, slots=True)
class ReplayStep:
    """One thing the program does, after waiting for ``wait_for`` callbacks of the session.

    ``kind``: ``create`` or ``update`` (``params``: the form, IdempotencyKey left out),
    ``key`` (``digits``, ``partial``: the caller keys), ``hang-up``, ``timeout`` (the clock
    moves on ``seconds``), ``outcome`` (``outcome``: forced before the complete), ``note``
    (``text``: a comment)."""

    kind: str
    wait_for: int = 0
    params: tuple[tuple[str, str], ...] = ()
    digits: str = ""
    partial: bool = False
    seconds: int = 0
    outcome: ForcedOutcome | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class Replay:
    """The plan of a program that plays session ``payment_sid`` again."""

    base_url: str
    account_sid: str
    account_kind: AccountKind
    username: str  # who authenticated: the account's SID, or an API key's (SK...)
    payment_sid: str
    call_sid: str
    caller: str  # the replay's caller: auto or manual
    script: dict[str, str] = field(default_factory=dict)  # an auto caller's, per item
    connector: str | None = None  # a Pay Connector to install (by name) first
    steps: tuple[ReplayStep, ...] = ()
    callbacks: int = 0  # how many callbacks the session made
    state: str = State.ACTIVE.value  # where the session ended up
    result: str | None = None
    notes: tuple[str, ...] = ()  # what the program does differently, and why
    events: tuple[str, ...] = ()  # each callback's event (and item), in order

    @property
    def ended(self) -> bool:
        return self.state in (State.COMPLETED, State.CANCELLED, State.ENDED)


@dataclass(frozen=True, slots=True)
class Request:
    """A request of the session, as the journal kept it."""

    kind: str  # create or update
    params: tuple[tuple[str, str], ...]
    accepted: bool
    at_ms: int
    refusal: str = ""  # the status and error of a refused one


@dataclass
class _Entry:
    """The caller's keying of one item, as its callbacks tell it."""

    item: str
    positions: list[int]  # the callbacks' positions: partial ones, then the last
    error: str = ""  # ErrorType of the last, "" when accepted
    timed_out: bool = False  # the last was the Timeout's validation, not a keyed #
    finished: bool = True  # False: the caller is still keying it


def account_kind(account_sid: str, from_fixtures: bool) -> AccountKind:
    if account_sid == BUILT_IN_ACCOUNT_SID:
        return "built-in"
    return "fixture" if from_fixtures else "created"


def accepted_value(record: SessionRecord, item: str, today: date) -> str:
    """A published test value for ``item`` that this session accepts."""
    base = item.removesuffix(MATCHER_SUFFIX)
    brand = record.session.card_brand
    if base == "payment-card-number":
        if brand is not None and brand in cards.TEST_CARDS:
            return cards.TEST_CARDS[brand]
        valid = record.request.valid_card_types
        return next((cards.TEST_CARDS[b] for b in valid if b in cards.TEST_CARDS), "")
    if base == "expiration-date":
        return cards.default_expiry(today)
    if base == "security-code":
        return "1234" if brand == "amex" else cards.DEFAULT_SECURITY_CODE
    if base == "postal-code":
        shortest = record.request.min_postal_code_length or 0
        return cards.DEFAULT_POSTAL_CODE.ljust(shortest, "0")
    if base == "bank-routing-number":
        return cards.DEFAULT_ROUTING_NUMBER
    return cards.DEFAULT_BANK_ACCOUNT


def refused_value(record: SessionRecord, error: str) -> str:
    """A value this session refuses with ``error`` (empty when none is known)."""
    if error == ErrorType.INVALID_CARD_TYPE:
        valid = record.request.valid_card_types
        return next((n for b, n in cards.TEST_CARDS.items() if b not in valid), "")
    if error == ErrorType.INVALID_POSTAL_CODE and record.request.min_postal_code_length:
        return "1"
    return _REFUSED.get(error, "")


def _chunks(value: str, count: int) -> list[str]:
    """``value`` cut into ``count`` non-empty parts (fewer when it is too short)."""
    count = max(1, min(count, len(value)))
    size, extra = divmod(len(value), count)
    parts, start = [], 0
    for n in range(count):
        end = start + size + (1 if n < extra else 0)
        parts.append(value[start:end])
        start = end
    return parts


def _entries(callbacks: Sequence[CallbackRecord]) -> tuple[list[_Entry], list[int]]:
    """The caller's entries, and the positions of the Timeouts that passed with nothing
    keyed."""
    entries: list[_Entry] = []
    silences: list[int] = []
    under_way: dict[str, list[int]] = {}
    for n, callback in enumerate(callbacks):
        fields = dict(callback.params)
        item = fields.get("Capture", "")
        if callback.event == EventKind.INPUT_TIMEOUT:
            silences.append(n)
            under_way.pop(item, None)
        elif callback.event == EventKind.KEY_IN:
            positions = under_way.setdefault(item, [])
            positions.append(n)
            if fields.get("PartialResult") != "true":
                del under_way[item]
                entries.append(
                    _Entry(
                        item,
                        positions,
                        error=fields.get("ErrorType", ""),
                        timed_out="PaymentError" in fields,
                    )
                )
    for item, positions in under_way.items():  # still being keyed
        entries.append(_Entry(item, positions, finished=False))
    entries.sort(key=lambda entry: entry.positions[0])
    return entries, silences


def _own_callbacks(
    requests: Sequence[Request], callbacks: Sequence[CallbackRecord]
) -> list[int | None]:
    """The position of the callback each accepted request caused (None for a refused one,
    or a complete whose connector answers later)."""
    taken: set[int] = set()
    found: list[int | None] = []
    for request in requests:
        own = None
        if request.accepted:
            params = dict(request.params)
            if request.kind == "create":
                wanted = (EventKind.CREATE.value, "")
            elif "Capture" in params:
                wanted = (EventKind.CAPTURE.value, params["Capture"])
            elif params.get("Status") == "cancel":
                wanted = (EventKind.CANCEL.value, "")
            else:
                wanted = (EventKind.COMPLETE.value, "")
            after = max(taken) if taken else -1
            for n, callback in enumerate(callbacks):
                if n <= after or n in taken:
                    continue
                item = dict(callback.params).get("Capture", "") if wanted[1] else ""
                if (callback.event, item) == wanted:
                    own = n
                    taken.add(n)
                    break
        found.append(own)
    return found


def _position(at_ms: int, callbacks: Sequence[CallbackRecord]) -> float:
    """Where something with no callback of its own goes: after the callbacks made before it."""
    return sum(1 for c in callbacks if c.created_at_ms <= at_ms) - 0.5


def _outcome(record: SessionRecord) -> ForcedOutcome | None:
    """What to force before the complete: the session's outcome unless a success (or any
    outcome, when its connector is not a built-in one the fresh emulator has)."""
    settlement = record.session.settlement
    if settlement is None or record.session.state is not State.COMPLETED:
        return None
    if (
        settlement.result is Result.SUCCESS
        and record.request.payment_connector == DEFAULT_CONNECTOR
    ):
        return None
    return ForcedOutcome(
        result=settlement.result.value,
        pay_error_code=settlement.pay_error_code,
        payment_error=settlement.error,
        connector_error=settlement.connector_error,
    )


def _auto_script(
    record: SessionRecord, entries: Sequence[_Entry], stars: Sequence[str]
) -> dict[str, str] | None:
    """An auto caller's script that keys what the session's caller keyed (each item's value
    is the same at every prompt), or None when no script can (a partial entry, an item
    both refused and accepted, a refusal no value gives)."""
    wanted: dict[str, str] = {}
    for entry in entries:
        if len(entry.positions) > 1 or entry.timed_out or not entry.finished:
            return None
        if entry.error:
            value = refused_value(record, entry.error)
            if not value:
                return None
        else:
            value = ""
            base = entry.item.removesuffix(MATCHER_SUFFIX)
            brand = record.session.card_brand
            if base == "payment-card-number" and brand not in (None, "visa"):
                value = cards.TEST_CARDS.get(brand or "", "")
            if (
                entry.item.endswith(MATCHER_SUFFIX)
                and entry.item.removesuffix(MATCHER_SUFFIX) in wanted
            ):
                value = wanted[entry.item.removesuffix(MATCHER_SUFFIX)]
        if wanted.get(entry.item, value) != value:
            return None  # refused once, accepted another time: a script cannot
        wanted[entry.item] = value
    for item in stars:
        if wanted.get(item):
            return None
        wanted[item] = "*"
    return {item: value for item, value in wanted.items() if value}


def plan(
    record: SessionRecord,
    callbacks: Sequence[CallbackRecord],
    requests: Sequence[Request],
    *,
    base_url: str,
    kind: AccountKind,
    username: str | None,
    today: date,
) -> Replay:
    """How to play session ``record`` again (``callbacks``: its callbacks in order;
    ``requests``: its requests in order, as journaled)."""
    notes: list[str] = []
    entries, silences = _entries(callbacks)
    stars = [
        dict(c.params).get("Capture", "") for c in callbacks if c.event == EventKind.STAR.value
    ]
    caller = MANUAL if record.caller == MANUAL else AUTO
    script: dict[str, str] = {}
    if caller == AUTO:
        found = _auto_script(record, entries, stars)
        if found is None:
            caller = MANUAL
            notes.append(
                "the auto caller's entries cannot be scripted again: the replay's caller is"
                " manual and keys them"
            )
        else:
            script = found

    steps: list[tuple[float, int, ReplayStep]] = []
    own = _own_callbacks(requests, callbacks)
    outcome = _outcome(record)
    for n, (request, position) in enumerate(zip(requests, own, strict=True)):
        if not request.accepted:
            what = ", ".join(f"{k}={v}" for k, v in request.params)
            text = f"refused {request.kind} ({what}): {request.refusal}".rstrip()
            steps.append((_position(request.at_ms, callbacks), n, ReplayStep("note", text=text)))
            continue
        at = float(position) if position is not None else _position(request.at_ms, callbacks)
        wait = position if position is not None else int(at + 0.5)
        params = dict(request.params)
        if outcome is not None and params.get("Status") == "complete":
            steps.append((at, -1, ReplayStep("outcome", wait_for=wait, outcome=outcome)))
        steps.append((at, n, ReplayStep(request.kind, wait_for=wait, params=request.params)))

    if caller == MANUAL:
        for entry in entries:
            value = (
                refused_value(record, entry.error)
                if entry.error
                else accepted_value(record, entry.item, today)
            )
            if not value:
                notes.append(f"no published value is refused with {entry.error}")
                continue
            parts = _chunks(value, len(entry.positions))
            for k, (position, digits) in enumerate(zip(entry.positions, parts, strict=False)):
                last = k == len(parts) - 1
                partial = not last or entry.timed_out or not entry.finished
                why = f"refused, as in the session: {entry.error}" if entry.error else ""
                step = ReplayStep(
                    "key", wait_for=position, digits=digits, partial=partial, text=why
                )
                steps.append((float(position), 0, step))
            if entry.timed_out:
                position = entry.positions[-1]
                seconds = record.request.timeout
                steps.append(
                    (position + 0.25, 0, ReplayStep("timeout", wait_for=position, seconds=seconds))
                )
        for n, callback in enumerate(callbacks):
            if callback.event == EventKind.STAR.value:
                steps.append((float(n), 0, ReplayStep("key", wait_for=n, digits="*")))
    for n in silences:
        seconds = record.request.timeout
        steps.append((float(n), 0, ReplayStep("timeout", wait_for=n, seconds=seconds)))
    if silences:
        notes.append(
            "a Timeout passed before the caller keyed anything: that happens with"
            " input_timeout_from=capture only"
        )
    for n, callback in enumerate(callbacks):
        if callback.event == EventKind.HANG_UP.value:
            steps.append((float(n), 0, ReplayStep("hang-up", wait_for=n)))
    steps.sort(key=lambda step: (step[0], step[1]))

    if record.session.state is State.PROCESSING:
        notes.append(
            "the session waits for its Generic Pay Connector: in the replay a built-in"
            " connector answers at once"
        )
    connector = record.request.payment_connector
    result = record.session.result
    return Replay(
        base_url=base_url,
        account_sid=record.account_sid,
        account_kind=kind,
        username=username or record.account_sid,
        payment_sid=record.sid,
        call_sid=record.call_sid,
        caller=caller,
        script=script,
        connector=None if connector == DEFAULT_CONNECTOR else connector,
        steps=tuple(step for *_, step in steps),
        callbacks=len(callbacks),
        state=record.session.state.value,
        result=result.value if result is not None else None,
        notes=tuple(notes),
        events=tuple(
            " ".join(filter(None, (c.event, dict(c.params).get("Capture", "")))) for c in callbacks
        ),
    )
