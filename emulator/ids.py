"""The identifiers the emulator makes up: SIDs, secrets, tokens and request ids.

Random by default. With a seed (``--seed``), each kind of identifier comes from a stream of
its own, seeded from the seed and the kind: the n-th ``PK`` SID depends only on how many
sessions were started before it, not on how many callbacks or request ids were made in
between (those depend on timing), so a run that receives the same requests gets the same
SIDs and tokens every time.
"""

from __future__ import annotations

import hashlib
import random
import secrets

__all__ = ["IdGenerator"]


class IdGenerator:
    """Makes ``prefix`` + 32 lower-case hex identifiers, and 32-hex secrets and tokens."""

    def __init__(self, seed: int | None = None) -> None:
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        """Start every stream afresh (the same streams again for the same seed)."""
        self.seed = seed
        self._streams: dict[str, random.Random] = {}

    def _hex(self, stream: str) -> str:
        if self.seed is None:
            return secrets.token_hex(16)
        generator = self._streams.get(stream)
        if generator is None:
            digest = hashlib.sha256(f"{self.seed}:{stream}".encode()).digest()
            generator = self._streams[stream] = random.Random(int.from_bytes(digest, "big"))
        return f"{generator.getrandbits(128):032x}"

    def sid(self, prefix: str) -> str:
        return prefix + self._hex(prefix)

    def secret(self) -> str:
        """Auth tokens and API key secrets."""
        return self._hex("secret")

    def token(self) -> str:
        """Callback idempotency tokens, confirmation codes, payment tokens."""
        return self._hex("token")

    def request_id(self) -> str:
        return "RQ" + self._hex("RQ")
