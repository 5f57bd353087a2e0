"""The emulator's Node client (``clients/node``, npm ``twilio-payments-emulator``), tested in
Node: ``tests/node/control_client.test.js``, a ``node --test`` file using the package as a
user installs it and twilio-node for the payments, against a real emulator."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "node"
PACKAGE_DIR = ROOT / "clients" / "node"

pytestmark = pytest.mark.node


def test_the_node_client_with_twilio_node(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "twilio-payments-emulator").exists():
        pytest.fail("the Node packages are not installed: run `npm ci --prefix tests/node`")
    with EmulatorServer(database=tmp_path / "e.db") as server:
        env = {
            "PATH": str(Path(node).parent),
            "HOME": str(tmp_path),
            "PAYMENTS_EMULATOR_URL": server.base_url,
            # what pointAtEmulator must neutralise: twilio-node would ask 127.sydney.au1.0.1
            "TWILIO_REGION": "au1",
            "TWILIO_EDGE": "sydney",
        }
        result = subprocess.run(
            [node, "--test", "--test-reporter=tap", "control_client.test.js"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"^# pass 9$", result.stdout, re.M), output
    assert re.search(r"^# fail 0$", result.stdout, re.M), output


def test_the_package_is_publishable_and_in_step_with_the_python_package() -> None:
    package = json.loads((PACKAGE_DIR / "package.json").read_text())
    assert package["name"] == "twilio-payments-emulator"
    # Its version is the Python package's, set from the tag when released (release.yml's npm
    # job runs `npm version` with the tag's version, as hatch-vcs gives the wheel its own).
    assert package["version"] == "0.0.0"
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert 'npm version --no-git-tag-version "$VERSION"' in release
    assert "working-directory: clients/node" in release
    assert "dependencies" not in package  # none at run time: Node's own fetch
    for name in package["files"]:
        assert (PACKAGE_DIR / name).is_file(), name
    exported = package["exports"]["."]
    for target in exported.values():
        assert (PACKAGE_DIR / target).is_file(), target
    # every method of the client is typed and documented in the package's README
    source = (PACKAGE_DIR / "index.js").read_text()
    methods = set(re.findall(r"^  (?:async )?([a-z]\w*)\(", source, re.M)) - {"constructor"}
    types = (PACKAGE_DIR / "index.d.ts").read_text()
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert len(methods) >= 20, methods
    for method in methods:
        assert f"  {method}(" in types, method
        assert f"`{method}(" in readme, method
