"""The floors of emulator/ (scripts/floors.py): every import points down, and the check sees
it when one does not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "floors.py"


def run(root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_import_of_emulator_points_down() -> None:
    result = run()
    assert result.returncode == 0, result.stderr
    assert "every import points down" in result.stderr


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "emulator", tmp_path / "emulator", ignore=shutil.ignore_patterns("*.pyc")
    )
    return tmp_path


def add_line(module: Path, line: str) -> None:
    text = module.read_text()
    head, _, rest = text.partition("from __future__ import annotations\n")
    module.write_text(head + "from __future__ import annotations\n" + line + "\n" + rest)


def test_an_import_up_a_floor_is_found(copy: Path) -> None:
    add_line(copy / "emulator/domain/cards.py", "from emulator.services import caller")
    result = run(copy)
    assert result.returncode == 1
    assert (
        "emulator.domain.cards (domain) imports emulator.services.caller (services): up a floor"
        in result.stderr
    )


def test_two_packages_importing_each_other_are_found(copy: Path) -> None:
    add_line(copy / "emulator/services/vault.py", "import emulator.services.faults")
    add_line(copy / "emulator/control/guard.py", "from emulator.inspector import snippets")
    add_line(copy / "emulator/inspector/snippets.py", "from emulator.control import guard")
    result = run(copy)
    assert result.returncode == 1
    assert "emulator.control and emulator.inspector import each other" in result.stderr
    assert "these packages stay apart" in result.stderr


def test_edges_do_not_reach_the_store_nor_store_and_outgoing_each_other(copy: Path) -> None:
    add_line(copy / "emulator/control/views.py", "from emulator.store import sessions")
    add_line(copy / "emulator/store/calls.py", "from emulator.outgoing import resolver")
    result = run(copy)
    assert result.returncode == 1
    assert "edges reach services" in result.stderr
    assert "(store) imports emulator.outgoing.resolver (outgoing): beside it" in result.stderr


def test_a_module_on_no_floor_is_found(copy: Path) -> None:
    (copy / "emulator/newcomer.py").write_text('"""Where does it go?"""\n')
    result = run(copy)
    assert result.returncode == 1
    assert "emulator.newcomer: on no floor" in result.stderr


def test_the_architecture_page_lists_every_module_on_its_floor() -> None:
    """docs/reference/architecture.md's map is generated from the code and this table."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import docs_reference
        import floors
    finally:
        sys.path.pop(0)
    text = docs_reference.modules_markdown()
    sections: dict[str, set[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("**") and line.endswith("**"):
            current = line.strip("*")
            sections[current] = set()
        elif line.startswith("- `") and current is not None:
            sections[current].add(line[3:].split("`", 1)[0])
    for name in floors.modules(ROOT):
        if name.endswith("__main__") or "._" in name:
            continue
        assert name in sections[floors.floor_of(name) or "?"], name
    page = (ROOT / "docs" / "reference" / "architecture.md").read_text()
    assert "<!-- generated: modules -->" in page
