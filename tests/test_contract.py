"""The contract checker itself: it must catch what Twilio's spec and error shape forbid."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.contract import problems

AC, CA, PK = "AC" + "a" * 32, "CA" + "b" * 32, "PK" + "c" * 32
PATH = f"/2010-04-01/Accounts/{AC}/Calls/{CA}/Payments/{PK}.json"
GOOD = {
    "account_sid": AC,
    "call_sid": CA,
    "date_created": "Tue, 05 Nov 2024 18:00:00 +0000",
    "date_updated": "Tue, 05 Nov 2024 18:00:01 +0000",
    "sid": PK,
    "uri": PATH,
}


def entry(status: int, body: dict[str, Any], path: str = PATH) -> dict[str, Any]:
    return {"method": "POST", "path": path, "status": status, "response": json.dumps(body)}


def test_good_answers_pass() -> None:
    assert problems(entry(202, GOOD)) == []
    assert problems(entry(201, GOOD, PATH.replace(f"/{PK}.json", ".json"))) == []
    error = {
        "code": 64019,
        "message": "m",
        "more_info": "https://www.twilio.com/docs/errors/64019",
        "status": 400,
    }
    assert problems(entry(400, error)) == []


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"sid": "PK123"},
        {"date_created": "2024-11-05T18:00:00Z"},
        {"date_updated": "Tue, 05 Nov 2024 18:00:00 GMT"},
        {"account_sid": 5},
    ],
)
def test_bad_success_answers_are_caught(change: dict[str, Any]) -> None:
    assert problems(entry(202, {**GOOD, **change}))


def test_success_with_wrong_status_for_the_operation_is_caught() -> None:
    assert problems(entry(200, GOOD))


@pytest.mark.parametrize(
    "body",
    [
        {
            "code": 20404,
            "message": "m",
            "more_info": "https://www.twilio.com/docs/errors/20404",
            "status": 400,
        },
        {"code": 20404, "message": "m", "status": 404},
        {"code": 20404, "message": "m", "more_info": "https://example.com", "status": 404},
        {"detail": "not twilio"},
    ],
)
def test_bad_error_answers_are_caught(body: dict[str, Any]) -> None:
    assert problems(entry(404, body))


def test_a_dropped_connection_has_no_answer_to_check() -> None:
    assert problems({"method": "POST", "path": PATH, "status": 0, "response": ""}) == []
