"""<Pay> on simulated calls, end to end: twilio-python places the call, an application of the
test's own (tests/voice_app.py, a real HTTP server) answers with TwiML built by twilio's
VoiceResponse and receives the signed action and statusCallback requests; the simulated
caller keys (auto, from its script, or manual, from the control plane)."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, Pay, Prompt, VoiceResponse

from emulator.testing import Account, EmulatorServer
from tests.gpc_endpoint import PASSWORD, USERNAME, GpcEndpoint, Reply, answer, reply
from tests.voice_app import Page, Request, VoiceApp, signed_correctly, steps, twilio_client, verbs

TO, FROM = "+14155550123", "+14155550100"
DECLINE_CARD = "4000000000000002"
NO_CONTENT = Page("", status=204, content_type=None)
THANKS = "<Response><Say>Thank you</Say><Hangup/></Response>"


@pytest.fixture
def app() -> Iterator[VoiceApp]:
    with VoiceApp({"/status": NO_CONTENT, "/paid": THANKS}).running() as running:
        yield running


@pytest.fixture
def client(server: EmulatorServer, account: Account) -> Client:
    return twilio_client(server.base_url, account.account_sid, account.auth_token)


def twiml(pay: Pay, say: str | None = None) -> str:
    response = VoiceResponse()
    if say:
        response.say(say)
    response.append(pay)
    return str(response)


def place(
    server: EmulatorServer,
    client: Client,
    app: VoiceApp,
    path: str = "/pay",
    caller: str | None = "auto",
    script: dict[str, str] | None = None,
    **params: Any,
) -> str:
    """Place a call to ``path``, then give it its caller. The server's callers are manual, so
    this cannot race the <Pay>: its session starts manual and set_caller switches it (the
    script in place first), or it starts with the call's new mode. (A <Gather> reads its
    script when it starts: a test answers it with key_in_call.)"""
    call = client.calls.create(to=TO, from_=FROM, url=app.url(path), **params)
    sid = str(call.sid)
    if caller is not None:
        server.control.set_caller(sid, caller, script)
    return sid


def fors(requests: list[Request]) -> list[tuple[str, str, str]]:
    """(For, Attempt, ErrorType) of each statusCallback."""
    return [(r.form["For"], r.form["Attempt"], r.form["ErrorType"]) for r in requests]


# --- the whole of it --------------------------------------------------------------------------


def test_a_payment_from_calls_create_to_the_action(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    app.pages["/pay"] = twiml(
        Pay(charge_amount="10.00", action=app.url("/paid"), status_callback=app.url("/status")),
        say="Calling Twilio Pay",
    )
    sid = place(server, client, app)
    (paid,) = app.wait_for("/paid")
    form = paid.form
    assert signed_correctly(account.auth_token, paid, app.base_url)
    assert paid.method == "POST"
    assert (form["CallSid"], form["AccountSid"]) == (sid, account.account_sid)
    assert (form["CallStatus"], form["Direction"], form["To"]) == (
        "in-progress",
        "outbound-api",
        TO,
    )
    assert form["Result"] == "success"
    assert form["PaymentConfirmationCode"].startswith("ch_")
    assert (form["PaymentToken"], form["ProfileId"]) == ("", "")
    assert form["PaymentMethod"] == "credit-card"
    assert form["PaymentCardNumber"] == "xxxxxxxxxxxx4242"
    assert form["PaymentCardType"] == "visa"
    assert len(form["ExpirationDate"]) == 4
    assert form["SecurityCode"] == "xxx"
    assert form["PaymentCardPostalCode"] == "94105"
    assert form["PaymentError"] == form["PayErrorCode"] == form["ConnectorError"] == ""
    view = server.control.wait_for_call(sid, status="completed")
    assert verbs(view) == ["Say", "Pay", "Say", "Hangup"]  # the action's TwiML ran
    statuses = app.wait_for("/status", 5)
    assert fors(statuses) == [
        ("payment-card-number", "1", ""),
        ("expiration-date", "1", ""),
        ("security-code", "1", ""),
        ("postal-code", "1", ""),
        ("payment-processing", "1", ""),
    ]
    assert all(signed_correctly(account.auth_token, r, app.base_url) for r in statuses)
    assert statuses[0].form["CallSid"] == sid
    assert statuses[1].form["PaymentCardNumber"] == "xxxxxxxxxxxx4242"
    assert statuses[-1].form["SecurityCode"] == "xxx"
    (started,) = [s for s in steps(view, "verb") if s["name"] == "Pay"]
    session = server.control.payment(str(started["session"]))
    assert (session["state"], session["result"], session["origin"]) == (
        "completed",
        "success",
        "twiml",
    )
    assert session["pay"]["action"] == app.url("/paid")
    prompts = [(s["name"], s["prompt"]) for s in steps(view, "prompt")]
    assert prompts[0] == ("payment-card-number", "Twilio's default prompt for payment-card-number")
    assert [name for name, _ in prompts][-1] == "payment-processing"


def test_a_declined_card(server: EmulatorServer, client: Client, app: VoiceApp) -> None:
    app.pages["/pay"] = twiml(Pay(charge_amount="25.00", action="/paid"))
    place(server, client, app, script={"payment-card-number": DECLINE_CARD})
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "payment-connector-error"
    assert paid.form["PaymentError"] == "card is declined"
    assert paid.form["PayErrorCode"] == "64012"
    assert paid.form["ConnectorError"] == "card_declined"
    assert paid.form["PaymentConfirmationCode"] == ""


@pytest.mark.parametrize("charge_amount", ["0", None])
def test_a_tokenization(
    server: EmulatorServer, client: Client, app: VoiceApp, charge_amount: str | None
) -> None:
    """ "set the chargeAmount to "0" or omit the chargeAmount attribute": a token."""
    app.pages["/pay"] = twiml(
        Pay(charge_amount=charge_amount, token_type="one-time", action="/paid")
    )
    place(server, client, app)
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "success"
    assert paid.form["PaymentToken"].startswith("tok_")
    assert paid.form["PaymentConfirmationCode"] == ""


def test_an_ach_debit_entered_twice(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    pay = Pay(
        payment_method="ach-debit",
        bank_account_type="consumer-savings",
        charge_amount="13.22",
        action="/paid",
        status_callback="/status",
    )
    first = Prompt(for_="bank-account-number")
    first.say("Please enter your bank account number.")
    again = Prompt(for_="bank-account-number", require_matching_inputs=True)
    again.say("Please enter your bank account number again.")
    pay.append(first)
    pay.append(again)
    pay.parameter(name="AVSName", value="Ada Lovelace")  # the built-in connector needs it
    app.pages["/pay"] = twiml(pay)
    sid = place(server, client, app)
    (paid,) = app.wait_for("/paid")
    form = paid.form
    assert form["Result"] == "success"
    assert form["PaymentMethod"] == "ach-debit"
    assert form["BankAccountNumber"] == "**********89"
    assert form["BankRoutingNumber"] == "121000358"
    assert form["BankAccountType"] == "consumer-savings"
    assert "PaymentCardNumber" not in form
    assert fors(app.wait_for("/status", 4)) == [
        ("bank-routing-number", "1", ""),
        ("bank-account-number", "1", ""),
        ("bank-account-number", "1", ""),  # the second entry
        ("payment-processing", "1", ""),
    ]
    view = server.control.call(sid)
    said = [s.get("says") for s in steps(view, "prompt") if s["name"] == "bank-account-number"]
    assert said == [
        "Please enter your bank account number.",
        "Please enter your bank account number again.",
    ]


# --- the caller's tries -----------------------------------------------------------------------


def test_max_attempts_exhausted(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    """maxAttempts="1": "<Pay> retries once when it encounters a timeout or receives invalid
    data"; then the action gets too-many-failed-attempts, PaymentError naming the last
    error; the <Prompt> for each try as Twilio's page describes it."""
    pay = Pay(
        max_attempts=1, charge_amount="5", action="/paid", status_callback="/status", timeout=60
    )
    for attrs, text in (
        ({}, "Enter your card number."),
        ({"error_type": "invalid-card-number"}, "That card number is invalid."),
        ({"error_type": "timeout", "attempt": "2 3"}, "We did not hear you."),
    ):
        prompt = Prompt(for_="payment-card-number", **attrs)
        prompt.say(text)
        pay.append(prompt)
    app.pages["/pay"] = twiml(pay)
    sid = place(server, client, app, caller="manual")
    session = server.control.wait_for_pay(sid, "payment-card-number", attempt=1)
    server.control.key_in(session["sid"], "4242424242424241")  # fails the Luhn check
    server.control.wait_for_pay(sid, "payment-card-number", attempt=2)
    server.control.key_in(session["sid"], "42424", partial=True)
    server.control.set_clock(advance_seconds=60)  # the timeout, on the emulator's clock
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "too-many-failed-attempts"
    assert paid.form["PaymentError"] == "invalid-card-number"
    assert paid.form["PaymentCardNumber"] == ""
    assert fors(app.wait_for("/status", 4)) == [
        ("payment-card-number", "1", ""),
        ("payment-card-number", "1", "invalid-card-number"),
        ("payment-card-number", "2", ""),
        ("payment-card-number", "2", "invalid-card-number"),  # "42424" when the timeout came
    ]
    view = server.control.wait_for_call(sid, status="completed")
    said = [s.get("says") for s in steps(view, "prompt")]
    assert said == ["Enter your card number.", "That card number is invalid."]
    assert server.control.payment(session["sid"])["state"] == "ended"


