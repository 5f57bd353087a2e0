"""Settings: precedence, parsing, and the README's table kept in step with the fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator.settings import Settings, default_fixture_path

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_settings_rows() -> dict[str, str]:
    text = README.read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"[a-z_]+", cells[0]) and cells[0] != "setting":
            rows[cells[0]] = line
    return rows


def test_readme_table_lists_every_setting_with_flag_variable_and_default() -> None:
    rows = readme_settings_rows()
    assert set(rows) == set(Settings.model_fields)
    for name, field in Settings.model_fields.items():
        row = rows[name]
        assert f"`--{name.replace('_', '-')}" in row, row
        assert f"`EMULATOR_{name.upper()}`" in row, row
        default = field.get_default(call_default_factory=True)
        shown = ",".join(default) if isinstance(default, list) else str(default).lower()
        assert f"`{shown}`" in row.lower(), (name, shown, row)


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


@pytest.mark.parametrize(
    ("host", "url"),
    [("0.0.0.0", "http://127.0.0.1:80"), ("::", "http://127.0.0.1:80"), ("::1", "http://[::1]:80")],
)
def test_base_url_for_wildcard_hosts(host: str, url: str) -> None:
    assert Settings(host=host, port=80).base_url == url
