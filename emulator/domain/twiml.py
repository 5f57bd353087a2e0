"""TwiML for Programmable Voice, parsed: a document's bytes become the verbs to run (pure).

https://www.twilio.com/docs/voice/twiml: the root is ``<Response>``; verbs and attributes are
case-sensitive ("TwiML is case-sensitive, so <Say> works, but <say> will not", error 12200);
the interpreter runs the verbs "in order from top to bottom". What the parser makes of a
document:

* not well-formed XML, or a root other than ``<Response>``: :class:`TwimlError` 12100
  ("Document parse failure"); a document over 64 KiB: 11750 ("the response body is larger
  than 64 kB");
* an element TwiML does not know (``<say>``, ``<Message>``, a typo), where a verb or a
  ``<Gather>``'s nested verb is expected: 12200 ("Schema validation warning": "Misspelled
  verbs", "Unknown or unexpected nested elements"), as an error: the document is not run;
* an attribute TwiML does not know: a 12200 :class:`Notice` (a warning), and the verb runs;
* an attribute value out of its range: the verb's own 13xxx warning (13313 "Gather: Invalid
  timeout value", 13910 "Pause: Invalid length value", ...) and Twilio's default instead;
* a verb Twilio has that the emulator does not emulate (``<Dial>``, ``<Record>``,
  ``<Connect>``, ...): :class:`NotEmulated`, which the runner records and passes over.

``<Pay>`` and its nouns are read by :mod:`emulator.domain.twiml_pay`; what every verb's
reader shares (notices, attributes, the nested ``<Say>``, ``<Play>``, ``<Pause>``) is in
:mod:`emulator.domain.twiml_read`.

Safety: the XML is read by :mod:`emulator.domain.twiml_xml` (expat with no DTD: a
``<!DOCTYPE`` or an entity declaration is refused, with 12100 here, before anything is
expanded; depth and element count bounded); the notices kept (:data:`MAX_NOTICES`) and every
number an attribute may carry are bounded too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from emulator.domain.twiml_pay import Pay, read_pay
from emulator.domain.twiml_prompt import Parameter, Prompt
from emulator.domain.twiml_read import (
    ERROR,
    MAX_NOTICES,
    MAX_SECONDS,
    NOT_EMULATED,
    SAY_ENDLESS_LOOP,
    VERBS,
    WARNING,
    Attributes,
    Notice,
    Pause,
    Play,
    Say,
    TwimlError,
    read_pause,
    read_play,
    read_say,
    unknown_element,
)
from emulator.domain.twiml_xml import MAX_DEPTH, MAX_ELEMENTS, Element, XmlError, read_xml

__all__ = [
    "ERROR",
    "GATHER_NESTABLE",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_DOCUMENT_BYTES",
    "MAX_ELEMENTS",
    "MAX_NOTICES",
    "MAX_SECONDS",
    "NOT_EMULATED",
    "SAY_ENDLESS_LOOP",
    "VERBS",
    "WARNING",
    "Document",
    "Gather",
    "Hangup",
    "NotEmulated",
    "Notice",
    "Parameter",
    "Pause",
    "Pay",
    "Play",
    "Prompt",
    "Redirect",
    "Reject",
    "Say",
    "TwimlError",
    "Verb",
    "parse",
]

MAX_DOCUMENT_BYTES: Final = 64 * 1024
"""Twilio's limit (11750: "the response body is larger than 64 kB")."""
MAX_DIGITS: Final = 128  # the most digits one <Gather> collects

GATHER_NESTABLE: Final = ("Say", "Play", "Pause")
"""What ``<Gather>`` may nest: "You can nest the following verbs within <Gather>: <Say>,
<Play>, <Pause>"."""


@dataclass(frozen=True, slots=True)
class Gather:
    """``action`` None: the current document's URL (Twilio's default)."""

    action: str | None = None
    method: str = "POST"
    timeout: int = 5
    finish_on_key: str = "#"
    num_digits: int | None = None
    input: tuple[str, ...] = ("dtmf",)
    action_on_empty_result: bool = False
    children: tuple[Say | Play | Pause, ...] = ()


@dataclass(frozen=True, slots=True)
class Redirect:
    url: str
    method: str = "POST"


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str = "rejected"


@dataclass(frozen=True, slots=True)
class NotEmulated:
    """A TwiML verb the emulator does not run: its name and attributes, for the timeline."""

    name: str
    attributes: tuple[tuple[str, str], ...] = ()


Verb = Say | Play | Pause | Gather | Pay | Redirect | Hangup | Reject | NotEmulated


@dataclass(frozen=True, slots=True)
class Document:
    verbs: tuple[Verb, ...]
    notices: tuple[Notice, ...] = ()


# --- verbs ------------------------------------------------------------------------------------


