"""What the inspector's call page shows, as plain data: the call's timeline (the documents it
asked for, with their TwiML; the verbs it ran; the prompts its ``<Pay>``s chose and each try
at an item, with its error; the keys the caller pressed; its status moves; notifications),
merged with its status callbacks and its ``<Pay>``s' (and an ``action`` requested once the
call had ended), with every delivery attempt (pure).

Everything here was masked where it was written (URLs' passwords, card numbers in texts and
documents); it goes through ``scrub`` once more on its way to the page all the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from emulator.domain.calls import CallStep
from emulator.domain.records import CallbackRecord
from emulator.domain.summaries import Attempt
from emulator.services.journal import masked as scrub

__all__ = ["CallItem", "call_timeline", "pay_title"]

_ACTORS: Final = {
    "request": "app",
    "verb": "twiml",
    "prompt": "twiml",
    "input": "caller",
    "status": "emulator",
    "notice": "emulator",
    "note": "emulator",
}
_CALLER_EVENTS: Final = frozenset({"key-in", "keying", "star", "hang-up", "input-timeout"})


def pay_title(step: CallStep) -> str:
    """A ``<Pay>`` session's event, as the call's timeline says it."""
    detail = dict(step.detail)
    item, attempt = detail.get("for", ""), detail.get("attempt", "")
    error = detail.get("errorType")
    titles = {
        "create": "<Pay> starts its payment session",
        "capture": f"<Pay> asks for {item} (try {attempt})",
        "keying": f"the caller keys part of {item}",
        "input-timeout": f"the caller keyed nothing in time for {item}",
        "star": "the caller pressed *",
        "hang-up": "the caller hung up",
        "attempts-exhausted": f"no tries left at {item}",
        "process": "the Pay Connector processes the payment",
        "complete": f"the payment is processed: {detail.get('result', '')}",
        "cancel": "the <Pay> ended: the call was redirected",
    }
    if step.name == "key-in":
        return (
            f"the caller's entry for {item} is refused" if error else f"the caller entered {item}"
        )
    return titles.get(step.name, step.name)


@dataclass(frozen=True, slots=True)
class CallItem:
    """One line of a call's timeline: a step, or a status callback."""

    at_ms: int
    kind: str  # a step's kind, or "callback"
    actor: str
    title: str
    step: CallStep | None = None
    fields: tuple[tuple[str, str], ...] = ()
    body: str = ""
    callback: CallbackRecord | None = None
    attempts: list[Attempt] = field(default_factory=list)


def _title(step: CallStep) -> str:
    if step.kind == "request":
        return "TwiML given inline" if step.name == "Twiml" else f"{step.name} for TwiML"
    if step.kind == "verb":
        return f"<{step.name}>"
    if step.kind == "prompt":
        return f"<Prompt> for {step.name}"
    if step.kind == "pay":
        return pay_title(step)
    if step.kind == "input":
        return "the caller keyed"
    if step.kind == "status":
        return f"call {step.name}"
    if step.kind == "notice":
        return f"notification {step.code} ({step.name})"
    return step.name


def _actor(step: CallStep) -> str:
    if step.kind == "pay":
        return "caller" if step.name in _CALLER_EVENTS else "twiml"
    return _ACTORS.get(step.kind, "emulator")


def _callback_title(callback: CallbackRecord) -> str:
    fields = dict(callback.params)
    if callback.event == "pay-status":
        title = f"<Pay> statusCallback: For={fields.get('For', '')}"
        title += f", Attempt={fields.get('Attempt', '')}"
        error = fields.get("ErrorType")
        return f"{title}, ErrorType={error}" if error else title
    if callback.event == "pay-action":
        return f"<Pay> action (the call had ended): Result={fields.get('Result', '')}"
    return f"status callback: {callback.event}"


def call_timeline(
    steps: Sequence[CallStep],
    callbacks: Sequence[CallbackRecord],
    attempts: dict[int, list[Attempt]],
) -> list[CallItem]:
    """The steps and the status callbacks, in the order they happened."""
    items = [
        CallItem(
            at_ms=step.at_ms,
            kind=step.kind,
            actor=_actor(step),
            title=_title(step),
            step=step,
            fields=tuple((scrub(name), scrub(value)) for name, value in step.detail),
            body=scrub(step.body),
        )
        for step in steps
    ]
    items += [
        CallItem(
            at_ms=callback.created_at_ms,
            kind="callback",
            actor="emulator",
            title=_callback_title(callback),
            fields=tuple((scrub(name), scrub(value)) for name, value in callback.params),
            body=json.dumps(dict(callback.params), indent=2),
            callback=callback,
            attempts=attempts.get(callback.id, []),
        )
        for callback in callbacks
    ]
    items.sort(key=lambda item: item.at_ms)  # stable: steps before callbacks of one moment
    return items
