"""The docs' SDK snippets (docs/getting-started/sdk.md), run exactly as printed against a real
emulator, with their StatusCallback sent to a receiver of the test's own on 127.0.0.1.

A snippet is the code block after a ``<!-- snippet: NAME -->`` line (tests/snippets.py);
tests/test_release.py runs the user's test of the pytest page."""

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
from tests.snippets import snippet

ROOT = Path(__file__).resolve().parent.parent
SID = re.compile(r"^PK[0-9a-f]{32}$")


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


@pytest.mark.node
def test_the_jest_setup_on_the_node_page(tmp_path: Path) -> None:
    """docs/getting-started/node-jest.md's four files, as a project of their own run by Jest:
    the global setup starts `payments-emulator` (this environment's), the test drives it with
    twilio-node, the teardown stops it."""
    page = ROOT / "docs" / "getting-started" / "node-jest.md"
    files = {
        "jest.config.js": "jest-config",
        "emulator-setup.js": "jest-setup",
        "emulator-teardown.js": "jest-teardown",
        "pay.test.js": "jest-test",
    }
    for name, marker in files.items():
        code = snippet(marker, page)
        assert code.startswith(f"// {name}"), (name, code[:60])
        (tmp_path / name).write_text(code)
    node_modules = ROOT / "tests" / "node" / "node_modules"
    jest = node_modules / ".bin" / "jest"
    assert jest.exists(), "npm ci --prefix tests/node installs Jest"
    (tmp_path / "node_modules").symlink_to(node_modules)  # where twilio and jest are
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TWILIO_EDGE", "TWILIO_REGION", "PAYMENTS_EMULATOR_URL")
    }
    env["PAYMENTS_EMULATOR_COMMAND"] = str(Path(sys.executable).parent / "payments-emulator")
    result = subprocess.run(
        [str(jest), "--ci", "--colors=false"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "1 passed" in output, output[-3000:]


# --- the <Pay> IVR guide ------------------------------------------------------------------------

PAY_IVR_PAGE = ROOT / "docs" / "guides" / "pay-ivr.md"


def test_the_pay_ivr_python_example(tmp_path: Path) -> None:
    """docs/guides/pay-ivr.md's FastAPI app and its tests, as a project of their own run by
    pytest: the plugin starts an emulator (the server's defaults: an auto caller)."""
    code = snippet("pay-ivr-python", PAY_IVR_PAGE)
    assert code.startswith("# tests/test_pay_ivr.py\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_pay_ivr.py").write_text(code)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMULATOR_", "PAYMENTS_EMULATOR", "TWILIO_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert re.search(r"^3 passed", result.stdout, re.M), output[-3000:]


@pytest.mark.node
def test_the_pay_ivr_node_example(server: EmulatorServer, tmp_path: Path) -> None:
    """The same guide's Node app and test, run with ``node --test`` against the emulator."""
    node = shutil.which("node")
    assert node is not None
    code = snippet("pay-ivr-node", PAY_IVR_PAGE)
    assert code.startswith("// pay-ivr.test.js")
    (tmp_path / "pay-ivr.test.js").write_text(code)
    (tmp_path / "node_modules").symlink_to(ROOT / "tests" / "node" / "node_modules")
    env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
    env["PAYMENTS_EMULATOR_URL"] = server.base_url
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", "pay-ivr.test.js"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert re.search(r"^# pass 1$", result.stdout, re.M), output[-3000:]
