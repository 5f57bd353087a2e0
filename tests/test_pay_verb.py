"""<Pay>, <Prompt> and <Parameter> read from TwiML (emulator.domain.twiml_pay and
twiml_prompt): Twilio's defaults, every attribute, twilio-python's own output, bad values as
warnings (and, for what to charge or collect, the validation error the <Pay> ends with)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from twilio.twiml.voice_response import Pay as SdkPay
from twilio.twiml.voice_response import Prompt as SdkPrompt
from twilio.twiml.voice_response import VoiceResponse

from emulator.domain.twiml import Pay, Say, TwimlError, parse
from emulator.domain.twiml_pay import ACH_LANGUAGES, CARD_LANGUAGES, Invalid
from emulator.domain.twiml_prompt import Parameter, Prompt
from emulator.domain.twiml_read import Pause, Play


def read(inner: str) -> tuple[Pay, list[str]]:
    """The <Pay> of a document, and its notices' messages."""
    document = parse(f"<Response>{inner}</Response>".encode())
    (pay,) = document.verbs
    assert isinstance(pay, Pay)
    assert all(notice.code == 12200 for notice in document.notices)
    return pay, [notice.message for notice in document.notices]


def test_twilios_defaults() -> None:
    pay, notices = read("<Pay/>")
    assert pay == Pay(
        input="dtmf",
        action=None,
        status_callback=None,
        status_callback_method="POST",
        payment_method="credit-card",
        bank_account_type="consumer-checking",
        timeout=5,
        max_attempts=1,
        security_code=True,
        postal_code=True,
        postal_code_value=None,
        min_postal_code_length=None,
        payment_connector="Default",
        token_type="reusable",
        charge_amount=None,
        currency="USD",
        language="en-US",
        description="",
        valid_card_types=("visa", "mastercard", "amex"),
        prompts=(),
        parameters=(),
        invalid=None,
    )
    assert notices == []


def test_every_attribute_as_twilio_python_writes_it() -> None:
    response = VoiceResponse()
    pay = SdkPay(
        input="dtmf",
        action="https://example.com/pay/done",
        status_callback="/pay/status",
        status_callback_method="GET",
        payment_method="ach-debit",
        bank_account_type="commercial-checking",
        timeout=7,
        max_attempts=3,
        security_code=False,
        postal_code="94105",
        min_postal_code_length=5,
        payment_connector="Stripe_1",
        token_type="one-time",
        charge_amount="20.45",
        currency="eur",
        description="Order 1",
        valid_card_types="visa amex",
        language="en-GB",
    )
    prompt = SdkPrompt(for_="bank-account-number", attempt="2 3", error_type="timeout")
    prompt.say("Again, please")
    prompt.pause(length=2)
    prompt.play("https://example.com/a.mp3")
    pay.append(prompt)
    pay.append(SdkPrompt(for_="bank-account-number", require_matching_inputs=True))
    pay.parameter(name="AVSName", value="Ada Lovelace")
    response.append(pay)
    document = parse(str(response).encode())
    assert document.notices == ()
    (verb,) = document.verbs
    assert isinstance(verb, Pay)
    assert verb.action == "https://example.com/pay/done"
    assert (verb.status_callback, verb.status_callback_method) == ("/pay/status", "GET")
    assert (verb.payment_method, verb.bank_account_type) == ("ach-debit", "commercial-checking")
    assert (verb.timeout, verb.max_attempts) == (7, 3)
    assert verb.security_code is False
    assert (verb.postal_code, verb.postal_code_value) == (False, "94105")
    assert verb.min_postal_code_length == 5
    assert (verb.payment_connector, verb.token_type) == ("Stripe_1", "one-time")
    assert (verb.charge_amount, verb.currency) == (Decimal("20.45"), "EUR")
    assert (verb.description, verb.language) == ("Order 1", "en-GB")
    assert verb.valid_card_types == ("visa", "amex")
    assert verb.prompts == (
        Prompt(
            "bank-account-number",
            attempts=(2, 3),
            error_types=("timeout",),
            children=(Say("Again, please"), Pause(2), Play("https://example.com/a.mp3")),
            position=0,
        ),
        Prompt("bank-account-number", require_matching_inputs=True, position=1),
    )
    assert verb.parameters == (Parameter("AVSName", "Ada Lovelace"),)
    assert verb.matching == ("bank-account-number",)
    assert verb.invalid is None


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ('chargeAmount="0"', None),  # "set the chargeAmount to "0" or omit": tokenize
        ('chargeAmount="0.00"', None),
        ('chargeAmount="10"', Decimal("10")),
        ('chargeAmount=" 9.99 "', Decimal("9.99")),
        ('chargeAmount="1000" currency="JPY"', Decimal("1000")),
    ],
)
def test_charge_amounts(attributes: str, expected: Decimal | None) -> None:
    pay, notices = read(f"<Pay {attributes}/>")
    assert pay.charge_amount == expected
    assert pay.invalid is None
    assert notices == []


