"""Which ``<Prompt>`` the caller hears at a step of ``<Pay>`` (pure).

Twilio documents what each attribute means, not how they combine
(https://www.twilio.com/docs/voice/twiml/pay/prompt): ``for`` "specifies which payment step's
prompt you wish to customize"; ``cardType`` customizes it "for specific payment card types";
``attempt``, "for each attempt to gather a payment step's information"; ``errorType``, "if
their input for a given payment step was invalid"; ``requireMatchingInputs="true"``, the
prompt "to re-enter the information for verification purposes". How they combine is the
emulator's choice:

* candidates: the prompts for this step, whose ``cardType`` (if any) names the card's
  detected type, whose ``attempt`` (if any) names this attempt, whose ``errorType`` (if any)
  names the error that ended this step's previous attempt (``input-timeout`` is the prompt's
  ``timeout``), and whose ``requireMatchingInputs`` says whether this is the second entry;
* a prompt with an ``errorType`` is never chosen on an attempt that follows no error (the
  first one);
* the most specific candidate wins (the most of ``cardType``, ``attempt``, ``errorType``
  given), then the first in the document;
* none: Twilio's default prompt for the step ("the caller will hear default prompts for
  each step of the payment process"), whose words Twilio does not publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from emulator.domain.twiml_prompt import Prompt

__all__ = ["Asking", "choose", "prompt_error", "specificity"]

_SPELLED: Final = {"input-timeout": "timeout"}
"""The statusCallback's ``ErrorType`` -> the prompt's ``errorType``, where they differ."""


def prompt_error(error_type: str | None) -> str | None:
    """An error as a prompt's ``errorType`` names it (``input-timeout`` is ``timeout``)."""
    if error_type is None:
        return None
    return _SPELLED.get(error_type, error_type)


@dataclass(frozen=True, slots=True)
class Asking:
    """Where ``<Pay>`` is: the step, its attempt (from 1), the error that ended the step's
    previous attempt (statusCallback spelling), the card's detected type, and whether the
    caller is asked to enter the step's value a second time."""

    step: str
    attempt: int = 1
    error: str | None = None
    card_type: str | None = None
    matching: bool = False


def _fits(prompt: Prompt, asking: Asking) -> bool:
    if prompt.for_ != asking.step:
        return False
    if prompt.require_matching_inputs != asking.matching:
        return False
    if prompt.card_types and asking.card_type not in prompt.card_types:
        return False
    if prompt.attempts and asking.attempt not in prompt.attempts:
        return False
    if prompt.error_types:
        error = prompt_error(asking.error)
        if error is None or error not in prompt.error_types:
            return False
    return True


def specificity(prompt: Prompt) -> int:
    """How many of ``cardType``, ``attempt`` and ``errorType`` the prompt gives."""
    return bool(prompt.card_types) + bool(prompt.attempts) + bool(prompt.error_types)


def choose(prompts: Sequence[Prompt], asking: Asking) -> Prompt | None:
    """The prompt the caller hears, or None: Twilio's default prompt for the step."""
    best: Prompt | None = None
    for prompt in prompts:
        if _fits(prompt, asking) and (best is None or specificity(prompt) > specificity(best)):
            best = prompt
    return best
