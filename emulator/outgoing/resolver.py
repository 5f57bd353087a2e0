"""Name look-ups for callback deliveries: off the event loop, shared, cached, failures too.

A StatusCallback on a host that does not resolve used to cost a ``getaddrinfo`` per delivery
attempt, in the event loop's default thread pool, each as slow as the name servers are to say
no: the backlog of a dead host drained at a few callbacks a second and the API slowed down.
Here a name costs one look-up per ``ttl_s`` (``negative_ttl_s`` when it failed), whatever the
number of callbacks: concurrent deliveries to one name wait for the same look-up, and the
answer, or the failure, is kept in a bounded LRU cache.

Nothing is looked up for what needs no look-up or cannot succeed: IP literals are used as
they are; the special-use ``.invalid`` names (RFC 6761 section 6.4: always NXDOMAIN) and
malformed names (bad characters or lengths, a dotted number that is no IPv4 address such as
``256.1.1.1``) fail at once, without a query leaving the machine.

Look-ups run ``socket.getaddrinfo`` (so ``/etc/hosts``, nsswitch and test hooks apply) in
daemon threads of the resolver's own, at most ``LOOKUP_THREADS`` at a time: a slow name server
holds only those, and never keeps the process from exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Address", "ResolveError", "Resolver"]

CACHE_SIZE = 1024  # names (with their port) kept; the least recently used is dropped first
TTL_S = 60.0  # how long an answer is used (getaddrinfo gives no TTL)
NEGATIVE_TTL_S = 30.0  # how long a failure is remembered
LOOKUP_THREADS = 4

_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_NUMERIC_LAST_LABEL = re.compile(r"(?:0x[0-9a-fA-F]*|[0-9]+)")

Lookup = Callable[[str, int], list[tuple[int, str, int]]]
"""(host, port) -> [(family, address, port)], blocking; raises OSError when it fails."""


@dataclass(frozen=True, slots=True)
class Address:
    family: int
    host: str  # an IP address
    port: int


class ResolveError(Exception):
    """The name does not resolve (now, or when it was last looked up)."""


@dataclass(slots=True)
class _Entry:
    expires: float
    addresses: tuple[Address, ...] = ()
    error: str | None = None


def system_lookup(host: str, port: int) -> list[tuple[int, str, int]]:
    """``getaddrinfo`` for a TCP connection, in its order."""
    found = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family in (socket.AF_INET, socket.AF_INET6):
            found.append((int(family), str(sockaddr[0]), int(sockaddr[1])))
    return found


def check_name(host: str) -> str | None:
    """Why ``host`` (an ASCII name, not an IP literal) cannot resolve, or None."""
    name = host.rstrip(".")
    if not name or len(name) > 253:
        return "is not a valid host name"
    labels = name.split(".")
    if _NUMERIC_LAST_LABEL.fullmatch(labels[-1]):
        # WHATWG URL: a host ending in a number is an IPv4 address, and this one is not valid
        return "is not a valid IPv4 address"
    if not all(_LABEL.fullmatch(label) for label in labels):
        return "is not a valid host name"
    if labels[-1].lower() == "invalid":
        return "is a special-use .invalid name (RFC 6761), which never resolves"
    return None


class Resolver:
    """Resolves host names for the callback transport; see the module's docstring."""

    def __init__(
        self,
        lookup: Lookup | None = None,
        *,
        max_entries: int = CACHE_SIZE,
        ttl_s: float = TTL_S,
        negative_ttl_s: float = NEGATIVE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup or system_lookup
        self._max_entries = max_entries
        self._ttl_s = ttl_s
        self._negative_ttl_s = negative_ttl_s
        self._clock = clock
        self._cache: OrderedDict[tuple[str, int], _Entry] = OrderedDict()
        self._pending: dict[tuple[str, int], asyncio.Future[_Entry]] = {}
        self._threads: asyncio.Semaphore | None = None
        self.lookups = 0  # look-ups made (for tests and the benchmark)

    async def resolve(self, host: str, port: int) -> list[Address]:
        """The addresses to try for ``host:port``, in order; raises :class:`ResolveError`.

        Cancelling the caller (a connect timeout) does not cancel a look-up others share: it
        completes in the background and its answer is cached.
        """
        literal = _ip_literal(host)
        if literal is not None:
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            return [Address(family, host.strip("[]"), port)]
        key = (host.lower(), port)
        entry = self._cached(key)
        if entry is None:
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = asyncio.ensure_future(self._look_up(key))
                pending.add_done_callback(lambda _: self._pending.pop(key, None))
            entry = await asyncio.shield(pending)
        if entry.error is not None:
            raise ResolveError(entry.error)
        return list(entry.addresses)

    def _cached(self, key: tuple[str, int]) -> _Entry | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return entry

    async def _look_up(self, key: tuple[str, int]) -> _Entry:
        host, port = key
        problem = check_name(host)
        if problem is not None:
            entry = _Entry(self._clock() + self._negative_ttl_s, error=f"{host!r} {problem}")
        else:
            self.lookups += 1
            try:
                found = await self._in_thread(host, port)
            except (OSError, UnicodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                entry = _Entry(
                    self._clock() + self._negative_ttl_s,
                    error=f"cannot resolve {host!r}: {reason or type(exc).__name__}",
                )
            else:
                addresses = tuple(Address(family, address, p) for family, address, p in found)
                if addresses:
                    entry = _Entry(self._clock() + self._ttl_s, addresses)
                else:
                    entry = _Entry(
                        self._clock() + self._negative_ttl_s,
                        error=f"cannot resolve {host!r}: no IPv4 or IPv6 address",
                    )
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
        return entry

    async def _in_thread(self, host: str, port: int) -> list[tuple[int, str, int]]:
        """``lookup(host, port)`` in a daemon thread (a stuck name server must not keep the
        process from exiting, as a thread pool's threads would), a few at a time."""
        if self._threads is None:
            self._threads = asyncio.Semaphore(LOOKUP_THREADS)
        async with self._threads:
            loop = asyncio.get_running_loop()
            done: asyncio.Future[list[tuple[int, str, int]]] = loop.create_future()

            def settle(
                result: list[tuple[int, str, int]] | None, error: BaseException | None
            ) -> None:
                if done.done():
                    return
                if error is not None:
                    done.set_exception(error)
                else:
                    done.set_result(result or [])

            def work() -> None:
                try:
                    result, error = self._lookup(host, port), None
                except BaseException as exc:  # handed to the loop, raised there
                    result, error = None, exc
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                    loop.call_soon_threadsafe(settle, result, error)

            threading.Thread(target=work, name=f"resolve {host}", daemon=True).start()
            return await done

    def clear(self) -> None:
        self._cache.clear()

    def close(self) -> None:
        """Forget look-ups in progress (their threads finish on their own)."""
        for pending in list(self._pending.values()):
            pending.cancel()
        self._pending.clear()


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
