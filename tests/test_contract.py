"""The contract checker itself: it must catch what Twilio's spec and error shape forbid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.contract import CALLS_SPEC, SPEC, problems

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


def test_the_excerpt_is_twilios_spec_unchanged() -> None:
    """tests/data/payments-openapi-excerpt.json is cut from tests/data/twilio_api_v2010.json:
    what it keeps is the full document's, and it names that document's release."""
    excerpt = json.loads(SPEC.read_text())
    full = json.loads((SPEC.parent / "twilio_api_v2010.json").read_text())
    assert set(excerpt["paths"]) == {
        "/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Payments.json",
        "/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Payments/{Sid}.json",
    }
    for path, operations in excerpt["paths"].items():
        assert operations == full["paths"][path], path
    for kind, components in excerpt["components"].items():
        for name, component in components.items():
            assert component == full["components"][kind][name], name
    info = dict(excerpt["info"])
    source = info.pop("x-excerpt-of")
    assert info == full["info"]
    assert (source["repository"], source["path"]) == (
        "twilio/twilio-oai",
        "spec/json/twilio_api_v2010.json",
    )
    assert (source["commit"], source["release"]) == (
        "d50069b44ea8cd23141385bdb6db48f16ff75bb5",
        "2.6.7",
    )
    for key in ("openapi", "servers", "security"):
        assert excerpt[key] == full[key], key
    assert all(tag in full["tags"] for tag in excerpt["tags"])


def test_the_parameter_lists_are_the_specs() -> None:
    """emulator.domain.vocabulary names each request's form fields once, as Twilio's spec
    (tests/data) does, in its order."""
    from emulator.domain.vocabulary import CREATE_PARAMETERS, UPDATE_PARAMETERS

    excerpt = json.loads(
        (Path(__file__).parent / "data" / "payments-openapi-excerpt.json").read_text()
    )
    form = "application/x-www-form-urlencoded"
    fields = {
        path.rsplit("/", 1)[-1]: list(
            operation["post"]["requestBody"]["content"][form]["schema"]["properties"]
        )
        for path, operation in excerpt["paths"].items()
    }
    assert fields["Payments.json"] == list(CREATE_PARAMETERS)
    assert fields["{Sid}.json"] == list(UPDATE_PARAMETERS)


def test_the_calls_excerpt_is_twilios_spec_unchanged() -> None:
    """tests/data/calls-openapi-excerpt.json is cut from tests/data/twilio_api_v2010.json."""
    excerpt = json.loads(CALLS_SPEC.read_text())
    full = json.loads((SPEC.parent / "twilio_api_v2010.json").read_text())
    assert set(excerpt["paths"]) == {
        "/2010-04-01/Accounts/{AccountSid}/Calls.json",
        "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
    }
    for path, operations in excerpt["paths"].items():
        assert operations == full["paths"][path], path
    for kind, components in excerpt["components"].items():
        for name, component in components.items():
            assert component == full["components"][kind][name], name
    info = dict(excerpt["info"])
    source = info.pop("x-excerpt-of")
    assert info == full["info"]
    assert source["commit"] == "d50069b44ea8cd23141385bdb6db48f16ff75bb5"
    for key in ("openapi", "servers", "security"):
        assert excerpt[key] == full[key], key
    assert all(tag in full["tags"] for tag in excerpt["tags"])


CALL = "/2010-04-01/Accounts/" + AC + "/Calls/" + CA + ".json"
GOOD_CALL = {
    "account_sid": AC,
    "answered_by": None,
    "api_version": "2010-04-01",
    "caller_name": None,
    "date_created": "Tue, 05 Nov 2024 18:00:00 +0000",
    "date_updated": "Tue, 05 Nov 2024 18:00:01 +0000",
    "direction": "outbound-api",
    "duration": None,
    "end_time": None,
    "forwarded_from": None,
    "from": "+15555550100",
    "from_formatted": "(555) 555-0100",
    "group_sid": None,
    "parent_call_sid": None,
    "phone_number_sid": None,
    "price": None,
    "price_unit": "USD",
    "queue_time": "0",
    "sid": CA,
    "start_time": None,
    "status": "queued",
    "subresource_uris": {},
    "to": "+15555550199",
    "to_formatted": "(555) 555-0199",
    "trunk_sid": None,
    "uri": CALL,
}


def test_call_answers_are_checked_against_the_calls_spec() -> None:
    fetch = {**entry(200, GOOD_CALL, CALL), "method": "GET"}
    assert problems(fetch) == []
    assert problems(entry(200, GOOD_CALL, CALL)) == []  # an update
    assert problems(entry(201, GOOD_CALL, CALL.replace(f"/{CA}.json", ".json"))) == []
    assert problems({**fetch, "response": json.dumps({**GOOD_CALL, "status": "done"})})
    assert problems({**fetch, "response": json.dumps({**GOOD_CALL, "annotation": None})})
    assert problems(entry(202, GOOD_CALL, CALL))
