"""The database: one SQLite connection, its pragmas, the schema, and group commit.

Every write runs on the event loop's thread, on one connection, inside a transaction that
is shared by the writes that arrive in the same turn of the loop (group commit): the first
write of a turn opens ``BEGIN IMMEDIATE`` and schedules the ``COMMIT`` for the next turn;
each write runs in its own savepoint, so a failed one is undone alone; each caller gets its
result only once the commit has happened. A request is therefore answered only after its
state change is durable, while the cost of a commit is shared by every request of a burst.

The schema is the DDL generated from the SQLModel tables in ``store/models.py``
(``store/schema.py``); the hot path uses plain SQL through :mod:`sqlite3`, with its
statement cache, and builds no ORM objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from emulator.errors import ConfigError, DatabaseFull
from emulator.store.schema import SCHEMA_VERSION, STATEMENTS

__all__ = ["Database", "is_disk_full", "sqlite_path"]

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
CHECKPOINT_INTERVAL_S = 0.5
WAL_RESTART_FRAMES = 16384  # 64 MiB of 4 KiB pages

logger = logging.getLogger("emulator.db")


def sqlite_path(url: str) -> str | None:
    """The file a SQLite URL in SQLAlchemy's form names (``sqlite:///relative.db``,
    ``sqlite:////absolute.db``), or None for an in-memory database (``sqlite://``)."""
    scheme, separator, rest = url.partition("://")
    if not separator or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise ConfigError(f"invalid database URL {url!r}: expected sqlite:///PATH or sqlite://")
    if not re.fullmatch(r"sqlite(\+pysqlite)?", scheme.lower()):
        raise ConfigError(
            f"unsupported database URL {url!r}: only SQLite is supported (sqlite:///PATH or sqlite://)"
        )
    if rest and not rest.startswith("/"):
        raise ConfigError(f"invalid database URL {url!r}: a SQLite URL names no host")
    path = unquote(rest[1:].partition("?")[0])
    return None if path in ("", ":memory:") else path


class Database:
    """The emulator's one connection, with group-committed writes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        if self.path is not None:
            parent = Path(self.path).resolve().parent
            if not parent.is_dir():
                raise ConfigError(
                    f"cannot open database {self.path!r}: directory {parent} does not exist"
                )
        try:
            self.conn = sqlite3.connect(
                self.path or ":memory:",
                isolation_level=None,  # we issue BEGIN and COMMIT ourselves
                check_same_thread=False,
                cached_statements=512,
            )
            self._configure()
            self._create_schema()
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open database {self.path or url!r}: {exc}") from None
        self._batch: list[tuple[asyncio.Future[Any], Any]] | None = None
        self._checkpointer: Checkpointer | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._commit_listeners: list[Callable[[], None]] = []

    # --- set-up ------------------------------------------------------------------------

    def _configure(self) -> None:
        execute = self.conn.execute
        execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if self.path is not None:
            mode = execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise ConfigError(f"cannot put database {self.path!r} in WAL mode (got {mode})")
        # NORMAL in WAL mode: a commit is in the WAL file before the answer leaves, so it
        # survives the emulator being killed; only an OS crash or power cut could lose the
        # last commits, which does not matter for test data and saves an fsync per commit.
        execute("PRAGMA synchronous = NORMAL")
        execute("PRAGMA foreign_keys = ON")
        execute("PRAGMA temp_store = MEMORY")
        if self.path is not None:
            # Checkpoints (copying the WAL into the database file, with an fsync) run in a
            # thread of their own (see Checkpointer): on the loop they stall every request.
            execute("PRAGMA wal_autocheckpoint = 0")

    def _create_schema(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        has_tables = self.conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ).fetchone()[0]
        if has_tables and version != SCHEMA_VERSION:
            raise ConfigError(
                f"database {self.path!r} has schema version {version}, this emulator needs "
                f"{SCHEMA_VERSION}: delete the file or choose another --database"
            )
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in STATEMENTS:
                self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def start_checkpointer(self) -> None:
        if self.path is not None and self._checkpointer is None:
            self._checkpointer = Checkpointer(self.path)
            self._checkpointer.start()

    def close(self) -> None:
        if self._batch is not None:
            self._commit()
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self.path is not None:
            with contextlib.suppress(sqlite3.Error):  # leave a tidy file behind
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()

    # --- transactions --------------------------------------------------------------------

    def run_sync(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in a transaction of its own, now (start-up, before the loop runs)."""
        if self._batch is not None:
            raise RuntimeError("run_sync() while a group commit is open")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(self.conn)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return result

    async def write(self, work: Callable[[sqlite3.Connection], T], *, savepoint: bool = True) -> T:
        """Run ``work`` now, in this turn's transaction; return its result once committed.

        If ``work`` raises, what it wrote is rolled back and the exception propagates at once.
        ``savepoint=False`` saves two statements for work whose first statement is its only
        one that can fail (nothing to undo then).

        A full disk (SQLITE_FULL, while ``work`` writes or at the commit) raises
        :class:`~emulator.errors.DatabaseFull`: nothing of the failed transaction stays, and
        the next write starts afresh (it succeeds once space is freed).
        """
        return await self.write_soon(work, savepoint=savepoint)

    def write_soon(
        self, work: Callable[[sqlite3.Connection], T], *, savepoint: bool = True
    ) -> asyncio.Future[T]:
        """:meth:`write` without waiting: ``work`` runs now (its exception, if any, is raised
        now) and the returned future completes at the commit, with ``work``'s result or the
        commit's error (:class:`~emulator.errors.DatabaseFull` for a full disk). For work that
        must not hold its caller up until the commit (a delivery's record)."""
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self.conn.execute("BEGIN IMMEDIATE")
            self._batch = []
            loop.call_soon(self._commit)
        if savepoint:
            self.conn.execute("SAVEPOINT work")
        hooks_before = len(self._after_commit)
        try:
            result = work(self.conn)
        except BaseException as exc:
            if not self.conn.in_transaction:
                # SQLite rolled the whole transaction back (it may, on SQLITE_FULL, IOERR or
                # NOMEM): the other writes of this turn are undone too.
                self._abort_batch(exc)
            else:
                del self._after_commit[hooks_before:]  # what was undone must not be announced
                if savepoint:
                    self.conn.execute("ROLLBACK TO work")
                    self.conn.execute("RELEASE work")
            if is_disk_full(exc):
                raise DatabaseFull() from exc
            raise
        if savepoint:
            self.conn.execute("RELEASE work")
        done: asyncio.Future[T] = loop.create_future()
        self._batch.append((done, result))
        return done

    def add_commit_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every commit (e.g. to tell live views that state changed)."""
        self._commit_listeners.append(listener)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the current transaction has committed (dropped if the write
        that registered it is rolled back)."""
        self._after_commit.append(callback)

    def _commit(self) -> None:
        batch, self._batch = self._batch, None
        callbacks, self._after_commit = self._after_commit, []
        if batch is None:
            return
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # it may be gone already
                    self.conn.execute("ROLLBACK")
            _fail(batch, exc)
            return
        for done, result in batch:
            if not done.done():
                done.set_result(result)
        for callback in callbacks:
            callback()
        for listener in self._commit_listeners:
            listener()
        if self._checkpointer is not None and self._checkpointer.due():
            self._checkpointer.restart(self.conn)

    def _abort_batch(self, exc: BaseException) -> None:
        """The open transaction is gone (rolled back by SQLite): fail every write of it."""
        batch, self._batch = self._batch, None
        self._after_commit.clear()
        if batch:
            _fail(batch, exc)


