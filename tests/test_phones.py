"""Phones: the caller who answers at a number, set up before the application places the call.

The unit tests drive :class:`emulator.domain.phones.Phones`; the others place calls with
twilio-python against a real server (its callers manual by default, so only a phone can make
one auto) and a voice application of the test's own answering ``<Pay>``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from twilio.rest import Client
from twilio.twiml.voice_response import Pay, VoiceResponse

from emulator.domain.phones import Phone, Phones
from emulator.domain.scripts import MAX_SCRIPT_ITEMS, InvalidScript
from emulator.testing import Account, ControlError, EmulatorServer
from tests.voice_app import VoiceApp, steps, twilio_client

TO, FROM = "+14155550123", "+14155550100"
DECLINE_CARD = "4000000000000002"
A, B = "AC" + "1" * 32, "AC" + "2" * 32


# --- the registry ------------------------------------------------------------------------------


def test_a_phone_is_found_by_account_and_number() -> None:
    phones = Phones()
    phones.set(Phone(A, TO, "manual", {"payment-card-number": DECLINE_CARD}))
    found = phones.at(A, TO)
    assert found is not None
    assert (found.caller, dict(found.script)) == ("manual", {"payment-card-number": DECLINE_CARD})
    assert phones.at(B, TO) is None  # another account's call to the same number
    assert phones.at(A, FROM) is None
    assert phones.at(A, None) is None


def test_setting_again_replaces_and_counts_as_newest() -> None:
    phones = Phones(limit=2)
    phones.set(Phone(A, "1", "auto"))
    phones.set(Phone(A, "2", "auto"))
    phones.set(Phone(A, "1", "manual"))  # replaced: now the newest
    phones.set(Phone(A, "3", "auto"))  # the limit: the oldest ("2") goes
    assert [(p.number, p.caller) for p in phones.listed()] == [("1", "manual"), ("3", "auto")]


def test_items_show_the_keys_never_the_values() -> None:
    phone = Phone(A, TO, "auto", {"security-code": "123", "payment-card-number": DECLINE_CARD})
    assert phone.items == ["payment-card-number", "security-code"]


def test_a_bad_phone_is_refused_and_nothing_is_kept() -> None:
    phones = Phones()
    with pytest.raises(InvalidScript):
        phones.set(Phone(A, TO, "auto", {"card": DECLINE_CARD}))
    with pytest.raises(InvalidScript):
        phones.set(Phone(A, TO, "auto", {"gather": "12 34"}))
    with pytest.raises(ValueError, match="caller must be"):
        phones.set(Phone(A, TO, "robot"))  # type: ignore[arg-type]
    many = {f"gather-{n}": "1" for n in range(1, MAX_SCRIPT_ITEMS + 2)}
    with pytest.raises(InvalidScript, match="at most 64"):
        phones.set(Phone(A, TO, "auto", many))
    assert phones.listed() == []


def test_remove_by_account_number_or_all() -> None:
    phones = Phones()
    for account in (A, B):
        for number in (TO, FROM):
            phones.set(Phone(account, number, "auto"))
    assert phones.remove(A, TO) == 1
    assert [(p.account_sid, p.number) for p in phones.listed(A)] == [(A, FROM)]
    assert phones.remove(B) == 2
    assert phones.remove() == 1
    assert phones.listed() == []


# --- through the control plane and the Calls API --------------------------------------------------


@pytest.fixture
def app() -> Iterator[VoiceApp]:
    with VoiceApp({}).running() as running:
        response = VoiceResponse()
        response.append(Pay(charge_amount="10.00", action=running.url("/paid")))
        running.pages["/pay"] = str(response)
        running.pages["/paid"] = "<Response><Hangup/></Response>"
        yield running


@pytest.fixture
def client(server: EmulatorServer, account: Account) -> Client:
    return twilio_client(server.base_url, account.account_sid, account.auth_token)


def place(client: Client, app: VoiceApp, to: str = TO) -> str:
    """What the application under test would do: place the call, and know nothing more."""
    return str(client.calls.create(to=to, from_=FROM, url=app.url("/pay")).sid)


def test_the_phone_answers_a_call_the_application_places(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    control = server.control
    phone = control.set_phone(
        account.account_sid, TO, "auto", {"payment-card-number": DECLINE_CARD}
    )
    assert phone == {
        "account_sid": account.account_sid,
        "number": TO,
        "caller": "auto",
        "items": ["payment-card-number"],
    }
    sid = place(client, app)
    (paid,) = app.wait_for("/paid")  # the server's callers are manual: only the phone keys
    assert (paid.form["CallSid"], paid.form["Result"]) == (sid, "payment-connector-error")
    assert paid.form["PaymentError"] == "card is declined"
    view = control.call(sid)
    assert view["caller"] == "auto"
    (note,) = [step for step in steps(view, "note") if step["name"] == "phone"]
    assert (note["note"], note["caller"], note["script_items"]) == (
        f"the caller is the phone set up at {TO}",
        "auto",
        "payment-card-number",
    )
    assert DECLINE_CARD not in str(view)


def test_a_manual_phone_waits_for_the_test(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    control = server.control
    control.set_phone(account.account_sid, TO, "auto")
    script = {"payment-card-number": DECLINE_CARD}
    control.set_phone(account.account_sid, TO, "manual", script)  # replaces the auto one
    sid = place(client, app)
    session = control.wait_for_pay(sid, "payment-card-number")
    assert session["caller"] == "manual"
    control.set_caller(sid, "auto")  # keys from the phone's script: the declined card
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "payment-connector-error"


def test_other_numbers_and_accounts_are_not_answered_by_it(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    control = server.control
    other = control.create_account()
    control.set_phone(other.account_sid, TO, "auto")  # another account's phone at TO
    control.set_phone(account.account_sid, "+14155550999", "auto")
    sid = place(client, app)
    assert control.wait_for_pay(sid, "payment-card-number")["caller"] == "manual"
    control.hang_up(sid)


def test_a_control_plane_call_from_the_number_takes_the_phone(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    control = server.control
    control.set_phone(account.account_sid, FROM, "auto", {"payment-card-number": DECLINE_CARD})
    sid = control.create_call(account.account_sid, voice_url=app.url("/pay"), from_=FROM)
    (paid,) = app.wait_for("/paid")
    assert (paid.form["CallSid"], paid.form["Result"]) == (sid, "payment-connector-error")
    assert [s["name"] for s in steps(control.call(sid), "note")][:1] == ["phone"]
    # a call that names its own caller keeps it
    own = control.create_call(account.account_sid, "manual", voice_url=app.url("/pay"), from_=FROM)
    assert control.wait_for_pay(own, "payment-card-number")["caller"] == "manual"
    assert "phone" not in [s["name"] for s in steps(control.call(own), "note")]
    control.hang_up(own)


def test_listing_and_removing_show_no_script_values(
    server: EmulatorServer, account: Account
) -> None:
    control = server.control
    control.set_phone(account.account_sid, TO, "manual", {"payment-card-number": DECLINE_CARD})
    control.set_phone(account.account_sid, FROM, "auto")
    listed = httpx.get(
        server.base_url + "/_emulator/phones", params={"account_sid": account.account_sid}
    )
    assert DECLINE_CARD not in listed.text
    assert [p["number"] for p in control.phones(account.account_sid)] == [TO, FROM]
    assert control.remove_phones(account.account_sid, TO) == 1
    assert [p["number"] for p in control.phones(account.account_sid)] == [FROM]
    assert control.remove_phones(account.account_sid) == 1
    assert control.phones(account.account_sid) == []


def test_a_reset_forgets_the_accounts_phones(server: EmulatorServer, account: Account) -> None:
    control = server.control
    other = control.create_account()
    control.set_phone(account.account_sid, TO, "auto")
    control.set_phone(other.account_sid, TO, "auto")
    control.reset(account.account_sid)
    assert control.phones(account.account_sid) == []
    assert len(control.phones(other.account_sid)) == 1
    control.remove_phones(other.account_sid)


def test_bad_requests_are_refused_and_keep_nothing(
    server: EmulatorServer, account: Account
) -> None:
    control = server.control
    with pytest.raises(ControlError) as unknown:
        control.set_phone("AC" + "9" * 32, TO)
    assert unknown.value.response.status_code == 404
    with pytest.raises(ControlError) as script:
        control.set_phone(account.account_sid, TO, script={"pin": "1234"})
    assert script.value.response.status_code == 400
    assert "1234" not in str(script.value)
    for body in (
        {"account_sid": account.account_sid, "number": "a b"},
        {"account_sid": account.account_sid, "number": TO, "caller": "robot"},
        {"account_sid": account.account_sid, "number": "+1" * 40},
        {
            "account_sid": account.account_sid,
            "number": TO,
            "script": {f"gather-{n}": "1" for n in range(1, MAX_SCRIPT_ITEMS + 2)},
        },
    ):
        answer = httpx.post(server.base_url + "/_emulator/phones", json=body)
        assert answer.status_code == 422, body
    assert control.phones(account.account_sid) == []
    # the same bound on a call's own script
    many = {f"gather-{n}": "1" for n in range(1, MAX_SCRIPT_ITEMS + 2)}
    answer = httpx.post(
        server.base_url + "/_emulator/calls",
        json={"account_sid": account.account_sid, "script": many},
    )
    assert answer.status_code == 422
