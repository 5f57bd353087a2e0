"""The inspector's rendering: the Jinja2 environment, what every page shows (the navigation's
counts, the change feed's version), the security headers, and the static files named by the
hash of their content."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from emulator import __version__
from emulator.clock import format_iso_ms
from emulator.deps import ChangesDep, FaultsDep, JournalDep, ListingsDep
from emulator.domain.machine import State
from emulator.paths import INSPECTOR_PREFIX
from emulator.services.changes import Changes
from emulator.services.faults import Faults
from emulator.services.journal import Journal, masked
from emulator.services.listings import Listings

if TYPE_CHECKING:
    import jinja2

__all__ = ["SECURITY_HEADERS", "UI", "Asset", "RenderDep", "Renderer", "asset_tag", "assets"]

UI = INSPECTOR_PREFIX
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
    environment.filters["stamp"] = _stamp
    environment.filters["iso"] = _iso
    environment.filters["plural"] = _plural
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


def _stamp(ms: int | None) -> str:
    """Date and time of day, to the second (UTC): ``2030-01-01 12:00:00``."""
    return format_iso_ms(ms)[:19].replace("T", " ") if ms else ""


def _plural(word: str, count: int) -> str:
    """``word`` for one, ``words`` for any other count (the inspector's nouns are regular)."""
    return word if count == 1 else word + "s"


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
class Renderer:
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
) -> Renderer:
    return Renderer(request, listings, journal, faults, changes)


RenderDep = Annotated[Renderer, Depends(_renderer)]


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    found = {}
    for path in sorted(STATIC.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            body = path.read_bytes()
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type.endswith("javascript"):
                media_type += "; charset=utf-8"
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            found[path.name] = Asset(body, media_type, etag)
    return found


def asset_tag(asset: Asset) -> str:
    return asset.etag.strip('"')[:8]


def _static_url(name: str) -> str:
    asset = assets().get(name)
    return f"{UI}/static/{name}?v={asset_tag(asset) if asset else '0'}"
