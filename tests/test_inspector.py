"""The inspector without a browser: its pages (what they show, escaping, card data, paging),
its static files, the change feed and its event stream, the control-plane endpoints it added,
the state machine's picture and the copy-as-code programs (run against the emulator)."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import markupsafe
import pytest

from emulator.domain.machine import TRANSITIONS, EventKind, State
from emulator.inspector import diagram
from emulator.inspector.replay import Replay, ReplayStep
from emulator.inspector.snippets import snippets
from emulator.services.changes import Changes
from emulator.testing import Account, EmulatorServer
from tests.api import PaymentsApi
from tests.gpc_endpoint import PASSWORD, USERNAME, GpcEndpoint
from tests.inspector_support import (
    CLOSED_PORT_CALLBACK,
    ROOT,
    UI,
    close_clients,
    inspector_pages,
    run_card_flow,
    start_session,
    update,
)
from tests.receiver import Receiver
from tests.signatures import NODE_DIR


@pytest.fixture(scope="module")
def inspector() -> Iterator[EmulatorServer]:
    with EmulatorServer("--caller", "manual") as running:
        yield running


@pytest.fixture(autouse=True)
def _closed_clients() -> Iterator[None]:
    yield
    close_clients()


@pytest.fixture
def account(inspector: EmulatorServer) -> Account:
    return inspector.control.create_account()


@pytest.fixture
def ui(inspector: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=inspector.base_url, timeout=30) as client:
        yield client


def page(ui: httpx.Client, path: str, status: int = 200) -> str:
    answer = ui.get(path)
    assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def rows(text: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr [^>]*{attribute}="([^"]+)"', text)


# --- the pages -----------------------------------------------------------------------------


def test_root_and_ui_redirect_to_the_inspector(ui: httpx.Client) -> None:
    for path in ("/", UI):
        answer = ui.get(path)
        assert answer.status_code == 302
        assert answer.headers["location"].endswith(f"{UI}/")


def test_pages_forbid_anything_but_their_own_files(ui: httpx.Client) -> None:
    answer = ui.get(f"{UI}/")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "<script>" not in answer.text  # no inline script: the policy would block it
    for asset in re.findall(rf'(?:src|href)="({UI}/static/[^"]+)"', answer.text):
        served = ui.get(asset)
        assert served.status_code == 200, asset
        again = ui.get(asset, headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304
    assert ui.get(f"{UI}/static/..%2Fviews.py").status_code == 404
    assert ui.get(f"{UI}/static/nothing.js").status_code == 404


def test_session_page_shows_the_session_its_machine_and_timeline(
    inspector: EmulatorServer,
    account: Account,
    ui: httpx.Client,
    make_api: Callable[..., PaymentsApi],
) -> None:
    call_sid, sid = run_card_flow(inspector, account)
    refused = make_api(inspector, account).update(call_sid, sid, Capture="postal-code")
    assert refused.status_code == 400
    deadline = time.monotonic() + 10  # every delivery over (a refused connection: 2 attempts)
    while any(c["state"] == "pending" for c in inspector.control.callbacks(payment_sid=sid)):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    text = page(ui, f"{UI}/sessions/{sid}")
    # where it is
    assert 'data-field="required"><span class="muted">— (the session is over)</span>' in text
    assert "xxxxxxxxxxxx4242" in text
    assert ">success<" in text
    assert "Default" in text  # the connector
    assert 'class="mode mode-auto"' in text
    # the machine: the current state, the path taken
    assert re.search(r'<g class="state current visited" data-state="completed"', text)
    assert 'data-edge="active&gt;completed" data-count="1"' in text
    assert 'data-edge="start&gt;active" data-count="1"' in text
    assert 'data-edge="active&gt;cancelled" data-count="0"' in text
    assert len(re.findall(r'<li data-step="\d+">', text)) == 10
    # the timeline: requests with their answers, caller entries, callbacks with attempts
    assert text.count('class="t t-request ok"') == 6
    assert 'class="t t-request refused"' in text
    assert 'data-code="64021"' in text
    assert text.count('data-event="key-in"') == 4
    assert "caller entered payment-card-number" in text
    # a closed port: Twilio's default connection overrides retry a failed connection once
    assert text.count('data-attempts="2"') == 10
    assert "X-Twilio-Signature" in text
    assert html.escape(CLOSED_PORT_CALLBACK) in text


def test_sessions_and_accounts_pages_list_what_the_account_has(
    inspector: EmulatorServer, account: Account, ui: httpx.Client
) -> None:
    call_sid, sid = start_session(inspector, account, token_type="one-time")
    update(inspector, account, call_sid, sid, capture="payment-card-number")
    listed = page(ui, f"{UI}/?account_sid={account.account_sid}")
    assert rows(listed, "data-sid") == [sid]
    assert "payment-card-number, expiration-date, security-code, postal-code" in listed
    assert "token: one-time" in listed
    assert (
        page(ui, f"{UI}/?account_sid={account.account_sid}&state=completed").count("data-sid=") == 0
    )
    accounts = page(ui, f"{UI}/accounts")
    assert account.account_sid in accounts
    detail = page(ui, f"{UI}/accounts/{account.account_sid}")
    assert f'data-call="{call_sid}"' in detail
    assert rows(detail, "data-sid") == [sid]
    assert 'data-action="caller-mode"' in detail
    assert 'data-action="hangup"' in detail
    assert page(ui, f"{UI}/accounts/AC{'0' * 32}", status=404)
    assert "does not exist" in page(ui, f"{UI}/sessions/PK{'0' * 32}", status=404)


def test_lists_are_paged(
    inspector: EmulatorServer,
    account: Account,
    ui: httpx.Client,
    make_api: Callable[..., PaymentsApi],
) -> None:
    api = make_api(inspector, account)
    made = [api.start()[1] for _ in range(120)]
    first = page(ui, f"{UI}/?account_sid={account.account_sid}")
    assert rows(first, "data-sid") == made[::-1][:50]  # newest first
    assert "1\N{EN DASH}50 of 120" in first
    third = page(ui, f"{UI}/?account_sid={account.account_sid}&page=3")
    assert rows(third, "data-sid") == made[::-1][100:]
    assert "101\N{EN DASH}120 of 120" in third
    calls = page(ui, f"{UI}/accounts/{account.account_sid}?page=6")
    assert calls.count('<article class="call"') == 20
    assert "page 6 of 6" in calls
    journal = page(ui, f"{UI}/requests?account_sid={account.account_sid}&page=2")
    assert len(rows(journal, "data-request")) == 50


def test_the_journal_is_filtered(
    inspector: EmulatorServer,
    account: Account,
    ui: httpx.Client,
    make_api: Callable[..., PaymentsApi],
) -> None:
    api = make_api(inspector, account)
    call_sid, sid = api.start()
    assert api.update(call_sid, sid, Status="cancel").status_code == 202
    assert api.update(call_sid, sid, Status="cancel").status_code == 400  # 64021
    other_call, _ = api.start()
    base = f"{UI}/requests?account_sid={account.account_sid}"
    assert len(rows(page(ui, base), "data-request")) == 4
    assert len(rows(page(ui, f"{base}&call_sid={call_sid}"), "data-request")) == 3
    assert len(rows(page(ui, f"{base}&payment_sid={sid}"), "data-request")) == 2
    refused = page(ui, f"{base}&status=400")
    assert re.findall(r'data-status="(\d+)"', refused) == ["400"]
    assert "Pay: Invalid Operation" in refused
    by_code = page(ui, f"{UI}/requests?code=64021&call_sid={call_sid}")
    assert re.findall(r'data-status="(\d+)"', by_code) == ["400"]
    assert rows(page(ui, f"{base}&code=20404"), "data-request") == []
    assert other_call in page(ui, base)


def test_pages_show_markup_as_text(
    inspector: EmulatorServer, ui: httpx.Client, tmp_path: Path
) -> None:
    markup = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    created = inspector.control.http.post("/_emulator/accounts", json={"friendly_name": markup})
    account = Account(**created.json())
    _, sid = start_session(inspector, account, description=markup, charge_amount=1)
    rule = inspector.control.add_fault("error", message=markup, path="^/never$")
    try:
        pages = inspector_pages(inspector, account.account_sid)
    finally:
        inspector.control.http.delete(f"/_emulator/faults/{rule['id']}")
    shown = "\n".join(pages.values())
    assert "<script>alert" not in shown
    assert "<img src=x" not in shown
    escaped = str(markupsafe.escape(markup))
    assert escaped in pages[f"{UI}/faults"]
    assert escaped in pages[f"{UI}/accounts/{account.account_sid}"]
    assert escaped in pages[f"{UI}/sessions/{sid}"]  # the Description


def test_no_card_data_on_any_page(
    inspector: EmulatorServer, account: Account, receiver: Receiver
) -> None:
    """The pages show what the emulator stores, masked: after card and bank flows, no page
    holds a full card number, a security code as keyed or a full bank account number."""
    card, cvv, bank_account = "4111111111111111", "987", "000987654321"
    run_card_flow(
        inspector,
        account,
        script={"payment-card-number": card, "security-code": cvv},
        callback=receiver.url(),
    )
    call_sid, sid = start_session(inspector, account, callback=receiver.url())
    update(
        inspector, account, call_sid, sid, callback=receiver.url(), capture="payment-card-number"
    )
    inspector.control.key_in(sid, card[:6], partial=True)
    inspector.control.key_in(sid, card[6:])
    ach_call, ach = start_session(
        inspector,
        account,
        payment_method="ach-debit",
        charge_amount=5,
        parameter={"AVSName": "J"},
        description=f"card {card} cvv {cvv}",  # a number where it does not belong
    )
    update(inspector, account, ach_call, ach, capture="bank-account-number")
    inspector.control.key_in(ach, bank_account[:5], partial=True)
    inspector.control.key_in(ach, bank_account[5:])
    inspector.control.callbacks(account_sid=account.account_sid, wait_for=18)
    pages = inspector_pages(inspector, account.account_sid)
    assert any(f"/sessions/{ach}" in path for path in pages)
    for path, text in pages.items():
        assert card not in text, path
        assert bank_account not in text, path
        for quoted in (f">{cvv}<", f'"{cvv}"', f"'{cvv}'", f"={cvv}", f"SecurityCode={cvv}"):
            assert quoted not in text, (path, quoted)
    shown = "\n".join(pages.values())
    assert "xxxxxxxxxxxx1111" in shown
    assert "**********21" in shown


def test_what_the_receiver_answered_is_shown_escaped_and_masked(
    inspector: EmulatorServer, account: Account, ui: httpx.Client
) -> None:
    body = b"<b>refused</b> card 4242424242424242"
    with Receiver(500, body=body).running() as receiver:
        _, sid = start_session(inspector, account, callback=receiver.url(), charge_amount=1)
        inspector.control.callbacks(payment_sid=sid, wait_for=1)
    text = page(ui, f"{UI}/sessions/{sid}")
    assert "HTTP 500" in text
    assert "&lt;b&gt;refused&lt;/b&gt; card xxxxxxxxxxxx4242" in text
    assert "4242424242424242" not in text


def test_a_generic_pay_connector_session_shows_processing_and_the_connector_requests(
    inspector: EmulatorServer, account: Account, ui: httpx.Client
) -> None:
    card = "4111111111111111"
    with GpcEndpoint().running() as endpoint:
        installed = inspector.control.http.post(
            "/_emulator/connectors",
            json={
                "account_sid": account.account_sid,
                "name": "gpc",
                "generic": {
                    "endpoint_url": endpoint.url(),
                    "username": USERNAME,
                    "password": PASSWORD,
                },
            },
        )
        assert installed.status_code == 201, installed.text
        call_sid, sid = start_session(
            inspector,
            account,
            caller="auto",
            script={"payment-card-number": card},
            payment_connector="gpc",
            charge_amount=3,
        )
        items = ["payment-card-number", "expiration-date", "security-code", "postal-code"]
        for n, item in enumerate(items):
            update(inspector, account, call_sid, sid, capture=item)
            inspector.control.callbacks(payment_sid=sid, wait_for=3 + 2 * n)
        update(inspector, account, call_sid, sid, status="complete")
        inspector.control.callbacks(payment_sid=sid, wait_for=10)  # the last once answered
    text = page(ui, f"{UI}/sessions/{sid}")
    assert re.search(r'<g class="state current visited" data-state="completed"', text)
    assert 'data-edge="active&gt;processing" data-count="1"' in text
    assert 'data-edge="processing&gt;completed" data-count="1"' in text
    assert 'data-edge="active&gt;completed" data-count="0"' in text
    assert text.count('class="t t-connector"') == 1
    assert "request to the Pay Connector" in text
    assert "xxxxxxxxxxxx1111" in text
    assert card not in text
    assert PASSWORD not in text


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


# --- the change feed and its event stream ----------------------------------------------------


def version(ui: httpx.Client) -> int:
    answer = ui.get("/_emulator/changes")
    assert answer.status_code == 200
    number: int = answer.json()["version"]
    return number


def test_the_version_moves_on_commits_journal_entries_and_control_writes(
    inspector: EmulatorServer, account: Account, ui: httpx.Client
) -> None:
    before = version(ui)
    start_session(inspector, account)  # commits
    after_commit = version(ui)
    assert after_commit > before
    refused = ui.post(f"/2010-04-01/Accounts/{account.account_sid}/Calls/CA1/Payments.json")
    assert refused.status_code == 401  # no row written, one journal entry
    after_journal = version(ui)
    assert after_journal > after_commit
    rule = inspector.control.add_fault("delay", path="^/never$")  # in memory only
    after_fault = version(ui)
    assert after_fault > after_journal
    assert ui.delete(f"/_emulator/faults/{rule['id']}").status_code == 200
    assert version(ui) > after_fault


def events(stream: httpx.Response) -> Iterator[dict[str, str]]:
    """The events of a server-sent event stream (comments skipped)."""
    event: dict[str, str] = {}
    for line in stream.iter_lines():
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


def test_event_stream_announces_changes(
    inspector: EmulatorServer, account: Account, ui: httpx.Client
) -> None:
    now = version(ui)
    with ui.stream("GET", "/_emulator/events", params={"since": now}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        feed = events(stream)
        assert next(feed) == {"retry": "1000"}
        start_session(inspector, account)
        changed = next(feed)
        assert changed["event"] == "changed"
        assert int(changed["data"]) > now
        assert changed["id"] == changed["data"]
    # A client that saw an older version hears of the newer one at once.
    headers = {"Last-Event-ID": str(now)}
    with ui.stream("GET", "/_emulator/events", headers=headers) as stream:
        feed = events(stream)
        next(feed)
        assert next(feed)["event"] == "changed"


def test_changes_wait_wake_and_close() -> None:
    async def scenario() -> None:
        changes = Changes()
        assert await changes.wait(since=5, at_most_s=10) == 0  # already different
        waiter = asyncio.create_task(changes.wait(since=0, at_most_s=10))
        await asyncio.sleep(0)
        assert not waiter.done()
        changes.bump()
        changes.bump()
        assert await waiter == 2
        assert await changes.wait(since=2, at_most_s=0.01) == 2  # nothing moved: timed out
        closing = asyncio.create_task(changes.wait(since=2, at_most_s=10))
        await asyncio.sleep(0)
        changes.close()
        assert await closing == 3
        assert changes.closed
        assert await changes.wait(since=3, at_most_s=10) == 3  # closed: returns at once

    asyncio.run(scenario())


# --- control-plane endpoints the inspector added ---------------------------------------------


def test_one_fault_rule_is_removed_the_others_stay(
    inspector: EmulatorServer, ui: httpx.Client
) -> None:
    control = inspector.control
    first = control.add_fault("error", path="^/one$", status=503, code=20503)
    second = control.add_fault("delay", path="^/two$", delay_ms=5, times=3)
    third = control.add_fault("drop", path="^/three$")
    try:
        left = ui.delete(f"/_emulator/faults/{second['id']}")
        assert left.status_code == 200
        kept = [(r["id"], r["action"], r["path"]) for r in left.json()["faults"]]
        assert (first["id"], "error", "^/one$") in kept
        assert (third["id"], "drop", "^/three$") in kept
        assert second["id"] not in [r["id"] for r in control.faults()]
        assert ui.delete(f"/_emulator/faults/{second['id']}").status_code == 404
        rule = next(r for r in control.faults() if r["id"] == first["id"])
        assert (rule["status"], rule["code"]) == (503, 20503)
    finally:
        for rule in (first, third):
            ui.delete(f"/_emulator/faults/{rule['id']}")


# --- the picture of the machine ---------------------------------------------------------------


def test_the_picture_draws_every_state_and_transition() -> None:
    picture = diagram.layout()
    keys = {node.key for node in picture.nodes}
    assert keys == {diagram.START} | {state.value for state in State}
    for source, event, target in TRANSITIONS:
        edge = picture.edge(source.value if source else diagram.START, target.value)
        assert edge is not None, (source, event, target)
        assert event.value in edge.events
    positions = {(round(n.x), round(n.y)) for n in picture.nodes}
    assert len(positions) == len(picture.nodes)  # no two states on one spot


def test_the_path_of_a_session_through_the_machine() -> None:
    events = [
        (EventKind.CREATE.value, 1, ""),
        (EventKind.CAPTURE.value, 2, "payment-card-number"),
        (EventKind.KEY_IN.value, 3, "payment-card-number"),
        ("a-later-event", 4, ""),
        (EventKind.HANG_UP.value, 5, ""),
    ]
    path = diagram.walk(events)
    assert path.last == State.ENDED.value
    assert [s.target for s in path.steps] == ["active", "active", "active", "active", "ended"]
    assert [s.number for s in path.taken["active>active"]] == [2, 3]
    assert path.taken["active>ended"][0].at_ms == 5
    assert "active>completed" not in path.taken
    assert path.visited == {"start", "active", "ended"}


def test_a_larger_table_is_laid_out_too() -> None:
    table = (
        *TRANSITIONS,
        (State.PROCESSING, EventKind.CANCEL, State.CANCELLED),
        (State.PROCESSING, EventKind.HANG_UP, State.ENDED),
    )
    picture = diagram.layout(table)
    assert picture.edge("processing", "cancelled") is not None
    assert picture.width > 0
    assert picture.height > 0


# --- copy as code ----------------------------------------------------------------------------


def test_snippets_name_every_parameter_the_sdks_take() -> None:
    steps = (
        ReplayStep(
            "create",
            params=(
                ("StatusCallback", "http://127.0.0.1:9/cb"),
                ("ChargeAmount", "010.50"),
                ("PostalCode", "false"),
                ("Timeout", "7"),
                ("Parameter", '{"AVSName": "Jane \\"J\\""}'),
                ("Unknown", "x"),
            ),
        ),
        ReplayStep("update", wait_for=1, params=(("Capture", "payment-card-number"),)),
        ReplayStep("key", wait_for=2, digits="4242", partial=True),
        ReplayStep("note", text="refused update (Status=complete): 400 64019 missing items"),
    )
    replay = Replay(
        base_url="http://127.0.0.1:1",
        account_sid="AC1",
        account_kind="fixture",
        username="SK1",
        payment_sid="PK1",
        call_sid="CA1",
        caller="manual",
        steps=steps,
        callbacks=3,
        events=("create", "capture payment-card-number", "key-in payment-card-number"),
    )
    code = snippets(replay)
    assert "charge_amount=10.50," in code.python
    assert "postal_code=False," in code.python
    assert "timeout=7," in code.python
    assert "parameter={'AVSName': 'Jane \"J\"'}," in code.python
    assert "not an SDK parameter, not sent: Unknown" in code.python
    assert 'Client("SK1", os.environ["TWILIO_API_KEY_SECRET"], "AC1")' in code.python
    assert 'control.key_in(payment.sid, "4242", partial=True)' in code.python
    assert "wait_for=2, timeout=30)  # 2 callbacks, the last: capture payment-card-number" in (
        code.python
    )
    assert "# refused update (Status=complete): 400 64019 missing items" in code.python
    assert "chargeAmount: 10.50," in code.node
    assert "postalCode: false," in code.node
    assert 'parameter: {"AVSName": "Jane \\"J\\""},' in code.node
    assert 'twilio("SK1", process.env.TWILIO_API_KEY_SECRET, { accountSid: "AC1" })' in code.node
    assert 'await control.keyIn(payment.sid, "4242", { partial: true });' in code.node
    compile(code.python, "snippet.py", "exec")


def session_requests(ui: httpx.Client, sid: str) -> list[dict[str, str]]:
    """The form parameters of a session's requests (its create included), IdempotencyKey
    left out, oldest first."""
    journal = ui.get("/_emulator/requests").json()["requests"]
    found = []
    for entry in journal:
        try:
            answer = json.loads(entry["response"])
        except ValueError:
            answer = {}
        if entry["payment_sid"] == sid or (
            entry["payment_sid"] is None and answer.get("sid") == sid
        ):
            params = {k: v for k, v in entry["params"].items() if k != "IdempotencyKey"}
            if "Parameter" in params:  # the same object, however it is spaced
                params["Parameter"] = json.loads(params["Parameter"])
            found.append(params)
    return found


def snippet_of(ui: httpx.Client, sid: str, language: str) -> str:
    text = page(ui, f"{UI}/sessions/{sid}")
    match = re.search(
        rf'<pre id="code-{language}" class="code"><code>(.*?)</code></pre>', text, re.S
    )
    assert match is not None
    return html.unescape(match.group(1))


def a_session_to_copy(inspector: EmulatorServer, account: Account) -> str:
    call_sid, sid = start_session(
        inspector,
        account,
        charge_amount=7.25,
        currency="EUR",
        description='order "42" <b>',
        postal_code=False,
        parameter={"AVSName": "Jane"},
    )
    update(inspector, account, call_sid, sid, capture="payment-card-number")
    update(inspector, account, call_sid, sid, status="cancel")
    return sid


def test_the_python_snippet_sends_the_same_requests(
    inspector: EmulatorServer, account: Account, ui: httpx.Client
) -> None:
    sid = a_session_to_copy(inspector, account)
    code = snippet_of(ui, sid, "python")
    env = dict(os.environ)  # no credentials: the program makes an account of its own
    env.pop("TWILIO_EDGE", None)
    env.pop("TWILIO_REGION", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    again, state, outcome = result.stdout.split()
    assert again.startswith("PK")
    assert again != sid
    assert session_requests(ui, again) == session_requests(ui, sid)
    assert (state, outcome) == ("cancelled", "transaction-cancelled")
    assert inspector.control.payment(again)["state"] == "cancelled"


@pytest.mark.node
def test_the_node_snippet_sends_the_same_requests(
    inspector: EmulatorServer, account: Account, ui: httpx.Client
) -> None:
    sid = a_session_to_copy(inspector, account)
    code = snippet_of(ui, sid, "node")
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "-e", code],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        env={"PATH": os.path.dirname(node)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    again = result.stdout.split()[0]
    assert again.startswith("PK")
    assert again != sid
    assert session_requests(ui, again) == session_requests(ui, sid)


# --- the package ---------------------------------------------------------------------------


def test_the_wheel_ships_the_templates_and_static_files(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "emulator" / "inspector"
    for folder in ("templates", "static"):
        for path in (package / folder).iterdir():
            assert f"emulator/inspector/{folder}/{path.name}" in names
    assert {"emulator/services/changes.py", "emulator/services/listings.py"} <= names
    for name in names:
        if name.startswith("emulator/inspector/") and name.endswith((".html", ".js", ".css")):
            text = zipfile.ZipFile(wheel).read(name).decode()
            assert not re.search(r"(?:src|href)=\"(?:https?:)?//", text), name  # nothing remote


# --- shutting down with the page open ---------------------------------------------------------


def test_open_event_streams_end_when_the_server_stops() -> None:
    """A browser's event stream does not hold a stopping server up: the stream ends at the
    signal (no keep-alive comes after it) and the process exits by itself, with status 0."""
    server = EmulatorServer("--shutdown-grace-s", "30")
    server.start()
    try:
        process = server.process
        assert process is not None
        with (
            httpx.Client(base_url=server.base_url, timeout=60) as client,
            client.stream("GET", "/_emulator/events") as stream,
        ):
            lines = stream.iter_lines()
            assert next(lines) == "retry: 1000"
            assert next(lines) == ""
            process.terminate()
            after = [line for line in lines if line]
        assert after == []
        assert process.wait(60) == 0
    finally:
        server.close()
