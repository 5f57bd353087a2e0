"""The inspector's pages: ``/_emulator/ui/...``, and ``/`` redirecting there.

Every page is rendered on the server from the emulator's own state (read-only: the listings,
the services' reads, the journal, the fault rules), with Jinja2, every value escaped. The
page's script only refreshes the parts marked live when the change feed moves, and sends
actions to the control plane's endpoints: the pages hold no logic of their own.

Lists are paged (``PAGE_SIZE`` rows); the newest come first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from emulator.deps import (
    CallerDep,
    CallsDep,
    ClockDep,
    FaultsDep,
    JournalDep,
    ListingsDep,
    SessionsDep,
    SettlementDep,
)
from emulator.domain.records import TWIML, SessionRecord
from emulator.domain.summaries import Page
from emulator.inspector import replay, views
from emulator.inspector.calls import router as call_pages
from emulator.inspector.render import UI, RenderDep, asset_tag, assets
from emulator.services.listings import Listings

__all__ = ["router"]

PAGE_SIZE = 50
CALLS_PER_PAGE = 20
SESSIONS_PER_CALL = 5

router = APIRouter(include_in_schema=False)
router.include_router(call_pages)  # /calls/{CallSid}: emulator.inspector.calls

PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
Search = Annotated[str | None, Query(max_length=200)]


def _page_of(number: int, size: int = PAGE_SIZE) -> tuple[int, int]:
    return (number - 1) * size, size


def _sid(value: str | None) -> str | None:
    """A filter as typed: trimmed, empty meaning none."""
    value = (value or "").strip()
    return value or None


def _summaries_of(listings: Listings, records: list[SessionRecord]) -> list[views.SessionSummary]:
    """Rows of sessions, with why each failed and how many of its callbacks failed."""
    sids = [r.sid for r in records]
    entries = listings.last_entries(sids)
    failed = listings.failed_callbacks(sids)
    return [views.session_summary(r, entries.get(r.sid), failed.get(r.sid, 0)) for r in records]


# --- pages -------------------------------------------------------------------------------


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse(UI + "/", status_code=302)


@router.get(UI)
async def ui_root() -> RedirectResponse:
    return RedirectResponse(UI + "/", status_code=302)


@router.get(UI + "/")
async def sessions_page(
    render: RenderDep,
    listings: ListingsDep,
    page: PageNumber = 1,
    account_sid: str | None = None,
    call_sid: str | None = None,
    state: str | None = None,
    q: Search = None,
    callbacks: str | None = None,
) -> HTMLResponse:
    """Every session, newest first (of an account, of a call, in a state, matching a
    free-text search, with a failed callback)."""
    account, call, wanted, text = _sid(account_sid), _sid(call_sid), _sid(state), _sid(q)
    failed = callbacks == "failed"
    offset, limit = _page_of(page)
    found = listings.sessions(
        offset=offset,
        limit=limit,
        account_sid=account,
        call_sid=call,
        state=wanted,
        text=text,
        failed_callbacks=failed,
    )
    return render(
        "sessions.html",
        page=_Paged(
            _summaries_of(listings, found.rows),
            found.total,
            found.number,
            found.pages,
            found.offset,
        ),
        states_count=listings.session_states(account, call, text=text, failed_callbacks=failed),
        failed_count=listings.session_states(account, call, text=text, failed_callbacks=True),
        filters={
            "account_sid": account,
            "call_sid": call,
            "state": wanted,
            "q": text,
            "callbacks": "failed" if failed else None,
        },
    )


@dataclass(frozen=True, slots=True)
class _Paged:
    rows: list[Any]
    total: int
    number: int
    pages: int
    offset: int


def _paged(found: Page[Any]) -> _Paged:
    return _Paged(found.rows, found.total, found.number, found.pages, found.offset)


@router.get(UI + "/accounts")
async def accounts_page(
    render: RenderDep,
    listings: ListingsDep,
    page: PageNumber = 1,
) -> HTMLResponse:
    offset, limit = _page_of(page)
    return render(
        "accounts.html",
        page=_paged(listings.accounts(offset, limit)),
    )


@router.get(UI + "/accounts/{account_sid}")
async def account_page(
    render: RenderDep,
    account_sid: str,
    listings: ListingsDep,
    journal: JournalDep,
    caller: CallerDep,
    page: PageNumber = 1,
) -> HTMLResponse:
    """An account, its calls (newest first) and under each call its newest sessions."""
    account = listings.account(account_sid)
    context: dict[str, Any] = {"account": account, "account_sid": account_sid}
    status = 200
    if account is None:
        status = 404
    else:
        offset, limit = _page_of(page, CALLS_PER_PAGE)
        calls = listings.calls(account_sid, offset, limit)
        sessions = listings.sessions_of_calls([c.sid for c in calls.rows], SESSIONS_PER_CALL)
        context |= {
            "calls": _paged(calls),
            "sessions": {
                call: _summaries_of(listings, records) for call, records in sessions.items()
            },
            "default_caller": caller.default_mode,
            "states_count": listings.session_states(account_sid),
            "requests": len(journal.query(account_sid=account_sid)),
        }
    return render(
        "account.html",
        status=status,
        **context,
    )


@router.get(UI + "/sessions/{payment_sid}")
async def session_page(
    request: Request,
    render: RenderDep,
    payment_sid: str,
    listings: ListingsDep,
    sessions: SessionsDep,
    settlement: SettlementDep,
    journal: JournalDep,
    clock: ClockDep,
    caller: CallerDep,
    calls: CallsDep,
) -> HTMLResponse:
    """A session: where it is, the machine and its path, the timeline, copy as code."""
    record = sessions.get(payment_sid)
    context: dict[str, Any] = {"payment_sid": payment_sid, "detail": None}
    status = 200
    if record is None:
        status = 404
    else:
        callbacks = sessions.history(payment_sid)
        on_call = journal.query(account_sid=record.account_sid, call_sid=record.call_sid)
        requests = views.session_journal(on_call, record)
        context |= {
            "detail": views.session_detail(
                record,
                callbacks,
                listings.attempts([c.id for c in callbacks]),
                requests,
                settlement.connector_requests(payment_sid),
                str(request.base_url).rstrip("/"),
                replay.account_kind(record.account_sid, listings.from_fixtures(record.account_sid)),
                clock.now().date(),
                calls.steps(record.call_sid) if record.origin == TWIML else (),
            ),
            "call": listings.call(record.call_sid),
            "default_caller": caller.default_mode,
            "clock_now_ms": clock.now_ms(),
            "clock_frozen": clock.frozen,
            "other_requests": sum(
                1 for e in on_call if e.payment_sid is None and not 200 <= e.status < 300
            ),
        }
    return render(
        "session.html",
        status=status,
        **context,
    )


@router.get(UI + "/requests")
async def requests_page(
    render: RenderDep,
    journal: JournalDep,
    page: PageNumber = 1,
    account_sid: str | None = None,
    call_sid: str | None = None,
    payment_sid: str | None = None,
    status: str | None = None,
    code: str | None = None,
    q: Search = None,
) -> HTMLResponse:
    """The request journal, newest first, filtered (a free-text search included)."""
    wanted_status = _number(status)
    wanted_code = _number(code)
    entries = journal.query(
        _sid(account_sid), _sid(call_sid), _sid(payment_sid), wanted_status, _sid(q)
    )
    entries.reverse()  # newest first
    if wanted_code is not None:
        needle = str(wanted_code)
        entries = [
            e
            for e in entries
            if e.status >= 400
            and needle in e.response
            and views.request_view(e).error_code == wanted_code
        ]
    offset, limit = _page_of(page)
    paged = _Paged(
        [views.request_view(e) for e in entries[offset : offset + limit]],
        len(entries),
        page,
        max(1, -(-len(entries) // limit)),
        offset,
    )
    return render(
        "requests.html",
        page=paged,
        filters={
            "account_sid": _sid(account_sid),
            "call_sid": _sid(call_sid),
            "payment_sid": _sid(payment_sid),
            "status": _sid(status),
            "code": _sid(code),
            "q": _sid(q),
        },
    )


def _number(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


@router.get(UI + "/faults")
async def faults_page(render: RenderDep, faults: FaultsDep) -> HTMLResponse:
    rules = [rule.view() for rule in faults.rules()]
    return render(
        "faults.html",
        rules=rules,
    )


@router.get(UI + "/static/{name}")
async def static(name: str, request: Request) -> Response:
    asset = assets().get(name)
    if asset is None:
        raise HTTPException(404, "no such file")
    # The pages name each file with its content's hash (``?v=``): that URL never changes
    # meaning, so the browser keeps it without asking again; any other URL is revalidated.
    versioned = request.query_params.get("v") == asset_tag(asset)
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
