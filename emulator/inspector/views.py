"""What the inspector's pages show, as plain data: a session's timeline (its API requests,
what the caller did, its StatusCallbacks with every delivery attempt, its connector's
requests), its path through the state machine, the journal's rows. Pure: the routes fetch,
these shape, the templates draw.

Card data: every value shown here is already masked where it is stored (sessions, callbacks,
the journal's masked form values); the journal's values go through ``scrub`` once more,
so that a page cannot show a long run of digits even if a later change forgot to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote

from emulator.domain import machine
from emulator.domain.calls import CallStep
from emulator.domain.forms import form_body
from emulator.domain.gpc import ConnectorAttempt
from emulator.domain.payloads import settlement_fields
from emulator.domain.reasons import Reason, reason_of
from emulator.domain.records import TWIML, CallbackRecord, SessionRecord
from emulator.domain.summaries import Attempt
from emulator.inspector import diagram, replay
from emulator.inspector.pay_views import (
    StepItem,
    pay_path_events,
    pay_settings,
    pay_snippets,
    pay_status_title,
    session_steps,
    step_items,
)
from emulator.inspector.snippets import CREATE, UPDATE, Snippets, snippets
from emulator.services.journal import JournalEntry
from emulator.services.journal import masked as scrub

__all__ = [
    "ConnectorItem",
    "EventItem",
    "RequestItem",
    "RequestView",
    "SessionDetail",
    "SessionSummary",
    "request_view",
    "session_detail",
    "session_journal",
    "session_summary",
]


def parse_iso_ms(text: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 time (``...Z`` included); 0 if unreadable."""
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


# --- the journal ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestView:
    """One journal row, as the pages show it."""

    entry: JournalEntry
    started_ms: int
    operation: str  # create, update, or the path's last part
    short_path: str
    params: tuple[tuple[str, str], ...]
    error_code: int | None
    error_message: str | None
    more_info: str | None
    response: str  # pretty-printed when JSON
    created_sid: str | None  # the session a create made
    asked: str = ""  # what an update asked: "Capture=payment-card-number", "Status=complete"

    @property
    def ok(self) -> bool:
        return 200 <= self.entry.status < 300


def request_view(entry: JournalEntry) -> RequestView:
    answer: Any = None
    if entry.response.startswith("{"):
        try:
            answer = json.loads(entry.response)
        except ValueError:
            answer = None
    error_code = error_message = more_info = None
    created_sid = None
    if isinstance(answer, dict):
        if entry.status >= 400:
            code = answer.get("code")
            error_code = code if isinstance(code, int) else None
            error_message = str(answer.get("message", "")) or None
            more_info = str(answer.get("more_info", "")) or None
        elif entry.payment_sid is None and isinstance(answer.get("sid"), str):
            created_sid = answer["sid"]
    path = entry.path
    if entry.call_sid and f"/Calls/{entry.call_sid}/" in path:
        short_path = "…/" + path.split(f"/Calls/{entry.call_sid}/", 1)[1]
    elif "/Accounts/" in path:
        short_path = "…/" + path.split("/Accounts/", 1)[1].partition("/")[2]
    else:
        short_path = path
    if path.endswith("/Payments.json"):
        operation = CREATE
    elif entry.payment_sid:
        operation = UPDATE
    else:
        operation = unquote(path.rstrip("/").rsplit("/", 1)[-1]) or path
    duration = round(entry.duration_ms) if entry.duration_ms > 0 else 0
    asked = ""
    if operation == UPDATE:
        asked = " ".join(
            f"{name}={entry.params[name]}" for name in ("Capture", "Status") if name in entry.params
        )
    return RequestView(
        entry=entry,
        started_ms=parse_iso_ms(entry.time) - duration,
        operation=operation,
        short_path=short_path,
        params=tuple((scrub(k), scrub(v)) for k, v in entry.params.items()),
        error_code=error_code,
        error_message=error_message,
        more_info=more_info,
        response=scrub(json.dumps(answer, indent=2) if answer is not None else entry.response),
        created_sid=created_sid,
        asked=scrub(asked),
    )


