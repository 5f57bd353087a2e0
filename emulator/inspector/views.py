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
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from emulator.domain import machine
from emulator.domain.forms import form_body
from emulator.domain.gpc import ConnectorAttempt
from emulator.domain.payloads import settlement_fields
from emulator.domain.records import CallbackRecord, SessionRecord
from emulator.domain.summaries import Attempt
from emulator.inspector import diagram
from emulator.inspector.snippets import CREATE, UPDATE, Snippets, SnippetStep, snippets
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

    @property
    def sid(self) -> str:
        return self.record.sid


def session_summary(record: SessionRecord) -> SessionSummary:
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


TimelineItem = RequestItem | EventItem | ConnectorItem


def _event_title(callback: CallbackRecord, fields: Mapping[str, str]) -> tuple[str, str, str]:
    """(actor, title, outcome) of a callback's event."""
    event, item = callback.event, fields.get("Capture", "")
    error = fields.get("ErrorType", "")
    result = fields.get("Result", "")
    failed = result if result and result != machine.Result.SUCCESS.value else ""
    if event == machine.EventKind.KEY_IN.value:
        if fields.get("PartialResult") == "true":
            return "caller", f"caller keyed part of {item}", ""
        if error:
            return "caller", f"caller keyed {item}: refused", error
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
        return "agent", f"completed: {result}", failed
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
    settlement = session.settlement
    if settlement is not None:
        rows += settlement_fields(settlement)
    return tuple((name, scrub(value)) for name, value in rows if value)


def session_detail(
    record: SessionRecord,
    callbacks: Sequence[CallbackRecord],
    attempts: Mapping[int, Sequence[Attempt]],
    requests: Sequence[RequestView],
    connector_requests: Sequence[ConnectorAttempt],
    base_url: str,
) -> SessionDetail:
    items: list[tuple[int, int, int, TimelineItem]] = []
    for n, view in enumerate(requests):
        items.append((view.started_ms, 0, n, RequestItem(view.started_ms, view)))
    notes: list[tuple[int, int, int, SnippetStep]] = []
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
        if actor != "agent":
            note = title + (f" ({outcome})" if outcome else "")
            notes.append((callback.created_at_ms, 1, n, SnippetStep("note", text=note)))
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

    steps: list[tuple[int, int, int, SnippetStep]] = list(notes)
    for n, view in enumerate(requests):
        steps.append(
            (
                view.started_ms,
                0,
                n,
                SnippetStep(
                    view.operation,
                    params=tuple(view.entry.params.items()),
                    status=view.entry.status,
                    error=" ".join(
                        str(x) for x in (view.error_code, view.error_message) if x is not None
                    ),
                ),
            )
        )
    steps.sort(key=lambda step: step[:3])
    first = requests[0].entry if requests else None
    code = snippets(
        base_url=base_url,
        account_sid=record.account_sid,
        username=first.authenticated_as if first else None,
        call_sid=record.call_sid,
        payment_sid=record.sid,
        steps=[step for *_, step in steps],
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
        summary=session_summary(record),
        timeline=tuple(item for *_, item in items),
        picture=diagram.layout(),
        path=diagram.walk(events),
        snippets=code,
        requests=tuple(requests),
        callbacks=tuple(callbacks),
        fields=_settings_of(record),
    )
