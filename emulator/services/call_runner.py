"""The calls that run TwiML: one task per live call, started once the call is committed.

A call placed by the Calls API is dialled (``queued`` -> ``initiated`` -> ``ringing`` ->
``in-progress``: the simulated callee answers at once), then fetches its ``Url`` (or runs its
``Twiml``) with ``CallStatus=in-progress``; an inbound call from the control plane fetches its
voice URL while ``ringing`` and is answered once a document came (unless its first verb is
``<Reject>``). The document's verbs run in order (:mod:`.twiml_verbs`); a ``<Redirect>`` or a
``<Gather>``'s action fetches the next document; the end of a document ends the call ("The
request includes no more verbs, so Twilio ends the call", the ``<Gather>`` page).

When a document cannot be had (:mod:`.voice_webhook`'s notifications) or run (12100, 12200,
11750), a notification goes on the timeline, then the call's ``FallbackUrl`` is asked with
``ErrorCode`` and ``ErrorUrl`` (for the call's own URL: Twilio's "if an error occurs when
requesting or executing the TwiML at `url`"), else the caller hears "We're sorry, an
application error has occurred. Goodbye." and the call completes. Nothing the application
does can crash the emulator: anything unexpected ends the call with a note.

Bounds: at most :data:`MAX_DOCUMENTS` documents and :data:`MAX_VERBS` verbs per call (then
the call ends, with a note: a redirect loop cannot run forever), the call's ``TimeLimit``
(4 hours by default) on the emulator's clock.

A redirect by the Calls API cancels the running verb and starts the new document; a hang-up
cancels the task. After a restart, calls that were running TwiML are ended with a note: the
interpreter's place (the verb, the keys gathered) was in memory, and fetching their documents
again would send the application requests it already answered (the emulator's choice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from typing import Final, TypeVar

from emulator.clock import Clock
from emulator.domain.calls import (
    CANCELED,
    COMPLETED,
    IN_PROGRESS,
    INITIATED,
    QUEUED,
    RINGING,
    CallRecord,
)
from emulator.domain.scripts import CallerScripts
from emulator.domain.twiml import (
    Notice,
)
from emulator.domain.vocabulary import AUTO, SILENCE
from emulator.domain.voice import (
    APPLICATION_ERROR,
)
from emulator.services.call_documents import CallDocuments
from emulator.services.call_events import CallEvents
from emulator.services.call_flow import (
    KEY,
    NEXT,
    TIMER,
    Fetch,
    Gone,
    Inline,
    Instruction,
    Live,
    Loaded,
    VerbHandler,
)
from emulator.services.caller import Caller
from emulator.services.deadlines import Deadlines
from emulator.services.delivery import Delivery
from emulator.services.twiml_verbs import HANDLERS
from emulator.services.voice_webhook import VoiceWebhook
from emulator.store import calls
from emulator.store.db import Database

__all__ = ["MAX_VERBS", "CallRunner"]

logger = logging.getLogger("emulator.calls")

T = TypeVar("T")

MAX_VERBS: Final = 1000
_LIMIT: Final = "#limit"  # the deadline key suffix of a call's TimeLimit


class CallRunner:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        events: CallEvents,
        webhook: VoiceWebhook,
        delivery: Delivery,
        caller: Caller,
        scripts: CallerScripts,
    ) -> None:
        self._db = db
        self._clock = clock
        self.events = events
        self._webhook = webhook
        self._delivery = delivery
        self._caller = caller
        self._scripts = scripts
        self._live: dict[str, Live] = {}
        self._handlers: dict[type, VerbHandler] = dict(HANDLERS)
        self._deadlines = Deadlines(clock, self._deadline_passed)
        self._documents = CallDocuments(db, events, webhook, delivery)
        self._typing: set[asyncio.TimerHandle] = set()

    def handle(self, verb: type, handler: VerbHandler) -> None:
        """Run ``verb`` (a :mod:`~emulator.domain.twiml` class) with ``handler``."""
        self._handlers[verb] = handler

    # --- what the verbs may ask (call_flow.Runtime) ---------------------------------------------

    def now_ms(self) -> int:
        return self._clock.now_ms()

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._db.write(work)

    def call(self, conn: sqlite3.Connection, sid: str) -> CallRecord:
        call = calls.load(conn, sid)
        if call is None:
            raise Gone(sid)
        return call

    async def wait(self, live: Live, deadline_ms: int, *, keys: bool) -> str | None:
        """Until the clock reaches ``deadline_ms`` (None), or with ``keys`` the next key."""
        try:
            while self._clock.now_ms() < deadline_ms:
                self._deadlines.set(live.sid, deadline_ms)
                item = await live.keypad.get()
                if item != TIMER and keys:
                    return item
            return None
        finally:
            self._deadlines.cancel(live.sid)

    async def application_error(self, live: Live, notice: Notice, url: str | None) -> None:
        """A notification, then Twilio's message to the caller; the call then completes."""

        def unit(conn: sqlite3.Connection) -> None:
            call = self.call(conn, live.sid)
            self.events.notice(conn, live.sid, notice, url)
            if call.status in (QUEUED, RINGING):  # answered, to say the message
                self.answer(conn, call)
            detail = [("text", APPLICATION_ERROR), ("note", "the application failed")]
            self.events.step(conn, live.sid, "verb", "Say", detail=detail)

        await self.write(unit)

    def auto_keys(self, live: Live, number: int) -> None:
        """An auto caller keys its script's value for the ``number``-th ``<Gather>``."""
        call = calls.load(self._db.conn, live.sid)
        mode = (call.caller if call is not None else None) or self._caller.default_mode
        value = self._scripts.gather_value(live.sid, number)
        if mode != AUTO or not value:
            return
        keys = value.removesuffix(SILENCE)
        loop = asyncio.get_running_loop()
        handle = loop.call_later(self._caller.delay_s, self._type, live, number, keys)
        self._typing.add(handle)

    def _type(self, live: Live, number: int, keys: str) -> None:
        self._typing = {handle for handle in self._typing if not handle.cancelled()}
        if live.gathering and live.gathers == number and self._live.get(live.sid) is live:
            for key in keys:
                live.keypad.put_nowait(key)

    # --- the control side -----------------------------------------------------------------------

    def start(self, sid: str, account_sid: str, first: Instruction | None = None) -> None:
        """Run the call's TwiML (a call just committed)."""
        live = self._live.get(sid)
        if live is None:
            live = self._live[sid] = Live(sid, account_sid)
        live.redirected = False
        live.task = asyncio.get_running_loop().create_task(self._run(live, first))

    async def redirect(self, sid: str, account_sid: str, instruction: Instruction) -> None:
        """Stop what the call is doing and run ``instruction`` (the Calls API's update)."""
        live = self._live.get(sid)
        if live is not None and live.task is not None:
            live.redirected = True  # a <Pay> ends its session (pay_verb)
            await _cancelled(live.task)
        self.start(sid, account_sid, instruction)

    async def stop(self, sid: str) -> None:
        """The call's TwiML stops (it is ending)."""
        live = self._live.pop(sid, None)
        self._deadlines.cancel(sid)
        self._deadlines.cancel(sid + _LIMIT)
        if live is not None and live.task is not None:
            await _cancelled(live.task)

    def key(self, sid: str, keys: str) -> bool:
        """The caller keys ``keys`` into the call's ``<Gather>``; False when it has none."""
        live = self._live.get(sid)
        if live is None or not live.gathering:
            return False
        for key in keys:
            if key in KEY:
                live.keypad.put_nowait(key)
        return True

    def waiting(self, sid: str) -> str | None:
        """What the call is waiting in (``gather``, ``pause``, ``pay``), if anything."""
        live = self._live.get(sid)
        return live.waiting if live is not None else None

    def paying(self, sid: str) -> str | None:
        """The payment session of the ``<Pay>`` the call runs, if any."""
        live = self._live.get(sid)
        return live.paying if live is not None else None

    def running(self) -> int:
        return len(self._live)

    async def forget(self, account_sid: str | None = None) -> None:
        """Before a reset: stop the calls of the account (or all)."""
        for sid, live in list(self._live.items()):
            if account_sid is None or live.account_sid == account_sid:
                await self.stop(sid)

    async def shutdown(self) -> None:
        for handle in self._typing:
            handle.cancel()
        await self.forget()
        await self._deadlines.stop()

    async def resume(self) -> None:
        """At start-up: the calls that were running TwiML end, with a note (see the module's
        docstring)."""

        def unit(conn: sqlite3.Connection) -> int:
            now = self._clock.now_ms()
            stale = calls.live_runners(conn)
            for call in stale:
                note = "the emulator restarted while the call ran: the call was ended"
                self.events.step(conn, call.sid, "note", "restart", detail=[("note", note)])
                self.events.move(
                    conn, call, COMPLETED if call.status == IN_PROGRESS else CANCELED, now
                )
            return len(stale)

        ended = await self.write(unit)
        if ended:
            logger.info("ended %d calls that were running TwiML when the emulator stopped", ended)

    # --- the run ----------------------------------------------------------------------------------

    async def _run(self, live: Live, first: Instruction | None) -> None:
        try:
            instruction = first if first is not None else await self._dial(live)
            while instruction is not None:
                outcome = await self._documents.load(self, live, instruction)
                if isinstance(outcome, Loaded):
                    instruction = await self._execute(live, outcome)
                else:
                    instruction = outcome
            await self._finish(live)
        except asyncio.CancelledError:
            raise  # stopped, or redirected: whoever cancelled it goes on
        except Gone:
            self._drop(live)
        except Exception:
            logger.exception("call %s: its TwiML failed unexpectedly", live.sid)
            note = "the emulator failed running this call's TwiML (see its log): the call ended"
            with contextlib.suppress(Exception):
                await self._note(live, note, "error")
                await self._finish(live)
            self._drop(live)

    async def _dial(self, live: Live) -> Instruction | None:
        """An outbound call is dialled and answered; the instruction it starts with."""

        def unit(conn: sqlite3.Connection) -> CallRecord:
            call = self.call(conn, live.sid)
            if call.status == QUEUED:
                now = self._clock.now_ms()
                call = self.events.announce(conn, call, INITIATED, now)
                call = self.events.move(conn, call, RINGING, now)
                call = self.answer(conn, call)
            return call

        call = await self.write(unit)
        if not call.live:
            return None
        if call.voice_url:
            return Fetch(call.voice_url, call.voice_method, fallback=True)
        return Inline(call.twiml) if call.twiml is not None else None

    def answer(self, conn: sqlite3.Connection, call: CallRecord) -> CallRecord:
        """The call is answered (in the caller's transaction); its TimeLimit starts."""
        now = self._clock.now_ms()
        call = self.events.move(conn, call, IN_PROGRESS, now)
        deadline = now + call.time_limit * 1000
        self._db.after_commit(lambda: self._deadlines.set(call.sid + _LIMIT, deadline))
        return call

    async def _execute(self, live: Live, loaded: Loaded) -> Instruction | None:
        """Run the document's verbs; the next document to ask, or None: the call ends."""
        for verb in loaded.document.verbs:
            live.verbs += 1
            if live.verbs > MAX_VERBS:
                await self._note(live, f"the call ran more than {MAX_VERBS} verbs: it ends")
                return None
            outcome = await self._handlers[type(verb)](self, live, verb, loaded)
            if outcome is not NEXT:
                return outcome  # type: ignore[return-value]
        return None

    async def _finish(self, live: Live) -> None:
        """The call's TwiML is done: a call still live ends."""

        def unit(conn: sqlite3.Connection) -> None:
            call = calls.load(conn, live.sid)
            if call is not None and call.live:
                status = COMPLETED if call.status == IN_PROGRESS else CANCELED
                self.events.move(conn, call, status, self._clock.now_ms())

        await self.write(unit)
        self._drop(live)

    def _drop(self, live: Live) -> None:
        if self._live.get(live.sid) is live:
            del self._live[live.sid]
            self._deadlines.cancel(live.sid)
            self._deadlines.cancel(live.sid + _LIMIT)
            self._scripts.forget(live.sid)

    async def _note(self, live: Live, note: str, name: str = "limit") -> None:
        await self.write(
            lambda conn: self.events.step(conn, live.sid, "note", name, detail=[("note", note)])
        )

    async def _deadline_passed(self, key: str) -> None:
        if key.endswith(_LIMIT):
            await self._time_limit(key.removesuffix(_LIMIT))
            return
        live = self._live.get(key)
        if live is not None:
            live.keypad.put_nowait(TIMER)

    async def _time_limit(self, sid: str) -> None:
        """The call's TimeLimit passed: it ends."""
        await self.stop(sid)

        def unit(conn: sqlite3.Connection) -> None:
            call = calls.load(conn, sid)
            if call is None or not call.live:
                return
            note = f"the call's TimeLimit ({call.time_limit} s) passed: it ends"
            self.events.step(conn, sid, "note", "limit", detail=[("note", note)])
            self.events.move(
                conn,
                call,
                COMPLETED if call.status == IN_PROGRESS else CANCELED,
                self._clock.now_ms(),
            )

        await self.write(unit)


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait until it has stopped (not from inside it)."""
    if task is asyncio.current_task():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
