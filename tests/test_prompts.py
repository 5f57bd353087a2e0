"""emulator.domain.prompts: which <Prompt> the caller hears at a step of <Pay> (pure): the
examples of Twilio's <Prompt> page, then every combination of attributes over small domains
against the rules written out once more."""

from __future__ import annotations

import itertools

import pytest

from emulator.domain.prompts import Asking, choose, prompt_error, specificity
from emulator.domain.twiml import Pay, parse
from emulator.domain.twiml_prompt import Prompt


def prompts_of(inner: str, attributes: str = "") -> tuple[Prompt, ...]:
    document = parse(f"<Response><Pay {attributes}>{inner}</Pay></Response>".encode())
    (pay,) = document.verbs
    assert isinstance(pay, Pay)
    return pay.prompts


def said(prompt: Prompt | None) -> str | None:
    if prompt is None:
        return None
    texts = [getattr(child, "text", "") for child in prompt.children]
    return " ".join(texts)


# --- Twilio's examples ------------------------------------------------------------------------


def test_a_prompt_for_one_step_only() -> None:
    prompts = prompts_of(
        '<Prompt for="payment-card-number"><Say>card</Say></Prompt>'
        '<Prompt for="expiration-date"><Say>expiry</Say></Prompt>'
    )
    assert said(choose(prompts, Asking("payment-card-number"))) == "card"
    assert said(choose(prompts, Asking("expiration-date"))) == "expiry"
    assert choose(prompts, Asking("security-code")) is None  # Twilio's default prompt


def test_attempt_1_then_2_3() -> None:
    """The page's example: "Since the second <Prompt>'s attempt value is 2 3, the caller would
    hear this longer prompt during a third attempt if necessary"."""
    prompts = prompts_of(
        '<Prompt for="expiration-date" attempt="1"><Say>short</Say></Prompt>'
        '<Prompt for="expiration-date" attempt="2 3"><Say>longer</Say></Prompt>'
    )
    assert said(choose(prompts, Asking("expiration-date", 1))) == "short"
    assert said(choose(prompts, Asking("expiration-date", 2, "input-timeout"))) == "longer"
    assert said(choose(prompts, Asking("expiration-date", 3, "invalid-date"))) == "longer"


def test_the_security_code_by_card_type() -> None:
    prompts = prompts_of(
        '<Prompt for="security-code" cardType="visa mastercard"><Say>three</Say></Prompt>'
        '<Prompt for="security-code" cardType="amex"><Say>four</Say></Prompt>'
    )
    assert said(choose(prompts, Asking("security-code", card_type="visa"))) == "three"
    assert said(choose(prompts, Asking("security-code", card_type="amex"))) == "four"
    assert choose(prompts, Asking("security-code", card_type="discover")) is None
    assert choose(prompts, Asking("security-code")) is None  # no card type known


def test_the_full_credit_card_example() -> None:
    """The page's "full example for a credit card transaction": a prompt per step, and one
    per error type."""
    prompts = prompts_of(
        '<Prompt for="payment-card-number"><Say>enter</Say></Prompt>'
        '<Prompt for="payment-card-number" errorType="timeout"><Say>nothing</Say></Prompt>'
        '<Prompt for="payment-card-number" errorType="invalid-card-number"><Say>bad</Say></Prompt>'
        '<Prompt for="payment-card-number" errorType="invalid-card-type"><Say>type</Say></Prompt>'
    )
    step = "payment-card-number"
    assert said(choose(prompts, Asking(step, 1))) == "enter"
    assert said(choose(prompts, Asking(step, 2, "input-timeout"))) == "nothing"
    assert said(choose(prompts, Asking(step, 2, "invalid-card-number"))) == "bad"
    assert said(choose(prompts, Asking(step, 3, "invalid-card-type"))) == "type"
    # an error no prompt names: the prompt without an errorType
    assert said(choose(prompts, Asking(step, 2, "input-matching-failed"))) == "enter"