@pytest.mark.parametrize(
    ("attributes", "code", "message"),
    [
        (
            'chargeAmount="-0.59"',
            64003,
            "paymentAmount='-0.59' (not a number between 0.00 - 1,000,000.00)",
        ),
        (
            'chargeAmount="ten"',
            64003,
            "paymentAmount='ten' (not a number between 0.00 - 1,000,000.00)",
        ),
        (
            'chargeAmount="1000000"',
            64003,
            "paymentAmount='1000000' (not a number between 0.00 - 1,000,000.00)",
        ),
        (
            'chargeAmount="1.5" currency="jpy"',
            64003,
            "paymentAmount='1.5' (not a number between 0.00 - 1,000,000.00)",
        ),
        ('currency="dollars"', 64020, "currency='dollars' (not an ISO 4217 currency code)"),
        (
            'paymentMethod="cash"',
            64020,
            "paymentMethod='cash' (not one of credit-card, ach-debit)",
        ),
        (
            'tokenType="forever"',
            64020,
            "tokenType='forever' (not one of one-time, reusable, payment-method)",
        ),
        (
            'paymentMethod="ach-debit" bankAccountType="gold"',
            64020,
            "bankAccountType='gold' (not one of consumer-checking, consumer-savings,"
            " commercial-checking)",
        ),
        (
            'bankAccountType="consumer-savings"',
            64017,
            'Pay: BankAccountType Parameter not supported with PaymentMethod = "credit-card"',
        ),
        (
            'language="pt-BR"',
            64020,
            "language='pt-BR' (not one of " + " ".join(CARD_LANGUAGES) + " for card payments)",
        ),
        (
            'paymentMethod="ach-debit" language="es-MX"',
            64020,
            "language='es-MX' (not one of " + " ".join(ACH_LANGUAGES) + " for ACH payments)",
        ),
        (
            'validCardTypes="visa master-card"',
            64020,
            "validCardTypes='visa master-card' (unknown card type master-card; known: amex"
            " diners-club discover enroute jcb maestro mastercard optima visa)",
        ),
    ],
)
def test_what_to_charge_or_collect_wrong_is_a_validation_error(
    attributes: str, code: int, message: str
) -> None:
    """Twilio's Result ``validation-error``: "Invalid <Pay> verb attribute (Example:
    paymentAmount="-0.5")", with the PaymentError of its example's form."""
    pay, notices = read(f"<Pay {attributes}/>")
    assert pay.invalid == Invalid(code, message)
    assert any(message in notice and "validation-error" in notice for notice in notices)


def test_the_first_bad_value_is_the_one_reported() -> None:
    pay, notices = read('<Pay chargeAmount="-1" language="xx"/>')
    assert pay.invalid is not None
    assert pay.invalid.code == 64003
    assert len(notices) == 2


@pytest.mark.parametrize(
    ("attributes", "field", "value"),
    [
        ('timeout="0"', "timeout", 5),
        ('timeout="soon"', "timeout", 5),
        ('timeout="9999"', "timeout", 600),
        ('maxAttempts="4"', "max_attempts", 3),
        ('maxAttempts="0"', "max_attempts", 1),
        ('maxAttempts="two"', "max_attempts", 1),
        ('securityCode="yes"', "security_code", True),
        ('input="speech"', "input", "dtmf"),
        ('minPostalCodeLength="-3"', "min_postal_code_length", None),
        ('statusCallbackMethod="PUT"', "status_callback_method", "POST"),
        ('postalCode=""', "postal_code", True),
    ],
)
def test_bad_values_the_call_can_run_with_are_warnings(
    attributes: str, field: str, value: object
) -> None:
    pay, notices = read(f"<Pay {attributes}/>")
    assert getattr(pay, field) == value
    assert pay.invalid is None
    assert len(notices) == 1


