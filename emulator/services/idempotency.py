"""IdempotencyKey: the first answer to a key is the answer to every replay, byte for byte.

The Twilio edge runs each create and update as one unit of the database's group commit:
look up the key (a stored answer is sent again as it was), else do the work, render its
answer and store it against the key, all in the same transaction as the state change; the
client gets the answer only once all of it is committed. A refusal of the endpoint's own
rules (a 4xx: a bad parameter, 404, 64xxx) is an answer like any other and is stored too;
401s, 409s and 5xx are not. The key is a unique constraint, so two requests with one key
(two processes sharing the database included) make one state change: the loser of the race
fails its insert and replays the winner's answer.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from emulator.clock import Clock
from emulator.domain.records import Answer, StoredAnswer
from emulator.errors import IdempotencyKeyReused, TwilioError
from emulator.store import idempotency
from emulator.store.db import Database

__all__ = ["IdempotentAnswers", "KeyScope", "Work", "fingerprint"]

Work = Callable[[sqlite3.Connection, int], Answer]
"""Does what a request asks inside the transaction (connection, now in ms), and renders it."""


@dataclass(frozen=True, slots=True)
class KeyScope:
    """Where a key counts: the account and the resource acted on (the call for a create,
    the session for an update), and the request's parameters it was first used with."""

    account_sid: str
    resource_sid: str
    key: str
    fingerprint: str


class IdempotentAnswers:
    def __init__(self, db: Database, clock: Clock, ttl_ms: int) -> None:
        self._db = db
        self._clock = clock
        self._ttl_ms = ttl_ms

    async def answer(self, scope: KeyScope, work: Work) -> Answer:
        """The key's stored answer, or ``work``'s, stored against the key."""
        try:
            return await self._db.write(self._unit(scope, work))
        except TwilioError as error:
            if error.status >= 500 or isinstance(error, IdempotencyKeyReused):
                raise
            # The endpoint refused the request: what the work wrote is rolled back, and the
            # refusal becomes the key's answer (written at once: nothing runs in between).
            refusal = Answer(error.status, error.body())
            return await self._db.write(self._unit(scope, lambda conn, now: refusal))
        except sqlite3.IntegrityError:
            # Another process stored this key between our look-up and our insert: its
            # answer is committed now, so a second pass replays it.
            return await self._db.write(self._unit(scope, work))

    def _unit(self, scope: KeyScope, work: Work) -> Callable[[sqlite3.Connection], Answer]:
        def unit(conn: sqlite3.Connection) -> Answer:
            now = self._clock.now_ms()
            return self._replay(conn, scope, now) or self._remember(
                conn, scope, now, work(conn, now)
            )

        return unit

    def _replay(self, conn: sqlite3.Connection, scope: KeyScope, now: int) -> Answer | None:
        stored = idempotency.lookup(
            conn, scope.account_sid, scope.resource_sid, scope.key, now - self._ttl_ms
        )
        if stored is None:
            return None
        if stored.fingerprint != scope.fingerprint:
            raise IdempotencyKeyReused(
                f"IdempotencyKey '{scope.key}' was already used with different parameters"
            )
        return Answer(stored.status, stored.body)

    def _remember(
        self, conn: sqlite3.Connection, scope: KeyScope, now: int, answer: Answer
    ) -> Answer:
        record = StoredAnswer(scope.fingerprint, answer.status, answer.body)
        idempotency.remember(conn, scope.account_sid, scope.resource_sid, scope.key, record, now)
        return answer

    async def purge_expired(self) -> int:
        """Forget the answers older than the time-to-live; returns how many."""
        not_before = self._clock.now_ms() - self._ttl_ms
        return await self._db.write(lambda conn: idempotency.purge(conn, not_before))


def fingerprint(endpoint: str, form: Iterable[tuple[str, str]]) -> str:
    """A hash of the request's parameters, whatever their order."""
    digest = hashlib.sha256(endpoint.encode())
    for name, value in sorted(form):  # invalid UTF-8 arrives as lone surrogates: kept apart
        digest.update(
            b"\x00"
            + name.encode("utf-8", "surrogateescape")
            + b"\x01"
            + value.encode("utf-8", "surrogateescape")
        )
    return digest.hexdigest()
