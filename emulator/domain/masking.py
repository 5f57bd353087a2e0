"""Card numbers in free text, masked: what the emulator keeps and shows never holds one.

Any text the emulator stores, logs or shows, whatever its source (API parameters, a
merchant's or a receiver's answer, a fault rule, the journal), goes through
:func:`mask_card_numbers` first. It masks every run of 12 to 19 digits that passes the Luhn
check, as a card number would, keeping its last four digits (``xxxxxxxxxxxx1111``):

* written plain, or with single spaces, dashes or dots between the digits
  (``4111 1111 1111 1111``, ``4111-1111-1111-1111``, ``4111.1111.1111.1111``), the
  separators kept;
* or inside a longer run of digits (``00004111111111111111``), where every 12-to-19-digit
  window that passes the Luhn check is masked.

Digit runs that no card number could be (an order or invoice number that fails the check)
are left as they are, and so are Twilio SIDs (two capital letters and 32 hexadecimal
characters, at least one a letter, as a word of its own: ``PK71999f...``): about one SID in
a hundred holds a Luhn-valid run of 12 digits or more by chance, and masking it would
break the identifiers tests look things up by. The digits around a SID are checked as usual.
A run of more than :data:`LONGEST_RUN` digits is masked whole but its
last four: checking every window of it would cost more than it is worth.

This masking is for what the emulator keeps and shows; what it forwards to a user's own
endpoint (a connector's ``description`` and ``parameters``) goes as the API received it.
Twilio's own masking of callback fields (``PaymentCardNumber`` and the like) is
:mod:`emulator.domain.cards`'s.
"""

from __future__ import annotations

import re
from typing import Final

from emulator.domain.cards import luhn_valid

__all__ = ["LONGEST_RUN", "mask_card_numbers"]

SHORTEST: Final = 12
LONGEST: Final = 19
LONGEST_RUN: Final = 64
"""Digits in one run beyond which the run is masked whole (but its last four)."""
VISIBLE: Final = 4

# 12 or more digits, with single separators between them
_RUN = re.compile(r"[0-9](?:[ .-]?[0-9]){11,}")


# A Twilio SID as a word of its own: its hexadecimal part holds a letter (a run of 32 digits
# is a number, checked as one)
_SID = re.compile(r"(?<![0-9A-Za-z])[A-Z]{2}(?=[0-9]*[a-fA-F])[0-9a-fA-F]{32}(?![0-9A-Za-z])")


def mask_card_numbers(text: str) -> str:
    """``text`` with every card number in it masked (see the module's docstring)."""
    if _RUN.search(text) is None:
        return text
    parts: list[str] = []
    done = 0
    for sid in _SID.finditer(text):  # kept as they are; the text between them is masked
        parts += [_RUN.sub(_mask_run, text[done : sid.start()]), sid.group()]
        done = sid.end()
    parts.append(_RUN.sub(_mask_run, text[done:]))
    return "".join(parts)


def _mask_run(match: re.Match[str]) -> str:
    run = match.group()
    positions = [i for i, char in enumerate(run) if char.isdigit()]
    digits = "".join(run[i] for i in positions)
    hidden = _hidden(digits)
    if not any(hidden):
        return run
    chars = list(run)
    for index, hide in zip(positions, hidden, strict=True):
        if hide:
            chars[index] = "x"
    return "".join(chars)


def _hidden(digits: str) -> list[bool]:
    """Which digits to mask: those of every Luhn-valid window but its last four."""
    count = len(digits)
    if count > LONGEST_RUN:
        return [True] * (count - VISIBLE) + [False] * VISIBLE
    hidden = [False] * count
    for start in range(count - SHORTEST + 1):
        for length in range(SHORTEST, min(LONGEST, count - start) + 1):
            if luhn_valid(digits[start : start + length]):
                for index in range(start, start + length - VISIBLE):
                    hidden[index] = True
    return hidden
