"""The inspector in a real browser: Chromium, driven by Playwright, against an emulator that
twilio-python talks to. What a test author sees and does: sessions appearing live, the state
picture, the keypad, the caller's mode, redelivery, fault rules, the journal, resets, copy as
code, and markup shown as text. Screenshots of the main views go to the artefacts folder
(``EMULATOR_ARTIFACTS_DIR``, else tests/artifacts/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from emulator.testing import Account, EmulatorServer
from tests.inspector_support import (
    UI,
    assert_not_reloaded,
    chromium,
    close_clients,
    mark_document,
    run_card_flow,
    screenshot,
    sdk,
    start_session,
    update,
)
from tests.inspector_support import key as ikey
from tests.receiver import Receiver

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

CARD = "4242424242424242"


@pytest.fixture(scope="module")
def inspector() -> Iterator[EmulatorServer]:
    with EmulatorServer("--caller", "manual") as running:
        yield running


@pytest.fixture(scope="module")
def browser(inspector: EmulatorServer) -> Iterator[BrowserContext]:
    """One Chromium for the module (closed before the server stops: its event streams end)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    with chromium() as context:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=inspector.base_url)
        yield context


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A new tab; the test fails if the page's script throws or the browser reports an error
    (a blocked resource, a policy violation), refused control-plane calls aside."""
    tab = browser.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def console(message: Any) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"console: {message.text}")

    tab.on("console", console)
    yield tab
    tab.close()
    close_clients()
    assert not problems, problems


@pytest.fixture
def account(inspector: EmulatorServer) -> Account:
    return inspector.control.create_account()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def open_page(page: Page, inspector: EmulatorServer, path: str) -> None:
    from playwright.sync_api import expect

    page.goto(inspector.base_url + path)
    expect(page.locator("#live")).to_have_attribute("data-mode", "live")  # events arrive
    mark_document(page)


def session_row(page: Page, sid: str) -> Any:
    return page.locator(f'tr[data-sid="{sid}"]')


# --- live ---------------------------------------------------------------------------------


def test_a_session_appears_live_without_a_reload(
    page: Page, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    open_page(page, inspector, f"{UI}/?account_sid={account.account_sid}")
    expect(page.locator(".empty")).to_contain_text("No sessions")
    call_sid, sid = start_session(inspector, account, charge_amount=20)
    row = session_row(page, sid)
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("active")
    update(inspector, account, call_sid, sid, capture="payment-card-number")
    expect(row.locator(".capturing")).to_contain_text("payment-card-number")
    update(inspector, account, call_sid, sid, status="cancel")
    expect(row.locator(".badge")).to_have_text("cancelled")
    expect(row).to_contain_text("transaction-cancelled")
    assert_not_reloaded(page)
    start_session(inspector, account, charge_amount=5)
    expect(page.locator("tr[data-sid]")).to_have_count(2)
    assert_not_reloaded(page)
    page.goto(f"{inspector.base_url}{UI}/")
    expect(page.locator("tr[data-sid]").first).to_be_visible()
    screenshot(page, "sessions", full_page=False)


def test_without_event_streams_the_page_polls(
    browser: BrowserContext, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    tab = browser.new_page()
    try:
        tab.add_init_script("delete window.EventSource")
        tab.goto(f"{inspector.base_url}{UI}/?account_sid={account.account_sid}")
        expect(tab.locator("#live")).to_have_attribute("data-mode", "polling")
        mark_document(tab)
        _, sid = start_session(inspector, account, token_type="one-time")
        expect(session_row(tab, sid)).to_be_visible()
        assert_not_reloaded(tab)
    finally:
        tab.close()
        close_clients()


# --- the session page: picture, keypad, caller -----------------------------------------------


def test_the_picture_highlights_the_state_and_the_path(
    page: Page, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    _, done = run_card_flow(inspector, account)
    open_page(page, inspector, f"{UI}/sessions/{done}")
    current = page.locator("svg.machine g.state.current")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("data-state", "completed")
    expect(page.locator('svg.machine g.edge.taken[data-edge="active>completed"]')).to_have_count(1)
    expect(page.locator('svg.machine g.edge[data-edge="active>cancelled"]')).not_to_have_class(
        "edge taken"
    )
    expect(page.locator("ol.steps li")).to_have_count(10)
    expect(page.locator("ol.steps li").last).to_contain_text("complete")
    screenshot(page, "session", full_page=False)  # the README's picture
    screenshot(page, "session-full")

    call_sid, sid = start_session(inspector, account, charge_amount=3)
    open_page(page, inspector, f"{UI}/sessions/{sid}")
    expect(current).to_have_attribute("data-state", "active")
    update(inspector, account, call_sid, sid, status="cancel")
    expect(current).to_have_attribute("data-state", "cancelled")
    expect(page.locator('svg.machine g.edge.taken[data-edge="active>cancelled"]')).to_have_count(1)
    assert_not_reloaded(page)


def key_in(page: Page, digits: str) -> None:
    for digit in digits:
        page.locator(f'form.keypad button[data-key="{digit}"]').click()


def test_a_keypad_press_changes_the_session(
    page: Page, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    call_sid, sid = start_session(inspector, account, charge_amount=9)
    open_page(page, inspector, f"{UI}/sessions/{sid}")
    captured = page.locator('dd[data-field="captured"]')
    required = page.locator('dd[data-field="required"]')
    expect(required).to_contain_text("payment-card-number")
    key_in(page, "42")
    page.get_by_role("button", name="Send entry").click()
    expect(page.locator(".toast.bad")).to_contain_text("nothing is being captured")

    update(inspector, account, call_sid, sid, capture="payment-card-number")
    expect(page.locator(".asked")).to_contain_text("payment-card-number")
    page.locator("#entry").fill("")
    key_in(page, CARD[:8])
    expect(page.locator("#entry-count")).to_have_text("8 keys")
    page.get_by_role("button", name="Send as partial").click()
    expect(page.locator('li[data-event="key-in"]')).to_contain_text("caller keyed part of")
    key_in(page, CARD[8:])
    page.locator('form.keypad button[type="submit"]', has_text="#").click()  # # sends
    expect(captured).to_contain_text("xxxxxxxxxxxx4242")
    expect(required).not_to_contain_text("payment-card-number")
    expect(page.locator("#entry")).to_have_value("")
    assert CARD not in page.content()
    view = inspector.control.payment(sid)
    assert view["captured"]["payment-card-number"] == "xxxxxxxxxxxx4242"

    update(inspector, account, call_sid, sid, capture="postal-code")
    expect(page.locator(".asked")).to_contain_text("postal-code")
    page.locator("button.key.star").click()
    expect(page.locator("svg.machine g.state.current")).to_have_attribute("data-state", "ended")
    expect(page.locator('dd[data-field="result"]')).to_have_text("caller-interrupted-with-star")
    assert_not_reloaded(page)


def test_hang_up_from_the_page(page: Page, inspector: EmulatorServer, account: Account) -> None:
    from playwright.sync_api import expect

    call_sid, sid = start_session(inspector, account, charge_amount=4)
    open_page(page, inspector, f"{UI}/accounts/{account.account_sid}")
    call = page.locator(f'article.call[data-call="{call_sid}"]')
    expect(call.locator(".badge").first).to_have_text("in-progress")
    call.get_by_role("button", name="Hang up").click()
    expect(call.locator(".badge").first).to_have_text("completed")
    expect(session_row(page, sid).locator(".badge")).to_have_text("ended")
    expect(session_row(page, sid)).to_contain_text("caller-hung-up")
    assert inspector.control.payment(sid)["result"] == "caller-hung-up"
    screenshot(page, "account", full_page=False)


def caller_endpoint_exists(inspector: EmulatorServer) -> bool:
    paths = httpx.get(f"{inspector.base_url}/openapi.json", timeout=10).json()["paths"]
    return "/_emulator/calls/{call_sid}/caller" in paths


def test_switch_the_caller_between_auto_and_manual(
    page: Page, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    if not caller_endpoint_exists(inspector):
        pytest.skip("POST /_emulator/calls/{CallSid}/caller is not in this emulator yet")
    call_sid, sid = start_session(inspector, account, charge_amount=6)
    open_page(page, inspector, f"{UI}/sessions/{sid}")
    mode = page.locator('dd[data-field="caller"]')
    expect(mode).to_have_text("manual")
    page.locator('.caller button[data-mode="auto"]').click()
    expect(mode).to_have_text("auto")
    update(inspector, account, call_sid, sid, capture="postal-code")  # the auto caller keys
    expect(page.locator('dd[data-field="captured"]')).to_contain_text("postal-code")
    page.locator('.caller button[data-mode="manual"]').click()
    expect(mode).to_have_text("manual")


# --- callbacks, faults, the journal, resets ----------------------------------------------------


def test_a_redelivery_shows_a_new_attempt(
    page: Page, inspector: EmulatorServer, account: Account, receiver: Receiver
) -> None:
    from playwright.sync_api import expect

    _, sid = start_session(inspector, account, callback=receiver.url("/pay"), charge_amount=2)
    inspector.control.callbacks(payment_sid=sid, wait_for=1)
    open_page(page, inspector, f"{UI}/sessions/{sid}")
    created = page.locator('li[data-event="create"]')
    created.locator("summary").click()
    expect(created.locator(".attempt-count")).to_have_text("1 attempt")
    expect(created.locator("tr[data-attempt]")).to_have_count(1)
    expect(created).to_contain_text("HTTP 204")
    expect(created).to_contain_text("X-Twilio-Signature")
    created.get_by_role("button", name="Redeliver").click()
    expect(created.locator(".attempt-count")).to_have_text("2 attempts")
    expect(created.locator("tr[data-attempt]")).to_have_count(2)  # still open
    assert len(receiver.wait_for(2)) == 2
    assert_not_reloaded(page)


def test_fault_rules_are_added_and_removed(
    page: Page, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    open_page(page, inspector, f"{UI}/faults")
    form = page.locator("form.fault-form")
    form.locator("select[name=action]").select_option("error")
    form.locator("input[name=path]").fill(f"/Accounts/{account.account_sid}/")
    form.locator("input[name=status]").fill("429")
    form.locator("input[name=code]").fill("20429")
    form.locator("input[name=times]").fill("1")
    form.get_by_role("button", name="Add rule").click()
    rule = page.locator("tr[data-fault]")
    expect(rule).to_have_count(1)
    expect(rule).to_contain_text("429 · 20429")
    screenshot(page, "faults", full_page=False)
    refused = httpx.post(
        f"{inspector.base_url}/2010-04-01/Accounts/{account.account_sid}/Calls/CA{'1' * 32}/Payments.json",
        auth=(account.account_sid, account.auth_token),
        data={"IdempotencyKey": "k", "StatusCallback": "http://127.0.0.1:9/cb"},
        timeout=10,
    )
    assert refused.status_code == 429
    expect(rule).to_contain_text("0 of 1 left")
    rule.get_by_role("button", name="Remove").click()
    expect(rule).to_have_count(0)
    assert inspector.control.faults() == []


def test_the_journal_shows_refusals_and_filters(
    page: Page, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    call_sid, sid = start_session(inspector, account, charge_amount=1)
    update(inspector, account, call_sid, sid, status="cancel")
    open_page(page, inspector, f"{UI}/requests?account_sid={account.account_sid}")
    rows = page.locator("tr[data-request]")
    expect(rows).to_have_count(2)
    with pytest.raises(Exception, match="Invalid Operation"):
        update(inspector, account, call_sid, sid, status="cancel")
    expect(rows).to_have_count(3)  # live
    refused = page.locator('tr[data-status="400"]')
    expect(refused).to_contain_text("64021")
    expect(refused).to_contain_text("Invalid Operation")
    assert_not_reloaded(page)
    screenshot(page, "requests", full_page=False)
    page.locator("input[name=code]").fill("64021")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-status", "400")


def test_a_reset_empties_the_list(page: Page, inspector: EmulatorServer, account: Account) -> None:
    from playwright.sync_api import expect

    start_session(inspector, account, charge_amount=1)
    open_page(page, inspector, f"{UI}/accounts/{account.account_sid}")
    page.get_by_role("button", name="Reset this account…").click()
    dialog = page.locator("dialog#confirm")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("article.call")).to_have_count(1)  # nothing happened

    page.get_by_role("button", name="Reset this account…").click()
    dialog.get_by_role("button", name="Reset the account").click()
    expect(page.locator("article.call")).to_have_count(0)
    assert_not_reloaded(page)

    other = inspector.control.create_account()
    start_session(inspector, other, charge_amount=1)
    open_page(page, inspector, f"{UI}/")
    expect(page.locator("tr[data-sid]").first).to_be_visible()
    page.get_by_role("button", name="Reset everything…").click()
    expect(dialog).to_contain_text("Reset everything?")
    dialog.get_by_role("button", name="Reset everything").click()
    expect(page.locator("tr[data-sid]")).to_have_count(0)
    expect(page.locator(".empty")).to_contain_text("No sessions yet")
    expect(page.locator('[data-count="sessions"]')).to_have_text("0")
    assert_not_reloaded(page)


# --- copy as code, escaping --------------------------------------------------------------------


def test_copy_as_code(page: Page, inspector: EmulatorServer, account: Account) -> None:
    from playwright.sync_api import expect

    call_sid, sid = start_session(inspector, account, charge_amount=8, currency="EUR")
    update(inspector, account, call_sid, sid, capture="payment-card-number")
    open_page(page, inspector, f"{UI}/sessions/{sid}")
    python = page.locator("#code-python")
    expect(python).to_contain_text("payments.create(")
    expect(python).to_contain_text('currency="EUR",')
    expect(python).to_contain_text('capture="payment-card-number",')
    expect(page.locator("#code-node")).to_contain_text('capture: "payment-card-number",')
    page.locator('button[data-target="code-python"]').click()
    expect(page.locator(".toast")).to_contain_text("copied")
    assert page.evaluate("navigator.clipboard.readText()") == python.text_content()
    update(inspector, account, call_sid, sid, status="cancel")
    expect(python).to_contain_text('status="cancel",')  # the snippet follows the session


XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 1"><b>bold</b>'


def test_markup_shows_as_text(page: Page, inspector: EmulatorServer) -> None:
    from playwright.sync_api import expect

    created = inspector.control.http.post("/_emulator/accounts", json={"friendly_name": XSS})
    account = Account(**created.json())
    _, sid = start_session(inspector, account, description=XSS, charge_amount=1)
    open_page(page, inspector, f"{UI}/accounts/{account.account_sid}")
    expect(page.locator("dd.name")).to_have_text(XSS)
    open_page(page, inspector, f"{UI}/sessions/{sid}")
    page.locator("details.settings summary").click()
    expect(page.locator("details.settings")).to_contain_text(XSS)
    open_page(page, inspector, f"{UI}/faults")
    rule = inspector.control.add_fault("error", message=XSS, path="^/never$")
    try:
        expect(page.locator(f'tr[data-fault="{rule["id"]}"] .message')).to_have_text(XSS)  # live
    finally:
        inspector.control.http.delete(f"/_emulator/faults/{rule['id']}")
    assert page.evaluate("window.__xss") is None
    assert page.locator("main b, main img, main script").count() == 0


def test_with_a_control_token_the_page_works_from_its_cookie(browser: BrowserContext) -> None:
    """With ``--control-token``, opening the inspector once with ``?token=`` keeps the token
    in a cookie: the page, its event stream and its actions then work without a header."""
    from playwright.sync_api import expect

    with EmulatorServer("--control-token", "s3cret") as guarded:
        tab = browser.new_page()
        try:
            assert httpx.get(f"{guarded.base_url}{UI}/", timeout=10).status_code == 401
            tab.goto(f"{guarded.base_url}{UI}/faults?token=s3cret")
            assert tab.url == f"{guarded.base_url}{UI}/faults"
            expect(tab.locator("#live")).to_have_attribute("data-mode", "live")
            tab.locator("form.fault-form input[name=path]").fill("^/never$")
            tab.get_by_role("button", name="Add rule").click()
            expect(tab.locator("tr[data-fault]")).to_have_count(1)
            assert len(guarded.control.faults()) == 1
        finally:
            tab.close()


# --- issue 22: why it failed, finding things, the keypad against the clock -------------------


def decline(inspector: EmulatorServer, account: Account) -> tuple[str, str]:
    """A session the connector declines (the caller's script keys the magic decline card)."""
    return run_card_flow(inspector, account, script={"payment-card-number": "4000000000000002"})


def test_why_a_session_failed_is_shown_without_a_click(
    page: Page, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    _, sid = decline(inspector, account)
    open_page(page, inspector, f"{UI}/sessions/{sid}")
    header = page.locator("#session-badge")
    expect(header).to_contain_text("completed")
    expect(header.locator(".why")).to_be_visible()  # next to the state, nothing opened
    expect(header.locator(".why")).to_have_text(
        "payment-connector-error · 64012 · card is declined · card_declined"
    )
    expect(page.locator("details.settings")).not_to_have_attribute("open", "")
    completed = page.locator('li[data-event="complete"]')
    expect(completed.locator("strong").first).to_have_text("completed")
    expect(completed.locator(".error")).to_have_text(
        "payment-connector-error · 64012 · card is declined · card_declined"
    )
    assert completed.inner_text().count("payment-connector-error") == 1  # named once
    screenshot(page, "session-declined", full_page=False)

    open_page(page, inspector, f"{UI}/?account_sid={account.account_sid}")
    row = session_row(page, sid)
    expect(row.locator(".why")).to_contain_text("64012 · card is declined")
    # a refused entry on a session still under way: its ErrorType
    call_sid, active = start_session(inspector, account, charge_amount=2)
    update(inspector, account, call_sid, active, capture="expiration-date")
    inspector.control.key_in(active, "1399")
    expect(session_row(page, active).locator(".why")).to_have_text("last entry: invalid-date")
    assert_not_reloaded(page)
    screenshot(page, "sessions-why", full_page=False)


def test_failed_callbacks_are_marked_and_filtered(
    page: Page, inspector: EmulatorServer, account: Account, receiver: Receiver
) -> None:
    from playwright.sync_api import expect

    _, failing = start_session(inspector, account, charge_amount=1)  # a closed port
    _, delivered = start_session(inspector, account, callback=receiver.url("/ok"), charge_amount=1)
    inspector.control.callbacks(payment_sid=failing, wait_for=1)
    inspector.control.callbacks(payment_sid=delivered, wait_for=1)
    open_page(page, inspector, f"{UI}/?account_sid={account.account_sid}")
    mark = session_row(page, failing).locator("[data-failed-callbacks]")
    expect(mark).to_have_text("1 callback failed")
    expect(session_row(page, delivered).locator("[data-failed-callbacks]")).to_have_count(0)
    page.locator('a[data-filter="failed-callbacks"]').click()
    expect(session_row(page, failing)).to_be_visible()
    expect(session_row(page, delivered)).to_have_count(0)
    expect(page.locator('a[data-filter="failed-callbacks"]')).to_have_class("chip failed on")
    screenshot(page, "sessions-failed-callbacks", full_page=False)


def test_free_text_search_and_dates(
    page: Page, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    call_sid, sid = start_session(inspector, account, charge_amount=1, description="Order 100%_x")
    _, other = start_session(inspector, account, charge_amount=1, description="something else")
    open_page(page, inspector, f"{UI}/")
    search = page.locator("form.filters input[name=q]")
    search.fill("order 100%_")  # any case; % and _ taken literally
    page.get_by_role("button", name="Filter").click()
    expect(session_row(page, sid)).to_be_visible()
    expect(session_row(page, other)).to_have_count(0)
    for part in (sid[10:20], call_sid[5:15].upper(), account.account_sid[-8:]):
        search = page.locator("form.filters input[name=q]")
        search.fill(part)
        page.get_by_role("button", name="Filter").click()
        expect(session_row(page, sid)).to_be_visible()
    page.locator("form.filters input[name=q]").fill("100%x")  # not a pattern: nothing
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".empty")).to_contain_text("match these filters")
    # dates with the times, the full timestamp on hover
    open_page(page, inspector, f"{UI}/?q={sid}")
    updated = session_row(page, sid).locator("time").last
    expect(updated).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"))
    expect(updated).to_have_attribute(
        "title", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
    )
    # the journal: the same search
    open_page(page, inspector, f"{UI}/requests")
    page.locator("form.filters input[name=q]").fill("100%_X")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-request]")).to_have_count(1)  # the create that said it
    page.locator("form.filters input[name=q]").fill(sid[12:24])
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-request]")).to_have_count(1)
    expect(page.locator("tr[data-request] time").first).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
    )


