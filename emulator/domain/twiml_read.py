"""What every TwiML verb's reader shares (pure): the notices a document collects, the error
that stops one from running, an element's attributes read with Twilio's defaults, and the
readers of the verbs other verbs nest (``<Say>``, ``<Play>``, ``<Pause>``: in ``<Gather>``,
in ``<Pay>``'s ``<Prompt>``).

A problem with an attribute is a :class:`Notice` (a warning: the verb runs with Twilio's
default); an element where none may be is a :class:`TwimlError` (12200: the document is not
run). See :mod:`emulator.domain.twiml` for the whole parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from emulator.domain.twiml_xml import Element

__all__ = [
    "ERROR",
    "MAX_NOTICES",
    "MAX_SECONDS",
    "NOT_EMULATED",
    "SAY_ENDLESS_LOOP",
    "VERBS",
    "WARNING",
    "Attributes",
    "Notice",
    "Pause",
    "Play",
    "Say",
    "TwimlError",
    "read_pause",
    "read_play",
    "read_say",
    "unknown_element",
]

MAX_NOTICES: Final = 50  # warnings kept per document
MAX_SECONDS: Final = 600  # the longest <Pause> or <Gather> timeout the emulator waits
SAY_ENDLESS_LOOP: Final = 1000
"""``loop="0"``: "loop until either the call is hung up or 1,000 iterations are performed"."""

ERROR: Final = "error"
WARNING: Final = "warning"

VERBS: Final = ("Say", "Play", "Pause", "Gather", "Pay", "Redirect", "Hangup", "Reject")
"""The verbs the emulator runs."""
NOT_EMULATED: Final = (
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

_SSML: Final = frozenset(
    {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
)
_DIGITS: Final = frozenset("0123456789wW*#")


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


class Attributes:
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

    def method(self, code: int, name: str = "method") -> str:
        value = self.get(name)
        if value is None:
            return "POST"
        if value.upper() not in ("GET", "POST"):
            self.warn(code, f"invalid {name} '{value[:32]}': POST used")
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

    def flag(self, name: str, default: bool, code: int = 12200) -> bool:
        """``true`` or ``false`` (any case); the default, with a warning, for anything else."""
        value = self.get(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            self.warn(
                code, f"{name} '{value[:32]}' is not true or false: {str(default).lower()} used"
            )
            return default
        return lowered == "true"


def read_say(node: Element, notices: list[Notice], label: str, loop_code: int) -> Say:
    read = Attributes(node, label, notices)
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


def read_play(node: Element, notices: list[Notice], label: str, nested: bool) -> Play:
    """``nested``: inside ``<Gather>`` (or another verb), where digits cannot be played."""
    read = Attributes(node, label, notices)
    read.known("loop", "digits")
    loop = read.number("loop", 1, 13410, least=0, most=SAY_ENDLESS_LOOP)
    digits = read.get("digits") or ""
    if digits and (nested or set(digits) - _DIGITS or len(digits) > 256):
        why = "you can't play digits within a <Gather>" if nested else "invalid DTMF string"
        read.warn(13430, f"{why}: the digits are not played")
        digits = ""
    url = node.own_text()
    if not url and not digits:
        read.warn(12200, "neither a URL nor digits to play")
    return Play(url=url, loop=loop or SAY_ENDLESS_LOOP, digits=digits)


def read_pause(node: Element, notices: list[Notice], label: str) -> Pause:
    read = Attributes(node, label, notices)
    read.known("length")
    return Pause(length=read.number("length", 1, 13910))


def unknown_element(node: Element, where: str) -> TwimlError:
    """12200 for an element TwiML does not know where it stands (with a hint when only its
    case is wrong)."""
    name = node.name[:64]
    hint = ""
    for verb in (*VERBS, *NOT_EMULATED, "Prompt", "Parameter"):
        if verb.lower() == name.lower() and verb != name:
            hint = f" (TwiML is case-sensitive: <{verb}>, not <{name}>)"
    return TwimlError(
        12200,
        f"Schema validation warning: unknown element <{name}> {where} on line {node.line}{hint}",
    )
