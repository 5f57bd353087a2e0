"""The emulator's benchmark: one command, figures printed and appended to bench/RESULTS.md.

    python bench/run.py                 # full run (~5 minutes on 2 cores)
    python bench/run.py --quick         # smoke run (~1 minute, indicative figures)
    python bench/run.py --duration 20 --no-prism --out /tmp/results.md

What it measures (bench/RESULTS.md's header explains every figure):

1. the update path (``POST .../Payments/{Sid}.json``, fresh IdempotencyKey each time) under the
   same wrk load for: the emulator with its StatusCallbacks delivered to a local receiver
   process, the emulator with StatusCallbacks it cannot deliver (a relative URL), a ceiling
   (raw ASGI app answering 202, bench/ceiling.py) and Stoplight Prism mocking Twilio's spec;
2. idempotent replays; 3. create; 4. cold start; 5. RSS growth; 6. StatusCallback lag with the
   auto caller, under load; 7. what a test suite driving twilio-python sequentially sees.

Why wrk: it is written in C and event-driven; one wrk thread sends and parses far more requests
per second than one Python process can serve, so the load generator is never the bottleneck
and the same script drives every target. Its Lua ``done()`` hook prints the figures as JSON
(bench/common.lua); bench/harness/wrk.py parses that line, never wrk's text.

Every child process (emulator, receiver, ceiling, Prism) runs in its own process group on
127.0.0.1, binds port 0 and prints the port it got (the bench reads it from the process's
output: no port is chosen in advance), and is stopped, by its id, in a ``finally``. The
emulator is started by ``emulator.testing.EmulatorServer``, as the tests start it.

The code is the package bench/harness/ (its ``__init__`` lists the modules); this file is the
command.
"""

from __future__ import annotations

import sys

from harness.main import main

if __name__ == "__main__":
    sys.exit(main())