def test_case_and_separators_twilio_accepts() -> None:
    pay, notices = read(
        '<Pay securityCode="FALSE" postalCode="False" language="EN-gb"'
        ' validCardTypes="visa,mastercard, amex discover" currency="Eur"/>'
    )
    assert (pay.security_code, pay.postal_code, pay.postal_code_value) == (False, False, None)
    assert pay.language == "en-GB"
    assert pay.valid_card_types == ("visa", "mastercard", "amex", "discover")
    assert pay.currency == "EUR"
    assert notices == []


def test_unknown_attributes_are_warnings() -> None:
    pay, notices = read('<Pay chargeAmount="5" method="GET" requireMatchingInputs="true"/>')
    assert pay.charge_amount == Decimal("5")
    assert len(notices) == 2
    assert all("unknown attribute" in notice for notice in notices)


def test_prompts_with_problems_are_warnings() -> None:
    pay, notices = read(
        "<Pay>"
        '<Prompt for="security-date"><Say>typo of the official sample</Say></Prompt>'
        "<Prompt><Say>no step</Say></Prompt>"
        '<Prompt for="payment-card-number" attempt="1 11 x" cardType="visa visa-electron"'
        ' errorType="timeout wrong" requireMatchingInputs="maybe" lang="en">'
        "<Gather/><Say>card</Say></Prompt>"
        "</Pay>"
    )
    (prompt,) = pay.prompts
    assert prompt == Prompt(
        "payment-card-number",
        card_types=("visa",),
        attempts=(1,),
        error_types=("timeout",),
        require_matching_inputs=False,
        children=(Say("card"),),
        position=0,
    )
    assert len(notices) == 9


def test_parameters() -> None:
    pay, notices = read(
        '<Pay><Parameter name="customer" value="42"/><Parameter name="empty"/>'
        '<Parameter value="orphan"/></Pay>'
    )
    assert pay.parameters == (Parameter("customer", "42"), Parameter("empty", ""))
    assert len(notices) == 1


def test_what_cannot_be_nested() -> None:
    pay, notices = read("<Pay><Say>hello</Say><Gather/><Prompt for='postal-code'/></Pay>")
    assert len(pay.prompts) == 1
    assert len(notices) == 2
    with pytest.raises(TwimlError) as raised:
        parse(b"<Response><Pay><Prompts for='postal-code'/></Pay></Response>")
    assert raised.value.code == 12200
    with pytest.raises(TwimlError) as raised:
        parse(b"<Response><Pay><prompt for='postal-code'/></Pay></Response>")
    assert "<Prompt>, not <prompt>" in raised.value.message
    with pytest.raises(TwimlError):
        parse(b"<Response><Pay><Prompt for='postal-code'><Bogus/></Prompt></Pay></Response>")


def test_matching_is_for_ach_only() -> None:
    """ "The requireMatchingInputs attribute is only available for use for ACH
    payments/tokenizations at this time": on a card <Pay> it asks for nothing twice."""
    card, _ = read('<Pay><Prompt for="payment-card-number" requireMatchingInputs="true"/></Pay>')
    assert card.matching == ()
    ach, _ = read(
        '<Pay paymentMethod="ach-debit">'
        '<Prompt for="bank-routing-number" requireMatchingInputs="true"/>'
        '<Prompt for="bank-account-number" requireMatchingInputs="true"/>'
        '<Prompt for="bank-routing-number" requireMatchingInputs="true"/></Pay>'
    )
    assert ach.matching == ("bank-routing-number", "bank-account-number")


def test_long_texts_are_cut() -> None:
    pay, notices = read(f'<Pay description="{"d" * 5000}" paymentConnector=" Stripe "/>')
    assert len(pay.description) == 1024
    assert pay.payment_connector == "Stripe"
    assert len(notices) == 1
