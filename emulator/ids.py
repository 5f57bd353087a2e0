"""The identifiers the emulator makes up: SIDs, tokens and request ids.

Random by default; with a seed, the same sequence on every run (``--seed``).
"""

from __future__ import annotations

import random
import secrets

__all__ = ["IdGenerator"]


class IdGenerator:
    """Makes ``PK…``, ``CA…``, ``RQ…`` ids and secrets: ``prefix`` + 32 lower-case hex."""

    def __init__(self, seed: int | None = None) -> None:
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        self._random: random.Random | None = random.Random(seed) if seed is not None else None

    def hex32(self) -> str:
        if self._random is None:
            return secrets.token_hex(16)
        return f"{self._random.getrandbits(128):032x}"

    def sid(self, prefix: str) -> str:
        return prefix + self.hex32()

    def request_id(self) -> str:
        return "RQ" + self.hex32()
