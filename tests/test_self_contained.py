"""The repository stands on its own: nothing reads a file from outside it, and the reference
data it keeps instead (tests/data/) is described, with checksums, in tests/data/README.md."""

from __future__ import annotations

import ast
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SCANNED = ("tests", "bench", "emulator", "examples", ".ci")
# Not part of the repository: installed or generated (all git-ignored).
SKIPPED_DIRS = {"node_modules", "__pycache__", ".prism", ".work", "venv", ".hypothesis"}

# Paths that lead out of a clone: a sibling folder (the reference data used to be read from
# one) or an absolute path on one machine.
OUTSIDE = [
    re.compile(r"\.\./+shared\b"),
    re.compile(r"\bshared/+reference\b"),
    re.compile(r"""["']shared["']\s*/\s*["']reference["']"""),
    re.compile(r"(?<![\w.~-])/(?:work|home|Users|mnt|srv)/[\w.-]"),
]


def scanned_files() -> Iterator[Path]:
    for top in SCANNED:
        for directory, dirs, files in os.walk(ROOT / top):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                path = Path(directory) / name
                # this file names the patterns it looks for
                if path != Path(__file__).resolve() and path.suffix not in (".db", ".pyc"):
                    yield path


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None  # binary


class _PathEvaluator:
    """Evaluates the path expressions of a Python module that start from ``__file__``
    (``Path(__file__).resolve().parents[2] / "x"``, ``os.path.dirname(__file__)``, names bound
    to such expressions, ``ROOT.parent``...) to the paths they name on this machine."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.names: dict[str, Path] = {}

    def path(self, node: ast.AST) -> Path | None:
        match node:
            case ast.Name(id="__file__"):
                return self.file
            case ast.Name(id=name):
                return self.names.get(name)
            case ast.Call(func=ast.Name(id="Path" | "PurePath"), args=[argument]):
                return self.path(argument)
            case ast.Call(
                func=ast.Attribute(value=value, attr="resolve" | "absolute" | "expanduser"),
                args=[],
            ):
                return self.path(value)
            case ast.Attribute(value=value, attr="parent"):
                base = self.path(value)
                return base.parent if base is not None else None
            case ast.Subscript(
                value=ast.Attribute(value=value, attr="parents"),
                slice=ast.Constant(value=int(level)),
            ):
                base = self.path(value)
                if base is None:
                    return None
                return base.parents[level] if level < len(base.parents) else Path(base.anchor)
            case ast.BinOp(left=left, op=ast.Div(), right=ast.Constant(value=str(part))):
                base = self.path(left)
                return base / part if base is not None else None
            case ast.Call(func=ast.Attribute(value=value, attr="joinpath"), args=parts):
                return self._joined(self.path(value), parts)
            case ast.Call(func=ast.Attribute(attr="dirname"), args=[argument]):
                base = self.path(argument)
                return base.parent if base is not None else None
            case ast.Call(func=ast.Attribute(attr="abspath" | "realpath"), args=[argument]):
                return self.path(argument)
            case ast.Call(func=ast.Attribute(attr="join"), args=[first, *parts]):
                return self._joined(self.path(first), parts)
        return None

    @staticmethod
    def _joined(base: Path | None, parts: list[ast.expr]) -> Path | None:
        if base is None:
            return None
        for part in parts:
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                return None
            base = base / part.value
        return base

    def outside(self, tree: ast.AST) -> list[tuple[int, str]]:
        """(line, expression) of the paths outside the repository: the widest per line."""
        found: dict[int, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                value = self.path(node.value)
                if isinstance(target, ast.Name) and value is not None:
                    self.names[target.id] = value
        for node in ast.walk(tree):
            path = self.path(node) if isinstance(node, ast.expr) else None
            if path is None:
                continue
            where = Path(os.path.normpath(path))
            if not where.is_relative_to(ROOT):
                line, expression = getattr(node, "lineno", 0), ast.unparse(node)
                if len(expression) > len(found.get(line, "")):
                    found[line] = expression
        return sorted(found.items())


def outside_references(path: Path, text: str) -> list[tuple[int, str]]:
    """(line, what) of each reference in ``path`` to a place outside the repository."""
    found = [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if any(pattern.search(line) for pattern in OUTSIDE)
    ]
    if path.suffix == ".py":
        evaluator = _PathEvaluator(path)
        found += [
            (number, f"{expression} is outside the repository")
            for number, expression in evaluator.outside(ast.parse(text, str(path)))
        ]
    return sorted(found)


def test_no_file_refers_to_a_path_outside_the_repository() -> None:
    found = []
    for path in scanned_files():
        text = text_of(path)
        if text is not None:
            relative = path.relative_to(ROOT)
            found += [f"{relative}:{line}: {what}" for line, what in outside_references(path, text)]
    assert not found, "paths outside the repository:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'SPEC = Path(__file__).resolve().parents[2] / "shared" / "x.json"',
        'REPO = Path(__file__).resolve().parent.parent\nSPEC = REPO.parent / "x.json"',
        'HERE = os.path.dirname(os.path.abspath(__file__))\nX = os.path.join(HERE, "..", "..", "x")',
    ],
)
def test_the_check_sees_paths_built_from_the_file(source: str) -> None:
    found = _PathEvaluator(ROOT / "tests" / "example.py").outside(ast.parse(source))
    assert found


def test_the_check_accepts_paths_inside() -> None:
    source = 'ROOT = Path(__file__).resolve().parent.parent\nDATA = ROOT / "tests" / "data"'
    assert _PathEvaluator(ROOT / "tests" / "example.py").outside(ast.parse(source)) == []


def test_reference_data_is_described_with_its_checksum() -> None:
    readme = (DATA / "README.md").read_text()
    described = dict(
        re.findall(r"^## `([^`]+)`\n.*?SHA-256: `([0-9a-f]{64})`", readme, re.M | re.S)
    )
    files = sorted(p.name for p in DATA.iterdir() if p.name != "README.md")
    assert sorted(described) == files
    for name in files:
        digest = hashlib.sha256((DATA / name).read_bytes()).hexdigest()
        assert digest == described[name], f"{name} changed: update tests/data/README.md"