def session_journal(entries: Iterable[JournalEntry], record: SessionRecord) -> list[RequestView]:
    """The requests of one session, oldest first: its create and every request naming it.
    ``entries`` are the journal's rows of the session's call."""
    found = []
    for entry in entries:
        if entry.payment_sid is not None and entry.payment_sid != record.sid:
            continue
        view = request_view(entry)
        if entry.payment_sid == record.sid or view.created_sid == record.sid:
            found.append(view)
    return found


# --- a session ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A session as a row of a list."""

    record: SessionRecord
    state: str
    capturing: str | None
    required: tuple[str, ...]
    captured: tuple[tuple[str, str], ...]  # item, masked value
    result: str | None
    connector: str
    caller: str
    method: str
    amount: str  # "10.50 USD", or the token type when tokenizing
    reason: Reason | None = None  # why it failed, or why the caller's last entry was refused
    failed_callbacks: int = 0  # callbacks whose delivery failed

    @property
    def sid(self) -> str:
        return self.record.sid


def session_summary(
    record: SessionRecord,
    last_entry: Mapping[str, str] | None = None,
    failed_callbacks: int = 0,
) -> SessionSummary:
    """A session as a row: ``last_entry`` is the callback of its caller's last entry, for
    the reason it was refused."""
    session, request = record.session, record.request
    if request.charge_amount is not None:
        amount = f"{request.charge_amount} {request.currency}"
    else:
        amount = f"token: {request.token_type}"
    return SessionSummary(
        record=record,
        state=session.state.value,
        capturing=session.capturing,
        required=machine.required(session),
        captured=tuple((item, c.value) for item, c in session.captured.items()),
        result=session.result.value if session.result else None,
        connector=request.payment_connector,
        caller=record.caller,
        method=request.payment_method,
        amount=amount,
        reason=reason_of(session, last_entry),
        failed_callbacks=failed_callbacks,
    )


@dataclass(frozen=True, slots=True)
class RequestItem:
    at_ms: int
    request: RequestView
    kind: str = "request"


@dataclass(frozen=True, slots=True)
class EventItem:
    """An event of the session (what a request or the caller did), with its StatusCallback."""

    at_ms: int
    callback: CallbackRecord
    actor: str  # agent, caller or emulator
    title: str
    outcome: str  # "", or what went wrong (an ErrorType, a Result that is not success)
    fields: tuple[tuple[str, str], ...]
    body: str  # the form body, as sent
    attempts: tuple[Attempt, ...]
    kind: str = "event"


@dataclass(frozen=True, slots=True)
class ConnectorItem:
    """A request the emulator made to the session's Generic Pay Connector."""

    at_ms: int
    attempt: ConnectorAttempt
    url: str
    request_body: str  # pretty-printed, card data masked
    response: str
    kind: str = "connector"


TimelineItem = RequestItem | EventItem | ConnectorItem | StepItem


def _event_title(callback: CallbackRecord, fields: Mapping[str, str]) -> tuple[str, str, str]:
    """(actor, title, outcome) of a callback's event."""
    if callback.event == "pay-status":
        return pay_status_title(fields)
    event, item = callback.event, fields.get("Capture", "")
    error = fields.get("ErrorType", "")
    payment_error = fields.get("PaymentError", "")
    if error and payment_error and payment_error != error:
        error = f"{error} · {payment_error}"
    result = fields.get("Result", "")
    failed = result if result and result != machine.Result.SUCCESS.value else ""
    if failed:  # the code and texts that say why, once
        code = fields.get("PayErrorCode", "")
        parts = [failed, code, payment_error, fields.get("ConnectorError", "")]
        failed = " · ".join(dict.fromkeys(part for part in parts if part))
    if event == machine.EventKind.KEY_IN.value:
        if fields.get("PartialResult") == "true":
            return "caller", f"caller keyed part of {item}", ""
        if error:
            timed_out = " when the Timeout passed" if "PaymentError" in fields else ""
            return "caller", f"caller keyed {item}: refused{timed_out}", error
        return "caller", f"caller entered {item}", ""
    if event == machine.EventKind.STAR.value:
        return "caller", f"caller pressed * (while asked for {item})", failed
    if event == machine.EventKind.HANG_UP.value:
        return "caller", "caller hung up", failed
    if event == machine.EventKind.INPUT_TIMEOUT.value:
        return "emulator", f"caller keyed nothing in time for {item}", error
    if event == machine.EventKind.CREATE.value:
        return "agent", "session created", ""
    if event == machine.EventKind.CAPTURE.value:
        return "agent", f"agent asked for {item}", ""
    if event == machine.EventKind.COMPLETE.value:
        return "agent", "completed" if failed else f"completed: {result}", failed
    if event == machine.EventKind.CANCEL.value:
        return "agent", f"cancelled: {result}", ""
    if event == machine.EventKind.PROCESS.value:
        return "agent", "handed to the connector", ""
    return "emulator", event, error or failed


