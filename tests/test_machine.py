"""Unit and property tests for emulator.domain.machine (the pure Pay session state machine).

* every state against every event (one test id per pair);
* the Required set and the capture guards of each session configuration;
* complete(), and the settle callable it must only call when nothing is missing;
* key_in(): acceptance, masking, every ErrorType, partial entries, ``*``, matchers;
* random event sequences on random configurations, with the machine's invariants checked
  after every step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import hypothesis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.domain import cards
from emulator.domain.machine import (
    TRANSITIONS,
    Captured,
    ErrorType,
    Event,
    EventKind,
    KeyedDigits,
    NothingToCapture,
    Result,
    Session,
    SessionConfig,
    Settlement,
    State,
    attempts_exhausted,
    cancel,
    capture,
    complete,
    hang_up,
    input_timeout,
    key_in,
    required,
    settle,
    start,
)
from emulator.domain.vocabulary import BANK_ITEMS, CAPTURE_ITEMS, CARD_ITEMS, MATCHER_SUFFIX
from emulator.errors import (
    InvalidParameterValue,
    InvalidPayOperation,
    RequiredInformationIncomplete,
    TwilioError,
)

TODAY = date(2026, 6, 15)
ACH = "ach-debit"

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
DISCOVER = "6011111111111117"
VALID_CARDS = {"visa": VISA, "mastercard": MASTERCARD, "amex": AMEX, "discover": DISCOVER}

# A valid first entry for every item of a card or ACH session.
VALID = {
    "payment-card-number": VISA,
    "expiration-date": "1229",
    "security-code": "123",
    "postal-code": "94105",
    "bank-routing-number": "121000358",
    "bank-account-number": "000123456789",
}


def fingerprint(digits: str) -> str:
    """Stands in for the keyed hash the service computes: equal digits, equal fingerprint."""
    return f"fp:{digits}"


def keyed(digits: str, *, partial: bool = False) -> KeyedDigits:
    return KeyedDigits(digits, partial=partial, fingerprint=fingerprint(digits))


class Settler:
    """A settle stub that records the sessions it was called with."""

    def __init__(self, settlement: Settlement | None = None) -> None:
        self.settlement = settlement or Settlement(Result.SUCCESS, confirmation_code="ch_1")
        self.calls: list[Session] = []

    def __call__(self, session: Session) -> Settlement:
        self.calls.append(session)
        return self.settlement


def snapshot(session: Session) -> tuple[Any, ...]:
    """Every field of a session as plain values (to compare before and after an event)."""
    return (
        session.config,
        session.state,
        session.capturing,
        dict(session.captured),
        session.card_brand,
        session.gateway_outcome,
        session.settlement,
    )


def entered(session: Session, item: str, digits: str | None = None) -> Session:
    """``session`` after capturing ``item`` and keying a value the machine accepts."""
    session, _ = capture(session, item)
    value = digits if digits is not None else VALID[item.removesuffix(MATCHER_SUFFIX)]
    session, event = key_in(session, keyed(value), TODAY)
    assert event.error_type is None, (item, value, event)
    return session


def filled(config: SessionConfig) -> Session:
    """A session of ``config`` with every item captured (matchers right after their item)."""
    session, _ = start(config)
    for item in config.items():
        session = entered(session, item)
    assert required(session) == ()
    return session


# --- 1. every state against every event --------------------------------------------------

MATRIX_CONFIG = SessionConfig(matching=CARD_ITEMS)  # every card item and its matcher
SETTLEMENT = Settlement(Result.SUCCESS, confirmation_code="ch_matrix")


def _matrix_session(name: str) -> Session:
    idle, _ = start(MATRIX_CONFIG)
    capturing, _ = capture(idle, "payment-card-number")
    if name == "active-idle":
        return idle
    if name == "active-capturing":
        return capturing
    if name == "active-all-captured":
        return filled(MATRIX_CONFIG)
    if name == "completed":
        return complete(filled(MATRIX_CONFIG), Settler(SETTLEMENT))[0]
    if name == "cancelled":
        return cancel(capturing)[0]
    if name == "ended-hang-up":
        outcome = hang_up(capturing)
        assert outcome is not None
        return outcome[0]
    if name == "ended-star":
        return key_in(capturing, KeyedDigits("*"), TODAY)[0]
    raise AssertionError(name)


def _apply(session: Session, event: str) -> tuple[Session, Event] | None:
    kind, _, arg = event.partition(":")
    if kind == "capture":
        return capture(session, arg)
    if event == "key_in:final":
        return key_in(session, keyed(VISA), TODAY)
    if event == "key_in:partial":
        return key_in(session, keyed("424242", partial=True), TODAY)
    if event == "key_in:star":
        return key_in(session, KeyedDigits("*"), TODAY)
    if event == "complete":
        return complete(session, Settler(SETTLEMENT))
    if event == "cancel":
        return cancel(session)
    if event == "hang_up":
        return hang_up(session)
    raise AssertionError(event)


@dataclass(frozen=True)
class Raises:
    exc: type[Exception]
    code: int | None = None


@dataclass(frozen=True)
class Moves:
    state: State
    result: Result | None
    capturing: str | None
    kind: EventKind
    item: str | None = None
    unchanged: bool = False  # the session returned equals the one the event was applied to
    captured: frozenset[str] | None = None  # keys captured afterwards, when worth checking


@dataclass(frozen=True)
class NoOp:
    """hang_up of a session that has already ended: None, session untouched."""


Outcome = Raises | Moves | NoOp

STATES = (
    "active-idle",
    "active-capturing",
    "active-all-captured",
    "completed",
    "cancelled",
    "ended-hang-up",
    "ended-star",
)
EVENTS = (
    *(f"capture:{item}" for item in CAPTURE_ITEMS),
    "key_in:final",
    "key_in:partial",
    "key_in:star",
    "complete",
    "cancel",
    "hang_up",
)
ALL_CAPTURED = frozenset(MATRIX_CONFIG.items())

EXPECTED: dict[tuple[str, str], Outcome] = {}
for _state in ("active-idle", "active-capturing", "active-all-captured"):
    for _item in CAPTURE_ITEMS:
        EXPECTED[_state, f"capture:{_item}"] = (
            Raises(InvalidParameterValue, 64020)
            if _item in BANK_ITEMS
            else Moves(State.ACTIVE, None, _item, EventKind.CAPTURE, item=_item)
        )
    EXPECTED[_state, "cancel"] = Moves(State.CANCELLED, Result.CANCELLED, None, EventKind.CANCEL)
    EXPECTED[_state, "hang_up"] = Moves(State.ENDED, Result.CALLER_HUNG_UP, None, EventKind.HANG_UP)
EXPECTED.update(
    {
        ("active-idle", "key_in:final"): Raises(NothingToCapture),
        ("active-idle", "key_in:partial"): Raises(NothingToCapture),
        ("active-idle", "key_in:star"): Raises(NothingToCapture),
        ("active-idle", "complete"): Raises(RequiredInformationIncomplete, 64019),
        ("active-capturing", "key_in:final"): Moves(
            State.ACTIVE,
            None,
            None,
            EventKind.KEY_IN,
            item="payment-card-number",
            captured=frozenset({"payment-card-number"}),
        ),
        ("active-capturing", "key_in:partial"): Moves(
            State.ACTIVE,
            None,
            "payment-card-number",
            EventKind.KEY_IN,
            item="payment-card-number",
            unchanged=True,
        ),
        ("active-capturing", "key_in:star"): Moves(
            State.ENDED,
            Result.CALLER_INTERRUPTED_WITH_STAR,
            None,
            EventKind.STAR,
            item="payment-card-number",
        ),
        ("active-capturing", "complete"): Raises(RequiredInformationIncomplete, 64019),
        ("active-all-captured", "key_in:final"): Raises(NothingToCapture),
        ("active-all-captured", "key_in:partial"): Raises(NothingToCapture),
        ("active-all-captured", "key_in:star"): Raises(NothingToCapture),
        ("active-all-captured", "complete"): Moves(
            State.COMPLETED, Result.SUCCESS, None, EventKind.COMPLETE, captured=ALL_CAPTURED
        ),
    }
)
for _state in ("completed", "cancelled", "ended-hang-up", "ended-star"):
    for _event in EVENTS:
        if _event.startswith("key_in:"):
            EXPECTED[_state, _event] = Raises(NothingToCapture)
        elif _event == "hang_up":
            EXPECTED[_state, _event] = NoOp()
        else:
            EXPECTED[_state, _event] = Raises(InvalidPayOperation, 64021)


def test_matrix_covers_every_state_and_event() -> None:
    assert set(EXPECTED) == {(s, e) for s in STATES for e in EVENTS}
    assert len(EXPECTED) == 7 * 16  # 10 captures, 3 entries, complete, cancel, hang_up


@pytest.mark.parametrize(
    ("state", "event"),
    [(s, e) for s in STATES for e in EVENTS],
    ids=[f"{s}--{e}" for s in STATES for e in EVENTS],
)
def test_state_event_matrix(state: str, event: str) -> None:
    session = _matrix_session(state)
    before = snapshot(session)
    expected = EXPECTED[state, event]
    if isinstance(expected, Raises):
        with pytest.raises(expected.exc) as info:
            _apply(session, event)
        if expected.code is not None:
            assert isinstance(info.value, TwilioError)
            assert info.value.code == expected.code
            assert info.value.status == 400
        assert snapshot(session) == before
        return
    outcome = _apply(session, event)
    if isinstance(expected, NoOp):
        assert outcome is None
        assert snapshot(session) == before
        return
    assert outcome is not None
    after, emitted = outcome
    assert after.state is expected.state
    assert after.result == expected.result
    assert after.capturing == expected.capturing
    assert emitted.kind is expected.kind
    assert emitted.item == expected.item
    assert emitted.error_type is None
    assert snapshot(session) == before  # the old session object is never modified
    if expected.unchanged:
        assert snapshot(after) == before
    if expected.captured is not None:
        assert set(after.captured) == expected.captured
    if expected.state is State.ACTIVE:
        assert after.settlement is None
    else:
        assert dict(after.captured) == dict(session.captured)  # ending keeps what was captured
    if event == "complete":
        assert after.settlement == SETTLEMENT


def test_ended_session_never_changes_again() -> None:
    """A long run of events on each ended session: all refused, nothing changes."""
    for state in ("completed", "cancelled", "ended-hang-up", "ended-star"):
        session = _matrix_session(state)
        before = snapshot(session)
        for event in EVENTS * 2:
            try:
                outcome = _apply(session, event)
            except (TwilioError, NothingToCapture):
                pass
            else:
                assert outcome is None
            assert snapshot(session) == before


# --- 2. configuration, Required and the capture guards -------------------------------------

PCN, EXP, SC, PC = CARD_ITEMS


@pytest.mark.parametrize(
    ("security_code", "postal_code", "items"),
    [
        (True, True, (PCN, EXP, SC, PC)),
        (True, False, (PCN, EXP, SC)),
        (False, True, (PCN, EXP, PC)),
        (False, False, (PCN, EXP)),
    ],
)
def test_card_items(security_code: bool, postal_code: bool, items: tuple[str, ...]) -> None:
    config = SessionConfig(security_code=security_code, postal_code=postal_code)
    assert config.items() == items
    session, event = start(config)
    assert event == Event(EventKind.CREATE)
    assert required(session) == items
    assert session.state is State.ACTIVE
    assert session.capturing is None
    assert session.result is None


def test_default_config_is_a_card_session_with_everything() -> None:
    assert SessionConfig().items() == (
        "payment-card-number",
        "expiration-date",
        "security-code",
        "postal-code",
    )


@pytest.mark.parametrize(
    ("matching", "matchers"),
    [
        ((), ()),
        ((PCN,), (PCN + MATCHER_SUFFIX,)),
        ((PC, PCN), (PCN + MATCHER_SUFFIX, PC + MATCHER_SUFFIX)),
        ((SC, EXP), (EXP + MATCHER_SUFFIX, SC + MATCHER_SUFFIX)),
        (
            (PC, SC, EXP, PCN),
            (
                "payment-card-number-matcher",
                "expiration-date-matcher",
                "security-code-matcher",
                "postal-code-matcher",
            ),
        ),
    ],
)
def test_matchers_are_appended_in_card_item_order(
    matching: tuple[str, ...], matchers: tuple[str, ...]
) -> None:
    config = SessionConfig(matching=matching)
    assert config.items() == (*CARD_ITEMS, *matchers)
    assert required(start(config)[0]) == config.items()


@pytest.mark.parametrize("security_code", [True, False])
@pytest.mark.parametrize("postal_code", [True, False])
def test_ach_items(security_code: bool, postal_code: bool) -> None:
    config = SessionConfig(payment_method=ACH, security_code=security_code, postal_code=postal_code)
    assert config.items() == ("bank-routing-number", "bank-account-number")
    assert required(start(config)[0]) == ("bank-routing-number", "bank-account-number")


def test_required_shrinks_in_twilio_order_whatever_the_capture_order() -> None:
    session, _ = start(SessionConfig(matching=(PCN,)))
    session = entered(session, PC)
    assert required(session) == (PCN, EXP, SC, PCN + MATCHER_SUFFIX)
    session = entered(session, EXP)
    assert required(session) == (PCN, SC, PCN + MATCHER_SUFFIX)
    session = entered(session, PCN)
    assert required(session) == (SC, PCN + MATCHER_SUFFIX)
    session = entered(session, PCN + MATCHER_SUFFIX)
    assert required(session) == (SC,)
    session = entered(session, SC)
    assert required(session) == ()


def test_ach_session_fills_up() -> None:
    session = filled(SessionConfig(payment_method=ACH))
    assert dict(session.captured) == {
        "bank-routing-number": Captured("121000358"),
        "bank-account-number": Captured("**********89"),
    }
    assert session.card_brand is None


_REFUSED_CAPTURES: list[tuple[SessionConfig, str]] = [
    *((SessionConfig(), item) for item in BANK_ITEMS),
    *(
        (SessionConfig(payment_method=ACH, matching=CARD_ITEMS), item)
        for item in CAPTURE_ITEMS
        if item not in BANK_ITEMS
    ),
    (SessionConfig(security_code=False), SC),
    (SessionConfig(postal_code=False), PC),
    *((SessionConfig(), item + MATCHER_SUFFIX) for item in CARD_ITEMS),
    (SessionConfig(matching=(PCN,)), EXP + MATCHER_SUFFIX),
    (SessionConfig(matching=(PCN, EXP, SC)), PC + MATCHER_SUFFIX),
    (SessionConfig(), "card-number"),
    (SessionConfig(), ""),
    (SessionConfig(), "Payment-Card-Number"),
    (SessionConfig(), "payment-card-number "),
    (SessionConfig(), "bank-routing-number-matcher"),
    (SessionConfig(payment_method=ACH), "bank-account-number-matcher"),
]


@pytest.mark.parametrize(
    ("config", "item"),
    _REFUSED_CAPTURES,
    ids=[f"{c.payment_method}-{c.items()[-1]}-{item!r}" for c, item in _REFUSED_CAPTURES],
)
def test_capture_refuses_items_the_session_does_not_collect(
    config: SessionConfig, item: str
) -> None:
    for session in (start(config)[0], capture(start(config)[0], config.items()[0])[0]):
        before = snapshot(session)
        with pytest.raises(InvalidParameterValue) as info:
            capture(session, item)
        assert info.value.code == 64020
        assert snapshot(session) == before


@pytest.mark.parametrize(
    "config",
    [
        SessionConfig(),
        SessionConfig(security_code=False, postal_code=False),
        SessionConfig(matching=CARD_ITEMS),
        SessionConfig(payment_method=ACH),
    ],
    ids=["card", "card-minimal", "card-matching", "ach"],
)
def test_capture_accepts_every_item_of_the_session_in_any_order(config: SessionConfig) -> None:
    session, _ = start(config)
    for item in (*reversed(config.items()), *config.items()):
        session, event = capture(session, item)
        assert session.capturing == item
        assert event == Event(EventKind.CAPTURE, item=item)
        assert session.state is State.ACTIVE
        assert required(session) == config.items()  # capturing alone collects nothing


def test_recapturing_a_captured_item_keeps_it_until_a_new_valid_entry() -> None:
    session = entered(start(SessionConfig())[0], PCN)
    session, _ = capture(session, PCN)
    assert PCN not in required(session)
    session, event = key_in(session, keyed("4242424242424241"), TODAY)
    assert event.error_type is ErrorType.INVALID_CARD_NUMBER
    assert session.captured[PCN] == Captured("xxxxxxxxxxxx4242")
    session, event = key_in(session, keyed(MASTERCARD), TODAY)
    assert event.error_type is None
    assert session.captured[PCN] == Captured("xxxxxxxxxxxx4444")
    assert session.card_brand == "mastercard"


# --- 3. complete() ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        SessionConfig(),
        SessionConfig(security_code=False),
        SessionConfig(postal_code=False),
        SessionConfig(matching=(PCN, SC)),
        SessionConfig(payment_method=ACH),
    ],
    ids=["card", "no-security-code", "no-postal-code", "matching", "ach"],
)
def test_complete_refuses_while_anything_is_missing(config: SessionConfig) -> None:
    items = config.items()
    for missing in items:
        # what cannot be entered without ``missing``: its matcher, and the CVV without a card
        blocked = {missing, missing + MATCHER_SUFFIX}
        if missing == PCN:
            blocked |= {SC, SC + MATCHER_SUFFIX}
        session, _ = start(config)
        for item in items:
            if item not in blocked:
                session = entered(session, item)
        assert required(session) == tuple(i for i in items if i in blocked)
        for probe in (session, capture(session, missing)[0]):
            settle = Settler()
            before = snapshot(probe)
            with pytest.raises(RequiredInformationIncomplete) as info:
                complete(probe, settle)
            assert info.value.code == 64019
            for item in required(probe):
                assert item in str(info.value)
            assert settle.calls == []
            assert snapshot(probe) == before


def test_complete_on_a_fresh_session_lists_everything_missing() -> None:
    settle = Settler()
    with pytest.raises(RequiredInformationIncomplete) as info:
        complete(start(SessionConfig())[0], settle)
    assert info.value.code == 64019
    for item in CARD_ITEMS:
        assert item in str(info.value)
    assert settle.calls == []


@pytest.mark.parametrize(
    "settlement",
    [
        Settlement(Result.SUCCESS, confirmation_code="ch_123"),
        Settlement(Result.SUCCESS, token="tok_1", profile_id="cus_1"),
        Settlement(
            Result.PAYMENT_CONNECTOR_ERROR,
            error="card is declined",
            pay_error_code=64009,
            connector_error="card_declined",
        ),
    ],
    ids=["charged", "tokenized", "connector-error"],
)
@pytest.mark.parametrize("capturing", [False, True])
def test_complete_settles_once_and_stores_the_settlement(
    settlement: Settlement, capturing: bool
) -> None:
    session = filled(SessionConfig(matching=(PCN,)))
    if capturing:
        session, _ = capture(session, EXP)  # an agent may complete while re-capturing an item
    settle = Settler(settlement)
    done, event = complete(session, settle)
    assert settle.calls == [session]
    assert event == Event(EventKind.COMPLETE)
    assert done.state is State.COMPLETED
    assert done.capturing is None
    assert done.settlement == settlement
    assert done.result is settlement.result
    assert dict(done.captured) == dict(session.captured)
    with pytest.raises(InvalidPayOperation):
        complete(done, settle)
    assert len(settle.calls) == 1


def test_cancel_stores_the_cancel_result() -> None:
    session, _ = capture(start(SessionConfig())[0], PCN)
    done, event = cancel(session)
    assert event == Event(EventKind.CANCEL)
    assert done.state is State.CANCELLED
    assert done.settlement == Settlement(Result.CANCELLED)
    assert done.result == "transaction-cancelled"
    assert done.capturing is None


def test_hang_up_stores_the_hang_up_result() -> None:
    session, _ = capture(start(SessionConfig())[0], PCN)
    outcome = hang_up(session)
    assert outcome is not None
    done, event = outcome
    assert event == Event(EventKind.HANG_UP)
    assert done.state is State.ENDED
    assert done.settlement == Settlement(Result.CALLER_HUNG_UP)
    assert done.capturing is None


# --- 4. key_in() -------------------------------------------------------------------------------


def _capturing(item: str, config: SessionConfig | None = None, card: str | None = VISA) -> Session:
    """A session of ``config`` capturing ``item``, with ``card`` captured first (card sessions)."""
    config = config or SessionConfig()
    session, _ = start(config)
    if card is not None and config.payment_method != ACH and item != PCN:
        session = entered(session, PCN, card)
    return capture(session, item)[0]


@pytest.mark.parametrize(
    ("item", "digits", "shown"),
    [
        (PCN, VISA, "xxxxxxxxxxxx4242"),
        (PCN, MASTERCARD, "xxxxxxxxxxxx4444"),
        (PCN, AMEX, "xxxxxxxxxxx0005"),
        (PCN, "4222222222222", "xxxxxxxxx2222"),
        (EXP, "1229", "1229"),
        (EXP, "0626", "0626"),  # the current month is still valid
        (SC, "123", "xxx"),
        (PC, "94105", "94105"),
        (PC, "1", "1"),
        (PC, "SW1A1AA", "SW1A1AA"),
        ("bank-routing-number", "121000358", "121000358"),
        ("bank-account-number", "000123456789", "**********89"),
        ("bank-account-number", "1234", "**34"),
        ("bank-account-number", "12345678901234567", "***************67"),
    ],
)
def test_enter_accepts_a_valid_value_masked(item: str, digits: str, shown: str) -> None:
    config = SessionConfig(payment_method=ACH if item in BANK_ITEMS else "credit-card")
    session = _capturing(item, config)
    assert item in required(session)
    after, event = key_in(session, keyed(digits), TODAY)
    assert event == Event(EventKind.KEY_IN, item=item)
    assert event.error_type is None
    assert not event.partial
    assert event.value is None
    assert after.capturing is None
    assert after.state is State.ACTIVE
    assert after.captured[item] == Captured(shown)  # not matched: no fingerprint kept
    assert item not in required(after)


def test_enter_security_code_for_amex_needs_four_digits() -> None:
    session = _capturing(SC, card=AMEX)
    _, event = key_in(session, keyed("123"), TODAY)
    assert event.error_type is ErrorType.INVALID_SECURITY_CODE
    after, event = key_in(session, keyed("1234"), TODAY)
    assert event.error_type is None
    assert after.captured[SC] == Captured("xxxx")


@pytest.mark.parametrize(
    ("item", "digits", "error", "config", "card"),
    [
        (PCN, "4242424242424241", ErrorType.INVALID_CARD_NUMBER, SessionConfig(), None),
        (PCN, "1234567812345670", ErrorType.INVALID_CARD_NUMBER, SessionConfig(), None),
        (PCN, "9999999999999995", ErrorType.INVALID_CARD_NUMBER, SessionConfig(), None),
        (PCN, "42424242424242", ErrorType.INVALID_CARD_NUMBER, SessionConfig(), None),
        (PCN, "", ErrorType.INVALID_CARD_NUMBER, SessionConfig(), None),
        (
            PCN,
            AMEX,
            ErrorType.INVALID_CARD_TYPE,
            SessionConfig(valid_card_types=("visa",)),
            None,
        ),
        (
            PCN,
            VISA,
            ErrorType.INVALID_CARD_TYPE,
            SessionConfig(valid_card_types=("amex", "mastercard")),
            None,
        ),
        (EXP, "0526", ErrorType.INVALID_DATE, SessionConfig(), VISA),
        (EXP, "1225", ErrorType.INVALID_DATE, SessionConfig(), VISA),
        (EXP, "1326", ErrorType.INVALID_DATE, SessionConfig(), VISA),
        (EXP, "0026", ErrorType.INVALID_DATE, SessionConfig(), VISA),
        (EXP, "122", ErrorType.INVALID_DATE, SessionConfig(), VISA),
        (SC, "12", ErrorType.INVALID_SECURITY_CODE, SessionConfig(), VISA),
        (SC, "1234", ErrorType.INVALID_SECURITY_CODE, SessionConfig(), VISA),
        (SC, "123", ErrorType.INVALID_SECURITY_CODE, SessionConfig(), AMEX),
        (SC, "123", ErrorType.CAPTURE_SEQUENCE, SessionConfig(), None),
        (SC, "1234", ErrorType.CAPTURE_SEQUENCE, SessionConfig(), None),
        (
            PC,
            "9410",
            ErrorType.INVALID_POSTAL_CODE,
            SessionConfig(min_postal_code_length=5),
            VISA,
        ),
        (PC, "", ErrorType.INVALID_POSTAL_CODE, SessionConfig(), VISA),
        (
            "bank-routing-number",
            "121000359",
            ErrorType.INVALID_BANK_ROUTING_NUMBER,
            SessionConfig(payment_method=ACH),
            None,
        ),
        (
            "bank-routing-number",
            "12100035",
            ErrorType.INVALID_BANK_ROUTING_NUMBER,
            SessionConfig(payment_method=ACH),
            None,
        ),
        (
            "bank-account-number",
            "123",
            ErrorType.INVALID_BANK_ACCOUNT_NUMBER,
            SessionConfig(payment_method=ACH),
            None,
        ),
        (
            "bank-account-number",
            "123456789012345678",
            ErrorType.INVALID_BANK_ACCOUNT_NUMBER,
            SessionConfig(payment_method=ACH),
            None,
        ),
    ],
)
def test_enter_refuses_an_invalid_value(
    item: str, digits: str, error: ErrorType, config: SessionConfig, card: str | None
) -> None:
    session = _capturing(item, config, card)
    before = snapshot(session)
    after, event = key_in(session, keyed(digits), TODAY)
    assert event == Event(EventKind.KEY_IN, item=item, error_type=error)
    assert snapshot(after) == before
    assert after.capturing == item
    assert item in required(after)


def test_postal_code_of_exactly_the_minimum_length_is_accepted() -> None:
    session = _capturing(PC, SessionConfig(min_postal_code_length=5))
    _, event = key_in(session, keyed("94105"), TODAY)
    assert event.error_type is None


@pytest.mark.parametrize(
    ("item", "digits", "shown"),
    [
        (PCN, "4", "x"),
        (PCN, "4242", "xxxx"),
        (PCN, "424242", "xx4242"),
        (PCN, "424242424242424", "xxxxxxxxxxx2424"),
        (EXP, "12", "12"),
        (SC, "12", "xx"),
        (PC, "941", "941"),
        ("bank-routing-number", "1210", "1210"),
        ("bank-account-number", "12", "**"),
        ("bank-account-number", "12345", "***45"),
    ],
)
def test_partial_entry_reports_a_masked_value_and_changes_nothing(
    item: str, digits: str, shown: str
) -> None:
    config = SessionConfig(payment_method=ACH if item in BANK_ITEMS else "credit-card")
    session = _capturing(item, config)
    before = snapshot(session)
    after, event = key_in(session, keyed(digits, partial=True), TODAY)
    assert event == Event(EventKind.KEY_IN, item=item, partial=True, value=shown)
    assert event.error_type is None
    assert snapshot(after) == before


def test_partial_entry_of_a_matcher_is_masked_like_its_item() -> None:
    session = entered(start(SessionConfig(matching=(PCN, SC)))[0], PCN)
    session, _ = capture(session, PCN + MATCHER_SUFFIX)
    _, event = key_in(session, keyed("424242", partial=True), TODAY)
    assert event.value == "xx4242"
    session = entered(session, SC)
    session, _ = capture(session, SC + MATCHER_SUFFIX)
    _, event = key_in(session, keyed("12", partial=True), TODAY)
    assert event.value == "xx"


@pytest.mark.parametrize("item", [*CARD_ITEMS, *(i + MATCHER_SUFFIX for i in CARD_ITEMS)])
@pytest.mark.parametrize("partial", [False, True])
def test_star_ends_the_session(item: str, partial: bool) -> None:
    session = filled(SessionConfig(matching=CARD_ITEMS))
    session, _ = capture(session, item)
    done, event = key_in(session, KeyedDigits("*", partial=partial), TODAY)
    assert event == Event(EventKind.STAR, item=item)
    assert done.state is State.ENDED
    assert done.result is Result.CALLER_INTERRUPTED_WITH_STAR
    assert done.capturing is None
    assert dict(done.captured) == dict(session.captured)
    with pytest.raises(InvalidPayOperation):
        complete(done, Settler())


@pytest.mark.parametrize(
    ("number", "brand", "outcome"),
    [
        (VISA, "visa", "ok"),
        (MASTERCARD, "mastercard", "ok"),
        (AMEX, "amex", "ok"),
        (cards.DECLINE_CARD, "visa", "declined"),
        (cards.UNAVAILABLE_CARD, "visa", "unavailable"),
    ],
)
def test_card_number_sets_brand_and_outcome(number: str, brand: str, outcome: str) -> None:
    session = _capturing(PCN)
    assert session.card_brand is None
    assert session.gateway_outcome is None
    after, _ = key_in(session, keyed(number), TODAY)
    assert after.card_brand == brand
    assert after.gateway_outcome == outcome


def test_a_refused_card_number_keeps_the_previous_brand_and_outcome() -> None:
    session = entered(start(SessionConfig())[0], PCN, cards.DECLINE_CARD)
    session, _ = capture(session, PCN)
    after, event = key_in(session, keyed("4000000000000003"), TODAY)
    assert event.error_type is ErrorType.INVALID_CARD_NUMBER
    assert (after.card_brand, after.gateway_outcome) == ("visa", "declined")


def test_other_items_leave_brand_and_outcome_alone() -> None:
    session = entered(start(SessionConfig())[0], PCN, cards.UNAVAILABLE_CARD)
    for item in (EXP, SC, PC):
        session = entered(session, item)
        assert (session.card_brand, session.gateway_outcome) == ("visa", "unavailable")


# --- matchers ---


def _matching_card(fp: str = "f1") -> Session:
    session, _ = start(SessionConfig(matching=(PCN,)))
    session, _ = capture(session, PCN)
    session, event = key_in(session, KeyedDigits(VISA, fingerprint=fp), TODAY)
    assert event.error_type is None
    return session


def test_first_entry_of_a_matched_item_keeps_its_fingerprint() -> None:
    session = _matching_card("f1")
    assert session.captured[PCN] == Captured("xxxxxxxxxxxx4242", "f1")
    assert required(session) == (EXP, SC, PC, PCN + MATCHER_SUFFIX)


def test_matcher_with_the_same_fingerprint_is_accepted() -> None:
    session, _ = capture(_matching_card("f1"), PCN + MATCHER_SUFFIX)
    after, event = key_in(session, KeyedDigits(VISA, fingerprint="f1"), TODAY)
    assert event == Event(EventKind.KEY_IN, item=PCN + MATCHER_SUFFIX)
    assert after.capturing is None
    assert after.captured[PCN + MATCHER_SUFFIX] == Captured("xxxxxxxxxxxx4242")
    assert required(after) == (EXP, SC, PC)


def test_matcher_with_another_fingerprint_fails() -> None:
    session, _ = capture(_matching_card("f1"), PCN + MATCHER_SUFFIX)
    before = snapshot(session)
    after, event = key_in(session, KeyedDigits(VISA, fingerprint="f2"), TODAY)
    assert event == Event(
        EventKind.KEY_IN, item=PCN + MATCHER_SUFFIX, error_type=ErrorType.INPUT_MATCHING_FAILED
    )
    assert snapshot(after) == before
    assert PCN + MATCHER_SUFFIX in required(after)
    assert after.capturing == PCN + MATCHER_SUFFIX


@pytest.mark.parametrize("fp", ["", "f1"])
def test_matcher_before_the_first_entry_fails(fp: str) -> None:
    session, _ = start(SessionConfig(matching=(PCN,)))
    session, _ = capture(session, PCN + MATCHER_SUFFIX)
    after, event = key_in(session, KeyedDigits(VISA, fingerprint=fp), TODAY)
    assert event.error_type is ErrorType.INPUT_MATCHING_FAILED
    assert PCN + MATCHER_SUFFIX in required(after)


def test_reentering_the_first_item_drops_the_accepted_matcher() -> None:
    session, _ = capture(_matching_card("f1"), PCN + MATCHER_SUFFIX)
    session, _ = key_in(session, KeyedDigits(VISA, fingerprint="f1"), TODAY)
    assert PCN + MATCHER_SUFFIX in session.captured
    session, _ = capture(session, PCN)
    session, event = key_in(session, KeyedDigits(MASTERCARD, fingerprint="f3"), TODAY)
    assert event.error_type is None
    assert PCN + MATCHER_SUFFIX not in session.captured
    assert PCN + MATCHER_SUFFIX in required(session)
    assert session.captured[PCN] == Captured("xxxxxxxxxxxx4444", "f3")
    # the old fingerprint no longer matches; the new one does
    session, _ = capture(session, PCN + MATCHER_SUFFIX)
    _, event = key_in(session, KeyedDigits(VISA, fingerprint="f1"), TODAY)
    assert event.error_type is ErrorType.INPUT_MATCHING_FAILED
    after, event = key_in(session, KeyedDigits(MASTERCARD, fingerprint="f3"), TODAY)
    assert event.error_type is None
    assert PCN + MATCHER_SUFFIX not in required(after)


def test_an_invalid_reentry_of_the_first_item_keeps_the_matcher() -> None:
    session, _ = capture(_matching_card("f1"), PCN + MATCHER_SUFFIX)
    session, _ = key_in(session, KeyedDigits(VISA, fingerprint="f1"), TODAY)
    session, _ = capture(session, PCN)
    after, event = key_in(session, KeyedDigits("4242424242424241", fingerprint="f9"), TODAY)
    assert event.error_type is ErrorType.INVALID_CARD_NUMBER
    assert PCN + MATCHER_SUFFIX in after.captured


@pytest.mark.parametrize("item", CARD_ITEMS)
def test_each_card_item_can_be_matched(item: str) -> None:
    config = SessionConfig(matching=(item,))
    session = filled(config)
    assert session.captured[item].fingerprint == fingerprint(VALID[item])
    assert session.captured[item + MATCHER_SUFFIX].fingerprint is None
    assert session.captured[item + MATCHER_SUFFIX].value == session.captured[item].value


def test_a_new_card_brand_invalidates_a_security_code_of_the_wrong_length() -> None:
    session = filled(SessionConfig())  # visa, CVV 123
    session, _ = capture(session, PCN)
    session, event = key_in(session, keyed(AMEX), TODAY)
    assert event.error_type is None
    assert session.card_brand == "amex"
    assert SC in required(session)


def test_any_new_card_number_drops_the_security_code() -> None:
    """The code belongs to the card it was keyed for: same brand or not, it is asked again."""
    session = filled(SessionConfig())  # visa 4242..., CVV 123
    session, _ = capture(session, PCN)
    session, event = key_in(session, keyed("4111111111111111"), TODAY)
    assert event.error_type is None
    assert required(session) == (SC,)


# --- 5. property-based: random sequences of events ---------------------------------------------

BRANDS = tuple(VALID_CARDS)
MASKED = {
    PCN: re.compile(r"x*[0-9]{0,4}"),
    PCN + MATCHER_SUFFIX: re.compile(r"x*[0-9]{0,4}"),
    SC: re.compile(r"x*"),
    SC + MATCHER_SUFFIX: re.compile(r"x*"),
    "bank-account-number": re.compile(r"\**[0-9]{0,2}"),
}
INVALID_POOL = (
    "4242424242424241",
    "1234567812345670",
    AMEX,
    MASTERCARD,
    cards.DECLINE_CARD,
    "0526",
    "1326",
    "12",
    "123",
    "1234",
    "9410",
    "121000359",
    "123456789012345678",
    "",
)


@dataclass(frozen=True)
class Op:
    # capture | enter | complete | cancel | hang_up, or fill / refill: capture a missing / any
    # item of the session, then enter a valid value for it
    kind: str
    item: str = ""  # capture: "" for one of the session's missing items, picked by ``choice``
    mode: str = ""  # enter: valid | pool | random | partial | star
    digits: str = ""
    choice: int = 0
    result: Result = Result.SUCCESS

    def __repr__(self) -> str:
        if self.kind in ("capture", "fill", "refill"):
            return f"{self.kind}({self.item!r}, {self.choice})"
        if self.kind == "enter":
            return f"key_in({self.mode}, {self.digits!r}, {self.choice})"
        if self.kind == "complete":
            return f"complete({self.result})"
        return f"{self.kind}()"


configs = st.one_of(
    st.builds(
        SessionConfig,
        payment_method=st.just("credit-card"),
        security_code=st.booleans(),
        postal_code=st.booleans(),
        matching=st.lists(st.sampled_from(CARD_ITEMS), unique=True, max_size=4).map(tuple),
        valid_card_types=st.lists(st.sampled_from(BRANDS), unique=True, min_size=1, max_size=4).map(
            tuple
        ),
        min_postal_code_length=st.none() | st.integers(1, 10),
    ),
    st.builds(
        SessionConfig,
        payment_method=st.just(ACH),
        matching=st.lists(st.sampled_from(CARD_ITEMS), unique=True, max_size=2).map(tuple),
    ),
)
_choices = st.integers(0, 1000)
_captures = st.builds(
    Op,
    kind=st.just("capture"),
    item=st.sampled_from(("", "", "", "", *CAPTURE_ITEMS, "bogus")),
    choice=_choices,
)
_enters = st.builds(
    Op,
    kind=st.just("enter"),
    mode=st.sampled_from(("valid",) * 4 + ("pool", "pool", "random", "partial", "partial", "star")),
    digits=st.text(alphabet="0123456789", max_size=20),
    choice=_choices,
)
_fills = st.builds(Op, kind=st.just("fill"), choice=_choices)
_refills = st.builds(Op, kind=st.just("refill"), choice=_choices)
# weighted towards captures and entries, so that sessions get filled before they end
_by_kind: dict[str, st.SearchStrategy[Op]] = {
    "fill": _fills,
    "refill": _refills,
    "capture": _captures,
    "enter": _enters,
    "complete": st.builds(Op, kind=st.just("complete"), result=st.sampled_from(Result)),
    "cancel": st.just(Op("cancel")),
    "hang_up": st.just(Op("hang_up")),
}
_kinds = ("fill",) * 12 + ("refill",) * 2 + ("capture",) * 3 + ("enter",) * 4 + ("complete",) * 3
ops = st.sampled_from((*_kinds, "cancel", "hang_up")).flatmap(_by_kind.__getitem__)


def _valid_value(session: Session, item: str, accepted: Mapping[str, str], choice: int) -> str:
    """A value the rules accept for ``item`` (for a matcher: the first entry's digits)."""
    config = session.config
    if item.endswith(MATCHER_SUFFIX):
        return accepted.get(item.removesuffix(MATCHER_SUFFIX), "0000")
    if item == PCN:
        numbers = [VALID_CARDS[b] for b in config.valid_card_types]
        numbers += [cards.DECLINE_CARD, cards.UNAVAILABLE_CARD] if "visa" in numbers else []
        return numbers[choice % len(numbers)]
    if item == EXP:
        return ("1229", "0626", "0130", "1299")[choice % 4]
    if item == SC:
        return "1234" if session.card_brand == "amex" else "123"
    if item == PC:
        return ("94105", "SW1A1AA", "1234567890")[choice % 3].ljust(
            config.min_postal_code_length or 0, "0"
        )
    if item == "bank-routing-number":
        return ("121000358", "011000015")[choice % 2]
    return ("000123456789", "1234", "12345678901234567")[choice % 3]


@dataclass
class Run:
    """What the test remembers across the events of one example."""

    accepted: dict[str, str] = field(default_factory=dict)  # digits of each accepted entry
    card_digits: set[str] = field(default_factory=set)  # every card number keyed so far
    settle_calls: list[Session] = field(default_factory=list)

    def settler(self, result: Result) -> Callable[[Session], Settlement]:
        def settle(session: Session) -> Settlement:
            self.settle_calls.append(session)
            return Settlement(result, confirmation_code="ch_prop")

        return settle


def _digit_runs(text: str, size: int = 5) -> Iterable[str]:
    return (text[i : i + size] for i in range(len(text) - size + 1))


def _check_masked(item: str, value: str, run: Run) -> None:
    pattern = MASKED.get(item)
    if pattern is None:
        return  # expiry, postal code and routing number are shown in clear
    assert pattern.fullmatch(value), (item, value)
    for number in run.card_digits:
        for chunk in _digit_runs(number):
            assert chunk not in value, (item, value, number)


def _check_invariants(session: Session, run: Run) -> None:
    items = session.config.items()
    assert (session.result is None) == (session.state is State.ACTIVE)
    assert (session.settlement is None) == (session.state is State.ACTIVE)
    if session.state is not State.ACTIVE:
        assert session.capturing is None
    assert session.capturing is None or session.capturing in items
    missing = required(session)
    positions = [items.index(item) for item in missing]
    assert positions == sorted(positions)  # a subsequence of items(), in that order
    assert set(missing).isdisjoint(session.captured)
    assert set(session.captured) <= set(items)
    assert set(missing) | set(session.captured) == set(items)
    for item, captured in session.captured.items():
        _check_masked(item, captured.value, run)
        matched = item in session.config.matching
        assert (captured.fingerprint is not None) == matched, (item, captured)
        if item.endswith(MATCHER_SUFFIX):  # a kept matcher matches the current first entry
            assert run.accepted[item] == run.accepted[item.removesuffix(MATCHER_SUFFIX)]
    if PCN in session.captured:
        assert session.card_brand in session.config.valid_card_types
        assert session.gateway_outcome in {"ok", *cards.MAGIC_CARDS.values()}
    elif "bank-account-number" in session.captured:
        assert session.card_brand is None
        assert session.gateway_outcome in {"ok", *cards.MAGIC_BANK_ACCOUNTS.values()}
    else:
        assert session.card_brand is None
        assert session.gateway_outcome is None


def _step(session: Session, op: Op, run: Run) -> Session:
    """Apply ``op``; check what the event did and return the next session."""
    before = snapshot(session)
    was_active = session.state is State.ACTIVE
    missing_before = required(session)
    calls_before = len(run.settle_calls)
    item = session.capturing
    entry: KeyedDigits | None = None
    expected_error: ErrorType | None = None
    refusal: TwilioError | NothingToCapture | None = None
    outcome: tuple[Session, Event] | None = None
    try:
        if op.kind == "capture":
            own = required(session) or session.config.items()  # what is missing, if anything
            outcome = capture(session, op.item or own[op.choice % len(own)])
        elif op.kind == "enter":
            if op.mode == "star":
                entry = KeyedDigits("*")
            else:
                if op.mode == "valid" and item is not None:
                    digits = _valid_value(session, item, run.accepted, op.choice)
                    base = item.removesuffix(MATCHER_SUFFIX)
                    if item != base and base not in session.captured:
                        expected_error = ErrorType.INPUT_MATCHING_FAILED
                    elif item == SC and PCN not in session.captured:
                        expected_error = ErrorType.CAPTURE_SEQUENCE
                elif op.mode == "pool":
                    digits = INVALID_POOL[op.choice % len(INVALID_POOL)]
                else:
                    digits = op.digits
                entry = keyed(digits, partial=op.mode == "partial")
                if item is not None and item.removesuffix(MATCHER_SUFFIX) == PCN:
                    run.card_digits.add(digits)
            outcome = key_in(session, entry, TODAY)
        elif op.kind == "complete":
            outcome = complete(session, run.settler(op.result))
        elif op.kind == "cancel":
            outcome = cancel(session)
        else:
            outcome = hang_up(session)
    except (TwilioError, NothingToCapture) as exc:
        refusal = exc

    if refusal is not None:
        assert snapshot(session) == before
        assert len(run.settle_calls) == calls_before
        if not was_active:
            expected = NothingToCapture if op.kind == "enter" else InvalidPayOperation
            assert type(refusal) is expected
        elif isinstance(refusal, NothingToCapture):
            assert op.kind == "enter"
            assert item is None
        elif isinstance(refusal, RequiredInformationIncomplete):
            assert op.kind == "complete"
            assert missing_before
        else:
            assert isinstance(refusal, InvalidParameterValue), refusal
            assert op.kind == "capture"
            assert op.item
            assert op.item not in session.config.items()
        return session

    if outcome is None:
        assert op.kind == "hang_up"
        assert not was_active, "hang_up of an active session returned None"
        assert snapshot(session) == before
        return session
    assert was_active, f"{op!r} changed a session that had ended"
    after, event = outcome
    assert snapshot(session) == before  # the old session object is never modified
    if after.state is State.COMPLETED:
        assert op.kind == "complete"
        assert missing_before == ()
        assert run.settle_calls[calls_before:] == [session]
        assert after.result is op.result
    else:
        assert len(run.settle_calls) == calls_before
    if op.kind == "capture":
        assert after.capturing is not None
        assert after.capturing == (op.item or after.capturing)
        assert event == Event(EventKind.CAPTURE, item=after.capturing)
    elif op.kind == "enter":
        assert entry is not None
        assert item is not None
        assert event.item == item
        if op.mode == "star":
            assert event.kind is EventKind.STAR
            assert after.result is Result.CALLER_INTERRUPTED_WITH_STAR
        elif entry.partial:
            assert event.partial
            assert event.value is not None
            _check_masked(item, event.value, run)
            assert snapshot(after) == before
        elif event.error_type is not None:
            assert op.mode != "valid" or event.error_type is expected_error, (event, item)
            assert snapshot(after) == before
            assert after.capturing == item
        else:
            assert op.mode != "valid" or expected_error is None, (event, item)
            assert after.capturing is None
            assert item in after.captured
            assert item not in required(after)
            run.accepted[item] = entry.digits
    elif op.kind == "cancel":
        assert after.result is Result.CANCELLED
    elif op.kind == "hang_up":
        assert after.result is Result.CALLER_HUNG_UP
    return after


@settings(max_examples=300, deadline=None, database=None)
@given(config=configs, events=st.lists(ops, max_size=50))
def test_random_event_sequences_keep_the_invariants(
    config: SessionConfig, events: list[Op]
) -> None:
    run = Run()
    session, _ = start(config)
    _check_invariants(session, run)
    ended: tuple[Any, ...] | None = None
    for op in events:
        step = op
        if op.kind in ("fill", "refill"):
            items = config.items()
            item = items[op.choice % len(items)] if op.kind == "refill" else ""
            session = _step(session, Op("capture", item=item, choice=op.choice), run)
            _check_invariants(session, run)
            step = Op("enter", mode="valid", choice=op.choice)
        session = _step(session, step, run)
        _check_invariants(session, run)
        if ended is not None:
            assert snapshot(session) == ended  # an ended session never changes again
        elif session.state is not State.ACTIVE:
            ended = snapshot(session)
    hypothesis.event(f"final state: {session.state} ({session.result})")
    hypothesis.event(f"items captured: {len(session.captured)} of {len(config.items())}")


@settings(max_examples=300, deadline=None, database=None)
@given(config=configs, data=st.data())
def test_capturing_then_entering_valid_values_always_completes(
    config: SessionConfig, data: st.DataObject
) -> None:
    """Any order of captures (first items before their matchers, card before CVV) completes."""
    run = Run()
    session, _ = start(config)
    items = list(config.items())
    order = data.draw(st.permutations(items))
    # a matcher needs its first entry, the CVV needs the card number: move them after those
    order = sorted(
        order,
        key=lambda i: (i.endswith(MATCHER_SUFFIX), i == SC or i == SC + MATCHER_SUFFIX),
    )
    for item in order:
        choice = data.draw(st.integers(0, 1000))
        session = _step(session, Op("capture", item=item), run)
        session = _step(session, Op("enter", mode="valid", choice=choice), run)
        _check_invariants(session, run)
    if config.payment_method != ACH and (
        (SC in config.matching and not config.security_code)
        or (PC in config.matching and not config.postal_code)
    ):
        # the API refuses such a create (RequireMatchingInputs names a disabled item); the
        # machine then asks for a matcher whose first item can never be captured
        assert required(session)
        return
    assert required(session) == ()
    session = _step(session, Op("complete", result=Result.SUCCESS), run)
    assert session.state is State.COMPLETED
    assert session.result is Result.SUCCESS


# --- the caller's silence, and a connector that answers later ---------------------------------


def _prompted(item: str, config: SessionConfig | None = None) -> Session:
    session, _ = start(config or SessionConfig())
    if item == "security-code":  # its card first
        session, _ = capture(session, "payment-card-number")
        session, _ = key_in(session, keyed(VISA), TODAY)
    session, _ = capture(session, item)
    return session


def test_silence_with_nothing_keyed_is_input_timeout_naming_the_item() -> None:
    session = _prompted("payment-card-number")
    after, event = input_timeout(session, None, TODAY)
    assert event == Event(
        EventKind.INPUT_TIMEOUT,
        item="payment-card-number",
        error_type=ErrorType.INPUT_TIMEOUT,
        payment_error="payment-card-number",
    )
    assert after.capturing is None  # the prompt is over: the agent captures it again
    assert after.state is State.ACTIVE
    assert "payment-card-number" in required(after)
    with pytest.raises(NothingToCapture):
        input_timeout(after, None, TODAY)


def test_silence_validates_what_was_keyed_as_it_stands() -> None:
    session = _prompted("payment-card-number")
    after, event = input_timeout(session, keyed("42424242", partial=True), TODAY)
    assert event == Event(
        EventKind.KEY_IN,
        item="payment-card-number",
        error_type=ErrorType.INVALID_CARD_NUMBER,
        payment_error="invalid-card-number",
    )
    assert after.capturing is None
    assert "payment-card-number" not in after.captured


def test_silence_after_a_whole_valid_entry_accepts_it() -> None:
    session = _prompted("expiration-date")
    after, event = input_timeout(session, keyed("1229", partial=True), TODAY)
    assert event == Event(EventKind.KEY_IN, item="expiration-date")
    assert after.captured["expiration-date"].value == "1229"


@pytest.mark.parametrize(("item", "digits"), [("security-code", "12"), ("postal-code", "")])
def test_silence_for_other_items(item: str, digits: str) -> None:
    session = _prompted(item)
    _, event = input_timeout(session, keyed(digits, partial=True) if digits else None, TODAY)
    expected = ErrorType.INVALID_SECURITY_CODE if digits else ErrorType.INPUT_TIMEOUT
    assert event.error_type is expected


def test_silence_on_an_ended_session_is_nothing_to_capture() -> None:
    session, _ = cancel(_prompted("postal-code"))
    with pytest.raises(NothingToCapture):
        input_timeout(session, None, TODAY)


def _all_captured() -> Session:
    session, _ = start(SessionConfig(postal_code=False, security_code=False))
    for item in ("payment-card-number", "expiration-date"):
        session, _ = capture(session, item)
        session, _ = key_in(session, keyed(VALID[item]), TODAY)
    return session


def test_a_connector_that_answers_later_makes_the_session_processing() -> None:
    session, event = complete(_all_captured(), lambda s: None)
    assert (session.state, event) == (State.PROCESSING, Event(EventKind.PROCESS))
    assert session.settlement is None
    for refused in (lambda: capture(session, "expiration-date"), lambda: cancel(session)):
        with pytest.raises(InvalidPayOperation) as caught:
            refused()
        assert "being processed" in str(caught.value)
    with pytest.raises(InvalidPayOperation):
        complete(session, Settler())
    assert hang_up(session) is None  # the call ends; the connector's answer still comes
    with pytest.raises(NothingToCapture):
        key_in(session, keyed("1"), TODAY)
    answer = Settlement(Result.PAYMENT_CONNECTOR_ERROR, pay_error_code=64008)
    done, settled = settle(session, answer)
    assert (done.state, done.settlement, settled) == (
        State.COMPLETED,
        answer,
        Event(EventKind.COMPLETE),
    )
    with pytest.raises(InvalidPayOperation):
        settle(done, answer)


def test_settle_needs_a_processing_session() -> None:
    with pytest.raises(InvalidPayOperation):
        settle(_all_captured(), Settlement(Result.SUCCESS))


def test_the_transition_table_matches_the_machine() -> None:
    """Every transition TRANSITIONS declares is one the functions make (the picture the
    inspector draws is the machine's)."""
    session, _ = start(SessionConfig(postal_code=False, security_code=False))
    made = {(None, EventKind.CREATE, State.ACTIVE)}

    def record(before: Session, after_event: tuple[Session, Event]) -> Session:
        after, event = after_event
        made.add((before.state, event.kind, after.state))
        return after

    session = record(session, capture(session, "payment-card-number"))
    session = record(session, key_in(session, keyed(VISA), TODAY))
    session = record(session, capture(session, "expiration-date"))
    session = record(session, input_timeout(session, None, TODAY))
    session = record(session, capture(session, "expiration-date"))
    session = record(session, key_in(session, keyed("1229"), TODAY))
    record(session, complete(session, Settler()))
    processing = record(session, complete(session, lambda s: None))
    record(processing, settle(processing, Settlement(Result.SUCCESS)))
    record(session, cancel(session))
    ended = hang_up(session)
    assert ended is not None
    record(session, ended)
    session = record(session, capture(session, "expiration-date"))
    record(session, key_in(session, KeyedDigits("*"), TODAY))
    record(session, attempts_exhausted(session, ErrorType.INVALID_DATE))
    assert made == set(TRANSITIONS)


# --- <Pay>'s own -------------------------------------------------------------------------------


def test_attempts_exhausted_ends_the_session_naming_the_last_error() -> None:
    session, _ = start(SessionConfig())
    session, _ = capture(session, "expiration-date")
    ended, event = attempts_exhausted(session, ErrorType.INVALID_DATE)
    assert ended.state is State.ENDED
    assert ended.capturing is None
    assert ended.settlement == Settlement(Result.TOO_MANY_FAILED_ATTEMPTS, error="invalid-date")
    assert (event.kind, event.item, event.error_type) == (
        EventKind.ATTEMPTS_EXHAUSTED,
        "expiration-date",
        ErrorType.INVALID_DATE,
    )
    with pytest.raises(InvalidPayOperation):
        attempts_exhausted(ended, ErrorType.INPUT_TIMEOUT)


def test_matched_bank_items_are_entered_twice() -> None:
    """<Pay>'s requireMatchingInputs ("only available for use for ACH payments/tokenizations at
    this time"): the second entry of a bank item is its -matcher item, last."""
    config = SessionConfig(payment_method=ACH, matching=("bank-account-number",))
    assert config.items() == (*BANK_ITEMS, "bank-account-number" + MATCHER_SUFFIX)
    session, _ = start(config)
    session, _ = capture(session, "bank-account-number")
    session, _ = key_in(session, KeyedDigits("123456789", fingerprint="f1"), TODAY)
    session, _ = capture(session, "bank-account-number-matcher")
    _, event = key_in(session, KeyedDigits("123456780", fingerprint="f2"), TODAY)
    assert event.error_type is ErrorType.INPUT_MATCHING_FAILED
    session, event = key_in(session, KeyedDigits("123456789", fingerprint="f1"), TODAY)
    assert event.error_type is None
    assert required(session) == ("bank-routing-number",)
    assert session.captured["bank-account-number"].value == "*******89"
