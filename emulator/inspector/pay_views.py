"""What the session page shows of a session a ``<Pay>`` verb ran (pure): its path through the
machine and its timeline come from the call's steps (the prompts chosen, each try, the
caller's entries, the connector's answer), since a ``<Pay>`` sends statusCallbacks only when
it has a ``statusCallback``, and not one per event; its copy as code is the call's to
replay, not an agent's requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from emulator.domain import machine
from emulator.domain.calls import CallStep
from emulator.domain.records import SessionRecord
from emulator.inspector.call_views import pay_title
from emulator.inspector.snippets import Snippets
from emulator.services.journal import masked as scrub

__all__ = ["StepItem", "pay_path_events", "pay_settings", "pay_snippets", "pay_status_title"]

_EVENTS: Final = frozenset(kind.value for kind in machine.EventKind)


@dataclass(frozen=True, slots=True)
class StepItem:
    """A step of the call's timeline that belongs to the session: a prompt, a try."""

    at_ms: int
    step: CallStep
    actor: str
    title: str
    fields: tuple[tuple[str, str], ...]
    kind: str = "step"


def session_steps(steps: Sequence[CallStep], payment_sid: str) -> list[CallStep]:
    """The call's steps of one ``<Pay>`` session, in order."""
    return [
        step
        for step in steps
        if step.kind in ("pay", "prompt") and dict(step.detail).get("session") == payment_sid
    ]


def step_items(steps: Sequence[CallStep]) -> list[StepItem]:
    items = []
    for step in steps:
        actor = "twiml"
        if step.kind == "pay" and step.name in ("key-in", "keying", "star", "hang-up"):
            actor = "caller"
        title = f"<Prompt> for {step.name}" if step.kind == "prompt" else pay_title(step)
        fields = tuple((scrub(k), scrub(v)) for k, v in step.detail if k != "session")
        items.append(StepItem(step.at_ms, step, actor, title, fields))
    return items


def pay_path_events(steps: Sequence[CallStep]) -> list[tuple[str, int, str]]:
    """(event, time, detail) of the session's events, for its path through the machine."""
    events = []
    for step in steps:
        if step.kind == "pay" and step.name in _EVENTS:
            detail = dict(step.detail)
            events.append((step.name, step.at_ms, detail.get("for") or detail.get("result", "")))
    return events


def pay_status_title(fields: Mapping[str, str]) -> tuple[str, str, str]:
    """(actor, title, outcome) of a ``<Pay>`` statusCallback."""
    title = (
        f"<Pay> statusCallback: For={fields.get('For', '')}, Attempt={fields.get('Attempt', '')}"
    )
    return "twiml", title, fields.get("ErrorType", "")


def pay_settings(record: SessionRecord) -> list[tuple[str, str]]:
    """The ``<Pay>``'s own settings, for the session's facts."""
    pay = record.pay
    if pay is None:
        return []
    return [
        ("run by", "a <Pay> verb on the call"),
        ("action", pay.action),
        ("tries an item", str(pay.tries)),
        ("language", pay.language),
        ("postalCode given", pay.postal_code or ""),
    ]


def pay_snippets(record: SessionRecord) -> Snippets:
    """What copy as code offers for a ``<Pay>`` session: the call replays it."""
    note = (
        f"This session was run by a <Pay> verb on call {record.call_sid}: there are no agent"
        " requests to replay. Place the call again (calls.create with the same url) to run"
        " it again; the call's page shows the TwiML it ran."
    )
    return Snippets(python=f"# {note}\n", node=f"// {note}\n")
