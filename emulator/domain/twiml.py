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
  ``<Connect>``, ...): :class:`NotEmulated`, which the runner records and passes over;
  ``<Pay>`` is one of them until the interpreter gains it (its place: :data:`NOT_EMULATED`).

Safety: the XML is read by :mod:`emulator.domain.twiml_xml` (expat with no DTD: a
``<!DOCTYPE`` or an entity declaration is refused, with 12100 here, before anything is
expanded; depth and element count bounded); the notices kept (:data:`MAX_NOTICES`) and every
number an attribute may carry are bounded too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

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
    "Pause",
    "Play",
    "Redirect",
    "Reject",
    "Say",
    "TwimlError",
    "Verb",
    "parse",
]

MAX_DOCUMENT_BYTES: Final = 64 * 1024
"""Twilio's limit (11750: "the response body is larger than 64 kB")."""
MAX_NOTICES: Final = 50  # warnings kept per document
MAX_SECONDS: Final = 600  # the longest <Pause> or <Gather> timeout the emulator waits
MAX_DIGITS: Final = 128  # the most digits one <Gather> collects
SAY_ENDLESS_LOOP: Final = 1000
"""``loop="0"``: "loop until either the call is hung up or 1,000 iterations are performed"."""

ERROR: Final = "error"
WARNING: Final = "warning"

