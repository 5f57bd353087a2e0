"""The names the emulator answers to, read from a ``Host`` header (pure).

A DNS rebinding attack reaches the emulator under a foreign name (``evil.example`` resolving
to 127.0.0.1): refusing every name the emulator does not answer to stops it. The emulator
answers to IP literals, ``localhost`` and ``*.localhost``, the machine's host name, the TLS
certificate names and the ``allowed_hosts`` setting; on the Twilio paths also to any
single-label name (a compose service such as ``emulator``), which no public DNS serves.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["HostNames", "Origins", "hostname"]


def hostname(host: str) -> str | None:
    """The name in a Host header (``name:port``, ``[v6]:port``), lower-cased, without a final
    dot; None when it is not one."""
    try:
        parsed = urlsplit("//" + host)
        name = parsed.hostname
        parsed.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    return name.rstrip(".") if name else None


class HostNames:
    """``names`` (lower-cased), plus what every emulator answers to; ``single_label``: any
    name without a dot too."""

    def __init__(self, names: Iterable[str], *, single_label: bool = False) -> None:
        self._names = {name.lower().rstrip(".") for name in names if name.strip()}
        self._names.add("localhost")
        self._single_label = single_label

    def known(self, host: str) -> bool:
        """Whether a ``Host`` header names the emulator."""
        name = hostname(host)
        if name is None:
            return False
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            pass
        if self._single_label and "." not in name:
            return True
        return name in self._names or name.endswith(".localhost")


class Origins:
    """Browser origins allowed to call across sites: ``*`` (any), or ``scheme://host[:port]``
    where a port of ``*`` matches any port (the scheme's default included)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.any = False
        self._exact: set[tuple[str, str, int | None]] = set()
        self._any_port: set[tuple[str, str]] = set()
        for pattern in patterns:
            pattern = pattern.strip()
            if pattern == "*":
                self.any = True
                continue
            wildcard = pattern.endswith(":*")
            parsed = _origin(pattern[:-2] if wildcard else pattern)
            if parsed is None:
                continue
            scheme, host, port = parsed
            if wildcard:
                self._any_port.add((scheme, host))
            else:
                self._exact.add((scheme, host, port))

    def allows(self, origin: str | None) -> bool:
        if self.any:
            return True
        parsed = _origin(origin) if origin else None
        if parsed is None:
            return False
        scheme, host, port = parsed
        return (scheme, host) in self._any_port or (scheme, host, port) in self._exact


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(text: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an origin (``null`` and the malformed: None)."""
    try:
        parsed = urlsplit(text.strip())
        port = parsed.port
    except ValueError:
        return None
    scheme = parsed.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parsed.hostname:
        return None
    return scheme, parsed.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme]
