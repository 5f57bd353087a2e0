"""The command line: defaults, flags and variables, healthcheck, and every bad configuration."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulator.testing import EmulatorServer
from tests.conftest import DEFAULT_ACCOUNT


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def assert_config_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def test_unknown_flag_prints_usage() -> None:
    result = run_cli("serve", "--no-such-flag")
    assert result.returncode == 2
    assert "usage: payments-emulator" in result.stderr
    assert "--no-such-flag" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_fixture_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = run_cli("--port", "0", "--database", "sqlite://", "--fixtures", str(missing))
    assert_config_error(result, "cannot read fixture file", str(missing))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "invalid fixture file"),
        ('{"accounts": [{"sid": "ACnothex", "auth_token": "x"}]}', "accounts.0.sid"),
        ('{"accounts": [], "unknown": 1}', "unknown"),
        (
            json.dumps(
                {
                    "api_keys": [
                        {"sid": "SK" + "1" * 32, "secret": "s", "account_sid": "AC" + "2" * 32}
                    ]
                }
            ),
            "which is not declared",
        ),
        (
            json.dumps({"accounts": [{"sid": "AC" + "1" * 32, "auth_token": "bad-token!"}]}),
            "auth_token",
        ),
    ],
)
def test_invalid_fixture_content(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = run_cli("--port", "0", "--database", "sqlite://", "--fixtures", str(path))
    assert_config_error(result, "invalid fixture", fragment)


def test_port_in_use(busy_port: int) -> None:
    result = run_cli("serve", "--port", str(busy_port), "--database", "sqlite://")
    assert_config_error(result, f"127.0.0.1:{busy_port}", "address already in use")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgresql://localhost/db", "only SQLite is supported"),
        ("::not a url::", "invalid database URL"),
        ("sqlite:////no/such/directory/x.db", "does not exist"),
    ],
)
def test_bad_database_url(url: str, fragment: str) -> None:
    assert_config_error(run_cli("--port", "0", "--database", url), fragment)


def test_database_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    assert_config_error(
        run_cli("--port", "0", "--database", f"sqlite:///{path}"), "cannot open database"
    )


def test_bad_environment_variable() -> None:
    result = run_cli("--database", "sqlite://", env={"EMULATOR_PORT": "eighty"})
    assert_config_error(result, "invalid setting", "port")


def test_flag_wins_over_environment(tmp_path: Path, busy_port: int) -> None:
    """EMULATOR_PORT names a busy port, --port 0 overrides it; EMULATOR_DATABASE is honoured."""
    database = tmp_path / "from-env.db"
    env = {"EMULATOR_PORT": str(busy_port), "EMULATOR_DATABASE": f"sqlite:///{database}"}
    with EmulatorServer(database=database, env=env):
        pass
    assert database.exists()


def test_environment_variable_is_read(tmp_path: Path, busy_port: int) -> None:
    result = run_cli("--database", "sqlite://", env={"EMULATOR_PORT": str(busy_port)})
    assert_config_error(result, f":{busy_port}", "address already in use")


def test_defaults_sqlite_file_in_working_directory(tmp_path: Path) -> None:
    """With no flags at all: serve on 127.0.0.1, payments-emulator.db in the working directory."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator"],
        cwd=tmp_path,
        env={**os.environ, "EMULATOR_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        result = None
        for _ in range(200):
            result = run_cli("healthcheck", "--url", f"http://127.0.0.1:{port}", "--timeout", "1")
            if result.returncode == 0:
                break
        assert result is not None
        assert result.returncode == 0
    finally:
        process.terminate()
        process.wait(10)
    rows = (
        sqlite3.connect(tmp_path / "payments-emulator.db")
        .execute("SELECT sid FROM accounts")
        .fetchall()
    )
    assert rows == [(DEFAULT_ACCOUNT,)]


def test_healthcheck(server: EmulatorServer) -> None:
    assert run_cli("healthcheck", "--url", server.base_url).returncode == 0


def test_healthcheck_fails_when_nothing_listens(busy_port: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    result = run_cli("healthcheck", "--url", f"http://127.0.0.1:{closed_port}", "--timeout", "2")
    assert result.returncode != 0
    assert "unreachable" in result.stderr


def test_healthcheck_fails_on_non_200(server: EmulatorServer) -> None:
    """A server that answers, but not 200 on the health path (here: a Twilio path's 401)."""
    result = run_cli("healthcheck", "--url", server.base_url + "/2010-04-01")
    assert result.returncode != 0
    assert "answered 401" in result.stderr or "answered 404" in result.stderr


def test_console_script_is_installed() -> None:
    script = shutil.which("payments-emulator", path=str(Path(sys.executable).parent))
    assert script is not None
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout.startswith("payments-emulator ")


def test_healthcheck_default_url_uses_settings(server: EmulatorServer) -> None:
    port = httpx.URL(server.base_url).port
    assert port is not None
    assert run_cli("healthcheck", env={"EMULATOR_PORT": str(port)}).returncode == 0


def test_listening_line_is_printed_at_any_log_level() -> None:
    with EmulatorServer("--log-level", "critical", database="sqlite://") as server:
        assert f"listening on {server.base_url}" in server.log
