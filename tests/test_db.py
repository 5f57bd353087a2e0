"""The database layer itself: group commit, savepoints, after-commit hooks, WAL upkeep."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from emulator.errors import ConfigError
from emulator.store.db import Checkpointer, Database, sqlite_path


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///relative.db", "relative.db"),
        ("sqlite:////abs/olute.db", "/abs/olute.db"),
        ("sqlite+pysqlite:///x.db?mode=rwc", "x.db"),
        ("sqlite:///with%20space.db", "with space.db"),
    ],
)
def test_sqlite_urls(url: str, path: str | None) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://localhost/db", "only SQLite"),
        ("payments.db", "invalid database URL"),
        ("sqlite://host/x.db", "names no host"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        sqlite_path(url)


def test_group_commit_savepoints_and_hooks(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    announced: list[str] = []

    def insert(sid: str) -> str:
        db.conn.execute(
            "INSERT INTO accounts (sid, auth_token, friendly_name, created_at_ms) VALUES (?, 't', '', 0)",
            (sid,),
        )
        db.after_commit(lambda: announced.append(sid))
        return sid

    def insert_then_fail(conn: sqlite3.Connection) -> None:
        insert("AC" + "f" * 32)
        raise RuntimeError("refused")

    async def main() -> list[str]:
        first = asyncio.ensure_future(db.write(lambda conn: insert("AC" + "1" * 32)))
        with pytest.raises(RuntimeError):
            await db.write(insert_then_fail)
        second = asyncio.ensure_future(db.write(lambda conn: insert("AC" + "2" * 32)))
        return list(await asyncio.gather(first, second))

    assert asyncio.run(main()) == ["AC" + "1" * 32, "AC" + "2" * 32]
    assert announced == ["AC" + "1" * 32, "AC" + "2" * 32]  # not the rolled-back one
    db.close()
    with sqlite3.connect(tmp_path / "g.db") as conn:
        stored = sorted(r[0] for r in conn.execute("SELECT sid FROM accounts"))
    assert stored == ["AC" + "1" * 32, "AC" + "2" * 32]


def test_the_wal_starts_over_under_a_steady_stream_of_writes(tmp_path: Path) -> None:
    """Without restarts, passive checkpoints never catch up and the WAL grows for ever."""
    path = tmp_path / "w.db"
    db = Database(f"sqlite:///{path}")
    checkpointer = Checkpointer(str(path), interval_s=0.02, restart_frames=200)
    db._checkpointer = checkpointer
    checkpointer.start()
    largest = 0

    async def main() -> None:
        nonlocal largest
        deadline = time.monotonic() + 2.0
        n = 0
        while time.monotonic() < deadline:
            writes = []
            for _ in range(20):
                n += 1
                sid = f"AC{n:032x}"
                writes.append(
                    db.write(
                        lambda conn, sid=sid: conn.execute(
                            "INSERT INTO accounts (sid, auth_token, friendly_name, created_at_ms)"
                            " VALUES (?, 'x', ?, 0)",
                            (sid, "padding " * 50),
                        )
                    )
                )
            await asyncio.gather(*writes)
            wal = path.with_name("w.db-wal")
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)

    asyncio.run(main())
    db.close()
    assert checkpointer.restarts >= 1
    assert largest < 20 * 1024 * 1024
