"""The fidelity ledger (docs/reference/behaviour.md): every row is Twilio's, with a source, or
says it is the emulator's choice; every setting it names exists; the README points to it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from emulator.domain.gpc import GenericConnector
from emulator.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "docs" / "reference" / "behaviour.md"
COLUMNS = ["behaviour", "what the emulator does", "source", "setting"]


def cells(line: str) -> list[str]:
    """A table row's cells (a ``|`` inside a cell must be escaped: ``\\|``)."""
    parts = re.split(r"(?<!\\)\|", line.strip().removeprefix("|").removesuffix("|"))
    return [part.strip() for part in parts]


def rows() -> list[list[str]]:
    found = []
    for line in LEDGER.read_text().splitlines():
        if not line.startswith("|"):
            continue
        row = cells(line)
        if row == COLUMNS or all(re.fullmatch(r":?-+:?", cell) for cell in row):
            continue
        found.append(row)
    return found


def test_the_ledger_has_its_tables() -> None:
    headers = [
        cells(line) for line in LEDGER.read_text().splitlines() if line.startswith("| behaviour")
    ]
    assert headers
    assert all(header == COLUMNS for header in headers)
    assert len(rows()) > 80


def test_every_row_has_a_source_or_says_it_is_the_emulators_choice() -> None:
    for row in rows():
        assert len(row) == len(COLUMNS), row
        behaviour, does, source, _ = row
        assert behaviour, row
        assert does, row
        assert "https://" in source or "emulator's choice" in source, row


def test_every_setting_named_exists() -> None:
    connector_fields = {f.name for f in dataclasses.fields(GenericConnector)}
    named = 0
    for row in rows():
        setting = row[3]
        per_connector = setting.startswith("per connector:")
        for name in re.findall(r"`([^`]+)`", setting):
            named += 1
            if per_connector:
                assert name in connector_fields, (name, row[0])
            else:
                assert name in Settings.model_fields, (name, row[0])
        assert re.fullmatch(r"(per connector: )?(`[a-z_]+`(, )?)*", setting), setting
    assert named > 10


def test_the_settings_of_the_ledgers_decisions_are_in_it() -> None:
    text = LEDGER.read_text()
    for name in (
        "input_timeout_from",
        "cancel_result",
        "invalid_charge_amount",
        "callback_retries",
        "callback_retry_policy",
        "pay_max_attempts_means",
        "pay_action_https_only",
    ):
        assert f"`{name}`" in text, name


def test_the_readme_points_to_the_ledger() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "(docs/reference/behaviour.md)" in readme
    assert "\n## Behaviour\n" not in readme  # the rows live in the ledger, not here
