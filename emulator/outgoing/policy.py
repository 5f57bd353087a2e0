"""Where the emulator's requests may go: the host policy of the one way out.

Every request the emulator sends (a StatusCallback, a Generic Pay Connector request, a voice
webhook) is checked twice:

* before any look-up (:meth:`HostPolicy.refuse_url`): the host must be in ``callback_hosts``
  when that setting names hosts, and must not be a name the emulator answers to as a TLS
  server (``tls_names``: it would be calling itself);
* once the name is resolved, before connecting (:meth:`HostPolicy.refuse_address`): no
  address and port the emulator is serving on. A listener on ``0.0.0.0`` or ``::`` is reached
  through every address of the machine, so those count too, and so do the loopback networks
  (``127.0.0.0/8``, ``::1``) whatever the listener's own address.

A refusal is final: the request is not sent, and trying again cannot help. It says why, in
words meant for the delivery log and the inspector.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from emulator.outgoing.resolver import Address

__all__ = ["OWN_ADDRESS", "HostPolicy", "host_key", "machine_addresses"]

OWN_ADDRESS = "the emulator's own address"
"""How a refusal to call the emulator itself starts, wherever it is shown."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_SIOCGIFADDR = 0x8915


def host_key(host: str) -> str:
    """A host as the policy compares it: lower case, no brackets, no final dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def machine_addresses() -> frozenset[IPAddress]:
    """The addresses of this machine's interfaces (best effort: IPv4 through ``SIOCGIFADDR``,
    IPv6 from ``/proc/net/if_inet6``, plus what the host name resolves to)."""
    found: set[IPAddress] = set()
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            with contextlib.suppress(OSError):
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
                found.add(ipaddress.IPv4Address(answer[20:24]))
    with contextlib.suppress(OSError, ValueError), open("/proc/net/if_inet6") as lines:
        for line in lines:
            found.add(ipaddress.IPv6Address(int(line.split()[0], 16)))
    with contextlib.suppress(OSError, UnicodeError):
        for *_, sockaddr in socket.getaddrinfo(socket.gethostname(), None):
            with contextlib.suppress(ValueError):
                found.add(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]))
    return frozenset(found)


def _dns_name(name: str) -> bool:
    key = host_key(name)
    if not key or key == "localhost" or key.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(key)
    except ValueError:
        return True
    return False


@dataclass(slots=True)
class HostPolicy:
    """``allowed_hosts``: the only hosts requests may go to (empty: any); ``own_names``: the
    names the emulator answers to as a TLS server. The ports it listens on are added once
    its sockets are bound (:meth:`serving`)."""

    allowed_hosts: frozenset[str] = frozenset()
    own_names: frozenset[str] = frozenset()
    _ports: frozenset[int] = field(default=frozenset(), init=False)
    _machine: frozenset[IPAddress] = field(default=frozenset(), init=False)

    @classmethod
    def of(cls, allowed_hosts: Iterable[str] = (), tls_names: Iterable[str] = ()) -> HostPolicy:
        """The policy for these ``callback_hosts`` and, when the emulator serves TLS, these
        ``tls_names`` (of which only DNS names count here: loopback names and IP literals are
        the address check's, which knows the ports)."""
        return cls(
            frozenset(host_key(h) for h in allowed_hosts if h.strip()),
            frozenset(host_key(n) for n in tls_names if _dns_name(n)),
        )

    def serving(self, listeners: Iterable[tuple[str, int]]) -> None:
        """The emulator listens on these (address, port) pairs: requests to them are refused."""
        self._ports = frozenset(port for _, port in listeners)
        self._machine = machine_addresses() if self._ports else frozenset()

    def refuse_url(self, host: str) -> str | None:
        """Why a request to ``host`` may not be sent, before any look-up; or None."""
        key = host_key(host)
        if key in self.own_names:
            return f"{OWN_ADDRESS}: {host!r} is one of the emulator's tls_names (not sent)"
        if self.allowed_hosts and key not in self.allowed_hosts:
            return (
                f"host {host!r} is not in callback_hosts "
                f"({', '.join(sorted(self.allowed_hosts))}): not sent (no look-up, no connection)"
            )
        return None

    def refuse_address(self, address: Address) -> str | None:
        """Why a connection to ``address`` may not be made (the emulator serves there); or
        None."""
        if address.port not in self._ports:
            return None
        try:
            ip = ipaddress.ip_address(address.host.split("%")[0])
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_unspecified or any(ip in net for net in _LOOPBACK) or ip in self._machine:
            return (
                f"{OWN_ADDRESS}: {address.host} port {address.port} is where it listens (not sent)"
            )
        return None