VERBS: Final = ("Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Reject")
"""The verbs the emulator runs."""
NOT_EMULATED: Final = (
    "Pay",
    "Dial",
    "Record",
    "Enqueue",
    "Leave",
    "Connect",
    "Start",
    "Stop",
    "Refer",
    "Echo",
    "Sms",
)
"""Voice TwiML verbs (twilio-python's ``VoiceResponse``) the emulator knows but does not run."""
GATHER_NESTABLE: Final = ("Say", "Play", "Pause")
"""What ``<Gather>`` may nest: "You can nest the following verbs within <Gather>: <Say>,
<Play>, <Pause>"."""
_SSML: Final = frozenset(
    {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
)
_DIGITS: Final = re.compile(r"[0-9wW*#]+")


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification, as Twilio's debugger would log it: a code, what happened, its level."""

    code: int
    message: str
    level: str = WARNING


class TwimlError(Exception):
    """A document that is not run: 12100 (parse failure), 12200 (an unknown element) or
    11750 (too large)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    voice: str = "man"
    language: str = "en-US"
    loop: int = 1


@dataclass(frozen=True, slots=True)
class Play:
    url: str
    loop: int = 1
    digits: str = ""


@dataclass(frozen=True, slots=True)
class Pause:
    length: int = 1


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


Verb = Say | Play | Pause | Gather | Redirect | Hangup | Reject | NotEmulated


@dataclass(frozen=True, slots=True)
class Document:
    verbs: tuple[Verb, ...]
    notices: tuple[Notice, ...] = ()


# --- verbs ------------------------------------------------------------------------------------


class _Attributes:
    """One element's attributes, read with Twilio's defaults; problems become notices."""

    def __init__(self, node: Element, label: str, notices: list[Notice]) -> None:
        self._node = node
        self._label = label
        self._notices = notices

    def warn(self, code: int, message: str) -> None:
        if len(self._notices) < MAX_NOTICES:
            self._notices.append(Notice(code, f"{self._label}: {message}"))

    def known(self, *names: str) -> None:
        for name in self._node.attributes:
            if name not in names:
                self.warn(
                    12200,
                    f"unknown attribute '{name[:64]}' on line {self._node.line}"
                    " (attributes are case-sensitive): ignored",
                )

    def get(self, name: str) -> str | None:
        return self._node.attributes.get(name)

    def number(
        self, name: str, default: int, code: int, *, least: int = 1, most: int = MAX_SECONDS
    ) -> int:
        value = self.get(name)
        if value is None:
            return default
        text = value.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 9) or int(text) < least:
            self.warn(code, f"invalid {name} '{value[:32]}': {default} used")
            return default
        if int(text) > most:
            self.warn(code, f"{name} {text} is beyond the emulator's limit: {most} used")
            return most
        return int(text)

    def method(self, code: int) -> str:
        value = self.get("method")
        if value is None:
            return "POST"
        if value.upper() not in ("GET", "POST"):
            self.warn(code, f"invalid method '{value[:32]}': POST used")
            return "POST"
        return value.upper()

    def choice(self, name: str, allowed: tuple[str, ...], code: int) -> str:
        value = self.get(name)
        if value is None:
            return allowed[0]
        if value not in allowed:
            self.warn(code, f"invalid {name} '{value[:32]}': {allowed[0]} used")
            return allowed[0]
        return value


def _say(node: Element, notices: list[Notice], label: str, loop_code: int) -> Say:
    read = _Attributes(node, label, notices)
    read.known("voice", "language", "loop")
    for child in node.elements():
        if child.name not in _SSML and not child.name.startswith("amazon:"):
            read.warn(12200, f"unknown element <{child.name[:64]}> inside <Say>: its text is said")
    loop = read.number("loop", 1, loop_code, least=0, most=SAY_ENDLESS_LOOP)
    text = node.text()
    if not text:
        read.warn(13520, "the text to say is empty")
    elif len(text) > 4096:
        read.warn(13521, f"the text is {len(text)} characters long, over 4096")
    return Say(
        text=text,
        voice=read.get("voice") or "man",
        language=read.get("language") or "en-US",
        loop=loop or SAY_ENDLESS_LOOP,
    )


def _play(node: Element, notices: list[Notice], label: str, in_gather: bool) -> Play:
    read = _Attributes(node, label, notices)
    read.known("loop", "digits")
    loop = read.number("loop", 1, 13410, least=0, most=SAY_ENDLESS_LOOP)
    digits = read.get("digits") or ""
    if digits and (in_gather or not _DIGITS.fullmatch(digits) or len(digits) > 256):
        why = "you can't play digits within a <Gather>" if in_gather else "invalid DTMF string"
        read.warn(13430, f"{why}: the digits are not played")
        digits = ""
    url = node.own_text()
    if not url and not digits:
        read.warn(12200, "neither a URL nor digits to play")
    return Play(url=url, loop=loop or SAY_ENDLESS_LOOP, digits=digits)


def _pause(node: Element, notices: list[Notice], label: str) -> Pause:
    read = _Attributes(node, label, notices)
    read.known("length")
    return Pause(length=read.number("length", 1, 13910))


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
    read = _Attributes(node, "Gather", notices)
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
            children.append(_say(child, notices, "Gather->Say", 13322))
        elif child.name == "Play":
            children.append(_play(child, notices, "Gather->Play", in_gather=True))
        elif child.name == "Pause":
            children.append(_pause(child, notices, "Gather->Pause"))
        elif child.name in VERBS or child.name in NOT_EMULATED:
            read.warn(
                13320,
                f"<{child.name}> cannot be nested in <Gather> (only Say, Play and Pause can):"
                " skipped",
            )
        else:
            raise _unknown(child, "inside <Gather>")
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
    read = _Attributes(node, "Redirect", notices)
    read.known("method")
    return Redirect(url=node.own_text(), method=read.method(13710))


def _hangup(node: Element, notices: list[Notice]) -> Hangup:
    _Attributes(node, "Hangup", notices).known()
    return Hangup()


def _reject(node: Element, notices: list[Notice]) -> Reject:
    read = _Attributes(node, "Reject", notices)
    read.known("reason")
    return Reject(reason=read.choice("reason", ("rejected", "busy"), 13810))


_PARSERS: Final[dict[str, Callable[[Element, list[Notice]], Verb]]] = {
    "Say": lambda node, notices: _say(node, notices, "Say", 13510),
    "Play": lambda node, notices: _play(node, notices, "Play", in_gather=False),
    "Pause": lambda node, notices: _pause(node, notices, "Pause"),
    "Gather": _gather,
    "Redirect": _redirect,
    "Hangup": _hangup,
    "Reject": _reject,
}


def _unknown(node: Element, where: str) -> TwimlError:
    name = node.name[:64]
    hint = ""
    for verb in (*VERBS, *NOT_EMULATED):
        if verb.lower() == name.lower():
            hint = f" (TwiML is case-sensitive: <{verb}>, not <{name}>)"
    return TwimlError(
        12200,
        f"Schema validation warning: unknown element <{name}> {where} on line {node.line}{hint}",
    )


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
            raise _unknown(node, "in <Response>")
    return Document(tuple(verbs), tuple(notices))