def test_a_timeout_then_a_valid_entry(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    pay = Pay(charge_amount="5", action="/paid", status_callback="/status", timeout=60)
    prompt = Prompt(for_="expiration-date", error_type="timeout")
    prompt.say("Sorry, you did not enter an expiration date.")
    pay.append(prompt)
    app.pages["/pay"] = twiml(pay)
    sid = place(server, client, app, caller="manual")
    session = server.control.wait_for_pay(sid, "payment-card-number")
    server.control.key_in(session["sid"], "4242424242424242")
    server.control.wait_for_pay(sid, "expiration-date", attempt=1)
    server.control.set_clock(advance_seconds=60)  # nothing keyed: input-timeout
    server.control.wait_for_pay(sid, "expiration-date", attempt=2)
    server.control.set_caller(sid, "auto")  # the rest from the script
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "success"
    statuses = app.wait_for("/status", 7)
    timed_out = statuses[2].form
    assert (timed_out["For"], timed_out["ErrorType"], timed_out["PaymentError"]) == (
        "expiration-date",
        "input-timeout",
        "expiration-date",
    )
    view = server.control.call(sid)
    (retried,) = [s for s in steps(view, "prompt") if s.get("after") == "input-timeout"]
    assert retried["says"] == "Sorry, you did not enter an expiration date."
    assert retried["prompt"] == '<Prompt for="expiration-date" errorType="timeout">'


def test_star_interrupts(server: EmulatorServer, client: Client, app: VoiceApp) -> None:
    app.pages["/pay"] = twiml(Pay(charge_amount="5", action="/paid", timeout=600))
    sid = place(server, client, app, caller="manual")
    server.control.wait_for_pay(sid, "payment-card-number")
    server.control.key_in_call(sid, "42*")  # the call's keypad: * ends the <Pay>
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "caller-interrupted-with-star"
    server.control.wait_for_call(sid, status="completed")


@pytest.mark.parametrize("how", ["control plane", "Calls API"])
def test_a_hang_up(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp, how: str
) -> None:
    """The action is requested with caller-hung-up; its TwiML is not run (the call is
    over)."""
    app.pages["/pay"] = twiml(
        Pay(charge_amount="5", action="/paid", status_callback="/status", timeout=600)
    )
    sid = place(server, client, app, caller="manual")
    session = server.control.wait_for_pay(sid, "payment-card-number")
    if how == "control plane":
        server.control.hang_up(sid)
    else:
        client.calls(sid).update(status="completed")
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "caller-hung-up"
    assert paid.form["CallStatus"] == "completed"
    assert signed_correctly(account.auth_token, paid, app.base_url)
    view = server.control.wait_for_call(sid, status="completed")
    assert "Say" not in verbs(view)
    assert server.control.payment(session["sid"])["result"] == "caller-hung-up"
    (action,) = view["pay_callbacks"][-1:]
    assert (action["event"], action["params"]["Result"]) == ("pay-action", "caller-hung-up")


# --- where the action goes -------------------------------------------------------------------


def test_without_action_the_document_url_is_posted(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    """ "Twilio's default action makes a POST request to the current document URL", even for
    a document fetched with GET (its query kept)."""
    app.pages["/pay"] = twiml(Pay(charge_amount="5"))
    place(server, client, app, path="/pay?order=7", method="GET")
    first, action = app.wait_for("/pay", 2)
    assert (first.method, action.method) == ("GET", "POST")
    assert action.query == {"order": "7"}
    assert action.form["Result"] == "success"


def test_relative_urls_resolve_against_the_document(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/shop/pay"] = twiml(
        Pay(charge_amount="5", action="done?step=2", status_callback="../status")
    )
    app.pages["/shop/done"] = THANKS
    place(server, client, app, path="/shop/pay")
    (done,) = app.wait_for("/shop/done")
    assert done.query == {"step": "2"}
    assert len(app.wait_for("/status", 5)) == 5


def test_a_gather_before_the_pay(server: EmulatorServer, client: Client, app: VoiceApp) -> None:
    menu = VoiceResponse()
    gather = Gather(num_digits=1, action="/menu")
    gather.say("Press 1 to pay your bill.")
    menu.append(gather)
    app.pages["/start"] = str(menu)
    app.pages["/menu"] = twiml(Pay(charge_amount="42.00", action="/paid"))
    sid = place(server, client, app, path="/start", caller=None)
    server.control.wait_for_call(sid, waiting="gather")
    server.control.set_caller(sid, "auto")  # for the <Pay>: the menu's key is the test's
    server.control.key_in_call(sid, "1")
    (chosen,) = app.wait_for("/menu")
    assert chosen.form["Digits"] == "1"
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "success"
    view = server.control.wait_for_call(sid, status="completed")
    assert verbs(view)[:3] == ["Gather", "Say", "Pay"]  # the Say nested in the Gather


def test_update_with_twiml_into_pay_on_a_parked_call(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/park"] = '<Response><Say>Please hold</Say><Pause length="600"/></Response>'
    sid = place(server, client, app, path="/park")
    server.control.wait_for_call(sid, waiting="pause")
    pay = Pay(charge_amount="9.99", action=app.url("/paid"), status_callback=app.url("/status"))
    client.calls(sid).update(twiml=twiml(pay))
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "success"
    assert len(app.wait_for("/status", 5)) == 5


def test_inline_twiml_needs_an_absolute_action(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    """ "If you started or updated a <Call> that included a twiml parameter, the action URLs
    for <Record>, <Gather>, and <Pay> must be absolute.\""""
    call = client.calls.create(to=TO, from_=FROM, twiml=twiml(Pay(action="/paid")))
    view = server.control.wait_for_call(call.sid, status="completed")
    assert [s["code"] for s in steps(view, "notice")] == [15004]
    assert not app.at("/paid")


# --- before anything is asked -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "error", "code"),
    [
        (
            {"charge_amount": "-0.59"},
            "paymentAmount='-0.59' (not a number between 0.00 - 1,000,000.00)",
            "64003",
        ),
        (
            {"language": "pt-BR"},
            "language='pt-BR' (not one of en-AU en-CA en-GB en-IN en-US es-ES es-MX fr-CA fr-FR"
            " de-DE it-IT for card payments)",
            "64020",
        ),
        (
            {"payment_connector": "Nope"},
            "Pay: Invalid paymentConnector attribute in TwiML. No Pay Connector named 'Nope' is"
            " installed",
            "64004",
        ),
    ],
)
def test_a_validation_error(
    server: EmulatorServer,
    client: Client,
    app: VoiceApp,
    attributes: dict[str, str],
    error: str,
    code: str,
) -> None:
    app.pages["/pay"] = twiml(Pay(action="/paid", **attributes))
    sid = place(server, client, app)
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "validation-error"
    assert (paid.form["PaymentError"], paid.form["PayErrorCode"]) == (error, code)
    view = server.control.wait_for_call(sid, status="completed")
    (pay,) = [s for s in steps(view, "verb") if s["name"] == "Pay"]
    assert "session" not in pay
    assert not steps(view, "prompt")


def test_a_session_already_on_the_call(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    """One session a call: a <Pay> reached while the agent's session is active reports
    session-in-progress and requests the action with internal-error; the call goes on."""
    app.pages["/park"] = '<Response><Pause length="600"/></Response>'
    sid = place(server, client, app, path="/park")
    server.control.wait_for_call(sid, waiting="pause")
    client.calls(sid).payments.create(
        idempotency_key=secrets.token_hex(8), status_callback=app.url("/rest-status")
    )
    pay = Pay(action=app.url("/paid"), status_callback=app.url("/status"))
    client.calls(sid).update(twiml=twiml(pay))
    (status,) = app.wait_for("/status")
    assert status.form["ErrorType"] == "session-in-progress"
    (paid,) = app.wait_for("/paid")
    assert (paid.form["Result"], paid.form["PayErrorCode"]) == ("internal-error", "64021")
    view = server.control.wait_for_call(sid, status="completed")
    assert verbs(view)[-2:] == ["Say", "Hangup"]  # the action's TwiML continued the call


def test_no_agent_session_while_a_pay_runs(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/pay"] = twiml(Pay(charge_amount="5", action="/paid", timeout=600))
    sid = place(server, client, app, caller="manual")
    session = server.control.wait_for_pay(sid, "payment-card-number")
    with pytest.raises(TwilioRestException) as raised:
        client.calls(sid).payments.create(
            idempotency_key=secrets.token_hex(8), status_callback=app.url("/status")
        )
    assert (raised.value.status, raised.value.code) == (400, 64021)
    with pytest.raises(TwilioRestException) as raised:  # nor the agent's hands on it
        client.calls(sid).payments(session["sid"]).update(
            idempotency_key=secrets.token_hex(8),
            status_callback=app.url("/status"),
            status="complete",
        )
    assert raised.value.code == 64021
    server.control.hang_up(sid)


def test_a_redirect_ends_the_pay(server: EmulatorServer, client: Client, app: VoiceApp) -> None:
    app.pages["/pay"] = twiml(Pay(charge_amount="5", action="/paid", timeout=600))
    app.pages["/elsewhere"] = "<Response><Say>Moving on</Say></Response>"
    sid = place(server, client, app, caller="manual")
    session = server.control.wait_for_pay(sid, "payment-card-number")
    client.calls(sid).update(url=app.url("/elsewhere"))
    server.control.wait_for_call(sid, status="completed")
    assert server.control.payment(session["sid"])["state"] == "cancelled"
    assert not app.at("/paid")


# --- a Generic Pay Connector -------------------------------------------------------------------


def test_a_generic_pay_connector_with_custom_parameters(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    """<Parameter>s reach the endpoint's ``parameters``; the ones it answers come back in
    the action as PayConnector_<key> (a value that is not a string, as JSON)."""
    with GpcEndpoint().running() as endpoint:
        server.control.create_connector(
            account.account_sid,
            "gpc",
            generic={"endpoint_url": endpoint.url(), "username": USERNAME, "password": PASSWORD},
        )
        endpoint.push(
            reply(
                charge_id="ch_gpc_1",
                parameters={"confirmation_number": "C-42", "risk": {"score": 3}},
            )
        )
        pay = Pay(charge_amount="15.00", payment_connector="gpc", action="/paid")
        pay.parameter(name="customer", value="42")
        app.pages["/pay"] = twiml(pay)
        place(server, client, app, script={"payment-card-number": "4111111111111111"})
        (paid,) = app.wait_for("/paid")
        (sent,) = endpoint.requests
    assert sent.json["parameters"] == {"customer": "42"}
    assert sent.json["cardnumber"] == "4111111111111111"
    assert sent.json["amount"] == "15.00"
    assert paid.form["Result"] == "success"
    assert paid.form["PaymentConfirmationCode"] == "ch_gpc_1"
    assert paid.form["PayConnector_confirmation_number"] == "C-42"
    assert json.loads(paid.form["PayConnector_risk"]) == {"score": 3}


# --- settings ------------------------------------------------------------------------------------


def test_the_other_reading_of_max_attempts_and_https_actions(tmp_path: Path) -> None:
    with (
        EmulatorServer(
            "--caller",
            "manual",
            "--pay-max-attempts-means",
            "tries",
            "--pay-action-https-only",
            database=tmp_path / "e.db",
        ) as server,
        VoiceApp({"/paid": THANKS}).running() as app,
    ):
        account = server.control.create_account()
        client = twilio_client(server.base_url, account.account_sid, account.auth_token)
        app.pages["/pay"] = twiml(
            Pay(max_attempts=1, action="https://127.0.0.1:9/paid", timeout=600)
        )
        sid = place(server, client, app, caller="manual")
        session = server.control.wait_for_pay(sid, "payment-card-number")
        assert session["pay"]["tries"] == 1
        app.pages["/pay"] = twiml(Pay(action=app.url("/paid")))  # http: 64016
        other = place(server, client, app, caller=None)
        view = server.control.wait_for_call(other, status="completed")
        assert [s["code"] for s in steps(view, "notice")] == [64016]
        server.control.key_in(session["sid"], "1234")  # one try only: it ends
        assert server.control.wait_until_ended(session["sid"])["result"] == (
            "too-many-failed-attempts"
        )


# --- card data -----------------------------------------------------------------------------------


def test_card_data_is_kept_nowhere(tmp_path: Path) -> None:
    """The full card number and security code keyed into a <Pay> are in no database file,
    log line, view, callback or request the app receives."""
    card, cvv = "5555555555554444", "987"
    with (
        EmulatorServer(
            "--caller", "manual", "--log-level", "debug", database=tmp_path / "e.db"
        ) as server,
        VoiceApp({"/status": NO_CONTENT, "/paid": THANKS}).running() as app,
    ):
        account = server.control.create_account()
        client = twilio_client(server.base_url, account.account_sid, account.auth_token)
        app.pages["/pay"] = twiml(Pay(charge_amount="5", action="/paid", status_callback="/status"))
        sid = place(
            server,
            client,
            app,
            caller="auto",
            script={"payment-card-number": card, "security-code": cvv},
        )
        (paid,) = app.wait_for("/paid")
        assert paid.form["PaymentCardNumber"] == "xxxxxxxxxxxx4444"  # the script's card
        view = server.control.wait_for_call(sid, status="completed")
        shown = json.dumps(
            [
                view,
                server.control.callbacks(account_sid=account.account_sid),
                [r.form for r in app.requests],
            ]
        )
        page = server.control.http.get(f"/_emulator/ui/calls/{sid}").text
        server.stop()
        log = server.log
    for text in (shown, page, log):
        assert card not in text
        assert f"={cvv}" not in text
        assert f'"{cvv}"' not in text
    for path in tmp_path.iterdir():
        if path.is_file():
            assert card.encode() not in path.read_bytes(), path


# --- the call ends first ----------------------------------------------------------------------


def test_a_connectors_answer_after_the_hang_up_still_reaches_the_action(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    """The caller hangs up while a Generic Pay Connector processes the payment: its answer
    settles the session, and the action is requested with it (the call is over)."""
    gate = threading.Event()
    with GpcEndpoint([Reply(body=answer(charge_id="ch_late"), gate=gate)]).running() as endpoint:
        server.control.create_connector(
            account.account_sid,
            "gpc",
            generic={"endpoint_url": endpoint.url(), "username": USERNAME, "password": PASSWORD},
        )
        app.pages["/pay"] = twiml(
            Pay(charge_amount="3.00", payment_connector="gpc", action="/paid")
        )
        sid = place(server, client, app, script={"payment-card-number": "4111111111111111"})
        endpoint.wait_for(1)
        server.control.hang_up(sid)
        gate.set()
        (paid,) = app.wait_for("/paid")
    assert (paid.form["Result"], paid.form["PaymentConfirmationCode"]) == ("success", "ch_late")
    assert paid.form["CallStatus"] == "completed"


def test_a_restart_during_a_pay(tmp_path: Path) -> None:
    """The call is ended at the next start (as any call running TwiML); its <Pay> ends with
    caller-hung-up and its action is requested."""
    database = tmp_path / "e.db"
    with VoiceApp({"/paid": THANKS}).running() as app:
        app.pages["/pay"] = twiml(Pay(charge_amount="5", action="/paid", timeout=600))
        with EmulatorServer("--caller", "manual", database=database) as server:
            account = server.control.create_account()
            client = twilio_client(server.base_url, account.account_sid, account.auth_token)
            sid = place(server, client, app, caller=None)
            session = server.control.wait_for_pay(sid, "payment-card-number")
        with EmulatorServer("--caller", "manual", database=database) as server:
            (paid,) = app.wait_for("/paid")
            assert paid.form["Result"] == "caller-hung-up"
            assert server.control.payment(session["sid"])["state"] == "ended"


def test_a_forced_outcome_and_a_get_status_callback(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    """The control plane's forced outcome works on a <Pay>'s session as on an agent's; a
    statusCallbackMethod of GET puts the fields in the query, signed."""
    app.pages["/pay"] = twiml(
        Pay(
            charge_amount="8.00",
            action="/paid",
            status_callback="/status",
            status_callback_method="GET",
            timeout=600,
        )
    )
    sid = place(server, client, app, caller="manual")
    session = server.control.wait_for_pay(sid, "payment-card-number")
    server.control.set_outcome(
        session["sid"],
        result="payment-connector-error",
        pay_error_code=64002,
        payment_error="payment processor is unavailable",
    )
    server.control.set_caller(sid, "auto")
    (paid,) = app.wait_for("/paid")
    assert paid.form["Result"] == "payment-connector-error"
    assert (paid.form["PayErrorCode"], paid.form["PaymentError"]) == (
        "64002",
        "payment processor is unavailable",
    )
    first = app.wait_for("/status")[0]
    assert first.method == "GET"
    assert (first.query["For"], first.query["Attempt"]) == ("payment-card-number", "1")
    assert signed_correctly(account.auth_token, first, app.base_url)
