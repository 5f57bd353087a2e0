"""The official twilio-python SDK (PyPI) drives the Payments flow against the emulator."""

from __future__ import annotations

from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.testing import Account, EmulatorServer
from tests.api import CALLBACK, new_call_sid

CARD_ITEMS = ["payment-card-number", "expiration-date", "security-code", "postal-code"]


def client_for(server: EmulatorServer, account: Account, credential: str) -> Client:
    if credential == "auth_token":
        client = Client(account.account_sid, account.auth_token)
    else:
        client = Client(account.api_key_sid, account.api_key_secret, account.account_sid)
    client.api.base_url = server.base_url
    return client


def raises(status: int, code: int) -> pytest.RaisesExc[TwilioRestException]:
    return pytest.raises(TwilioRestException, check=lambda e: (e.status, e.code) == (status, code))


@pytest.mark.parametrize("credential", ["auth_token", "api_key"])
def test_python_sdk_payment_flow(server: EmulatorServer, account: Account, credential: str) -> None:
    client = client_for(server, account, credential)
    call_sid = new_call_sid()
    payments = client.calls(call_sid).payments
    created = payments.create_with_http_info(
        idempotency_key="py-1", status_callback=CALLBACK, charge_amount=10.5, currency="USD"
    )
    assert created.status_code == 201
    payment = created.data
    assert payment.account_sid == account.account_sid
    assert payment.call_sid == call_sid
    assert isinstance(payment.date_created, datetime)
    assert payment.uri.endswith(f"/Payments/{payment.sid}.json")

    session = client.calls(call_sid).payments(payment.sid)
    for n, item in enumerate(CARD_ITEMS):
        answer = session.update_with_http_info(
            idempotency_key=f"py-capture-{n}", status_callback=CALLBACK, capture=item
        )
        assert answer.status_code == 202
        assert answer.data.sid == payment.sid

    with raises(400, 64019) as caught:
        session.update(idempotency_key="py-complete", status_callback=CALLBACK, status="complete")
    assert caught.value.msg.startswith(
        "Unable to update record: Pay: Required payment information incomplete"
    )
    with raises(400, 64018):
        session.update(idempotency_key="py-neither", status_callback=CALLBACK)
    with raises(400, 64020):
        session.update(idempotency_key="py-bad", status_callback=CALLBACK, capture="card-number")
    with raises(400, 64021):
        payments.create(idempotency_key="py-2", status_callback=CALLBACK)

    cancelled = session.update_with_http_info(
        idempotency_key="py-cancel", status_callback=CALLBACK, status="cancel"
    )
    assert cancelled.status_code == 202
    with raises(400, 64021):
        session.update(idempotency_key="py-after", status_callback=CALLBACK, status="cancel")

    again = payments.create(idempotency_key="py-3", status_callback=CALLBACK)
    assert again.sid != payment.sid
    with raises(404, 20404):
        client.calls(call_sid).payments("PK" + "0" * 32).update(
            idempotency_key="py-404", status_callback=CALLBACK, status="cancel"
        )
    with raises(400, 64017):
        client.calls(new_call_sid()).payments.create(
            idempotency_key="py-bank",
            status_callback=CALLBACK,
            bank_account_type="consumer-checking",
        )


def test_python_sdk_retry_with_the_same_key_is_a_replay(
    server: EmulatorServer, account: Account
) -> None:
    client = client_for(server, account, "auth_token")
    payments = client.calls(new_call_sid()).payments
    first = payments.create(idempotency_key="retry", status_callback=CALLBACK)
    second = payments.create(idempotency_key="retry", status_callback=CALLBACK)
    assert (second.sid, second.date_created) == (first.sid, first.date_created)
