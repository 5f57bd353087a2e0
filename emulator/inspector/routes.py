"""The inspector's pages: ``/_emulator/ui/...``, and ``/`` redirecting there.

Every page is rendered on the server from the emulator's own state (read-only: the listings,
the services' reads, the journal, the fault rules), with Jinja2, every value escaped. The
page's script only refreshes the parts marked live when the change feed moves, and sends
actions to the control plane's endpoints: the pages hold no logic of their own.

Lists are paged (``PAGE_SIZE`` rows); the newest come first.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from emulator import __version__
from emulator.clock import format_iso_ms
from emulator.deps import (
    ChangesDep,
    FaultsDep,
    JournalDep,
    ListingsDep,
    SessionsDep,
    SettlementDep,
)
from emulator.domain.machine import State
from emulator.domain.summaries import Page
from emulator.inspector import views
from emulator.paths import INSPECTOR_PREFIX
from emulator.services.changes import Changes
from emulator.services.faults import Faults
from emulator.services.journal import Journal, masked
from emulator.services.listings import Listings

if TYPE_CHECKING:
    import jinja2

__all__ = ["UI", "router"]

UI = INSPECTOR_PREFIX
PAGE_SIZE = 50
CALLS_PER_PAGE = 20
SESSIONS_PER_CALL = 5
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"

# The pages run only their own files: no inline script or style, nothing from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)

PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


# --- rendering -------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    """The templates, loaded on first use (start-up does not pay for Jinja2)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["clock"] = _clock
    environment.filters["iso"] = _iso
    environment.filters["count"] = lambda n: f"{n:,}"
    environment.globals["ui"] = UI
    environment.globals["static"] = _static_url
    environment.globals["version"] = __version__
    environment.globals["states"] = [state.value for state in State]
    environment.globals["query_with"] = _query_with
    environment.globals["scrub"] = masked
    return environment


def _query_with(query: Mapping[str, str], **changes: object) -> str:
    """``query`` with some parameters changed (None removes one), URL-encoded."""
    merged = dict(query)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = str(value)
    return urlencode(merged)


def _clock(ms: int | None) -> str:
    """Time of day, with milliseconds (UTC)."""
    return format_iso_ms(ms)[11:23] if ms else ""


def _iso(ms: int | None) -> str:
    return format_iso_ms(ms) if ms else ""


@dataclass(frozen=True, slots=True)
class _Nav:
    accounts: int
    calls: int
    sessions: dict[str, int]
    callbacks: dict[str, int]
    requests: int
    faults: int

    @property
    def session_total(self) -> int:
        return sum(self.sessions.values())


@dataclass(frozen=True, slots=True)
class _Renderer:
    """Renders a page with what every page shows: the navigation's counts and the version
    of the state it shows (for live updates)."""

    request: Request
    listings: Listings
    journal: Journal
    faults: Faults
    changes: Changes

    def __call__(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        totals = self.listings.totals()
        nav = _Nav(
            accounts=totals.accounts,
            calls=totals.calls,
            sessions=totals.sessions,
            callbacks=totals.callbacks,
            requests=len(self.journal),
            faults=len(self.faults.rules()),
        )
        html = (
            _environment()
            .get_template(template)
            .render(
                request_path=self.request.url.path,
                query=dict(self.request.query_params),
                nav=nav,
                changes_version=self.changes.version,
                **context,
            )
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _renderer(
    request: Request,
    listings: ListingsDep,
    journal: JournalDep,
    faults: FaultsDep,
    changes: ChangesDep,
) -> _Renderer:
    return _Renderer(request, listings, journal, faults, changes)


RenderDep = Annotated[_Renderer, Depends(_renderer)]


def _page_of(number: int, size: int = PAGE_SIZE) -> tuple[int, int]:
    return (number - 1) * size, size


def _sid(value: str | None) -> str | None:
    """A filter as typed: trimmed, empty meaning none."""
    value = (value or "").strip()
    return value or None


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
) -> HTMLResponse:
    """Every session, newest first (of an account, of a call, in a state)."""
    account, call, wanted = _sid(account_sid), _sid(call_sid), _sid(state)
    offset, limit = _page_of(page)
    found = listings.sessions(
        offset=offset, limit=limit, account_sid=account, call_sid=call, state=wanted
    )
    return render(
        "sessions.html",
        page=_summaries(found),
        states_count=listings.session_states(account, call),
        filters={"account_sid": account, "call_sid": call, "state": wanted},
    )


@dataclass(frozen=True, slots=True)
class _Paged:
    rows: list[Any]
    total: int
    number: int
    pages: int
    offset: int


def _summaries(found: Page[Any]) -> _Paged:
    return _Paged(
        [views.session_summary(r) for r in found.rows],
        found.total,
        found.number,
        found.pages,
        found.offset,
    )


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
                call: [views.session_summary(r) for r in records]
                for call, records in sessions.items()
            },
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
            ),
            "call": listings.call(record.call_sid),
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
) -> HTMLResponse:
    """The request journal, newest first, filtered."""
    wanted_status = _number(status)
    wanted_code = _number(code)
    entries = journal.query(_sid(account_sid), _sid(call_sid), _sid(payment_sid), wanted_status)
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


# --- static files ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def _assets() -> dict[str, _Asset]:
    found = {}
    for path in sorted(STATIC.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            body = path.read_bytes()
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type.endswith("javascript"):
                media_type += "; charset=utf-8"
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            found[path.name] = _Asset(body, media_type, etag)
    return found


def _tag(asset: _Asset) -> str:
    return asset.etag.strip('"')[:8]


def _static_url(name: str) -> str:
    asset = _assets().get(name)
    return f"{UI}/static/{name}?v={_tag(asset) if asset else '0'}"


@router.get(UI + "/static/{name}")
async def static(name: str, request: Request) -> Response:
    asset = _assets().get(name)
    if asset is None:
        raise HTTPException(404, "no such file")
    # The pages name each file with its content's hash (``?v=``): that URL never changes
    # meaning, so the browser keeps it without asking again; any other URL is revalidated.
    versioned = request.query_params.get("v") == _tag(asset)
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
