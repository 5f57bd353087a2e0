"""HTTP Basic authentication on the Twilio paths: the matrix, by plain HTTP and by twilio-python."""

from __future__ import annotations

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.testing import Account, EmulatorServer
from tests.api import CALLBACK
from tests.conftest import (
    DEFAULT_ACCOUNT,
    DEFAULT_CALL,
    DEFAULT_KEY,
    DEFAULT_KEY_SECRET,
    DEFAULT_TOKEN,
    basic,
)

AUTH_HEADER = ("www-authenticate", 'Basic realm="Twilio API"')


def probe_path(account_sid: str) -> str:
    """A path under the account that does not exist: 404 once authenticated, 401 before."""
    return f"/2010-04-01/Accounts/{account_sid}/NoSuchResource.json"


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == AUTH_HEADER[1]
    body = response.json()
    assert body["code"] == 20003
    assert body["status"] == 401
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20003"
    assert set(body) == {"code", "detail", "message", "more_info", "status"}


def test_no_credentials(http: httpx.Client, account: Account) -> None:
    response = http.get(probe_path(account.account_sid))
    assert_unauthenticated(response)
    assert response.json()["message"] == "Authentication Error - No credentials provided"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "Basic",
        "Basic !!!notbase64!!!",
        "Basic " + "bm9jb2xvbg==",  # "nocolon"
        "Basic " + "OnNlY3JldA==",  # ":secret" (no user)
        "Basic " + "/w==",  # not UTF-8
    ],
)
def test_malformed_credentials(http: httpx.Client, account: Account, header: str) -> None:
    response = http.get(probe_path(account.account_sid), headers={"Authorization": header})
    assert_unauthenticated(response)


def test_wrong_token(http: httpx.Client, account: Account) -> None:
    response = http.get(
        probe_path(account.account_sid), headers=basic(account.account_sid, "b" * 32)
    )
    assert_unauthenticated(response)
    assert response.json()["message"] == "Authenticate"


def test_wrong_api_key_secret(http: httpx.Client, account: Account) -> None:
    headers = basic(account.api_key_sid, account.auth_token)  # the token is not the key's secret
    assert_unauthenticated(http.get(probe_path(account.account_sid), headers=headers))


def test_unknown_account_and_key(http: httpx.Client) -> None:
    ghost = "AC" + "1" * 32
    assert_unauthenticated(http.get(probe_path(ghost), headers=basic(ghost, DEFAULT_TOKEN)))
    ghost_key = "SK" + "1" * 32
    assert_unauthenticated(http.get(probe_path(ghost), headers=basic(ghost_key, DEFAULT_TOKEN)))


def test_account_token_and_api_key_are_accepted(http: httpx.Client, account: Account) -> None:
    path = probe_path(account.account_sid)
    by_token = http.get(path, headers=basic(account.account_sid, account.auth_token))
    by_key = http.get(path, headers=basic(account.api_key_sid, account.api_key_secret))
    assert by_token.status_code == 404
    assert by_key.status_code == 404
    assert by_token.json()["code"] == 20404


def test_default_fixture_credentials(http: httpx.Client) -> None:
    path = probe_path(DEFAULT_ACCOUNT)
    assert http.get(path, headers=basic(DEFAULT_ACCOUNT, DEFAULT_TOKEN)).status_code == 404
    assert http.get(path, headers=basic(DEFAULT_KEY, DEFAULT_KEY_SECRET)).status_code == 404


def test_credentials_of_another_account(http: httpx.Client, server: EmulatorServer) -> None:
    mine, theirs = server.control.create_account(), server.control.create_account()
    path = probe_path(theirs.account_sid)
    assert_unauthenticated(http.get(path, headers=basic(mine.account_sid, mine.auth_token)))
    assert_unauthenticated(http.get(path, headers=basic(mine.api_key_sid, mine.api_key_secret)))


def test_parent_acts_on_subaccount_not_the_reverse(
    http: httpx.Client, server: EmulatorServer
) -> None:
    parent = server.control.create_account()
    child = server.control.create_account(parent_account_sid=parent.account_sid)
    sibling = server.control.create_account(parent_account_sid=parent.account_sid)
    assert child.parent_account_sid == parent.account_sid

    child_path = probe_path(child.account_sid)
    assert (
        http.get(child_path, headers=basic(parent.account_sid, parent.auth_token)).status_code
        == 404
    )
    assert (
        http.get(child_path, headers=basic(parent.api_key_sid, parent.api_key_secret)).status_code
        == 404
    )
    assert (
        http.get(child_path, headers=basic(child.account_sid, child.auth_token)).status_code == 404
    )
    assert_unauthenticated(
        http.get(probe_path(parent.account_sid), headers=basic(child.account_sid, child.auth_token))
    )
    assert_unauthenticated(
        http.get(child_path, headers=basic(sibling.account_sid, sibling.auth_token))
    )


