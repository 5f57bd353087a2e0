"""Every answer the suite received, checked against Twilio's contract.

Success answers are validated with openapi-core against the Payments or the Calls excerpt of
Twilio's OpenAPI spec, in strict mode: the schema is closed (``additionalProperties: false``)
and the ``date-time-rfc-2822`` format is checked. Error answers must be Twilio's error body.
"""

from __future__ import annotations

import copy
import json
import re
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters

# The Payments operations of Twilio's OpenAPI spec (tests/data/README.md says where it is from).
SPEC = Path(__file__).resolve().parent / "data" / "payments-openapi-excerpt.json"
CALLS_SPEC = SPEC.with_name("calls-openapi-excerpt.json")
RFC2822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$"
)
ERROR_KEYS = {"code", "message", "more_info", "status"}


def _rfc2822(value: str) -> bool:
    if not RFC2822.match(value):
        return False
    parsedate_to_datetime(value)
    return True


@cache
def openapi(path: Path = SPEC) -> OpenAPI:
    spec = json.loads(path.read_text())
    spec = copy.deepcopy(spec)
    for schema in spec["components"]["schemas"].values():
        if schema.get("type") == "object" and "properties" in schema:
            schema["additionalProperties"] = False
    config = Config(extra_format_validators={"date-time-rfc-2822": _rfc2822})
    return OpenAPI.from_dict(spec, config=config)


class _Request:
    def __init__(self, path: str, body: bytes, method: str = "post") -> None:
        self.host_url = "https://api.twilio.com"
        self.path = path
        self.method = method
        self.body = body
        self.content_type = "application/x-www-form-urlencoded"
        self.parameters = RequestParameters()


class _Response:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code = status
        self.data = body
        self.content_type = "application/json"
        self.headers: dict[str, str] = {}


def problems(entry: dict[str, Any]) -> list[str]:
    """What is wrong with one journal entry's answer (empty when it is right)."""
    status, body, path = entry["status"], entry["response"], entry["path"]
    where = f"{entry['method']} {path} -> {status}"
    if status == 0:
        return []  # a connection dropped on purpose (a fault): there was no answer to check
    if 200 <= status < 300:
        payments = "/Payments" in path
        if entry["method"] not in (("POST",) if payments else ("GET", "POST")):
            return [f"{where}: success on {entry['method']}"]
        validator = openapi(SPEC if payments else CALLS_SPEC)
        request = _Request(path, b"", entry["method"].lower())
        try:
            validator.validate_response(request, _Response(status, body.encode()))
        except Exception as exc:  # openapi-core raises a tree of validation errors
            return [f"{where}: {exc!r} {getattr(exc, '__cause__', '')!r}: {body}"]
        return []
    try:
        error = json.loads(body)
    except ValueError:
        return [f"{where}: error body is not JSON: {body!r}"]
    found = []
    if not ERROR_KEYS <= set(error) <= ERROR_KEYS | {"details", "detail"}:
        found.append(f"{where}: error keys {sorted(error)}")
    if error.get("status") != status:
        found.append(f"{where}: body status {error.get('status')}")
    if not isinstance(error.get("code"), int) or not isinstance(error.get("message"), str):
        found.append(f"{where}: code/message types")
    elif error.get("more_info") != f"https://www.twilio.com/docs/errors/{error['code']}":
        found.append(f"{where}: more_info {error.get('more_info')}")
    return found
