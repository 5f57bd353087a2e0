"""The control plane cannot be driven by a web page: foreign origins, cross-site requests and
foreign Host names are refused; an optional token guards every control-plane request."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emulator.testing import Account, EmulatorServer
from tests.conftest import basic

TOKEN = "s3cret-token"


def authenticated(server: EmulatorServer, account: Account) -> bool:
    """Whether the account still exists (its credentials still work)."""
    response = httpx.get(
        f"{server.base_url}/2010-04-01/Accounts/{account.account_sid}/X.json",
        headers=basic(account.account_sid, account.auth_token),
    )
    return response.status_code == 404  # authenticated: an unknown path, not a 401


@pytest.fixture(scope="module")
def guarded() -> Iterator[EmulatorServer]:
    with EmulatorServer("--allowed-hosts", "emulator.internal") as server:
        yield server


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:1"},  # another port is another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},  # POST: still refused
    ],
)
def test_cross_site_reset_is_refused_and_changes_nothing(
    guarded: EmulatorServer, headers: dict[str, str]
) -> None:
    account = guarded.control.create_account()
    response = httpx.post(
        guarded.base_url + "/_emulator/reset",
        content=b"x",
        headers={"Content-Type": "text/plain", **headers},  # a "simple" request: no preflight
    )
    assert response.status_code == 403
    assert "detail" in response.json()
    assert authenticated(guarded, account)


@pytest.mark.parametrize(
    "path", ["/_emulator/accounts", "/_emulator/calls/CA" + "0" * 32 + "/hangup"]
)
def test_cross_origin_writes_are_refused(guarded: EmulatorServer, path: str) -> None:
    response = httpx.post(
        guarded.base_url + path, json={}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403


def test_same_origin_and_navigation_are_allowed(guarded: EmulatorServer) -> None:
    own = guarded.base_url  # http://127.0.0.1:PORT, the Host header httpx sends
    assert (
        httpx.post(own + "/_emulator/accounts", json={}, headers={"Origin": own}).status_code == 201
    )
    navigate = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert httpx.get(own + "/_emulator/health", headers=navigate).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example"])
def test_foreign_host_names_are_refused(guarded: EmulatorServer, host: str) -> None:
    response = httpx.get(guarded.base_url + "/_emulator/health", headers={"Host": host})
    assert response.status_code == 403
    reset = httpx.post(guarded.base_url + "/_emulator/reset", headers={"Host": host})
    assert reset.status_code == 403


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8080", "api.twilio.com", "emulator.internal:1", "[::1]:5"]
)
def test_own_names_are_allowed(guarded: EmulatorServer, host: str) -> None:
    response = httpx.get(guarded.base_url + "/_emulator/health", headers={"Host": host})
    assert response.status_code == 200


def test_twilio_paths_are_not_gated_by_origin_but_refuse_foreign_names(
    guarded: EmulatorServer,
) -> None:
    """An SDK's request (no Sec-Fetch-Site) is answered whatever its Origin, under a compose
    service's single-label name too; a dotted name the emulator does not answer to is a DNS
    rebinding page's, refused in Twilio's shape."""
    account = guarded.control.create_account()
    url = f"{guarded.base_url}/2010-04-01/Accounts/{account.account_sid}/X.json"
    credentials = basic(account.account_sid, account.auth_token)
    for host in ("emulator:8080", "api.twilio.com", "localhost"):
        response = httpx.get(url, headers={"Host": host, "Origin": "null", **credentials})
        assert response.status_code == 404, host
    refused = httpx.get(url, headers={"Host": "api.example", **credentials})
    assert refused.status_code == 403
    assert refused.json()["code"] == 20403
    assert "'api.example' is not a name this emulator answers to" in refused.json()["message"]


@pytest.fixture(scope="module")
def with_token() -> Iterator[EmulatorServer]:
    with EmulatorServer("--control-token", TOKEN) as server:
        yield server


def test_token_is_needed_for_every_control_request_but_health(with_token: EmulatorServer) -> None:
    base = with_token.base_url
    assert httpx.get(base + "/_emulator/health").status_code == 200
    for method, path in [("POST", "/_emulator/reset"), ("GET", "/_emulator/requests")]:
        refused = httpx.request(method, base + path)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        wrong = httpx.request(method, base + path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    ok = httpx.get(base + "/_emulator/requests", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    # the test client passes the token it started the server with
    assert with_token.control.create_account().account_sid.startswith("AC")


def test_a_browser_gets_the_token_as_a_cookie_once(with_token: EmulatorServer) -> None:
    with httpx.Client(base_url=with_token.base_url) as browser:
        first = browser.get("/_emulator/requests?token=" + TOKEN + "&account_sid=AC1")
        assert first.status_code == 303
        assert first.headers["location"] == "/_emulator/requests?account_sid=AC1"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert browser.get("/_emulator/requests").status_code == 200  # the cookie is sent
        assert browser.get("/_emulator/requests?token=wrong").status_code == 401
