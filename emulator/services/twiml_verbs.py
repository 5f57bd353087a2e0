"""The verbs a call runs, one handler each: what the emulator does for ``<Say>``, ``<Play>``,
``<Pause>``, ``<Gather>``, ``<Redirect>``, ``<Hangup>``, ``<Reject>``, and for the verbs it
does not emulate.

:data:`HANDLERS` maps a verb's class to its handler; the runner dispatches through it, and
:meth:`~emulator.services.call_runner.CallRunner.handle` adds one (``<Pay>``'s:
:mod:`emulator.services.pay_verb`, added by the app).

Time: ``<Say>`` and ``<Play>`` take none (nothing is spoken or played: they are recorded on
the timeline); ``<Pause>`` and ``<Gather>``'s ``timeout`` run on the emulator's clock
(:mod:`emulator.services.deadlines`), so moving the clock ends them at once.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from emulator.domain.calls import BUSY, NO_ANSWER, RINGING
from emulator.domain.twiml import (
    MAX_DIGITS,
    Gather,
    Hangup,
    NotEmulated,
    Notice,
    Pause,
    Play,
    Redirect,
    Reject,
    Say,
)
from emulator.domain.voice import gather_result, resolve
from emulator.services.call_flow import NEXT, Fetch, Live, Loaded, Outcome, Runtime, VerbHandler

__all__ = ["HANDLERS"]


async def _step(run: Runtime, live: Live, name: str, detail: list[tuple[str, object]]) -> None:
    await run.write(lambda conn: run.events.step(conn, live.sid, "verb", name, detail=detail))


async def say(run: Runtime, live: Live, verb: Say, _: Loaded, within: str = "") -> Outcome:
    detail: list[tuple[str, object]] = [("text", verb.text), ("voice", verb.voice)]
    detail += [("language", verb.language), ("loop", verb.loop), ("within", within or None)]
    await _step(run, live, "Say", detail)
    return NEXT


async def play(run: Runtime, live: Live, verb: Play, loaded: Loaded, within: str = "") -> Outcome:
    url = (resolve(loaded.base, verb.url) or verb.url) if verb.url else None
    detail: list[tuple[str, object]] = [("url", url), ("loop", verb.loop)]
    detail += [("digits", verb.digits or None), ("within", within or None)]
    detail.append(("note", "not fetched: the emulator plays no audio"))
    await _step(run, live, "Play", detail)
    return NEXT


async def pause(run: Runtime, live: Live, verb: Pause, _: Loaded) -> Outcome:
    live.waiting = "pause"  # before the step: whoever sees the step sees the wait
    try:
        await _step(run, live, "Pause", [("length", verb.length)])
        await run.wait(live, run.now_ms() + verb.length * 1000, keys=False)
    finally:
        live.waiting = None
    return NEXT


async def gather(run: Runtime, live: Live, verb: Gather, loaded: Loaded) -> Outcome:
    """Nested prompts first (a key pressed during a nested ``<Pause>`` ends them: "the
    `timeout` begins either after the audio completes or when the caller presses their first
    key"), then keys until ``finishOnKey``, ``numDigits`` or ``timeout`` seconds of silence.
    With digits, or with none and ``actionOnEmptyResult``, the action is requested and its
    document runs; with none, the next verb runs ("If the caller didn't enter any digits or
    speech, the call flow in the original TwiML document continues")."""
    live.gathers += 1
    number = live.gathers
    while not live.keypad.empty():  # keys pressed before the <Gather> are not its own
        live.keypad.get_nowait()
    # taking keys before the step is written: whoever sees the step may key at once
    live.gathering, live.waiting = True, "gather"
    try:
        await _step(
            run,
            live,
            "Gather",
            [
                ("action", verb.action),
                ("method", verb.method),
                ("timeout", verb.timeout),
                ("finishOnKey", verb.finish_on_key),
                ("numDigits", verb.num_digits),
                ("input", " ".join(verb.input)),
                ("actionOnEmptyResult", str(verb.action_on_empty_result).lower()),
                ("number", number),
            ],
        )
        if "speech" in verb.input:
            note = [("note", "speech input is not emulated: only keys (DTMF) are gathered")]
            await run.write(
                lambda conn: run.events.step(conn, live.sid, "note", "speech", detail=note)
            )
        first = await _prompts(run, live, verb, loaded)
        if first is None:
            run.auto_keys(live, number)
        digits, finished = await _collect(run, live, verb, first)
    finally:
        live.gathering, live.waiting = False, None
    detail: list[tuple[str, object]] = [("digits", digits), ("finishedOnKey", finished)]
    await run.write(lambda conn: run.events.step(conn, live.sid, "input", "Gather", detail=detail))
    if not digits and not verb.action_on_empty_result:
        return NEXT
    target = resolve(loaded.base, verb.action) if verb.action else loaded.base
    if target is None:
        notice = Notice(
            15004,
            "Action Callback URL must be an absolute URL when using TwiML to update"
            f" in-progress calls: <Gather> action {verb.action or '(none)'!r} has no document"
            " URL to resolve against",
            "error",
        )
        await run.application_error(live, notice, None)
        return None
    extra = gather_result(digits or None, finished)
    return Fetch(target, verb.method, tuple(extra))


async def _prompts(run: Runtime, live: Live, verb: Gather, loaded: Loaded) -> str | None:
    """The nested verbs; the first key pressed during them, if any."""
    for child in verb.children:
        if isinstance(child, Say):
            await say(run, live, child, loaded, within="Gather")
        elif isinstance(child, Play):
            await play(run, live, child, loaded, within="Gather")
        else:
            detail: list[tuple[str, object]] = [("length", child.length), ("within", "Gather")]
            await _step(run, live, "Pause", detail)
            key = await run.wait(live, run.now_ms() + child.length * 1000, keys=True)
            if key is not None:
                return key
    return None


async def _collect(run: Runtime, live: Live, verb: Gather, first: str | None) -> tuple[str, str]:
    """Keys until the finish key (its key), ``numDigits``, or the timeout (``""``)."""
    keyed = ""
    key = first
    deadline = run.now_ms() + verb.timeout * 1000
    while True:
        if key is None:
            key = await run.wait(live, deadline, keys=True)
            if key is None:
                return keyed, ""
        if verb.finish_on_key and key == verb.finish_on_key:
            return keyed, key
        keyed += key
        if (verb.num_digits and len(keyed) >= verb.num_digits) or len(keyed) >= MAX_DIGITS:
            return keyed, ""
        key = None
        deadline = run.now_ms() + verb.timeout * 1000


async def redirect(run: Runtime, live: Live, verb: Redirect, loaded: Loaded) -> Outcome:
    target = resolve(loaded.base, verb.url) if verb.url else None
    if target is None:
        why = (
            "no URL"
            if not verb.url
            else f"{verb.url[:200]!r} has no document URL to resolve against"
        )
        notice = Notice(11100, f"Invalid URL format: <Redirect> {why}", "error")
        await run.application_error(live, notice, None)
        return None
    await _step(run, live, "Redirect", [("url", target), ("method", verb.method)])
    return Fetch(target, verb.method)


async def hangup(run: Runtime, live: Live, _: Hangup, __: Loaded) -> Outcome:
    await _step(run, live, "Hangup", [])
    return None


async def reject(run: Runtime, live: Live, verb: Reject, _: Loaded) -> Outcome:
    """Before the call is answered, the call ends ``busy`` (``reason="busy"``) or
    ``no-answer`` ("The call ends with a status of `busy` or `no-answer`, depending on the
    verb's `reason` attribute"); later in a call it hangs up."""

    def unit(conn: sqlite3.Connection) -> None:
        call = run.call(conn, live.sid)
        answered = call.status != RINGING
        note = "the call hangs up" if answered else "the call is not answered"
        detail: list[tuple[str, object]] = [("reason", verb.reason), ("note", note)]
        run.events.step(conn, live.sid, "verb", "Reject", detail=detail)
        if not answered:
            run.events.move(conn, call, BUSY if verb.reason == "busy" else NO_ANSWER, run.now_ms())

    await run.write(unit)
    return None


async def not_emulated(run: Runtime, live: Live, verb: NotEmulated, _: Loaded) -> Outcome:
    """A verb Twilio has and the emulator does not run: recorded, and the next verb runs."""
    detail: list[tuple[str, object]] = [(name, value) for name, value in verb.attributes[:20]]
    detail.append(("note", f"<{verb.name}> is not emulated: the next verb runs"))
    await _step(run, live, verb.name, detail)
    return NEXT


HANDLERS: Final[dict[type, VerbHandler]] = {
    Say: say,
    Play: play,
    Pause: pause,
    Gather: gather,
    Redirect: redirect,
    Hangup: hangup,
    Reject: reject,
    NotEmulated: not_emulated,
}
