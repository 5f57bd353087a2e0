"""The README's snippets, run exactly as printed against a real emulator."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SID = re.compile(r"^PK[0-9a-f]{32}$")


def snippet(language: str) -> str:
    match = re.search(rf"<!-- readme-snippet: {language} -->\n```\w+\n(.*?)```", README, re.S)
    assert match is not None, f"no {language} snippet in the README"
    return match.group(1)


def environment(server: EmulatorServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
    env["PAYMENTS_EMULATOR_URL"] = server.base_url
    return env


def assert_payment_made(server: EmulatorServer, output: str) -> None:
    sid = output.strip()
    assert SID.match(sid), output
    journal = server.control.requests(payment_sid=sid)
    assert [entry["status"] for entry in journal] == [202]
    assert server.control.payment(sid)["capturing"] == "payment-card-number"


def test_python_snippet(server: EmulatorServer) -> None:
    result = subprocess.run(
        [sys.executable, "-c", snippet("python")],
        env=environment(server),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert_payment_made(server, result.stdout)


@pytest.mark.node
def test_node_snippet(server: EmulatorServer) -> None:
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "-e", snippet("node")],
        cwd=ROOT / "tests" / "node",  # where the twilio package is installed
        env=environment(server),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert_payment_made(server, result.stdout)
