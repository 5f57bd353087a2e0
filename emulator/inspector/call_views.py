"""What the inspector's call page shows, as plain data: the call's timeline (the documents it
asked for, with their TwiML; the verbs it ran; the keys the caller pressed; its status moves;
notifications), merged with its status callbacks and every delivery attempt (pure).

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

__all__ = ["CallItem", "call_timeline"]

_ACTORS: Final = {
    "request": "app",
    "verb": "twiml",
    "input": "caller",
    "status": "emulator",
    "notice": "emulator",
    "note": "emulator",
}


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
    if step.kind == "input":
        return "the caller keyed"
    if step.kind == "status":
        return f"call {step.name}"
    if step.kind == "notice":
        return f"notification {step.code} ({step.name})"
    return step.name


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
            actor=_ACTORS.get(step.kind, "emulator"),
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
            title=f"status callback: {callback.event}",
            fields=tuple((scrub(name), scrub(value)) for name, value in callback.params),
            body=json.dumps(dict(callback.params), indent=2),
            callback=callback,
            attempts=attempts.get(callback.id, []),
        )
        for callback in callbacks
    ]
    items.sort(key=lambda item: item.at_ms)  # stable: steps before callbacks of one moment
    return items
