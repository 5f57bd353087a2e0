"""The measurements, one step each (a failing step does not lose the others' figures): cold
start, the update path with replays and creates, RSS growth, StatusCallback lag with the auto
caller under load, and what a test suite driving twilio-python sequentially sees.

Every step starts its own targets and stops them (all but the receiver) when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
import signal
import statistics
import time
import traceback
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from harness.plan import (
    AC,
    CAPTURES,
    CEILING,
    CONNECTIONS,
    DELIVERED,
    PRISM,
    TOKEN,
    UNDELIVERABLE,
    Plan,
)
from harness.processes import (
    Children,
    Emulator,
    Process,
    receiver_count,
    say,
    start_ceiling,
    start_prism,
)
from harness.report import Results, describe, fmt_ms
from harness.sessions import (
    api_client,
    create_sessions,
    new_call_sid,
    payments_path,
    update_body_size,
    update_records,
    write_records,
)
from harness.wrk import Load, parse_wrk, run_wrk, run_wrk_watched, wait_quiet, wrk_argv


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def settle(emulator: Process, load: Load, receiver: str | None, before: int) -> None:
    """After a run: wait for the callback backlog to drain and the emulator to go idle.

    With a receiver, records how many of the run's callbacks had arrived when wrk stopped
    (``cb_at_end``, a share of the accepted requests) and how long the rest took (``drain_s``).
    """
    start = time.perf_counter()
    if receiver is not None:
        expected = before + load.accepted
        at_end = receiver_count(receiver) - before
        load.extra["cb_at_end"] = at_end / load.accepted if load.accepted else math.nan
        deadline = start + 300
        while receiver_count(receiver) < expected and time.perf_counter() < deadline:
            if not emulator.alive():
                raise RuntimeError(f"emulator exited:\n{emulator.tail()}")
            time.sleep(0.05)
        drained = receiver_count(receiver) >= expected
        load.extra["drain_s"] = (time.perf_counter() - start) if drained else math.inf
    emulator.wait_idle()


class Bench:
    """The run's steps, against the receiver at ``receiver``; their figures go to ``results``."""

    def __init__(self, plan: Plan, children: Children, receiver: str) -> None:
        self.plan = plan
        self.children = children
        self.receiver = receiver
        self.callback = receiver + "/cb"
        self.results = Results()

    def step(self, name: str, run: Callable[[], None]) -> None:
        say(f"--- {name}")
        try:
            run()
        except Exception as exc:  # one failing step must not lose the others' figures
            traceback.print_exc()
            self.results.failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
        finally:
            self.children.stop_all_but_receiver()

    def wrk(self, target: str, script: str, server: Process, connections: int, data: Path) -> Load:
        """One wrk run of ``plan.duration`` seconds against ``server`` (any target)."""
        watched = [server] + ([self.children.receiver] if self.children.receiver else [])
        return run_wrk_watched(
            target,
            script,
            server.base_url,
            connections,
            self.plan.duration,
            data,
            watched,
            self.plan.quiet_wait,
        )

    def quiet(self, watched: Sequence[Process] = ()) -> None:
        """Wait (at most ``plan.quiet_wait`` s) until other processes leave the CPU alone."""
        if self.plan.quiet_wait > 0:
            receiver = [self.children.receiver] if self.children.receiver else []
            waited = wait_quiet([*watched, *receiver], self.plan.quiet_wait)
            if waited >= 1.5:
                say(f"waited {waited:.0f} s for a quiet machine")

    # step 4
    def cold_start(self) -> None:
        samples = self.plan.cold_samples
        cold = self.results.cold
        self.quiet()
        for i in range(samples):
            health, create = self._cold_emulator()
            cold.setdefault("emulator", {"health": [], "create": []})
            cold["emulator"]["health"].append(health)
            cold["emulator"]["create"].append(create)
            say(
                f"emulator cold start {i + 1}/{samples}: health {health * 1000:.0f} ms, create {create * 1000:.0f} ms"
            )
        for i in range(samples):
            child, first = start_ceiling(self.children, self.results.body_bytes or 406)
            self.children.stop(child)
            cold.setdefault(CEILING, {"first": []})["first"].append(first)
            say(f"ceiling cold start {i + 1}/{samples}: {first * 1000:.0f} ms")
        if self.results.prism_skipped is None:
            for i in range(samples):
                child, first = start_prism(self.children)
                self.children.stop(child)
                cold.setdefault(PRISM, {"first": []})["first"].append(first)
                say(f"prism cold start {i + 1}/{samples}: {first * 1000:.0f} ms")

    def _cold_emulator(self) -> tuple[float, float]:
        emulator = self.children.start_emulator(label="emulator")
        with self.children.scoped(emulator):
            health = emulator.health_after
            body = urllib.parse.urlencode(
                {"IdempotencyKey": "cold", "StatusCallback": self.callback}
            )
            create = emulator.wait_until_answers(
                emulator.base_url + payments_path(new_call_sid()),
                lambda s: s == 201,
                method="POST",
                body=body,
            )
        return health, create

    # step 1, 2, 3
    def load(self) -> None:
        workdir = self.children.workdir

        # emulator, callbacks delivered (the primary measurement), then replays and creates
        emulator = self.children.start_emulator(label="emulator")
        self.results.emulator_version = (
            httpx.get(emulator.base_url + "/_emulator/health").json().get("version", "?")
        )
        sessions = create_sessions(emulator.base_url, self.callback)
        self.results.body_bytes = update_body_size(emulator.base_url, sessions[0])
        data = update_records(workdir, sessions)
        emulator.wait_idle()
        for connections in CONNECTIONS:
            before = receiver_count(self.receiver)
            load = self.wrk(DELIVERED, "update.lua", emulator, connections, data)
            settle(emulator, load, self.receiver, before)
            self.results.loads.append(load)
            say(describe(load))

        # 2. idempotent replays: every (session, capture) once, then the load replays them
        records = []
        with api_client(emulator.base_url) as client:
            for i, session in enumerate(sessions):
                for capture in CAPTURES:
                    form = {
                        "IdempotencyKey": f"replay-{i}-{capture}",
                        "Capture": capture,
                        "StatusCallback": session.callback,
                    }
                    answer = client.post(session.path, data=form)
                    if answer.status_code != 202:
                        raise RuntimeError(f"update answered {answer.status_code}: {answer.text}")
                    records.append((session.path, urllib.parse.urlencode(form)))
        replay_data = write_records(workdir / "replay.tsv", records)
        emulator.wait_idle()
        load = self.wrk(
            "replay (same keys, same parameters)", "replay.lua", emulator, 32, replay_data
        )
        settle(emulator, load, None, 0)
        self.results.others.append(load)
        say(describe(load))

        # 3. create: a fresh CallSid and key per request
        create_data = write_records(
            workdir / "create.tsv", [(AC, urllib.parse.quote(self.callback, safe=""))]
        )
        before = receiver_count(self.receiver)
        load = self.wrk("create (fresh CallSid and key)", "create.lua", emulator, 32, create_data)
        settle(emulator, load, self.receiver, before)
        self.results.others.append(load)
        say(describe(load))
        self.children.stop(emulator)

        # emulator, callbacks not deliverable (a relative URL, no call url, no base url)
        emulator = self.children.start_emulator(label="emulator")
        sessions_rel = create_sessions(emulator.base_url, "/status")
        data_rel = update_records(workdir, sessions_rel)
        emulator.wait_idle()
        for connections in CONNECTIONS:
            load = self.wrk(UNDELIVERABLE, "update.lua", emulator, connections, data_rel)
            settle(emulator, load, None, 0)
            self.results.loads.append(load)
            say(describe(load))
        self.children.stop(emulator)

        # ceiling: same paths, same script
        child, _ = start_ceiling(self.children, self.results.body_bytes)
        for connections in CONNECTIONS:
            load = self.wrk(CEILING, "update.lua", child, connections, data)
            self.results.loads.append(load)
            say(describe(load))
            child.wait_idle()
        self.children.stop(child)

        # Prism: same paths, same script
        if self.results.prism_skipped is None:
            child, _ = start_prism(self.children)
            for connections in CONNECTIONS:
                load = self.wrk(PRISM, "update.lua", child, connections, data)
                self.results.loads.append(load)
                say(describe(load))
                child.wait_idle()
            self.children.stop(child)

    # step 5
    def rss(self) -> None:
        marks = self.plan.rss_marks
        emulator = self.children.start_emulator(label="emulator")
        time.sleep(1.0)
        emulator.wait_idle()
        rss = self.results.rss
        rss["idle"] = emulator.rss_kib()
        sessions = create_sessions(emulator.base_url, self.callback)
        data = update_records(self.children.workdir, sessions)
        emulator.wait_idle()
        total = 0
        rate = 0.0
        rss["marks"] = []
        for mark in marks:
            while total < mark:
                remaining = mark - total
                chunk = 3.0 if rate == 0 else min(10.0, max(1.0, remaining / rate * 1.02))
                before = receiver_count(self.receiver)
                load = run_wrk(
                    DELIVERED, "update.lua", emulator.base_url, 32, math.ceil(chunk), data
                )
                settle(emulator, load, self.receiver, before)
                if load.requests == 0:
                    raise RuntimeError("wrk made no request")
                total += load.requests
                rate = load.rps
            rss["marks"].append((mark, total, emulator.rss_kib()))
            say(f"RSS after {total:,} update requests: {rss['marks'][-1][2] / 1024:.1f} MiB")
        self.children.stop(emulator)

    # step 6
    def lag(self) -> None:
        emulator = self.children.start_emulator(caller="auto", label="emulator")
        sessions = create_sessions(emulator.base_url, self.callback)
        data = update_records(self.children.workdir, sessions)
        emulator.wait_idle()
        self.quiet([emulator])
        asyncio.run(self._lag(emulator, data))
        self.children.stop(emulator)

    async def _lag(self, emulator: Emulator, data: Path) -> None:
        arrivals: dict[int, float] = {}
        arrived = asyncio.Event()  # set at each new arrival
        connections: set[asyncio.StreamWriter] = set()
        handlers: set[asyncio.Task[None]] = set()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            """A minimal HTTP/1.1 server: records when each ``?n=`` callback arrives, 204."""
            connections.add(writer)
            task = asyncio.current_task()
            if task is not None:
                handlers.add(task)
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    now = time.perf_counter()
                    lines = head.decode("latin-1").split("\r\n")
                    target = lines[0].split(" ")[1]
                    length = 0
                    for line in lines[1:]:
                        name, _, value = line.partition(":")
                        if name.strip().lower() == "content-length":
                            length = int(value)
                    if length:
                        await reader.readexactly(length)
                    query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
                    n = query.get("n", [""])[0]
                    if n.isdigit() and int(n) not in arrivals:
                        arrivals[int(n)] = now
                        arrived.set()
                    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                pass
            finally:
                connections.discard(writer)
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        lag_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/lag"
        probes = self.plan.lag_probes
        interval = self.plan.duration / probes  # the pace, when the answers are faster
        sent: dict[int, float] = {}
        refused = 0
        process: asyncio.subprocess.Process | None = None
        client = httpx.AsyncClient(base_url=emulator.base_url, auth=(AC, TOKEN), timeout=30)
        try:
            probe_sessions = []
            for _ in range(4):
                call = new_call_sid()
                answer = await client.post(
                    payments_path(call),
                    data={
                        "IdempotencyKey": secrets.token_hex(8),
                        "StatusCallback": lag_url + "?n=create",
                    },
                )
                answer.raise_for_status()
                probe_sessions.append(payments_path(call, answer.json()["sid"]))
            # wrk runs until every probe is sent, then is interrupted (it prints its figures)
            longest = 5 * self.plan.duration + 60
            argv = wrk_argv(
                "update.lua", emulator.base_url, 32, longest + 30, data, secrets.token_hex(4)
            )
            process = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            finished = asyncio.ensure_future(process.communicate())
            await asyncio.sleep(0.5)  # let the load build up
            start = next_at = time.perf_counter()
            for n in range(probes):
                if finished.done() or time.perf_counter() - start > longest:
                    break
                answer = await client.post(
                    probe_sessions[n % len(probe_sessions)],
                    data={
                        "IdempotencyKey": f"lag-{n}",
                        "Capture": CAPTURES[(n // len(probe_sessions)) % len(CAPTURES)],
                        "StatusCallback": f"{lag_url}?n={n}",
                    },
                )
                if answer.status_code == 202:
                    sent[n] = time.perf_counter()
                else:
                    refused += 1
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            stdout, stderr = await finished
            load = parse_wrk("emulator, auto caller", 32, stdout.decode(), stderr.decode())
            deadline = time.perf_counter() + 120
            while not sent.keys() <= arrivals.keys():
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), remaining)
        finally:
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
            await client.aclose()
            server.close()
            for writer in list(connections):
                writer.close()
            await asyncio.gather(*handlers, return_exceptions=True)
            await server.wait_closed()
        lags = [(arrivals[n] - sent[n]) * 1000 for n in sent if n in arrivals]
        self.results.lag = {
            "sent": len(sent),
            "refused": refused,
            "arrived": len(lags),
            "p50": percentile(lags, 50),
            "p99": percentile(lags, 99),
            "max": max(lags) if lags else math.nan,
            "load": load,
        }
        say(
            f"callback lag: {len(lags)}/{len(sent)} arrived, p50 {fmt_ms(percentile(lags, 50))} ms,"
            f" p99 {fmt_ms(percentile(lags, 99))} ms (background load {load.rps:,.0f} req/s)"
        )

    # step 7
    def sdk(self) -> None:
        from twilio.rest import Client  # type: ignore[import-untyped]

        for variable in ("TWILIO_EDGE", "TWILIO_REGION"):
            os.environ.pop(variable, None)
        emulator = self.children.start_emulator(label="emulator")
        client = Client(AC, TOKEN)
        client.api.base_url = emulator.base_url
        call = new_call_sid()
        self.quiet([emulator])
        payment = client.calls(call).payments.create(
            idempotency_key="sdk-create", status_callback=self.callback
        )
        times = []
        count = self.plan.sdk_requests
        start = time.perf_counter()
        for i in range(count):
            t0 = time.perf_counter()
            client.calls(call).payments(payment.sid).update(
                idempotency_key=f"sdk-{i}",
                status_callback=self.callback,
                capture=CAPTURES[i % len(CAPTURES)],
            )
            times.append((time.perf_counter() - t0) * 1000)
        total = time.perf_counter() - start
        self.results.sdk = {
            "requests": count,
            "total_s": total,
            "mean": statistics.fmean(times),
            "p50": percentile(times, 50),
            "p99": percentile(times, 99),
        }
        say(
            f"twilio-python: {count} updates in {total:.2f} s, mean {statistics.fmean(times):.2f} ms"
        )
        self.children.stop(emulator)
