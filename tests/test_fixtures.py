"""The fixture format (:mod:`emulator.domain.fixtures`): call scripts take what the control
plane takes (``gather``, ``gather-N``), and phones can be declared; a server started with such
a file runs them, and a reset goes back to them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from twilio.twiml.voice_response import Gather, Pay, VoiceResponse

from emulator.domain.fixtures import parse_fixtures
from emulator.errors import ConfigError
from emulator.testing import EmulatorServer
from tests.voice_app import VoiceApp, twilio_client

ACCOUNT, TOKEN = "AC" + "c" * 32, "c" * 32
CALL = "CA" + "c" * 32
TO, FROM = "+14155550123", "+14155550100"
DECLINE_CARD = "4000000000000002"


def fixture_text(**lists: Any) -> str:
    return json.dumps({"accounts": [{"sid": ACCOUNT, "auth_token": TOKEN}], **lists})


def parse(**lists: Any) -> Any:
    return parse_fixtures([("mine.json", fixture_text(**lists))])


def test_call_scripts_take_gather_keys() -> None:
    script = {"gather": "1#", "gather-2": "42#", "payment-card-number": DECLINE_CARD}
    fixtures = parse(calls=[{"sid": CALL, "account_sid": ACCOUNT, "script": script}])
    assert fixtures.calls[0].script == script


def test_phones_are_declared_with_a_caller_and_script() -> None:
    fixtures = parse(
        phones=[
            {"account_sid": ACCOUNT, "number": TO, "script": {"payment-card-number": "4242"}},
            {"account_sid": ACCOUNT, "number": FROM, "caller": "manual"},
        ]
    )
    assert [(p.number, p.caller, p.script) for p in fixtures.phones] == [
        (TO, "auto", {"payment-card-number": "4242"}),
        (FROM, "manual", {}),
    ]


@pytest.mark.parametrize(
    ("lists", "fragment"),
    [
        (
            {"calls": [{"sid": CALL, "account_sid": ACCOUNT, "script": {"pin": "1"}}]},
            "unknown item",
        ),
        (
            {"phones": [{"account_sid": ACCOUNT, "number": TO, "script": {"gather": "1 2"}}]},
            "gather",
        ),
        ({"phones": [{"account_sid": ACCOUNT, "number": "a b"}]}, "phones.0.number"),
        ({"phones": [{"account_sid": ACCOUNT, "number": TO, "caller": "robot"}]}, "caller"),
        (
            {"phones": [{"account_sid": ACCOUNT, "number": TO, "ring": True}]},
            "phones.0.ring",
        ),
        (
            {"phones": [{"account_sid": "AC" + "d" * 32, "number": TO}]},
            f"the phone at {TO} belongs to account AC{'d' * 32}, which is not declared",
        ),
        (
            {"phones": [{"account_sid": ACCOUNT, "number": TO}] * 2},
            "a phone is declared twice",
        ),
        (
            {
                "phones": [
                    {
                        "account_sid": ACCOUNT,
                        "number": TO,
                        "script": {f"gather-{n}": "1" for n in range(1, 66)},
                    }
                ]
            },
            "at most 64 entries",
        ),
    ],
)
def test_bad_phones_and_scripts_are_refused(lists: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match="invalid fixture") as refused:
        parse(**lists)
    assert fragment in str(refused.value)
    assert "1 2" not in str(refused.value)  # script values are not echoed


# --- a server started with them ---------------------------------------------------------------


@pytest.fixture
def app() -> Iterator[VoiceApp]:
    with VoiceApp({}).running() as running:
        pay = VoiceResponse()
        pay.append(Pay(charge_amount="10.00", action=running.url("/paid")))
        menu = VoiceResponse()
        menu.append(Gather(action=running.url("/pay"), num_digits=1))
        running.pages["/menu"] = str(menu)
        running.pages["/pay"] = str(pay)
        running.pages["/paid"] = "<Response><Hangup/></Response>"
        yield running


def test_a_fixture_phone_answers_and_a_reset_brings_it_back(tmp_path: Path, app: VoiceApp) -> None:
    mine = tmp_path / "mine.json"
    script = {"gather": "1", "payment-card-number": DECLINE_CARD}
    mine.write_text(fixture_text(phones=[{"account_sid": ACCOUNT, "number": TO, "script": script}]))
    with EmulatorServer(
        "--caller", "manual", "--fixtures", str(mine), database=tmp_path / "e.db"
    ) as server:
        control = server.control
        assert control.phones(ACCOUNT) == [
            {
                "account_sid": ACCOUNT,
                "number": TO,
                "caller": "auto",
                "items": ["gather", "payment-card-number"],
            }
        ]
        client = twilio_client(server.base_url, ACCOUNT, TOKEN)
        sid = str(client.calls.create(to=TO, from_=FROM, url=app.url("/menu")).sid)
        (paid,) = app.wait_for("/paid")  # the menu answered by the script's gather, then <Pay>
        assert (paid.form["CallSid"], paid.form["Result"]) == (sid, "payment-connector-error")
        (menu_answer,) = app.wait_for("/pay")
        assert menu_answer.form["Digits"] == "1"

        control.remove_phones(ACCOUNT)
        control.set_phone(ACCOUNT, FROM, "manual")
        control.reset(ACCOUNT)  # the account's phones: back to the fixture's
        assert [(p["number"], p["caller"]) for p in control.phones(ACCOUNT)] == [(TO, "auto")]
        control.remove_phones()
        control.reset()
        assert [p["number"] for p in control.phones()] == [TO]