def test_require_matching_inputs_and_the_mismatch() -> None:
    """The page's ACH example: a first prompt, a second one with requireMatchingInputs, and
    one with errorType="input-matching-failed" heard when the two entries differed."""
    prompts = prompts_of(
        '<Prompt for="bank-account-number"><Say>enter</Say></Prompt>'
        '<Prompt for="bank-account-number" requireMatchingInputs="true"><Say>again</Say></Prompt>'
        '<Prompt for="bank-account-number" errorType="input-matching-failed">'
        "<Say>no match</Say></Prompt>",
        'paymentMethod="ach-debit"',
    )
    step = "bank-account-number"
    assert said(choose(prompts, Asking(step, 1))) == "enter"
    assert said(choose(prompts, Asking(step, 1, matching=True))) == "again"
    assert said(choose(prompts, Asking(step, 2, "input-matching-failed"))) == "no match"
    assert said(choose(prompts, Asking(step, 2, "input-matching-failed", matching=True))) == (
        "again"
    )


def test_the_payment_processing_prompt() -> None:
    prompts = prompts_of('<Prompt for="payment-processing"><Say>one moment</Say></Prompt>')
    assert said(choose(prompts, Asking("payment-processing"))) == "one moment"


def test_the_more_specific_prompt_wins_then_the_first() -> None:
    prompts = prompts_of(
        '<Prompt for="postal-code"><Say>plain</Say></Prompt>'
        '<Prompt for="postal-code" attempt="2"><Say>second</Say></Prompt>'
        '<Prompt for="postal-code" attempt="2" errorType="timeout"><Say>both</Say></Prompt>'
        '<Prompt for="postal-code" errorType="timeout"><Say>timeout</Say></Prompt>'
        '<Prompt for="postal-code" attempt="2"><Say>second again</Say></Prompt>'
    )
    assert said(choose(prompts, Asking("postal-code", 2, "input-timeout"))) == "both"
    assert said(choose(prompts, Asking("postal-code", 2, "invalid-postal-code"))) == "second"
    assert said(choose(prompts, Asking("postal-code", 3, "input-timeout"))) == "timeout"
    assert said(choose(prompts, Asking("postal-code", 1))) == "plain"


def test_input_timeout_is_the_prompts_timeout() -> None:
    assert prompt_error("input-timeout") == "timeout"
    assert prompt_error("invalid-date") == "invalid-date"
    assert prompt_error(None) is None


# --- every combination -----------------------------------------------------------------------

STEPS = ("payment-card-number", "security-code")
CARD_TYPES = ((), ("visa",), ("amex", "visa"))
ATTEMPTS = ((), (1,), (2, 3))
ERRORS = ((), ("timeout",), ("invalid-card-number", "timeout"))
ALL_PROMPTS = [
    Prompt(step, card_types, attempts, errors, matching)
    for step, card_types, attempts, errors, matching in itertools.product(
        STEPS, CARD_TYPES, ATTEMPTS, ERRORS, (False, True)
    )
]
ASKINGS = [
    Asking(step, attempt, error, card_type, matching)
    for step, attempt, error, card_type, matching in itertools.product(
        STEPS,
        (1, 2, 3),
        (None, "input-timeout", "invalid-card-number", "invalid-security-code"),
        (None, "visa", "amex", "jcb"),
        (False, True),
    )
]


def fits(prompt: Prompt, asking: Asking) -> bool:
    """The rules, written out once more."""
    error = {"input-timeout": "timeout"}.get(asking.error or "", asking.error)
    return (
        prompt.for_ == asking.step
        and prompt.require_matching_inputs == asking.matching
        and (not prompt.card_types or asking.card_type in prompt.card_types)
        and (not prompt.attempts or asking.attempt in prompt.attempts)
        and (not prompt.error_types or (error is not None and error in prompt.error_types))
    )


@pytest.mark.parametrize("offset", range(0, len(ALL_PROMPTS), 9))
def test_every_combination(offset: int) -> None:
    """For documents of nine prompts each (every prompt in turn first), at every step,
    attempt, previous error, card type and phase: the chosen prompt fits, no fitting one is
    more specific, and none before it is as specific."""
    prompts = [
        Prompt(p.for_, p.card_types, p.attempts, p.error_types, p.require_matching_inputs, (), n)
        for n, p in enumerate((ALL_PROMPTS[offset:] + ALL_PROMPTS[:offset])[:9])
    ]
    for asking in ASKINGS:
        chosen = choose(prompts, asking)
        fitting = [p for p in prompts if fits(p, asking)]
        if not fitting:
            assert chosen is None
            continue
        assert chosen is not None
        assert fits(chosen, asking)
        most = max(specificity(p) for p in fitting)
        assert specificity(chosen) == most
        assert chosen == next(p for p in fitting if specificity(p) == most)
        if asking.error is None:
            assert not chosen.error_types  # never on an attempt that follows no error
