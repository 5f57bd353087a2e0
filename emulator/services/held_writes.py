"""Writes a full disk refused, held in memory and written once space returns.

What the emulator learns from outside and cannot ask again (a merchant's answer to a
connector request) must not be lost because the disk is full at that moment:
:meth:`HeldWrites.write` runs a unit of work in a transaction; when the database answers
``DatabaseFull`` (or writes are already held, to keep them in order) the unit is held and
retried with a growing delay until it is written, or until :meth:`stop` makes a last try. A
unit must therefore be safe to run later than planned (it reads what it needs afresh).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable

from emulator.errors import DatabaseFull
from emulator.store.db import Database

__all__ = ["HeldWrites"]

logger = logging.getLogger("emulator.store")

Unit = Callable[[sqlite3.Connection], None]

FIRST_RETRY_S = 0.2
LAST_RETRY_S = 5.0


class HeldWrites:
    def __init__(self, db: Database, what: str) -> None:
        self._db = db
        self._what = what  # for the log: "connector answers"
        self._held: list[Unit] = []
        self._retrying: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._held)

    async def write(self, unit: Unit) -> None:
        """Write ``unit`` now, or hold it when the disk is full; never raises ``DatabaseFull``
        (other errors come out as usual)."""
        if not self._held:
            try:
                await self._db.write(unit)
                return
            except DatabaseFull:
                logger.warning(
                    "the database is full: %s are held in memory until they can be written",
                    self._what,
                )
        self._held.append(unit)
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.get_running_loop().create_task(self._retry())

    async def _retry(self) -> None:
        delay = FIRST_RETRY_S
        while self._held:
            await asyncio.sleep(delay)
            if await self._flush():
                logger.info("the database takes writes again: held %s written", self._what)
                delay = FIRST_RETRY_S
            else:
                delay = min(delay * 2, LAST_RETRY_S)

    async def _flush(self) -> bool:
        """Write the held units, oldest first; False when the disk is still full."""
        while self._held:
            unit = self._held[0]
            try:
                await self._db.write(unit)
            except DatabaseFull:
                return False
            except Exception:  # a unit that can never be written: dropped, not retried forever
                logger.exception("a held write of %s failed; it is dropped", self._what)
            self._held.pop(0)
        return True

    async def stop(self) -> None:
        """A last try at writing what is held (the emulator is stopping)."""
        if self._retrying is not None:
            self._retrying.cancel()
            await asyncio.gather(self._retrying, return_exceptions=True)
            self._retrying = None
        if self._held and not await self._flush():
            logger.warning(
                "%d %s could not be written before stopping (the disk is still full)",
                len(self._held),
                self._what,
            )
