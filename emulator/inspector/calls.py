"""The inspector's call page: ``/_emulator/ui/calls/{CallSid}``: a call, its sessions, and its
timeline (documents with their TwiML, verbs, ``<Pay>``'s prompts and tries, keys,
notifications, status callbacks and ``<Pay>`` statusCallbacks with their attempts)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from emulator.deps import CallsDep, ListingsDep
from emulator.inspector import views
from emulator.inspector.call_views import call_timeline
from emulator.inspector.render import UI, RenderDep

__all__ = ["router"]

SESSIONS_SHOWN = 20

router = APIRouter(include_in_schema=False)


@router.get(UI + "/calls/{call_sid}")
async def call_page(
    render: RenderDep, call_sid: str, calls: CallsDep, listings: ListingsDep
) -> HTMLResponse:
    record = calls.get(call_sid)
    context: dict[str, Any] = {"call_sid": call_sid, "call": record}
    if record is None:
        return render("call.html", status=404, **context)
    both = calls.status_callbacks(call_sid) + calls.pay_callbacks(call_sid)
    callbacks = sorted(both, key=lambda callback: callback.id)
    sessions = listings.sessions(offset=0, limit=SESSIONS_SHOWN, call_sid=call_sid)
    context |= {
        "waiting": calls.waiting(call_sid),
        "timeline": call_timeline(
            calls.steps(call_sid), callbacks, listings.attempts([c.id for c in callbacks])
        ),
        "sessions": [views.session_summary(r) for r in sessions.rows],
        "session_total": sessions.total,
    }
    return render("call.html", **context)
