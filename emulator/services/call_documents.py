"""Where a call's next document comes from: asked of the application (the voice webhook) or
given inline (a ``Twiml`` parameter), recorded on the timeline with its TwiML, parsed, and
after a failure the FallbackUrl to ask or the application error.

The request of each document is a ``request`` step (URL, method, status, time, content type,
the TwiML itself); a failure is a ``notice`` step with Twilio's code. For the call's own
``Url`` (not a ``<Gather>`` action or a ``<Redirect>``) the call's ``FallbackUrl`` is asked
with ``ErrorCode`` and ``ErrorUrl``; otherwise the caller hears the application error. A
document that runs becomes the base of the call's relative URLs; a ringing call is answered
once its document came, unless the document rejects it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Final

from emulator.domain.calls import RINGING
from emulator.domain.twiml import (
    Document,
    Hangup,
    Notice,
    Play,
    Reject,
    Say,
    TwimlError,
    parse,
)
from emulator.domain.voice import AUDIO, PLAIN_TEXT, content_kind, fallback_result, webhook_params
from emulator.services.call_events import CallEvents
from emulator.services.call_flow import Fetch, Gone, Inline, Instruction, Live, Loaded, Runtime
from emulator.services.delivery import Delivery
from emulator.services.voice_webhook import VoiceWebhook
from emulator.store import accounts, calls
from emulator.store.db import Database

__all__ = ["MAX_DOCUMENTS", "CallDocuments"]

MAX_DOCUMENTS: Final = 100
"""Documents one call may ask for (fallbacks included): a redirect loop ends there."""


class CallDocuments:
    def __init__(
        self, db: Database, events: CallEvents, webhook: VoiceWebhook, delivery: Delivery
    ) -> None:
        self._db = db
        self._events = events
        self._webhook = webhook
        self._delivery = delivery

    async def load(
        self, run: Runtime, live: Live, instruction: Instruction
    ) -> Loaded | Instruction | None:
        """The next document, ready to run; or after a failure the fallback to ask, or None
        (the application error was said)."""
        live.documents += 1
        if live.documents > MAX_DOCUMENTS:
            note = f"the call asked for more than {MAX_DOCUMENTS} documents: it ends"
            await run.write(
                lambda conn: self._events.step(
                    conn, live.sid, "note", "limit", detail=[("note", note)]
                )
            )
            return None
        if isinstance(instruction, Inline):
            await run.write(
                lambda conn: self._events.step(
                    conn, live.sid, "request", "Twiml", body=instruction.twiml
                )
            )
            return await self._parsed(
                run, live, instruction.twiml.encode(), None, None, instruction
            )
        call = run.call(self._db.conn, live.sid)  # reads on the loop's own connection
        token = accounts.auth_token(self._db.conn, live.account_sid)
        if token is None:
            raise Gone(live.sid)
        params = webhook_params(call, call.status) + list(instruction.extra)
        fetched = await self._webhook.fetch(token, instruction.url, instruction.method, params)
        detail: list[tuple[str, object]] = [
            ("content_type", fetched.content_type),
            ("duration_ms", fetched.duration_ms),
            ("status", call.status),
        ]
        detail += [(name, value) for name, value in instruction.extra if name != "Digits"]
        text = fetched.body.decode("utf-8", "replace")
        await run.write(
            lambda conn: self._events.step(
                conn,
                live.sid,
                "request",
                fetched.method,
                url=fetched.url,
                status_code=fetched.status_code,
                detail=detail,
                body=text,
            )
        )
        if not fetched.ok:
            assert fetched.code is not None
            return await self._failed(
                run, live, Notice(fetched.code, fetched.message, "error"), fetched.url, instruction
            )
        kind = content_kind(fetched.content_type)
        if kind == AUDIO:
            document = Document((Play(fetched.final_url), Hangup()))
            return await self._ready(run, live, Loaded(document, fetched.final_url))
        return await self._parsed(run, live, fetched.body, fetched.final_url, kind, instruction)

    async def _parsed(
        self,
        run: Runtime,
        live: Live,
        data: bytes,
        url: str | None,
        kind: str | None,
        instruction: Instruction,
    ) -> Loaded | Instruction | None:
        try:
            document = parse(data)
        except TwimlError as error:
            if kind == PLAIN_TEXT:  # "Twilio reads the content of the text out loud"
                text = data.decode("utf-8", "replace")[:4096]
                return await self._ready(run, live, Loaded(Document((Say(text), Hangup())), url))
            notice = Notice(error.code, error.message, "error")
            return await self._failed(run, live, notice, url, instruction)
        return await self._ready(run, live, Loaded(document, url))

    async def _failed(
        self, run: Runtime, live: Live, notice: Notice, url: str | None, instruction: Instruction
    ) -> Instruction | None:
        """After a document failed: the FallbackUrl to ask, or the application error."""
        call = run.call(self._db.conn, live.sid)
        if isinstance(instruction, Fetch) and instruction.fallback and call.fallback_url:
            await run.write(lambda conn: self._events.notice(conn, live.sid, notice, url))
            extra = fallback_result(notice.code, instruction.url)
            return Fetch(call.fallback_url, call.fallback_method, tuple(extra))
        await run.application_error(live, notice, url)
        return None

    async def _ready(self, run: Runtime, live: Live, loaded: Loaded) -> Loaded:
        """The document runs: its warnings noted, its URL the call's base; a ringing call is
        answered (unless the document rejects it)."""
        document = loaded.document

        def unit(conn: sqlite3.Connection) -> None:
            call = run.call(conn, live.sid)
            for notice in document.notices:
                self._events.notice(conn, live.sid, notice, loaded.base)
            if call.url != loaded.base:
                calls.save(conn, replace(call, url=loaded.base))
                self._db.after_commit(lambda: self._delivery.forget_call_url(live.sid))
                call = replace(call, url=loaded.base)
            rejects = bool(document.verbs) and isinstance(document.verbs[0], Reject)
            if call.status == RINGING and not rejects:
                run.answer(conn, call)

        await run.write(unit)
        return loaded