def test_journal_rows_say_what_they_asked_and_details_stay_in_the_page(
    page: Page, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    call_sid, sid = start_session(
        inspector, account, charge_amount=1, description="x" * 400, parameter={"k": "v" * 300}
    )
    update(inspector, account, call_sid, sid, capture="payment-card-number")
    update(inspector, account, call_sid, sid, status="cancel")
    bad = httpx.post(
        f"{inspector.base_url}/2010-04-01/Accounts/{account.account_sid}/Calls/{call_sid}/Payments.json",
        auth=(account.account_sid, "wrong"),
        data={"IdempotencyKey": "k", "StatusCallback": "http://127.0.0.1:9/cb"},
        timeout=10,
    )
    assert bad.status_code == 401
    open_page(page, inspector, f"{UI}/requests?account_sid={account.account_sid}")
    rows = page.locator("tr[data-request]")
    expect(rows).to_have_count(4)
    expect(page.locator(".asked-for")).to_have_text(
        ["Status=cancel", "Capture=payment-card-number"]
    )
    refused = page.locator('tr[data-status="401"]')
    expect(refused.locator(".auth-failure")).to_have_text(
        f"wrong auth token for account {account.account_sid}"
    )
    for summary in page.locator("tr.more summary").all():
        summary.click()
    expect(page.locator("tr.more details[open]")).to_have_count(4)
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, (width, viewport)
    topbar = page.evaluate("document.querySelector('.topbar').getBoundingClientRect().width")
    table = page.evaluate("document.querySelector('table.requests').getBoundingClientRect().right")
    assert table <= topbar, (table, topbar)
    screenshot(page, "requests-details", full_page=False)


def test_the_keypad_counts_down_and_the_clock_can_be_held(
    page: Page, inspector: EmulatorServer, account: Account
) -> None:
    from playwright.sync_api import expect

    call_sid, sid = start_session(inspector, account, charge_amount=7, timeout=600)
    open_page(page, inspector, f"{UI}/sessions/{sid}")
    asked = page.locator(".asked")
    expect(asked).to_contain_text("keys are refused until the agent sends Capture")
    update(inspector, account, call_sid, sid, capture="expiration-date")
    deadline = page.locator(".deadline")
    expect(deadline).to_contain_text("No Timeout runs until the caller keys a first digit")
    key_in(page, "12")  # half an expiry date
    page.get_by_role("button", name="Send as partial").click()
    countdown = deadline.locator(".countdown")
    expect(countdown).to_have_text(re.compile(r"^59\d\.\d s$"))
    first = float(countdown.inner_text().split()[0])
    for _ in range(50):  # it runs (the page's policy allows no evaluated string to wait with)
        page.wait_for_timeout(100)
        if float(countdown.inner_text().split()[0]) < first - 0.5:
            break
    else:
        raise AssertionError(f"the countdown stayed at {countdown.inner_text()}")
    expect(page.locator(".clock-control")).to_contain_text("The clock is the whole emulator's")
    try:
        page.get_by_role("button", name="Hold the clock").click()
        expect(deadline).to_contain_text("(the clock is held)")
        assert inspector.control.clock()["frozen"] is True
        expect(page.get_by_role("button", name="Hold the clock")).to_be_disabled()
        held = countdown.inner_text()
        page.wait_for_timeout(600)
        assert countdown.inner_text() == held  # nothing moves while held
        screenshot(page, "keypad-held", full_page=False)
        page.get_by_role("button", name="Release the clock").click()
        expect(page.get_by_role("button", name="Release the clock")).to_be_disabled()
        expect(deadline).not_to_contain_text("held")
    finally:
        inspector.control.release_clock()
    assert inspector.control.clock()["frozen"] is False
    # the Timeout passes (the half entry is refused): the page says so, and what to do
    inspector.control.set_clock(advance_seconds=601)
    expect(asked).to_have_text(
        re.compile(r"^Timed out at \d\d:\d\d:\d\d: the agent must send Capture again\.$")
    )
    assert_not_reloaded(page)


def test_the_keypad_is_closed_on_an_ended_session_and_labels_agree(
    page: Page, inspector: EmulatorServer
) -> None:
    from playwright.sync_api import expect

    account = inspector.control.create_account()
    call_sid = inspector.control.create_call(account.account_sid)  # the server's mode
    payment = (
        sdk(inspector, account)
        .calls(call_sid)
        .payments.create(idempotency_key=ikey(), status_callback="http://127.0.0.1:9/cb")
    )
    sid = str(payment.sid)
    open_page(page, inspector, f"{UI}/sessions/{sid}")
    keys = page.locator("form.keypad button.key")
    expect(keys.first).to_be_enabled()
    expect(page.locator('dd[data-field="caller"]')).to_have_text("manual")
    expect(page.locator('[data-field="call-caller"]')).to_have_text(
        "caller: manual (server default)"
    )
    update(inspector, account, call_sid, sid, status="cancel")
    expect(keys.first).to_be_disabled()  # live, without a reload
    expect(keys.last).to_be_disabled()
    expect(page.locator("#entry")).to_be_disabled()
    expect(page.get_by_role("button", name="Hold the clock")).to_be_disabled()
    expect(page.locator(".asked")).to_have_text("The session is cancelled: the keypad is closed.")
    assert_not_reloaded(page)
    open_page(page, inspector, f"{UI}/accounts/{account.account_sid}")
    call = page.locator(f'article.call[data-call="{call_sid}"]')
    expect(call.locator("[data-caller]")).to_have_text("caller: manual (server default)")
    expect(page.locator(".pager").last).to_have_text("1 call")
    open_page(page, inspector, f"{UI}/accounts")
    expect(page.locator(".pager")).not_to_contain_text("1 accounts")
