"""The Twilio edge: 404, 405 and 500 in Twilio's shape, request ids, CORS, preflight."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from emulator.testing import Account, EmulatorServer
from tests.conftest import basic

REQUEST_ID = re.compile(r"^RQ[0-9a-f]{32}$")
ERROR_KEYS = {"code", "message", "more_info", "status"}


def twilio_error(response: httpx.Response, status: int, code: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert REQUEST_ID.match(response.headers["twilio-request-id"])
    body: dict[str, object] = response.json()
    assert set(body) == (ERROR_KEYS | {"detail"} if status == 401 else ERROR_KEYS)
    assert body["code"] == code
    assert body["status"] == status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    return body


@pytest.mark.parametrize(
    "suffix",
    ["/Calls/CA" + "0" * 32 + "/Recordings.json", "/Unknown", ""],
)
def test_unknown_resource_is_404(http: httpx.Client, account: Account, suffix: str) -> None:
    path = f"/2010-04-01/Accounts/{account.account_sid}{suffix}"
    body = twilio_error(
        http.post(path, headers=basic(account.account_sid, account.auth_token)), 404, 20404
    )
    assert body["message"] == f"The requested resource {path} was not found"


def test_unknown_path_outside_accounts_is_404_once_authenticated(
    http: httpx.Client, account: Account
) -> None:
    headers = basic(account.account_sid, account.auth_token)
    twilio_error(http.get("/2010-04-01/Nothing.json", headers=headers), 404, 20404)
    twilio_error(http.get("/2010-04-01/Nothing.json"), 401, 20003)


def test_request_ids_are_unique(http: httpx.Client, account: Account) -> None:
    headers = basic(account.account_sid, account.auth_token)
    ids = {
        http.get(f"/2010-04-01/Accounts/{account.account_sid}/X.json", headers=headers).headers[
            "twilio-request-id"
        ]
        for _ in range(20)
    }
    assert len(ids) == 20
    assert all(REQUEST_ID.match(i) for i in ids)


def test_errors_carry_cors_headers(http: httpx.Client, account: Account) -> None:
    response = http.get(f"/2010-04-01/Accounts/{account.account_sid}/X.json")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize("origin", ["https://agent.example", "null"])
def test_origin_is_never_reflected(http: httpx.Client, account: Account, origin: str) -> None:
    """As api.twilio.com: ``*`` whatever the Origin, so a page can call the API with an
    Authorization header it sets, but never with credentials the browser holds."""
    response = http.get(
        f"/2010-04-01/Accounts/{account.account_sid}/X.json",
        headers={"Origin": origin, **basic(account.account_sid, account.auth_token)},
    )
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "*"
    assert "vary" not in response.headers


def test_preflight_needs_no_credentials(http: httpx.Client, account: Account) -> None:
    path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/CA{'0' * 32}/Payments.json"
    response = http.options(
        path,
        headers={
            "Origin": "https://agent.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Authorization" in response.headers["access-control-allow-headers"]
    assert REQUEST_ID.match(response.headers["twilio-request-id"])


def test_control_plane_is_not_under_twilio_rules(http: httpx.Client) -> None:
    """FastAPI answers the control plane; its 404 is FastAPI's, and no request id is added."""
    response = http.get("/_emulator/nothing")
    assert response.status_code == 404
    assert "twilio-request-id" not in response.headers


def test_unhandled_error_is_500_in_twilio_shape_and_logged(tmp_path: Path) -> None:
    database = tmp_path / "e.db"
    with EmulatorServer(database=database) as server:
        account = server.control.create_account()
        with sqlite3.connect(database) as conn:  # break the store under the running server
            conn.execute("ALTER TABLE accounts RENAME TO accounts_gone")
        response = httpx.get(
            f"{server.base_url}/2010-04-01/Accounts/{account.account_sid}/X.json",
            headers=basic(account.account_sid, account.auth_token),
        )
        body = twilio_error(response, 500, 20500)
        assert body["message"] == "Internal Server Error"
        assert "Traceback" not in response.text
        request_id = response.headers["twilio-request-id"]
        server.stop()
        assert f"unhandled error answering request {request_id}" in server.log


def test_401_bodies_carry_twilios_detail(http: httpx.Client, account: Account) -> None:
    """As api.twilio.com: ``detail`` explains a missing credential, and is empty for a wrong one."""
    path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/CA{'0' * 32}/Payments.json"
    missing = http.post(path)
    assert missing.status_code == 401
    assert missing.json() == {
        "code": 20003,
        "detail": "Your AccountSid or AuthToken was incorrect.",
        "message": "Authentication Error - No credentials provided",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    wrong = http.post(path, headers=basic(account.account_sid, "wrong"))
    assert wrong.status_code == 401
    assert wrong.text == (
        '{"code": 20003, "detail": "", "message": "Authenticate", '
        '"more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}'
    )
