"""``<Pay>``'s nouns, read from a TwiML document (pure): ``<Prompt>`` and ``<Parameter>``.

https://www.twilio.com/docs/voice/twiml/pay/prompt: ``<Prompt for= cardType= attempt=
errorType= requireMatchingInputs=>`` nests ``<Say>``, ``<Play>`` and ``<Pause>``; a ``for``
outside the seven payment steps, or a ``<Prompt>`` without one, is a warning and the prompt is
not used (the official sample's ``for="security-date"`` typo is one); a value of ``cardType``,
``attempt`` ("An integer from 1-10") or ``errorType`` outside its list is a warning and is
left out. https://www.twilio.com/docs/voice/twiml/pay/twiml-voice-parameter: ``<Parameter
name= value=>`` reaches a Generic Pay Connector's ``parameters``; one without a name is a
warning and is left out. Which prompt is heard when is :mod:`emulator.domain.prompts`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from emulator.domain.cards import KNOWN_CARD_BRANDS
from emulator.domain.twiml_read import (
    VERBS,
    Attributes,
    Notice,
    Pause,
    Play,
    Say,
    read_pause,
    read_play,
    read_say,
    unknown_element,
)
from emulator.domain.twiml_xml import Element
from emulator.domain.vocabulary import BANK_ITEMS, CARD_ITEMS

__all__ = [
    "MAX_TEXT",
    "PROMPT_ERROR_TYPES",
    "PROMPT_STEPS",
    "Parameter",
    "Prompt",
    "read_parameter",
    "read_prompt",
]

MAX_TEXT: Final = 1024  # characters of a description, a connector name, a parameter

PROMPT_STEPS: Final = (*CARD_ITEMS, *BANK_ITEMS, "payment-processing")
"""``<Prompt for=...>``: "There are seven payment steps in the <Pay> process"."""
PROMPT_ERROR_TYPES: Final = (
    "timeout",
    "invalid-card-number",
    "invalid-card-type",
    "invalid-date",
    "invalid-security-code",
    "invalid-postal-code",
    "invalid-bank-routing-number",
    "invalid-bank-account-number",
    "input-matching-failed",
)
"""``<Prompt errorType=...>``: the table's values, and ``invalid-postal-code``, which its
description lists."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """What the caller hears for one payment step (``for``), when the other attributes
    match: the card's type, the attempt, the previous error, the second entry of a matched
    item. ``position``: its place among the ``<Pay>``'s prompts (document order)."""

    for_: str
    card_types: tuple[str, ...] = ()
    attempts: tuple[int, ...] = ()
    error_types: tuple[str, ...] = ()
    require_matching_inputs: bool = False
    children: tuple[Say | Play | Pause, ...] = ()
    position: int = 0

    def describe(self) -> str:
        """The prompt's opening tag, as the timeline shows which one was chosen."""
        parts = [f'for="{self.for_}"']
        if self.card_types:
            parts.append(f'cardType="{" ".join(self.card_types)}"')
        if self.attempts:
            parts.append(f'attempt="{" ".join(map(str, self.attempts))}"')
        if self.error_types:
            parts.append(f'errorType="{" ".join(self.error_types)}"')
        if self.require_matching_inputs:
            parts.append('requireMatchingInputs="true"')
        return f"<Prompt {' '.join(parts)}>"


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    value: str


def _words(read: Attributes, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    value = read.get(name)
    if value is None:
        return ()
    words = [word for word in value.split() if word]
    kept = tuple(dict.fromkeys(word for word in words if word in allowed))
    for word in words:
        if word not in allowed:
            read.warn(12200, f"{name} '{word[:32]}' is not one of {', '.join(allowed)}: ignored")
    return kept


def read_prompt(node: Element, notices: list[Notice], position: int) -> Prompt | None:
    read = Attributes(node, "Pay->Prompt", notices)
    read.known("for", "cardType", "attempt", "errorType", "requireMatchingInputs")
    step = (read.get("for") or "").strip()
    children: list[Say | Play | Pause] = []
    for child in node.elements():
        if child.name == "Say":
            children.append(read_say(child, notices, "Prompt->Say", 13322))
        elif child.name == "Play":
            children.append(read_play(child, notices, "Prompt->Play", nested=True))
        elif child.name == "Pause":
            children.append(read_pause(child, notices, "Prompt->Pause"))
        elif child.name in VERBS or child.name in ("Prompt", "Parameter"):
            read.warn(
                12200,
                f"<{child.name}> cannot be nested in <Prompt> (only Say, Play and Pause can):"
                " skipped",
            )
        else:
            raise unknown_element(child, "inside <Prompt>")
    if step not in PROMPT_STEPS:
        why = "has no for attribute" if not step else f"for '{step[:32]}' is not a payment step"
        read.warn(12200, f"the prompt {why} ({', '.join(PROMPT_STEPS)}): it is not used")
        return None
    attempts: list[int] = []
    for word in (read.get("attempt") or "").split():
        if word.isascii() and word.isdigit() and 1 <= int(word) <= 10:
            attempts.append(int(word))
        else:
            read.warn(12200, f"attempt '{word[:16]}' is not an integer from 1 to 10: ignored")
    return Prompt(
        for_=step,
        card_types=_words(read, "cardType", tuple(sorted(KNOWN_CARD_BRANDS))),
        attempts=tuple(dict.fromkeys(attempts)),
        error_types=_words(read, "errorType", PROMPT_ERROR_TYPES),
        require_matching_inputs=read.flag("requireMatchingInputs", False),
        children=tuple(children),
        position=position,
    )


def read_parameter(node: Element, notices: list[Notice]) -> Parameter | None:
    read = Attributes(node, "Pay->Parameter", notices)
    read.known("name", "value")
    name = (read.get("name") or "").strip()
    if not name:
        read.warn(12200, "a <Parameter> without a name: ignored")
        return None
    return Parameter(name[:MAX_TEXT], (read.get("value") or "")[:MAX_TEXT])
