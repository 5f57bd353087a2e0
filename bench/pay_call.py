#!/usr/bin/env python3
"""A whole ``<Pay>`` call, timed: from twilio-python's ``calls.create`` to the ``action``
request arriving at the application.

    .venv/bin/python bench/pay_call.py                      # 50 calls, one at a time
    .venv/bin/python bench/pay_call.py --calls 200 --concurrency 8
    .venv/bin/python bench/pay_call.py --caller-delay-ms 0  # without the auto caller's pause

An emulator of its own (``emulator.testing.EmulatorServer``, the auto caller, a fresh
database) and an application of its own on 127.0.0.1 (``tests/voice_app.py``) that answers
the call's webhook with ``<Say>`` and ``<Pay chargeAmount="10.00" action=... statusCallback=...>``
built by twilio-python's ``VoiceResponse``, its statusCallback with 204 and its action with
a ``<Hangup>``. Each call: ``calls.create`` is sent, the call asks for its TwiML, the auto
caller keys the four card items (each ``--caller-delay-ms`` after its prompt: the server's
setting, 50 ms by default), the built-in connector charges, the action is requested.
Printed: the median, p95, min and max of the durations, and of the part before the call's
first webhook; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.twiml.voice_response import Pay, VoiceResponse  # noqa: E402

from emulator.testing import EmulatorServer  # noqa: E402
from tests.voice_app import Page, VoiceApp, twilio_client  # noqa: E402


def pay_twiml() -> str:
    response = VoiceResponse()
    response.say("Calling Twilio Pay")
    response.append(Pay(charge_amount="10.00", action="/paid", status_callback="/status"))
    return str(response)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name}: median {statistics.median(values):.1f} ms, p95 {percentile(values, 0.95):.1f} ms,"
        f" min {min(values):.1f} ms, max {max(values):.1f} ms ({len(values)} calls)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--caller-delay-ms", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3, help="calls not counted")
    args = parser.parse_args()

    pages: dict[str, Page | str] = {
        "/pay": pay_twiml(),
        "/paid": "<Response><Hangup/></Response>",
        "/status": Page("", status=204, content_type=None),
    }
    with (
        tempfile.TemporaryDirectory() as folder,
        EmulatorServer(
            "--caller",
            "auto",
            "--caller-delay-ms",
            str(args.caller_delay_ms),
            database=Path(folder) / "bench.db",
        ) as server,
        VoiceApp(pages).running() as app,
    ):
        account = server.control.create_account()
        client = twilio_client(server.base_url, account.account_sid, account.auth_token)

        def one(_: int) -> tuple[float, float, str]:
            """(ms to the action, ms to the first webhook, Result) of one call."""
            started = time.monotonic()
            call = client.calls.create(to="+14155550123", from_="+14155550100", url=app.url("/pay"))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                for request in app.at("/paid"):
                    if request.form.get("CallSid") == call.sid:
                        first = next(r for r in app.at("/pay") if r.form.get("CallSid") == call.sid)
                        return (
                            (request.at - started) * 1000,
                            (first.at - started) * 1000,
                            request.form["Result"],
                        )
                time.sleep(0.002)
            raise TimeoutError(f"no action request for {call.sid}")

        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(one, range(args.warmup)))
            results = list(pool.map(one, range(args.calls)))
    results_ok = [r for r in results if r[2] == "success"]
    print(
        f"<Pay> calls: {args.calls} (concurrency {args.concurrency}, auto caller keying"
        f" {args.caller_delay_ms} ms after each of the 4 prompts), {len(results_ok)} success"
    )
    print(summary("calls.create to the action request", [r[0] for r in results]))
    print(summary("calls.create to the call's first webhook", [r[1] for r in results]))


if __name__ == "__main__":
    main()
