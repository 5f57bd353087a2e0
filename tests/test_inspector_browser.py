"""The inspector in a real browser: Chromium, driven by Playwright, against an emulator that
twilio-python talks to. What a test author sees and does: sessions appearing live, the state
picture, the keypad, the caller's mode, redelivery, fault rules, the journal, resets, copy as
code, and markup shown as text. Screenshots of the main views go to the artefacts folder
(``EMULATOR_ARTIFACTS_DIR``, else tests/artifacts/)."""

from __future__ import annotations

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
    start_session,
    update,
)
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