_GATHER_IGNORED: Final = (
    "speechTimeout",
    "language",
    "hints",
    "partialResultCallback",
    "partialResultCallbackMethod",
    "profanityFilter",
    "speechModel",
    "enhanced",
    "bargeIn",
    "maxSpeechTime",
    "debug",
)


def _gather(node: Element, notices: list[Notice]) -> Gather:
    read = Attributes(node, "Gather", notices)
    read.known(
        "action",
        "method",
        "timeout",
        "finishOnKey",
        "numDigits",
        "input",
        "actionOnEmptyResult",
        *_GATHER_IGNORED,
    )
    finish = read.get("finishOnKey")
    if finish is None:
        finish = "#"
    elif len(finish) > 1:
        read.warn(13311, f"finishOnKey '{finish[:32]}' is not a single character: # used")
        finish = "#"
    elif finish and finish not in "0123456789#*":
        read.warn(13310, f"finishOnKey '{finish}' is not one of 0123456789#*: # used")
        finish = "#"
    num_digits = None
    if read.get("numDigits") is not None:
        num_digits = read.number("numDigits", 0, 13314, most=MAX_DIGITS) or None
    inputs = tuple((read.get("input") or "dtmf").split())
    if not inputs or any(kind not in ("dtmf", "speech") for kind in inputs):
        read.warn(13326, f"invalid input '{(read.get('input') or '')[:32]}': dtmf used")
        inputs = ("dtmf",)
    empty = (read.get("actionOnEmptyResult") or "false").lower()
    if empty not in ("true", "false"):
        read.warn(12200, "actionOnEmptyResult is not true or false: false used")
        empty = "false"
    children: list[Say | Play | Pause] = []
    for child in node.elements():
        if child.name == "Say":
            children.append(read_say(child, notices, "Gather->Say", 13322))
        elif child.name == "Play":
            children.append(read_play(child, notices, "Gather->Play", nested=True))
        elif child.name == "Pause":
            children.append(read_pause(child, notices, "Gather->Pause"))
        elif child.name in VERBS or child.name in NOT_EMULATED:
            read.warn(
                13320,
                f"<{child.name}> cannot be nested in <Gather> (only Say, Play and Pause can):"
                " skipped",
            )
        else:
            raise unknown_element(child, "inside <Gather>")
    action = read.get("action")
    return Gather(
        action=action.strip() if action and action.strip() else None,
        method=read.method(13312),
        timeout=read.number("timeout", 5, 13313),
        finish_on_key=finish,
        num_digits=num_digits,
        input=inputs,
        action_on_empty_result=empty == "true",
        children=tuple(children),
    )


def _redirect(node: Element, notices: list[Notice]) -> Redirect:
    read = Attributes(node, "Redirect", notices)
    read.known("method")
    return Redirect(url=node.own_text(), method=read.method(13710))


def _hangup(node: Element, notices: list[Notice]) -> Hangup:
    Attributes(node, "Hangup", notices).known()
    return Hangup()


def _reject(node: Element, notices: list[Notice]) -> Reject:
    read = Attributes(node, "Reject", notices)
    read.known("reason")
    return Reject(reason=read.choice("reason", ("rejected", "busy"), 13810))


_PARSERS: Final[dict[str, Callable[[Element, list[Notice]], Verb]]] = {
    "Say": lambda node, notices: read_say(node, notices, "Say", 13510),
    "Play": lambda node, notices: read_play(node, notices, "Play", nested=False),
    "Pause": lambda node, notices: read_pause(node, notices, "Pause"),
    "Gather": _gather,
    "Pay": read_pay,
    "Redirect": _redirect,
    "Hangup": _hangup,
    "Reject": _reject,
}


def parse(data: bytes) -> Document:
    """The verbs of a TwiML document, or :class:`TwimlError`."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise TwimlError(
            11750,
            f"TwiML response body too large: {len(data)} bytes, over {MAX_DOCUMENT_BYTES}",
        )
    try:
        root = read_xml(data)
    except XmlError as exc:
        raise TwimlError(12100, f"Document parse failure: {exc}") from None
    if root.name != "Response":
        raise TwimlError(
            12100,
            f"Document parse failure: the root element is <{root.name[:64]}>, not <Response>",
        )
    notices: list[Notice] = []
    if root.own_text():
        notices.append(Notice(12200, "Response: text outside any verb is ignored"))
    verbs: list[Verb] = []
    for node in root.elements():
        reader = _PARSERS.get(node.name)
        if reader is not None:
            verbs.append(reader(node, notices))
        elif node.name in NOT_EMULATED:
            verbs.append(NotEmulated(node.name, tuple(sorted(node.attributes.items()))))
        else:
            raise unknown_element(node, "in <Response>")
    return Document(tuple(verbs), tuple(notices))
