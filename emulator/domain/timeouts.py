"""When the caller's silence ends a prompt: the session's input deadline (pure).

Twilio's spec of ``Timeout`` (CreatePaymentsRequest, twilio-oai ``twilio_api_v2010.json``):
"The number of seconds that <Pay> should wait for the caller to press a digit between each
subsequent digit, after the first one, before moving on to validate the digits captured. The
default is `5`, maximum is `600`." So by default (``first-digit``) the deadline runs only
while an entry is under way: from each digit the caller keys until the entry is complete. No
source gives a limit before the first digit: a caller who keys nothing is never timed out (the
emulator's choice; a session then waits for the agent's cancel or complete, or a hang-up).

``capture`` is the other reading, and the emulator's former behaviour: the deadline runs from
the accepted Capture, and again from every entry, so a caller who keys nothing is timed out
too (``ErrorType=input-timeout``).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from emulator.domain.machine import Session, State

__all__ = ["INPUT_TIMEOUT_FROM", "INPUT_TIMEOUT_FROMS", "InputTimeoutFrom", "input_deadline_ms"]

InputTimeoutFrom = Literal["first-digit", "capture"]
INPUT_TIMEOUT_FROMS: Final[tuple[InputTimeoutFrom, ...]] = get_args(InputTimeoutFrom)
INPUT_TIMEOUT_FROM: Final[InputTimeoutFrom] = "first-digit"
"""The default: Twilio's spec."""


def input_deadline_ms(
    session: Session,
    timeout_s: int,
    now_ms: int,
    *,
    entry_under_way: bool,
    starts: InputTimeoutFrom = INPUT_TIMEOUT_FROM,
) -> int | None:
    """When the caller's silence will end the prompt, for a session now in ``session``
    (None: never, nothing is being captured or nothing was keyed yet). ``entry_under_way``:
    the caller has keyed part of the current entry (the step that led here was a digit)."""
    if session.state is not State.ACTIVE or session.capturing is None:
        return None
    if starts == "first-digit" and not entry_under_way:
        return None
    return now_ms + timeout_s * 1000