def is_disk_full(exc: BaseException) -> bool:
    """Whether SQLite reported SQLITE_FULL ("database or disk is full")."""
    return isinstance(exc, sqlite3.Error) and (
        getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        or "database or disk is full" in str(exc)
    )


def _fail(batch: list[tuple[asyncio.Future[Any], Any]], exc: BaseException) -> None:
    """Fail the writes of a transaction that did not commit: DatabaseFull (one each) when the
    disk is full, else the error itself."""
    full = is_disk_full(exc)
    if full:
        logger.warning(
            "the database's disk is full: a transaction of %d writes was rolled back", len(batch)
        )
    for done, _ in batch:
        if not done.done():
            if full:
                error = DatabaseFull()
                error.__cause__ = exc
                done.set_exception(error)
            else:
                done.set_exception(exc)


class Checkpointer(threading.Thread):
    """Keeps the WAL short: copies it into the database file in the background, and has it
    start over from time to time.

    A passive checkpoint, on a connection of this thread's own, never waits for the writer,
    and SQLite releases the GIL while it reads, writes and fsyncs, so the event loop keeps
    answering meanwhile. But under a steady stream of writes a passive checkpoint never
    reaches the last frame, and the WAL only starts over once one has: it grew to gigabytes
    in the benchmark. So once it holds ``restart_frames`` frames, the loop's own connection
    (``restart``), between two transactions, copies the little the passive checkpoints left
    and truncates the WAL: a pause of a few milliseconds every few seconds of heavy load.
    """

    def __init__(
        self,
        path: str,
        interval_s: float = CHECKPOINT_INTERVAL_S,
        restart_frames: int = WAL_RESTART_FRAMES,
    ) -> None:
        super().__init__(name="sqlite-checkpointer", daemon=True)
        self._path = path
        self._interval_s = interval_s
        self._restart_frames = restart_frames
        self._stopping = threading.Event()
        self._checkpointing = threading.Lock()
        self.wal_frames = 0
        self.restarts = 0

    def run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            failing = False
            while not self._stopping.wait(self._interval_s):
                with self._checkpointing:
                    try:
                        _, self.wal_frames, _ = conn.execute(
                            "PRAGMA wal_checkpoint(PASSIVE)"
                        ).fetchone()
                        failing = False
                    except sqlite3.Error as exc:
                        if not failing:  # once per episode: a full disk lasts a while
                            logger.warning("WAL checkpoint failed (will keep trying): %s", exc)
                        failing = True
        finally:
            conn.close()

    def due(self) -> bool:
        return self.wal_frames >= self._restart_frames

    def restart(self, conn: sqlite3.Connection) -> None:
        """On the writer's connection, with no transaction open: empty the WAL."""
        if not self._checkpointing.acquire(blocking=False):
            return  # a passive checkpoint is running: next time
        try:
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.wal_frames = 0
            self.restarts += 1
        except sqlite3.Error:
            logger.exception("WAL restart failed")
        finally:
            self._checkpointing.release()

    def stop(self) -> None:
        self._stopping.set()
        self.join(5)
