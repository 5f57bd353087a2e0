"""The schema the server creates is the one the SQLModel tables declare."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlmodel import SQLModel, create_engine

from emulator.store import schema
from emulator.store.models import schema_module, schema_tables


def test_generated_schema_is_up_to_date() -> None:
    """If this fails, run `python -m emulator.store.models` and commit store/schema.py."""
    assert Path(schema.__file__).read_text() == schema_module()


def columns(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: conn.execute(f"PRAGMA table_info({t})").fetchall() for t in sorted(tables)}


def test_statements_build_what_sqlmodel_builds(tmp_path: Path) -> None:
    ours = sqlite3.connect(tmp_path / "ours.db")
    for statement in schema.STATEMENTS:
        ours.execute(statement)
    engine = create_engine(f"sqlite:///{tmp_path / 'sqlmodel.db'}")
    SQLModel.metadata.create_all(engine, tables=schema_tables())
    engine.dispose()
    theirs = sqlite3.connect(tmp_path / "sqlmodel.db")
    assert columns(ours) == columns(theirs)
    assert list(schema.TABLES) == [t.name for t in schema_tables()]
    ours.close()
    theirs.close()
