"""Settings: precedence, parsing, and the docs' settings table kept in step with the fields.

The table on docs/reference/settings.md is generated from the fields when the docs are built
(scripts/docs_reference.py); these tests read what it generates, as the page will show it."""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from emulator import cli
from emulator.domain import cards
from emulator.domain.vocabulary import CallerMode
from emulator.settings import Settings, default_fixture_path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_PAGE = ROOT / "docs" / "reference" / "settings.md"


def docs_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference", ROOT / "scripts" / "docs_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def docs_settings_rows() -> dict[str, str]:
    """The rows of the settings table as the docs page shows it, by setting."""
    page = docs_reference().expand(SETTINGS_PAGE.read_text())
    rows = {}
    for line in page.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"[a-z_]+", cells[0]) and cells[0] != "setting":
            rows[cells[0]] = line
    return rows


def test_the_settings_page_has_the_generated_table() -> None:
    assert "<!-- generated: settings -->" in SETTINGS_PAGE.read_text().splitlines()


def test_the_notes_on_the_settings_page_name_only_settings() -> None:
    section = SETTINGS_PAGE.read_text().split("## More on each setting", 1)[1]
    named = re.findall(r"^- \*\*`([a-z_]+)`\*\*", section, re.M)
    assert named, "no notes found"
    assert set(named) <= set(Settings.model_fields), set(named) - set(Settings.model_fields)


def test_docs_table_lists_every_setting_with_flag_variable_and_default() -> None:
    rows = docs_settings_rows()
    assert set(rows) == set(Settings.model_fields)
    for name, field in Settings.model_fields.items():
        row = rows[name]
        assert f"`{cli._flag_name(name)}" in row, row
        assert f"`EMULATOR_{name.upper()}`" in row, row
        default = field.get_default(call_default_factory=True)
        shown = ",".join(default) if isinstance(default, list) else str(default).lower()
        cell = [c.strip() for c in row.strip().strip("|").split("|")][3]
        if shown == "":  # an empty list
            assert cell.startswith("empty"), (name, row)
        else:
            assert f"`{shown}`" in row.lower(), (name, shown, row)


def serve_actions() -> list[argparse.Action]:
    """The options of the ``serve`` parser that ``main`` uses, ``--help`` left out."""
    parser = cli._parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    serve = commands.choices["serve"]
    return [a for a in serve._actions if not isinstance(a, argparse._HelpAction)]


def test_every_setting_has_one_serve_flag_and_every_flag_is_a_setting() -> None:
    actions = serve_actions()
    flags = {flag: action.dest for action in actions for flag in action.option_strings}
    expected = {cli._flag_name(name): name for name in Settings.model_fields}
    assert expected["--no-default-fixtures"] == "default_fixtures"  # true by default: turned off
    assert expected["--log-level"] == "log_level"
    assert flags == expected
    assert len(actions) == len(Settings.model_fields)  # one flag each, no aliases
    rows = docs_settings_rows()
    for flag, name in flags.items():
        assert f"`{flag}" in rows[name], (flag, rows[name])


def test_serve_flags_follow_the_field_types() -> None:
    by_dest = {action.dest: action for action in serve_actions()}
    assert by_dest["fixtures"].nargs == "+"
    assert by_dest["fixtures"].metavar == "FILE"
    assert by_dest["tls_names"].nargs == "+"
    assert by_dest["strict_calls"].nargs == 0
    assert by_dest["strict_calls"].const is True
    assert by_dest["default_fixtures"].nargs == 0
    assert by_dest["default_fixtures"].const is False
    assert by_dest["log_format"].choices == ["text", "json"]
    assert by_dest["log_level"].choices == [
        "critical",
        "error",
        "warning",
        "info",
        "debug",
        "trace",
    ]
    assert by_dest["caller"].choices == ["auto", "manual"]
    assert by_dest["port"].type is int
    assert by_dest["seed"].type is int
    assert by_dest["callback_timeout_s"].type is float
    assert by_dest["database"].metavar == "URL"
    for name, field in Settings.model_fields.items():
        assert field.description, name
        assert field.description in (by_dest[name].help or ""), name
        assert f"EMULATOR_{name.upper()}" in (by_dest[name].help or ""), name


def test_caller_vocabulary_and_defaults_come_from_the_payments_package() -> None:
    assert Settings.model_fields["caller"].annotation == CallerMode
    settings = Settings()
    assert settings.caller_card_number == cards.DEFAULT_TEST_CARD
    assert settings.caller_security_code == cards.DEFAULT_SECURITY_CODE
    assert settings.caller_postal_code == cards.DEFAULT_POSTAL_CODE
    assert settings.caller_routing_number == cards.DEFAULT_ROUTING_NUMBER
    assert settings.caller_account_number == cards.DEFAULT_BANK_ACCOUNT


def test_environment_and_init_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_PORT", "9000")
    monkeypatch.setenv("EMULATOR_FIXTURES", "a.json, b.json")
    monkeypatch.setenv("EMULATOR_LOG_LEVEL", "DEBUG")
    settings = Settings()
    assert settings.port == 9000
    assert settings.fixtures == ["a.json", "b.json"]
    assert settings.log_level == "debug"
    assert Settings(port=1234).port == 1234


def test_default_fixtures_resolve_to_the_packaged_file() -> None:
    assert Settings().fixture_paths() == [default_fixture_path()]
    assert default_fixture_path().is_file()


def test_fixture_files_add_to_the_built_in_set_unless_it_is_turned_off() -> None:
    builtin = default_fixture_path()
    assert Settings(fixtures=["a.json"]).fixture_paths() == [builtin, Path("a.json")]
    # naming the built-in set as before loads it once
    assert Settings(fixtures=["default", "a.json"]).fixture_paths() == [builtin, Path("a.json")]
    assert Settings(fixtures=["a.json"], default_fixtures=False).fixture_paths() == [Path("a.json")]
    assert Settings(fixtures=["default"], default_fixtures=False).fixture_paths() == [builtin]
    assert Settings(default_fixtures=False).fixture_paths() == []


def test_default_fixtures_and_log_format_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMULATOR_DEFAULT_FIXTURES", "false")
    monkeypatch.setenv("EMULATOR_LOG_FORMAT", "JSON")
    settings = Settings()
    assert settings.default_fixtures is False
    assert settings.log_format == "json"


@pytest.mark.parametrize(
    ("host", "url"),
    [("0.0.0.0", "http://127.0.0.1:80"), ("::", "http://127.0.0.1:80"), ("::1", "http://[::1]:80")],
)
def test_base_url_for_wildcard_hosts(host: str, url: str) -> None:
    assert Settings(host=host, port=80).base_url == url
