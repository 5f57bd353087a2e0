"""Tests for emulator.domain.signing: Twilio's published signature test vectors (verified
identical in twilio-python 9.13.0 and twilio-node 6.2.0) and a twilio-python cross-check; and of
the validators' side kept in tests/signatures.py."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from emulator.domain.signing import compute_signature, signature_base, signed_url
from tests.signatures import (
    body_sha256,
    compute_signature_sha256,
    url_with_body_hash,
    validate_signature,
)

TOKEN = "12345"

# Vector 1 (also twilio-python's own unit test).
V1_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
V1_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
V1_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

# Vector 2: a Payments StatusCallback; DateCreated contains a comma and spaces.
V2_URL = "https://example.com/pay/status?session=42"
V2_URL_WITH_PORT = "https://example.com:443/pay/status?session=42"
V2_PARAMS = {
    "AccountSid": "AC" + "0" * 32,
    "CallSid": "CA" + "1" * 32,
    "Sid": "PK" + "2" * 32,
    "Capture": "payment-card-number",
    "PartialResult": "false",
    "PaymentCardNumber": "xxxx-xxxx-xxxx-1111",
    "PaymentCardType": "visa",
    "Required": "expiration-date,security-code,postal-code",
    "DateCreated": "Tue, 05 Nov 2024 18:00:00 +0000",
}
V2_SIGNATURE = "pcR8Uv6hfl90ueLX74mBRvf5JBA="
V2_SIGNATURE_SHA256 = "7cDfybbl1LNnGjCSnytrujCFOzDkrrmV9c4Z3XYCmJY="

# Vector 3: JSON body, signed over the URL carrying bodySHA256 with no params.
V3_BASE_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
V3_BODY = b'{"property": "value", "boolean": true}'
V3_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
V3_URL = f"{V3_BASE_URL}&bodySHA256={V3_HASH}"
V3_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="


class MultiDict:
    """Minimal Flask/werkzeug-style MultiDict: iteration yields names, ``getall`` the values."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = list(pairs)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]


# ---------------------------------------------------------------- Twilio's published test vectors


def test_vector1_form_params() -> None:
    assert compute_signature(TOKEN, V1_URL, V1_PARAMS) == V1_SIGNATURE
    assert validate_signature(TOKEN, V1_URL, V1_PARAMS, V1_SIGNATURE)


def test_vector2_payments_callback_sha1() -> None:
    assert compute_signature(TOKEN, V2_URL, V2_PARAMS) == V2_SIGNATURE
    assert validate_signature(TOKEN, V2_URL, V2_PARAMS, V2_SIGNATURE)


def test_vector2_payments_callback_sha256() -> None:
    assert compute_signature_sha256(TOKEN, V2_URL, V2_PARAMS) == V2_SIGNATURE_SHA256


def test_vector2_as_pairs_in_any_order() -> None:
    pairs = sorted(V2_PARAMS.items(), reverse=True)
    assert compute_signature(TOKEN, V2_URL, pairs) == V2_SIGNATURE
    assert compute_signature_sha256(TOKEN, V2_URL, pairs) == V2_SIGNATURE_SHA256


def test_vector3_json_body() -> None:
    assert body_sha256(V3_BODY) == V3_HASH
    assert url_with_body_hash(V3_BASE_URL, V3_BODY) == V3_URL
    assert compute_signature(TOKEN, V3_URL, {}) == V3_SIGNATURE
    assert compute_signature(TOKEN, V3_URL, []) == V3_SIGNATURE
    assert validate_signature(TOKEN, V3_URL, {}, V3_SIGNATURE)
    # twilio-python validates the same request given the raw body as a str.
    assert RequestValidator(TOKEN).validate(V3_URL, V3_BODY.decode(), V3_SIGNATURE)


# ---------------------------------------------------------------- port quirk


def test_port_quirk_signature_without_port_validates_with_port() -> None:
    assert validate_signature(TOKEN, V2_URL_WITH_PORT, V2_PARAMS, V2_SIGNATURE)


def test_port_quirk_signature_with_port_validates_without_port() -> None:
    signed_with_port = compute_signature(TOKEN, V2_URL_WITH_PORT, V2_PARAMS)
    assert signed_with_port != V2_SIGNATURE
    assert validate_signature(TOKEN, V2_URL, V2_PARAMS, signed_with_port)
    assert validate_signature(TOKEN, V2_URL_WITH_PORT, V2_PARAMS, signed_with_port)