def test_subaccount_of_subaccount_is_refused(server: EmulatorServer) -> None:
    parent = server.control.create_account()
    child = server.control.create_account(parent_account_sid=parent.account_sid)
    response = server.control.http.post(
        "/_emulator/accounts", json={"parent_account_sid": child.account_sid}
    )
    assert response.status_code == 400


def sdk_client(server: EmulatorServer, username: str, password: str, account_sid: str) -> Client:
    client = Client(username, password, account_sid)
    client.api.base_url = server.base_url
    return client


@pytest.mark.parametrize("credential", ["token", "api_key"])
def test_sdk_sees_401_as_twilio_rest_exception(
    server: EmulatorServer, account: Account, credential: str
) -> None:
    user = account.account_sid if credential == "token" else account.api_key_sid
    client = sdk_client(server, user, "wrong" + "0" * 27, account.account_sid)
    with pytest.raises(TwilioRestException) as caught:
        client.calls(DEFAULT_CALL).payments.create(idempotency_key="k1", status_callback=CALLBACK)
    assert caught.value.status == 401
    assert caught.value.code == 20003


def test_sdk_with_credentials_of_another_account(server: EmulatorServer, account: Account) -> None:
    other = server.control.create_account()
    client = sdk_client(server, other.api_key_sid, other.api_key_secret, account.account_sid)
    with pytest.raises(TwilioRestException) as caught:
        client.calls(DEFAULT_CALL).payments.create(idempotency_key="k1", status_callback=CALLBACK)
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_the_journal_says_which_check_failed_while_the_answer_stays_twilios(
    http: httpx.Client, server: EmulatorServer
) -> None:
    """Each refusal is Twilio's 20003, the same body whatever went wrong; the journal entry
    (and the inspector's request page) names the check that failed."""
    mine, theirs = server.control.create_account(), server.control.create_account()
    ghost, ghost_key = "AC" + "2" * 32, "SK" + "2" * 32
    cases = {
        f"unknown account {ghost}": basic(ghost, "x"),
        f"wrong auth token for account {mine.account_sid}": basic(mine.account_sid, "b" * 32),
        f"unknown API key {ghost_key}": basic(ghost_key, "x"),
        f"wrong secret for API key {mine.api_key_sid}": basic(mine.api_key_sid, "b" * 32),
        "malformed Authorization header: not HTTP Basic credentials": {
            "Authorization": "Bearer abc"
        },
        "malformed Authorization header: not base64 of UTF-8 text": {"Authorization": "Basic !!!"},
        "malformed Authorization header: not user:password": {
            "Authorization": "Basic bm9jb2xvbg=="
        },
        "malformed credentials: the user name is neither an account SID (AC...) nor an API key "
        "SID (SK...)": basic("someone", "x"),
        f"credentials of account {theirs.account_sid} may not act on account "
        f"{mine.account_sid}: it is neither that account nor its parent": basic(
            theirs.account_sid, theirs.auth_token
        ),
        f"credentials of account {theirs.account_sid} (API key {theirs.api_key_sid}) may not "
        f"act on account {mine.account_sid}: it is neither that account nor its parent": basic(
            theirs.api_key_sid, theirs.api_key_secret
        ),
        "no credentials: the request has no Authorization header": {},
    }
    bodies = set()
    for reason, headers in cases.items():
        response = http.get(probe_path(mine.account_sid), headers=headers)
        assert_unauthenticated(response)
        if headers:
            bodies.add(response.content)
        entry = server.control.requests(account_sid=mine.account_sid)[-1]
        assert entry["request_id"] == response.headers["twilio-request-id"]
        assert entry["auth_failure"] == reason
        assert entry["authenticated_as"] is None
    assert len(bodies) == 1  # wrong credentials of every kind: one and the same answer
    page = http.get(f"/_emulator/ui/requests?account_sid={mine.account_sid}&status=401")
    assert page.status_code == 200
    assert f"wrong auth token for account {mine.account_sid}" in page.text
    # no secret is shown: not the wrong ones, not the right ones
    journal = str(server.control.requests(account_sid=mine.account_sid))
    assert "b" * 32 not in journal
    assert theirs.auth_token not in journal
    assert theirs.api_key_secret not in journal


def test_a_valid_request_has_no_auth_failure(http: httpx.Client, account: Account) -> None:
    http.get(
        probe_path(account.account_sid), headers=basic(account.account_sid, account.auth_token)
    )
    assert server_entry(http, account)["auth_failure"] is None


def server_entry(http: httpx.Client, account: Account) -> dict[str, object]:
    entries = http.get("/_emulator/requests", params={"account_sid": account.account_sid}).json()
    last: dict[str, object] = entries["requests"][-1]
    return last
