"""What the release workflow checks before it publishes, and the notes it publishes.

``python scripts/release_check.py vX.Y.Z DIST``
    The tag is ``v`` plus a version; DIST holds one sdist and one wheel of the package, both of
    that version (the file names and the wheel's own metadata); CHANGELOG.md has a section
    ``## [X.Y.Z]``. Exit 1, naming every problem, otherwise.
``python scripts/release_check.py --notes vX.Y.Z``
    Prints that section of CHANGELOG.md (the GitHub release's notes).

``--changelog FILE`` reads another changelog (the tests use it).
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "twilio_payments_emulator"
TAG = re.compile(r"^v(\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.post\d+)?)$")


def changelog_section(changelog: str, version: str) -> str | None:
    """The text under ``## [version]`` (up to the next ``## `` heading), or None."""
    match = re.search(
        rf"^## \[{re.escape(version)}\][^\n]*\n(.*?)(?=^## |^\[[^\]]+\]: |\Z)",
        changelog,
        re.M | re.S,
    )
    return match.group(1).strip() + "\n" if match else None


def wheel_version(wheel: Path) -> str | None:
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith(".dist-info/METADATA"):
                metadata = HeaderParser().parsestr(archive.read(name).decode("utf-8"))
                return metadata["Version"]
    return None


def problems(tag: str, dist: Path, changelog: str) -> tuple[str | None, list[str]]:
    """The tag's version, and what is wrong."""
    match = TAG.match(tag)
    if match is None:
        return None, [f"the tag {tag!r} is not v plus a version (v1.2.3, v1.2.3rc1)"]
    version = match.group(1)
    found: list[str] = []
    wheels = sorted(dist.glob(f"{PROJECT}-*.whl"))
    sdists = sorted(dist.glob(f"{PROJECT}-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        found.append(f"{dist} holds {len(wheels)} wheels and {len(sdists)} sdists, not one each")
    for wheel in wheels:
        if not wheel.name.startswith(f"{PROJECT}-{version}-"):
            found.append(f"{wheel.name} is not version {version}")
        inside = wheel_version(wheel)
        if inside != version:
            found.append(f"{wheel.name}'s metadata says version {inside}, not {version}")
    for sdist in sdists:
        if sdist.name != f"{PROJECT}-{version}.tar.gz":
            found.append(f"{sdist.name} is not version {version}")
    if changelog_section(changelog, version) is None:
        found.append(f"CHANGELOG.md has no section '## [{version}]'")
    return version, found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--notes", action="store_true", help="print the changelog's section")
    parser.add_argument("--changelog", type=Path, default=ROOT / "CHANGELOG.md")
    parser.add_argument("tag")
    parser.add_argument("dist", nargs="?", type=Path)
    args = parser.parse_args(argv)
    changelog = args.changelog.read_text(encoding="utf-8")
    if args.notes:
        match = TAG.match(args.tag)
        section = changelog_section(changelog, match.group(1)) if match else None
        if section is None:
            print(f"release_check: no changelog section for {args.tag}", file=sys.stderr)
            return 1
        print(section, end="")
        return 0
    if args.dist is None:
        parser.error("DIST is needed unless --notes")
    version, found = problems(args.tag, args.dist, changelog)
    for problem in found:
        print(f"release_check: {problem}", file=sys.stderr)
    if not found:
        print(
            f"release_check: {args.dist} holds version {version}, and CHANGELOG.md says what's in it"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