@pytest.mark.parametrize(
    ("without_port", "with_port"),
    [
        ("http://example.com/cb", "http://example.com:80/cb"),
        ("https://example.com", "https://example.com:443"),
        ("https://user:pw@example.com?x=1", "https://user:pw@example.com:443?x=1"),
        ("https://[::1]/cb#frag", "https://[::1]:443/cb#frag"),
        ("HTTPS://example.com/cb", "HTTPS://example.com:443/cb"),
    ],
)
def test_port_quirk_both_directions(without_port: str, with_port: str) -> None:
    params = {"A": "1"}
    for signed, checked in [(without_port, with_port), (with_port, without_port)]:
        signature = compute_signature(TOKEN, signed, params)
        assert validate_signature(TOKEN, checked, params, signature)


@pytest.mark.parametrize(
    ("signed", "checked"),
    [
        ("https://example.com/cb", "https://example.com:80/cb"),  # wrong default for https
        ("http://example.com/cb", "http://example.com:443/cb"),  # wrong default for http
        ("https://example.com/cb", "https://example.com:8443/cb"),  # non-default port
        ("https://example.com:8443/cb", "https://example.com/cb"),
        ("https://example.com/cb", "https://example.org/cb"),
        ("https://example.com/cb?x=1", "https://example.com/cb?x=2"),
    ],
)
def test_other_url_changes_fail(signed: str, checked: str) -> None:
    params = {"A": "1"}
    assert not validate_signature(TOKEN, checked, params, compute_signature(TOKEN, signed, params))


# ---------------------------------------------------------------- multi-valued params etc.


def test_multi_valued_params_deduplicated_and_sorted() -> None:
    pairs = [("b", "2"), ("a", "z"), ("b", "1"), ("a", "y"), ("b", "2")]
    assert signature_base("https://x/", pairs) == "https://x/ayazb1b2"
    expected = RequestValidator(TOKEN).compute_signature("https://x/", MultiDict(pairs))
    assert compute_signature(TOKEN, "https://x/", pairs) == expected
    assert validate_signature(TOKEN, "https://x/", list(reversed(pairs)), expected)


def test_names_sorted_by_code_point() -> None:
    pairs = [("b", "1"), ("B", "2"), ("_", "3"), ("a", "4"), ("é", "5")]
    assert signature_base("u", pairs) == "uB2_3a4b1é5"


def test_query_string_params_are_not_added() -> None:
    assert signature_base("https://x/?b=2&a=1", {}) == "https://x/?b=2&a=1"


def test_url_with_body_hash_separators() -> None:
    digest = body_sha256(b"")
    assert url_with_body_hash("https://x/cb", b"") == f"https://x/cb?bodySHA256={digest}"
    assert url_with_body_hash("https://x/cb?", b"") == f"https://x/cb?bodySHA256={digest}"
    assert url_with_body_hash("https://x/cb?a=1&", b"") == f"https://x/cb?a=1&bodySHA256={digest}"
    assert url_with_body_hash("https://x/cb#f", b"") == f"https://x/cb?bodySHA256={digest}#f"


@pytest.mark.parametrize(
    "bad", ["", "RSOYDt4T1cUTdK1PDd93/VVr8B8", "rsoydt4t1cutdk1pdd93/vvr8b8=", "é" * 28]
)
def test_wrong_signatures_rejected(bad: str) -> None:
    assert not validate_signature(TOKEN, V1_URL, V1_PARAMS, bad)


def test_wrong_token_or_params_rejected() -> None:
    assert not validate_signature("54321", V1_URL, V1_PARAMS, V1_SIGNATURE)
    assert not validate_signature(TOKEN, V1_URL, {**V1_PARAMS, "Digits": "1235"}, V1_SIGNATURE)
    assert not validate_signature(TOKEN, V2_URL, V2_PARAMS, V2_SIGNATURE_SHA256)


# ---------------------------------------------------------------- cross-check with twilio-python

_URL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$'()*+,=:@"
_hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,2}", fullmatch=True)
_ports = st.none() | st.sampled_from([80, 443]) | st.integers(1, 65535)
_paths = st.lists(st.text(_URL_CHARS, max_size=8), max_size=4).map(
    lambda segments: "".join("/" + s for s in segments)
)
_query_parts = st.text(_URL_CHARS.replace("=", ""), min_size=1, max_size=8)
_queries = st.none() | st.lists(st.tuples(_query_parts, _query_parts), min_size=1, max_size=3).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)


@st.composite
def url_parts(draw: st.DrawFn) -> tuple[str, str, int | None, str]:
    """(scheme, host, port or None, path + optional query)."""
    scheme = draw(st.sampled_from(["https", "http"]))
    host = draw(_hosts)
    port = draw(_ports)
    tail = draw(_paths)
    query = draw(_queries)
    if query is not None:
        tail += f"?{query}"
    return scheme, host, port, tail


