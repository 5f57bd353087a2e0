"""Name look-ups for deliveries (a stub stands in for getaddrinfo: nothing leaves the machine),
and the URL helpers: credentials, masking."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading

import pytest

from emulator.domain.urls import (
    basic_authorization,
    mask_url_password,
    scrub_password,
    url_password,
)
from emulator.outgoing.resolver import Address, ResolveError, Resolver, check_name


class StubLookup:
    """A getaddrinfo stand-in: ``answers`` by name; any other name does not exist."""

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[str] = []
        self.gate: threading.Event | None = None

    def __call__(self, host: str, port: int) -> list[tuple[int, str, int]]:
        self.calls.append(host)
        if self.gate is not None:
            self.gate.wait(10)
        if host in self.answers:
            return [(int(socket.AF_INET), self.answers[host], port)]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(resolver: Resolver, host: str, port: int = 80) -> list[Address] | str:
    async def main() -> list[Address] | str:
        try:
            return await resolver.resolve(host, port)
        except ResolveError as exc:
            return f"error: {exc}"

    return asyncio.run(main())


def test_ip_literals_need_no_look_up() -> None:
    lookup = StubLookup()
    resolver = Resolver(lookup)
    assert run(resolver, "127.0.0.1", 8080) == [Address(socket.AF_INET, "127.0.0.1", 8080)]
    assert run(resolver, "::1", 8080) == [Address(socket.AF_INET6, "::1", 8080)]
    assert lookup.calls == []
    resolver.close()


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("256.1.1.1", "not a valid IPv4 address"),
        ("1.2.3.4.5", "not a valid IPv4 address"),
        ("host.0x10", "not a valid IPv4 address"),
        ("nonexistent.invalid", ".invalid"),
        ("NONEXISTENT.INVALID.", ".invalid"),
        ("a%20b", "not a valid host name"),
        ("-bad.example", "not a valid host name"),
        ("x" * 64 + ".example", "not a valid host name"),
        ("a." * 127 + "com", "not a valid host name"),
        ("", "not a valid host name"),
    ],
)
def test_names_that_cannot_resolve_are_refused_without_a_look_up(host: str, why: str) -> None:
    lookup = StubLookup()
    resolver = Resolver(lookup)
    result = run(resolver, host)
    assert isinstance(result, str)
    assert why in result
    assert lookup.calls == []
    assert check_name(host) is not None
    resolver.close()


@pytest.mark.parametrize("host", ["localhost", "app", "my_service.internal", "xn--mnchen-3ya.de"])
def test_ordinary_names_pass_the_check(host: str) -> None:
    assert check_name(host) is None


def test_a_dead_name_costs_one_look_up_until_its_failure_expires() -> None:
    lookup, clock = StubLookup(), FakeClock()
    resolver = Resolver(lookup, negative_ttl_s=30, clock=clock)

    async def main() -> list[list[Address] | str]:
        async def one() -> list[Address] | str:
            try:
                return await resolver.resolve("dead.example", 80)
            except ResolveError as exc:
                return str(exc)

        gate = lookup.gate = threading.Event()
        many = [asyncio.ensure_future(one()) for _ in range(50)]
        await asyncio.sleep(0.01)
        gate.set()  # fifty deliveries waited for the same look-up
        first = await asyncio.gather(*many)
        again = [await one() for _ in range(50)]  # cached failures
        return [*first, *again]

    results = asyncio.run(main())
    assert len(lookup.calls) == 1
    assert resolver.lookups == 1
    assert all(r == "cannot resolve 'dead.example': Name or service not known" for r in results)
    clock.now += 31  # the failure expired: one more look-up
    assert isinstance(run(resolver, "dead.example"), str)
    assert len(lookup.calls) == 2
    resolver.close()


def test_answers_are_cached_for_their_ttl_per_name_and_port() -> None:
    lookup, clock = StubLookup({"app": "127.0.0.1"}), FakeClock()
    resolver = Resolver(lookup, ttl_s=60, clock=clock)
    for _ in range(5):
        assert run(resolver, "app", 8000) == [Address(socket.AF_INET, "127.0.0.1", 8000)]
    assert run(resolver, "APP", 8000) == [Address(socket.AF_INET, "127.0.0.1", 8000)]
    assert len(lookup.calls) == 1
    assert run(resolver, "app", 9000) == [Address(socket.AF_INET, "127.0.0.1", 9000)]
    assert len(lookup.calls) == 2  # (a resolver hook may map ports: the port is part of the key)
    clock.now += 61
    run(resolver, "app", 8000)
    assert len(lookup.calls) == 3
    resolver.close()


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    lookup = StubLookup({f"h{n}": "127.0.0.1" for n in range(10)})
    resolver = Resolver(lookup, max_entries=3)
    for name in ["h0", "h1", "h2", "h0", "h3"]:  # h1 is the least recently used when h3 comes
        run(resolver, name)
    assert lookup.calls == ["h0", "h1", "h2", "h3"]
    run(resolver, "h0")
    run(resolver, "h1")
    assert lookup.calls == ["h0", "h1", "h2", "h3", "h1"]
    resolver.close()


def test_a_caller_that_gives_up_does_not_cancel_the_shared_look_up() -> None:
    lookup = StubLookup({"slow": "127.0.0.1"})
    gate = lookup.gate = threading.Event()
    resolver = Resolver(lookup)

    async def main() -> list[Address]:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(resolver.resolve("slow", 80), 0.05)
        gate.set()
        return await resolver.resolve("slow", 80)

    assert asyncio.run(main()) == [Address(socket.AF_INET, "127.0.0.1", 80)]
    assert lookup.calls == ["slow"]
    resolver.close()


# --- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://user:secret@example.com:8443/cb?x=1",
            "https://user:****@example.com:8443/cb?x=1",
        ),
        ("http://user:p%40ss@127.0.0.1/cb", "http://user:****@127.0.0.1/cb"),
        ("http://user:p@ss@127.0.0.1/cb", "http://user:****@127.0.0.1/cb"),  # the last @ ends it
        ("http://:only-a-password@host/", "http://:****@host/"),
        ("//user:pw@host/relative", "//user:****@host/relative"),
        ("http://user@host/cb", "http://user@host/cb"),  # no password: nothing to mask
        ("http://user:@host/cb", "http://user:@host/cb"),
        ("https://example.com/cb?next=http://a:b@c/", "https://example.com/cb?next=http://a:b@c/"),
        ("/relative/path", "/relative/path"),
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_mask_url_password(url: str, shown: str) -> None:
    assert mask_url_password(url) == shown


def test_scrub_password_and_basic_authorization() -> None:
    url = "http://user:p%40ss@127.0.0.1:9/cb"
    assert url_password(url) == "p%40ss"
    text = f"failed for {url} with p@ss and p%40ss"
    assert (
        scrub_password(text, url) == "failed for http://user:****@127.0.0.1:9/cb with **** and ****"
    )
    assert scrub_password("no secret here", "http://host/") == "no secret here"
    header = basic_authorization("user", "p@ss")
    assert header == "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert basic_authorization("ü", "ß") == "Basic " + base64.b64encode("ü:ß".encode()).decode()
