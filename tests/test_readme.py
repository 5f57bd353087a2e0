"""The README's snippets, run exactly as printed against a real emulator, with their
StatusCallback sent to a receiver of the test's own on 127.0.0.1."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.testing import EmulatorServer
from tests.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SID = re.compile(r"^PK[0-9a-f]{32}$")


def snippet(language: str) -> str:
    match = re.search(rf"<!-- readme-snippet: {language} -->\n```\w+\n(.*?)```", README, re.S)
    assert match is not None, f"no {language} snippet in the README"
    return match.group(1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The application's StatusCallback endpoint the snippets name (``STATUS_CALLBACK_URL``)."""
    with Receiver().running() as running:
        yield running


def environment(server: EmulatorServer, receiver: Receiver) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
    env["PAYMENTS_EMULATOR_URL"] = server.base_url
    env["STATUS_CALLBACK_URL"] = receiver.url("/pay/status")
    return env


def assert_payment_made(server: EmulatorServer, receiver: Receiver, output: str) -> None:
    sid = output.strip()
    assert SID.match(sid), output
    journal = server.control.requests(payment_sid=sid)
    assert [entry["status"] for entry in journal] == [202]
    assert server.control.payment(sid)["capturing"] == "payment-card-number"
    # the create's callback and the Capture's, at the application's endpoint
    received = receiver.wait_for(2)
    assert [(r.path, r.form["Sid"]) for r in received] == [("/pay/status", sid)] * 2
    assert received[1].form["Capture"] == "payment-card-number"


def test_python_snippet(server: EmulatorServer, receiver: Receiver) -> None:
    result = subprocess.run(
        [sys.executable, "-c", snippet("python")],
        env=environment(server, receiver),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert_payment_made(server, receiver, result.stdout)


@pytest.mark.node
def test_node_snippet(server: EmulatorServer, receiver: Receiver) -> None:
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "-e", snippet("node")],
        cwd=ROOT / "tests" / "node",  # where the twilio package is installed
        env=environment(server, receiver),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert_payment_made(server, receiver, result.stdout)