def join_url(scheme: str, host: str, port: int | None, tail: str) -> str:
    return f"{scheme}://{host}{'' if port is None else f':{port}'}{tail}"


def urls() -> st.SearchStrategy[str]:
    return url_parts().map(lambda parts: join_url(*parts))


_texts = st.text(max_size=12)
_pairs = st.lists(
    st.tuples(st.text(max_size=6) | st.sampled_from(["A", "B", "a"]), _texts), max_size=8
)
_tokens = st.text(min_size=1, max_size=40)


@settings(max_examples=200, deadline=None, database=None)
@given(token=_tokens, url=urls(), params=st.dictionaries(st.text(max_size=10), _texts, max_size=8))
def test_matches_twilio_sdk_with_dict(token: str, url: str, params: dict[str, str]) -> None:
    sdk = RequestValidator(token)
    ours = compute_signature(token, url, params)
    assert sdk.compute_signature(url, params) == ours
    assert sdk.compute_signature(url, params, "HMAC_SHA256") == compute_signature_sha256(
        token, url, params
    )
    assert sdk.validate(url, dict(params), ours)
    assert validate_signature(token, url, params, ours)


@settings(max_examples=200, deadline=None, database=None)
@given(token=_tokens, url=urls(), pairs=_pairs)
def test_matches_twilio_sdk_with_multidict(
    token: str, url: str, pairs: list[tuple[str, str]]
) -> None:
    sdk = RequestValidator(token)
    ours = compute_signature(token, url, pairs)
    assert sdk.compute_signature(url, MultiDict(pairs)) == ours
    assert sdk.validate(url, MultiDict(pairs), ours)
    assert validate_signature(token, url, pairs, ours)


@settings(max_examples=100, deadline=None, database=None)
@given(
    token=_tokens,
    parts=url_parts(),
    params=st.dictionaries(st.text(max_size=10), _texts, max_size=5),
)
def test_sdk_port_variants_validate_with_ours(
    token: str, parts: tuple[str, str, int | None, str], params: dict[str, str]
) -> None:
    """Whichever default-port form the SDK signs, both validators accept the other form."""
    scheme, host, _, tail = parts
    default = 443 if scheme == "https" else 80
    without_port = join_url(scheme, host, None, tail)
    with_port = join_url(scheme, host, default, tail)
    sdk = RequestValidator(token)
    for signed, checked in [(without_port, with_port), (with_port, without_port)]:
        signature = sdk.compute_signature(signed, params)
        assert validate_signature(token, checked, params, signature)
        assert sdk.validate(checked, dict(params), signature)


def test_body_hash_matches_sdk() -> None:
    body = '{"é": [1, 2, "x"]}'
    assert body_sha256(body.encode("utf-8")) == RequestValidator(TOKEN).compute_hash(body)


# --- the URL that is signed (https://www.twilio.com/docs/usage/security, "A few notes") ------


@pytest.mark.parametrize(
    ("url", "signed"),
    [
        # "For voice callbacks over HTTPS: ... drop the username and password ... also drop
        # the port"
        ("https://user:pw@example.com:8443/cb?x=1", "https://example.com/cb?x=1"),
        ("https://example.com:443/cb", "https://example.com/cb"),
        ("https://[::1]:8443/cb", "https://[::1]/cb"),
        # "For SMS and voice callbacks over HTTP: ... drop the username and password ... keep
        # the port"
        ("http://user:pw@127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb"),
        ("http://127.0.0.1:8080/cb?a=1&b=2", "http://127.0.0.1:8080/cb?a=1&b=2"),
        # connection overrides "do not make it into the signature computation"
        ("https://example.com/cb?query=123#rc=2&ct=1000", "https://example.com/cb?query=123"),
    ],
)
def test_the_signed_url(url: str, signed: str) -> None:
    assert signed_url(url) == signed


def test_an_https_signature_without_the_port_validates_with_or_without_it() -> None:
    """The SDK validators try the URL with and without its port: a receiver that rebuilds
    its URL with the port still accepts what Twilio signs without it."""
    params = {"Sid": "PK" + "0" * 32}
    signature = compute_signature(TOKEN, signed_url("https://example.com:8443/cb"), params)
    validator = RequestValidator(TOKEN)
    assert validator.validate("https://example.com:8443/cb", params, signature)
    assert validator.validate("https://example.com/cb", params, signature)
