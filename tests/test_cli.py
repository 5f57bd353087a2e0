"""The command line: defaults, flags and variables, healthcheck, and every bad configuration."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from emulator import cli
from emulator.settings import Settings
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


def test_unknown_flag_says_so_first_then_a_short_usage() -> None:
    for args in (["serve", "--no-such-flag"], ["--no-such-flag"]):
        result = run_cli(*args)
        assert result.returncode == 2
        lines = result.stderr.splitlines()
        assert lines[0] == (
            "payments-emulator serve: error: unrecognized arguments: --no-such-flag"
        ), result.stderr
        assert lines[1] == "usage: payments-emulator [serve] [OPTION ...]"
        assert "--help" in lines[2]
        assert len(lines) == 3
        assert "Traceback" not in result.stderr


def test_bad_flag_value_says_what_is_wrong_before_any_usage() -> None:
    result = run_cli("--port", "abc")
    assert result.returncode == 2
    first, *rest = result.stderr.splitlines()
    assert first == "payments-emulator serve: error: argument --port: invalid int value: 'abc'"
    assert len(rest) == 2, result.stderr  # a one-line usage and where the options are listed


def test_help_of_the_command_shows_the_options_of_serve() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert result.stdout.startswith("usage: payments-emulator [serve] [OPTION ...]")
    for name in Settings.model_fields:
        assert cli._flag_name(name) in text, name
    # and it names the other commands
    assert "payments-emulator healthcheck" in text
    assert "payments-emulator certs" in text
    assert run_cli("-h").stdout == result.stdout
    assert run_cli("serve", "--help").stdout == result.stdout


def test_other_commands_say_their_errors_with_their_own_usage() -> None:
    result = run_cli("certs")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "payments-emulator certs: error: the following arguments are required: --out"
    assert lines[1].startswith("usage: payments-emulator certs")


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


def test_bad_environment_variable_is_named_with_its_value() -> None:
    result = run_cli("--database", "sqlite://", env={"EMULATOR_PORT": "eighty"})
    assert_config_error(result, "invalid setting port: EMULATOR_PORT=eighty: ")
    assert "valid integer" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_environment_variable_of_a_secret_is_not_echoed() -> None:
    result = run_cli("--database", "sqlite://", env={"EMULATOR_CONTROL_TOKEN": "bad token!"})
    assert_config_error(result, "EMULATOR_CONTROL_TOKEN=****")
    assert "bad token" not in result.stderr


def test_healthcheck_names_a_bad_variable_too() -> None:
    result = run_cli("healthcheck", env={"EMULATOR_PORT": "abc"})
    assert_config_error(result, "EMULATOR_PORT=abc")


def test_fixture_files_add_to_the_built_in_set(tmp_path: Path) -> None:
    """A user's fixture file may use the built-in account; --no-default-fixtures drops the
    built-in set, and the error then says which files were loaded."""
    mine = tmp_path / "my.json"
    call = {"sid": "CA" + "b" * 32, "account_sid": DEFAULT_ACCOUNT}
    mine.write_text(json.dumps({"calls": [call]}))
    with EmulatorServer("--fixtures", str(mine), database=tmp_path / "e.db") as server:
        created = server.control.create_call(DEFAULT_ACCOUNT)  # the built-in account is there
        assert created.startswith("CA")
    result = run_cli(
        "--port", "0", "--database", "sqlite://", "--no-default-fixtures", "--fixtures", str(mine)
    )
    assert_config_error(
        result,
        f"{call['sid']} belongs to account {DEFAULT_ACCOUNT}, which is not declared",
        f"fixture files loaded ({mine})",
    )
    env = {"EMULATOR_DEFAULT_FIXTURES": "false", "EMULATOR_FIXTURES": str(mine)}
    assert_config_error(run_cli("--port", "0", "--database", "sqlite://", env=env), str(mine))


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
    """With no flags at all: serve on 127.0.0.1, payments-emulator.db in the working directory.
    (The port is the one setting given, as a variable: 0, the port it binds is read from what it
    prints, so no other process can take it in between.)"""
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator"],
        cwd=tmp_path,
        env={**os.environ, "EMULATOR_PORT": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        listening = re.search(r"listening on (http://127\.0\.0\.1:\d+)", process.stderr.readline())
        assert listening is not None
        result = None
        for _ in range(200):
            result = run_cli("healthcheck", "--url", listening.group(1), "--timeout", "1")
            if result.returncode == 0:
                break
        assert result is not None
        assert result.returncode == 0
    finally:
        process.terminate()
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()
    rows = (
        sqlite3.connect(tmp_path / "payments-emulator.db")
        .execute("SELECT sid FROM accounts")
        .fetchall()
    )
    assert rows == [(DEFAULT_ACCOUNT,)]


def test_healthcheck(server: EmulatorServer) -> None:
    assert run_cli("healthcheck", "--url", server.base_url).returncode == 0


def test_healthcheck_fails_when_nothing_listens() -> None:
    result = run_cli("healthcheck", "--url", "http://127.0.0.1:9", "--timeout", "2")  # closed
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


def serve_settings(*args: str) -> Settings:
    """What ``payments-emulator ARGS`` would serve with, without serving."""
    command, options = cli._parse(args)
    assert command == "serve"
    return cli._settings(options)


def test_serve_flags_of_every_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"EMULATOR_{name.upper()}", raising=False)
    settings = serve_settings(
        "--strict-calls",
        "--fixtures",
        "a.json",
        "b.json",
        "--log-level",
        "DEBUG",
        "--caller",
        "manual",
        "--seed",
        "7",
        "--callback-timeout-s",
        "2.5",
        "--caller-expiration-date",
        "0130",
        "--tls-names",
        "x.test",
        "y.test",
    )
    assert settings.strict_calls is True
    assert settings.fixtures == ["a.json", "b.json"]
    assert settings.log_level == "debug"
    assert settings.caller == "manual"
    assert settings.seed == 7
    assert settings.callback_timeout_s == 2.5
    assert settings.caller_expiration_date == "0130"
    assert settings.tls_names == ["x.test", "y.test"]
    assert serve_settings() == Settings()


def test_flag_over_variable_over_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_JOURNAL_SIZE", "5")
    monkeypatch.setenv("EMULATOR_SEED", "1")
    monkeypatch.setenv("EMULATOR_STRICT_CALLS", "true")
    monkeypatch.delenv("EMULATOR_CALLER_DELAY_MS", raising=False)
    settings = serve_settings("serve", "--seed", "2")
    assert settings.seed == 2
    assert settings.journal_size == 5
    assert settings.strict_calls is True
    assert settings.caller_delay_ms == Settings.model_fields["caller_delay_ms"].default


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--caller-card-number", "12"], "caller_card_number"),
        (["--port", "70000"], "port"),
        (["--callback-base-url", "ftp://x"], "callback_base_url"),
        (["--caller-expiration-date", "1399"], "caller_expiration_date"),
    ],
)
def test_bad_setting_value_is_one_line(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"payments-emulator: error: invalid setting {fragment}: "), err
    assert f": {' '.join(args)}: " in err, err  # the flag and its value
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--port", "eighty"], "argument --port: invalid int value: 'eighty'"),
        (["--callback-timeout-s", "soon"], "argument --callback-timeout-s: invalid float value"),
        (["--caller", "AUTO"], "argument --caller: invalid choice: 'AUTO'"),
        (["--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
        (["--fixtures"], "argument --fixtures: expected at least one argument"),
        (["--strict-calls", "yes"], "unrecognized arguments: yes"),
    ],
)
def test_bad_flag_is_refused_with_status_2(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("payments-emulator serve: error: "), err
    assert fragment in first, first
    assert "usage: payments-emulator [serve] [OPTION ...]" in err
    assert len(err.strip().splitlines()) == 3, err


def test_serve_help_shows_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    text = " ".join(out.split())  # argparse wraps the help text, also after a hyphen
    for name, field in Settings.model_fields.items():
        assert cli._flag_name(name) in text, name
        assert f"EMULATOR_{name.upper()}" in text, name
        assert "".join((field.description or "").split()) in "".join(out.split()), name
    for usage in [
        "--database URL",
        "--fixtures FILE [FILE ...]",
        "--log-level {critical,error,warning,info,debug,trace}",
        "--caller {auto,manual}",
        "--tls-names NAME [NAME ...]",
        "--idempotency-ttl-hours HOURS",
        "default 8080",
    ]:
        assert usage in text, usage


def test_flags_for_types_no_setting_has_yet() -> None:
    class Odd(BaseModel):
        mapping: dict[str, str] = {}
        loud: bool = True
        token: SecretStr | None = None
        home: Path = Path()

    assert cli._flag_options("token", Odd.model_fields["token"])["type"] is str
    assert cli._flag_options("home", Odd.model_fields["home"])["type"] is str

    with pytest.raises(TypeError, match="no command-line flag"):
        cli._flag_options("mapping", Odd.model_fields["mapping"])
    assert cli._flag_options("loud", Odd.model_fields["loud"])["const"] is False
    assert cli._flag_name("loud", Odd.model_fields["loud"]) == "--no-loud"
