"""The uvicorn versions the server layer works with (emulator/server/compat.py): the installed
one has every hook the protocol and the launcher rely on; a uvicorn that lacks one (a stand-in
made from the real classes, less what a release might drop) is refused with a one-line message
naming its version and the tested range, before any socket is opened; and the pin in
pyproject.toml is that range."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from emulator.errors import ConfigError
from emulator.server.compat import NEWEST, OLDEST, REQUIREMENT, Uvicorn, check, problems

ROOT = Path(__file__).resolve().parent.parent


def protocol_like_uvicorns(**changes: Any) -> type:
    """uvicorn's HttpToolsProtocol as a release might make it: its methods, with ``changes``
    (a name mapped to None is left out)."""
    namespace = {
        name: value
        for name, value in {**vars(HttpToolsProtocol), **changes}.items()
        if value is not None and name not in ("__dict__", "__weakref__")
    }
    return type("HttpToolsProtocol", (asyncio.Protocol,), namespace)


def installed_but(**changes: Any) -> Uvicorn:
    return dataclasses.replace(Uvicorn.installed(), **changes)


def refusal(uvicorn_: Uvicorn) -> str:
    with pytest.raises(ConfigError) as raised:
        check(uvicorn_)
    message = str(raised.value)
    assert "\n" not in message
    assert f"uvicorn {uvicorn_.version} is not supported" in message
    assert REQUIREMENT in message
    return message


def test_the_installed_uvicorn_has_every_hook() -> None:
    installed = Uvicorn.installed()
    assert installed.version == uvicorn.__version__
    assert problems(installed) == []
    assert check() is None  # and it is in the tested range: no warning


def test_a_uvicorn_without_the_hook_that_starts_the_app_is_refused() -> None:
    # As uvicorn before 0.45: the app started from on_headers_complete itself, before the body.
    message = refusal(
        installed_but(version="0.44.0", protocol=protocol_like_uvicorns(_start_asgi_task=None))
    )
    assert "HttpToolsProtocol._start_asgi_task is missing" in message


def test_a_hook_uvicorn_no_longer_calls_is_refused() -> None:
    def on_headers_complete(self: Any) -> None:
        self.loop.create_task(self.cycle.run_asgi(self.app))

    stand_in = protocol_like_uvicorns(on_headers_complete=on_headers_complete)
    message = refusal(installed_but(version="0.99.0", protocol=stand_in))
    assert "HttpToolsProtocol.on_headers_complete does not call _start_asgi_task" in message


def test_a_hook_with_other_parameters_is_refused() -> None:
    def _start_asgi_task(self: Any, cycle: Any) -> None:
        pass

    stand_in = protocol_like_uvicorns(_start_asgi_task=_start_asgi_task)
    message = refusal(installed_but(version="0.99.0", protocol=stand_in))
    assert "HttpToolsProtocol._start_asgi_task(self, cycle) is not (self, cycle, app)" in message


def test_a_request_cycle_without_an_attribute_the_protocol_uses_is_refused() -> None:
    """As a release that renames ``waiting_for_100_continue``: none of the cycle's code names
    it any more (its methods that did are left out)."""
    renamed = "waiting_for_100_continue"

    def __init__(self: Any) -> None:
        self.body, self.more_body, self.response_complete = bytearray(), True, False
        self.keep_alive, self.disconnected, self.message_event = True, False, asyncio.Event()
        self.expecting_continue = False

    namespace = {
        name: value
        for name, value in vars(RequestResponseCycle).items()
        if renamed not in getattr(getattr(value, "__code__", None), "co_names", ())
    }
    stand_in = type("RequestResponseCycle", (), {**namespace, "__init__": __init__})
    found = problems(installed_but(cycle=stand_in))
    assert found == [f"RequestResponseCycle has no attribute '{renamed}'"]
    assert found[0] in refusal(installed_but(version="0.99.0", cycle=stand_in))


def test_a_uvicorn_without_the_protocol_module_is_refused() -> None:
    message = refusal(installed_but(version="1.0.0", protocol=None, cycle=None))
    assert "httptools_impl.HttpToolsProtocol is missing (and 1 more)" in message


def test_an_untested_uvicorn_with_every_hook_is_served_with_a_warning() -> None:
    warning = check(installed_but(version="0.99.0"))
    assert warning is not None
    assert "uvicorn 0.99.0 is outside the tested range" in warning
    assert REQUIREMENT in warning


def test_the_pin_is_the_tested_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pin,) = [d for d in project["dependencies"] if d.startswith("uvicorn")]
    # From the oldest tested to the next minor release after the newest tested.
    (low, oldest_minor), (high, newest_minor) = (
        tuple(int(n) for n in version.split(".")[:2]) for version in (OLDEST, NEWEST)
    )
    assert pin == REQUIREMENT == f"uvicorn>={low}.{oldest_minor},<{high}.{newest_minor + 1}"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def test_serve_refuses_a_uvicorn_without_the_hooks_before_opening_a_socket(
    busy_port: int,
) -> None:
    """The command, with uvicorn's class altered as a release might: one line naming the
    version, status 2 as for any bad configuration; and not 'address already in use', since
    the check comes before the sockets."""
    program = (
        "import sys\n"
        "from uvicorn.protocols.http import httptools_impl\n"
        "del httptools_impl.HttpToolsProtocol._start_asgi_task\n"
        "from emulator.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, "--port", str(busy_port), "--database", "sqlite://"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"payments-emulator: error: uvicorn {uvicorn.__version__} is not supported:"
        " HttpToolsProtocol._start_asgi_task is missing;"
        f" the emulator is tested with {REQUIREMENT} (pip install '{REQUIREMENT}')"
    ]