@dataclass(frozen=True, slots=True)
class SessionDetail:
    summary: SessionSummary
    timeline: tuple[TimelineItem, ...]
    picture: diagram.Diagram
    path: diagram.Path
    snippets: Snippets
    requests: tuple[RequestView, ...]
    callbacks: tuple[CallbackRecord, ...]
    fields: tuple[tuple[str, str], ...] = field(default=())  # the create's settings
    timed_out_at_ms: int | None = None  # when the caller's Timeout ended the last prompt

    @property
    def current(self) -> str:
        return self.summary.state


def _add_processing(
    events: list[tuple[str, int, str]],
    record: SessionRecord,
    requests: Sequence[RequestView],
    connector_requests: Sequence[ConnectorAttempt],
) -> None:
    """A session handed to a Generic Pay Connector went through ``processing``, an event no
    callback reports: put it in, at the accepted ``Status=complete`` (or, failing that, the
    first request to the connector), before the ``complete`` that ended it."""
    if not connector_requests and record.session.state is not machine.State.PROCESSING:
        return
    completes = [
        v.started_ms for v in requests if v.ok and v.entry.params.get("Status") == "complete"
    ]
    at = completes[-1] if completes else connector_requests[0].started_at_ms
    complete = machine.EventKind.COMPLETE.value
    where = next(
        (n for n, (event, when, _) in enumerate(events) if event == complete and when >= at),
        len(events),
    )
    events.insert(where, (machine.EventKind.PROCESS.value, at, "to the Pay Connector"))


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2)
    except ValueError:
        return text


def _settings_of(record: SessionRecord) -> tuple[tuple[str, str], ...]:
    request, session = record.request, record.session
    rows = [
        ("PaymentMethod", request.payment_method),
        ("ChargeAmount", str(request.charge_amount) if request.charge_amount is not None else ""),
        ("Currency", request.currency),
        ("TokenType", request.token_type if request.charge_amount is None else ""),
        ("PaymentConnector", request.payment_connector),
        ("Description", request.description),
        ("ValidCardTypes", " ".join(request.valid_card_types)),
        ("RequireMatchingInputs", ",".join(request.require_matching_inputs)),
        ("BankAccountType", request.bank_account_type or ""),
        ("Timeout", str(request.timeout)),
        ("StatusCallback", record.status_callback),
        ("card type", session.card_brand or ""),
    ]
    rows += pay_settings(record)
    settlement = session.settlement
    if settlement is not None:
        rows += settlement_fields(settlement)
    return tuple((name, scrub(value)) for name, value in rows if value)


def _last_entry(callbacks: Sequence[CallbackRecord]) -> dict[str, str] | None:
    entries = (machine.EventKind.KEY_IN.value, machine.EventKind.INPUT_TIMEOUT.value)
    last = next((c for c in reversed(callbacks) if c.event in entries), None)
    return dict(last.params) if last is not None else None


