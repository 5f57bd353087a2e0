"""The server layer: the app served by uvicorn, with limits on every connection.

- ``launch``: ``run(settings)``, the listening sockets, TLS files, the open-files limit,
  uvicorn's ``Server`` and the signals;
- ``protocol``: the HTTP protocol (uvicorn's httptools protocol with the limits built in);
- ``limits``: what it enforces (``HttpLimits``) and the connection cap (``ConnectionLimiter``);
- ``refusals``: what a request refused by the HTTP layer is answered;
- ``compat``: the uvicorn versions this works with, checked before the server starts.

The top floor: it imports the app and what the app is made of; only the command
(``emulator.cli``), the tests and the benchmarks import it. This file imports nothing, so that
a module of the package is imported alone (``emulator.cli`` imports ``launch`` only to serve).
"""

__all__: list[str] = []
