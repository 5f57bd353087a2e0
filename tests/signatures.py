"""The webhook side: check received StatusCallbacks as an application would, with each SDK."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from twilio.request_validator import RequestValidator

from tests.receiver import Received

NODE_DIR = Path(__file__).resolve().parent / "node"


def valid_in_python(token: str, base_url: str, received: Sequence[Received]) -> list[bool]:
    validator = RequestValidator(token)
    return [
        validator.validate(base_url + r.path, r.form, r.headers["X-Twilio-Signature"])
        for r in received
    ]


def valid_in_node(token: str, base_url: str, received: Sequence[Received]) -> list[bool]:
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    payload = {
        "token": token,
        "requests": [
            {
                "url": base_url + r.path,
                "params": r.form,
                "signature": r.headers["X-Twilio-Signature"],
            }
            for r in received
        ],
    }
    result = subprocess.run(
        [node, "validate_signatures.js"],
        input=json.dumps(payload),
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers: list[bool] = json.loads(result.stdout)
    return answers