def _timed_out_at(record: SessionRecord, callbacks: Sequence[CallbackRecord]) -> int | None:
    """When the caller's Timeout ended the prompt, if that is the session's last news: it
    is active, nothing is being captured, and its last callback says a Timeout passed."""
    session = record.session
    if session.state is not machine.State.ACTIVE or session.capturing is not None:
        return None
    if not callbacks:
        return None
    last = callbacks[-1]
    fields = dict(last.params)
    if last.event == machine.EventKind.INPUT_TIMEOUT.value or (
        last.event == machine.EventKind.KEY_IN.value and "PaymentError" in fields
    ):
        return last.created_at_ms
    return None


def session_detail(
    record: SessionRecord,
    callbacks: Sequence[CallbackRecord],
    attempts: Mapping[int, Sequence[Attempt]],
    requests: Sequence[RequestView],
    connector_requests: Sequence[ConnectorAttempt],
    base_url: str,
    account_kind: replay.AccountKind = "created",
    today: date | None = None,
    call_steps: Sequence[CallStep] = (),
) -> SessionDetail:
    """``call_steps``: the steps of the session's call (a ``<Pay>`` session's own are among
    them: its timeline and its path come from them)."""
    items: list[tuple[int, int, int, TimelineItem]] = []
    paid = session_steps(call_steps, record.sid) if record.origin == TWIML else []
    for n, step_item in enumerate(step_items(paid)):
        items.append((step_item.at_ms, 1, -len(paid) + n, step_item))
    for n, view in enumerate(requests):
        items.append((view.started_ms, 0, n, RequestItem(view.started_ms, view)))
    failed = 0
    for n, callback in enumerate(callbacks):
        fields = dict(callback.params)
        actor, title, outcome = _event_title(callback, fields)
        event = EventItem(
            at_ms=callback.created_at_ms,
            callback=callback,
            actor=actor,
            title=title,
            outcome=outcome,
            fields=callback.params,
            body=form_body(callback.params).decode(),
            attempts=tuple(attempts.get(callback.id, ())),
        )
        items.append((callback.created_at_ms, 1, n, event))
        failed += callback.state == "failed"
    for n, attempt in enumerate(connector_requests):
        item = ConnectorItem(
            at_ms=attempt.started_at_ms,
            attempt=attempt,
            url=scrub(attempt.url),
            request_body=scrub(_pretty(attempt.request_body)),
            response=scrub(attempt.response_excerpt),
        )
        items.append((attempt.started_at_ms, 2, n, item))
    items.sort(key=lambda item: item[:3])

    first = requests[0].entry if requests else None
    if record.origin == TWIML:
        return SessionDetail(
            summary=session_summary(record, _last_entry(callbacks), failed),
            timeline=tuple(item for *_, item in items),
            picture=diagram.layout(),
            path=diagram.walk(pay_path_events(paid)),
            snippets=pay_snippets(record),
            requests=tuple(requests),
            callbacks=tuple(callbacks),
            fields=_settings_of(record),
        )
    journaled = [
        replay.Request(
            kind=CREATE if view.operation == CREATE else UPDATE,
            params=tuple((k, v) for k, v in view.entry.params.items() if k != "IdempotencyKey"),
            accepted=view.ok,
            at_ms=view.started_ms,
            refusal=" ".join(
                str(x) for x in (view.entry.status, view.error_code, view.error_message) if x
            ),
        )
        for view in requests
        if view.operation in (CREATE, UPDATE)
    ]
    code = snippets(
        replay.plan(
            record,
            callbacks,
            journaled,
            base_url=base_url,
            kind=account_kind,
            username=first.authenticated_as if first else None,
            today=today or date.today(),
        )
    )
    events = [
        (
            c.event,
            c.created_at_ms,
            dict(c.params).get("Capture", "") or dict(c.params).get("Result", ""),
        )
        for c in callbacks
    ]
    _add_processing(events, record, requests, connector_requests)
    return SessionDetail(
        summary=session_summary(record, _last_entry(callbacks), failed),
        timeline=tuple(item for *_, item in items),
        picture=diagram.layout(),
        path=diagram.walk(events),
        snippets=code,
        requests=tuple(requests),
        callbacks=tuple(callbacks),
        fields=_settings_of(record),
        timed_out_at_ms=_timed_out_at(record, callbacks),
    )
