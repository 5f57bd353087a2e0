"""The store: state survives restarts, resets wipe it, fixtures load once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx

from emulator.testing import EmulatorServer
from tests.conftest import DEFAULT_ACCOUNT, DEFAULT_CALL, DEFAULT_KEY, basic


def authenticated(server: EmulatorServer, user: str, password: str, account_sid: str) -> bool:
    path = f"/2010-04-01/Accounts/{account_sid}/NoSuchResource.json"
    status = httpx.get(server.base_url + path, headers=basic(user, password)).status_code
    assert status in (401, 404)
    return status == 404


def rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


def test_database_is_wal_and_schema_versioned(tmp_path: Path) -> None:
    database = tmp_path / "e.db"
    with EmulatorServer(database=database):
        assert rows(database, "PRAGMA journal_mode") == [("wal",)]
        assert rows(database, "PRAGMA user_version")[0][0] >= 1


def test_restart_keeps_accounts_reset_removes_them(tmp_path: Path) -> None:
    database = tmp_path / "e.db"
    with EmulatorServer(database=database) as server:
        account = server.control.create_account()
        assert authenticated(server, account.account_sid, account.auth_token, account.account_sid)

        server.restart()
        assert authenticated(server, account.account_sid, account.auth_token, account.account_sid)
        assert authenticated(
            server, account.api_key_sid, account.api_key_secret, account.account_sid
        )

        server.restart(kill=True)  # an abrupt end loses nothing that was answered
        assert authenticated(server, account.account_sid, account.auth_token, account.account_sid)

        server.control.reset()
        assert not authenticated(
            server, account.account_sid, account.auth_token, account.account_sid
        )
        # the fixtures are back after a full reset
        assert authenticated(server, DEFAULT_ACCOUNT, "a" * 32, DEFAULT_ACCOUNT)


def test_fixtures_load_once(tmp_path: Path) -> None:
    database = tmp_path / "e.db"
    with EmulatorServer(database=database) as server:
        for _ in range(2):
            server.restart()
    assert rows(database, "SELECT sid FROM accounts") == [(DEFAULT_ACCOUNT,)]
    assert rows(database, "SELECT sid FROM api_keys") == [(DEFAULT_KEY,)]
    assert rows(database, "SELECT sid FROM calls") == [(DEFAULT_CALL,)]


def test_restart_does_not_bring_back_what_a_client_removed(tmp_path: Path) -> None:
    """Resetting an account wipes its calls; fixtures loaded again must not restore them."""
    database = tmp_path / "e.db"
    with EmulatorServer(database=database) as server:
        server.control.reset(DEFAULT_ACCOUNT)
        assert rows(database, "SELECT sid FROM calls") == []
        server.restart()
        assert rows(database, "SELECT sid FROM calls") == []
        assert rows(database, "SELECT sid FROM accounts") == [(DEFAULT_ACCOUNT,)]


def test_fixture_added_later_is_loaded_at_next_start(tmp_path: Path) -> None:
    database = tmp_path / "e.db"
    extra = tmp_path / "extra.json"
    second = "AC" + "2" * 32
    extra.write_text(json.dumps({"accounts": [{"sid": second, "auth_token": "t0ken"}]}))
    with EmulatorServer(database=database) as server:
        assert not authenticated(server, second, "t0ken", second)
    with EmulatorServer("--fixtures", "default", str(extra), database=database) as server:
        assert authenticated(server, second, "t0ken", second)
        assert authenticated(server, DEFAULT_ACCOUNT, "a" * 32, DEFAULT_ACCOUNT)


def test_account_reset_keeps_account_and_credentials(tmp_path: Path) -> None:
    with EmulatorServer(database=tmp_path / "e.db") as server:
        account = server.control.create_account()
        server.control.reset(account.account_sid)
        assert authenticated(
            server, account.api_key_sid, account.api_key_secret, account.account_sid
        )
        response = server.control.http.post(
            "/_emulator/reset", params={"account_sid": "AC" + "9" * 32}
        )
        assert response.status_code == 404


def test_in_memory_database() -> None:
    with EmulatorServer(database="sqlite://") as server:
        account = server.control.create_account()
        assert authenticated(server, account.account_sid, account.auth_token, account.account_sid)
