"""Code on the docs' pages that the tests run as printed: the code block that follows a
``<!-- snippet: NAME -->`` line (on any page, the README too)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDK_PAGE = ROOT / "docs" / "getting-started" / "sdk.md"


def snippet(name: str, page: Path = SDK_PAGE) -> str:
    """The code block that follows ``<!-- snippet: NAME -->`` on ``page``."""
    text = page.read_text()
    match = re.search(rf"<!-- snippet: {name} -->\n```\w+\n(.*?)```", text, re.S)
    assert match is not None, f"no {name} snippet on {page.relative_to(ROOT)}"
    return match.group(1)
