"""emulator.domain.twiml: TwiML bytes -> verbs, with Twilio's defaults, its warnings and its
errors (12100, 12200, 11750), and the parser's bounds."""

from __future__ import annotations

import pytest

from emulator.domain import twiml
from emulator.domain.twiml import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_ELEMENTS,
    MAX_NOTICES,
    MAX_SECONDS,
    SAY_ENDLESS_LOOP,
    Gather,
    Hangup,
    NotEmulated,
    Pause,
    Play,
    Redirect,
    Reject,
    Say,
    TwimlError,
    parse,
)


def doc(inner: str) -> twiml.Document:
    return parse(f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'.encode())


def codes(document: twiml.Document) -> list[int]:
    return [notice.code for notice in document.notices]


def error(data: bytes) -> TwimlError:
    with pytest.raises(TwimlError) as raised:
        parse(data)
    return raised.value


# --- the defaults ---------------------------------------------------------------------------


def test_every_verb_with_twilios_defaults() -> None:
    document = doc(
        "<Say>Hi</Say><Play>https://a.example/x.mp3</Play><Pause/><Gather/>"
        "<Redirect>/next</Redirect><Hangup/><Reject/>"
    )
    assert document.verbs == (
        Say("Hi", voice="man", language="en-US", loop=1),
        Play("https://a.example/x.mp3", loop=1, digits=""),
        Pause(length=1),
        Gather(
            action=None,
            method="POST",
            timeout=5,
            finish_on_key="#",
            num_digits=None,
            input=("dtmf",),
            action_on_empty_result=False,
            children=(),
        ),
        Redirect("/next", method="POST"),
        Hangup(),
        Reject("rejected"),
    )
    assert document.notices == ()


def test_attributes_are_read() -> None:
    document = doc(
        '<Say voice="Polly.Joanna" language="en-GB" loop="3">Hello</Say>'
        '<Play loop="2" digits="1w2#">/a.wav</Play>'
        '<Pause length="7"/>'
        '<Gather action="/done" method="GET" timeout="9" finishOnKey="*" numDigits="4"'
        ' input="dtmf speech" actionOnEmptyResult="true" speechTimeout="auto" hints="x"/>'
        '<Redirect method="get">https://b.example/r</Redirect><Reject reason="busy"/>'
    )
    say, play, pause, gather, redirect, reject = document.verbs
    assert say == Say("Hello", "Polly.Joanna", "en-GB", 3)
    assert play == Play("/a.wav", 2, "1w2#")
    assert pause == Pause(7)
    assert gather == Gather("/done", "GET", 9, "*", 4, ("dtmf", "speech"), True, ())
    assert redirect == Redirect("https://b.example/r", "GET")
    assert reject == Reject("busy")
    assert document.notices == ()


def test_loop_zero_is_a_thousand_iterations() -> None:
    say, play = doc('<Say loop="0">x</Say><Play loop="0">/a.mp3</Play>').verbs
    assert isinstance(say, Say)
    assert say.loop == SAY_ENDLESS_LOOP
    assert isinstance(play, Play)
    assert play.loop == SAY_ENDLESS_LOOP


def test_say_text_takes_ssml_and_folds_white_space() -> None:
    (say,) = doc(
        "<Say>\n  Your   balance <break time='1s'/> is <say-as interpret-as='digits'>42</say-as>"
        "<prosody rate='slow'>dollars</prosody>.\n</Say>"
    ).verbs
    assert say == Say("Your balance is 42dollars.")


def test_gather_nests_say_play_and_pause() -> None:
    (gather,) = doc(
        '<Gather numDigits="1"><Say>Press 1</Say><Pause length="2"/><Play>/beep.mp3</Play></Gather>'
    ).verbs
    assert isinstance(gather, Gather)
    assert gather.children == (Say("Press 1"), Pause(2), Play("/beep.mp3"))


def test_comments_and_processing_instructions_are_ignored() -> None:
    document = doc("<!-- a comment --><Say>x</Say><?php echo 1 ?>")
    assert document.verbs == (Say("x"),)


def test_an_empty_response_has_no_verbs() -> None:
    assert parse(b"<Response/>").verbs == ()
    assert parse(b"<Response>\n  \n</Response>").notices == ()


# --- not emulated -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", twiml.NOT_EMULATED)
def test_known_verbs_that_are_not_emulated(name: str) -> None:
    (verb,) = doc(f'<{name} b="2" a="1"><Number>+1</Number></{name}>').verbs
    assert verb == NotEmulated(name, (("a", "1"), ("b", "2")))


def test_pay_is_emulated() -> None:
    """<Pay> is a verb the emulator runs (its reading: tests/test_pay_verb.py)."""
    assert "Pay" not in twiml.NOT_EMULATED
    assert "Pay" in twiml.VERBS
    (verb,) = doc('<Pay chargeAmount="10"><Prompt for="payment-card-number"/></Pay>').verbs
    assert isinstance(verb, twiml.Pay)


# --- warnings: the verb runs, with the default -----------------------------------------------


@pytest.mark.parametrize(
    ("inner", "code", "expected"),
    [
        ('<Say loop="x">a</Say>', 13510, Say("a")),
        ('<Say loop="-1">a</Say>', 13510, Say("a")),
        ('<Play loop="a">/x.mp3</Play>', 13410, Play("/x.mp3")),
        ('<Play digits="12x">/x.mp3</Play>', 13430, Play("/x.mp3")),
        ('<Pause length="0"/>', 13910, Pause(1)),
        ('<Pause length="1.5"/>', 13910, Pause(1)),
        (f'<Pause length="{MAX_SECONDS + 1}"/>', 13910, Pause(MAX_SECONDS)),
        ('<Gather timeout="soon"/>', 13313, Gather()),
        ('<Gather numDigits="0"/>', 13314, Gather()),
        ('<Gather finishOnKey="ab"/>', 13311, Gather()),
        ('<Gather finishOnKey="x"/>', 13310, Gather()),
        ('<Gather method="PUT"/>', 13312, Gather()),
        ('<Gather input="voice"/>', 13326, Gather()),
        ('<Redirect method="PATCH">/a</Redirect>', 13710, Redirect("/a")),
        ('<Reject reason="later"/>', 13810, Reject()),
        ('<Say colour="red">a</Say>', 12200, Say("a")),
        ('<Hangup now="yes"/>', 12200, Hangup()),
        ('<Gather actionOnEmptyResult="maybe"/>', 12200, Gather()),
        ("<Say></Say>", 13520, Say("")),
        (f"<Say>{'a' * 4097}</Say>", 13521, Say("a" * 4097)),
        ("<Play/>", 12200, Play("")),
    ],
)
def test_bad_attribute_values_warn_and_use_the_default(
    inner: str, code: int, expected: twiml.Verb
) -> None:
    document = doc(inner)
    assert document.verbs == (expected,)
    assert codes(document) == [code]
    assert all(notice.level == twiml.WARNING for notice in document.notices)


def test_nested_verbs_warn_with_their_nested_codes() -> None:
    (gather,) = doc('<Gather><Say loop="?">a</Say><Play digits="1">/b.mp3</Play></Gather>').verbs
    assert isinstance(gather, Gather)
    assert gather.children == (Say("a"), Play("/b.mp3"))
    assert [n.code for n in doc('<Gather><Say loop="?">a</Say></Gather>').notices] == [13322]
    notice = doc('<Gather><Play digits="1">/b.mp3</Play></Gather>').notices[0]
    assert (notice.code, "within a <Gather>" in notice.message) == (13430, True)


def test_a_verb_gather_cannot_nest_is_skipped_with_13320() -> None:
    document = doc("<Gather><Redirect>/x</Redirect><Hangup/><Dial>+1</Dial><Say>a</Say></Gather>")
    (gather,) = document.verbs
    assert isinstance(gather, Gather)
    assert gather.children == (Say("a"),)
    assert codes(document) == [13320, 13320, 13320]


def test_text_outside_verbs_and_unknown_ssml_warn() -> None:
    assert codes(doc("stray<Say>a</Say>")) == [12200]
    document = doc("<Say>a <blink>b</blink></Say>")
    assert document.verbs == (Say("a b"),)
    assert codes(document) == [12200]


def test_notices_are_bounded() -> None:
    document = doc("".join(f'<Say x{i}="1">a</Say>' for i in range(MAX_NOTICES + 20)))
    assert len(document.notices) == MAX_NOTICES
    assert len(document.verbs) == MAX_NOTICES + 20


# --- errors: the document is not run --------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"not xml",
        b"<Response><Say>unclosed</Response>",
        b' <?xml version="1.0"?><Response/>',  # "leading space ... before the XML type header"
        b"<Response/><Response/>",
        b"<Response>&nbsp;</Response>",
        b"<Response>\xff</Response>",
    ],
)
def test_malformed_xml_is_12100(data: bytes) -> None:
    assert error(data).code == 12100


@pytest.mark.parametrize("root", ["<Resp/>", "<response/>", "<Say>hi</Say>"])
def test_a_root_other_than_response_is_12100(root: str) -> None:
    found = error(root.encode())
    assert found.code == 12100
    assert "not <Response>" in found.message


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE Response [<!ENTITY a "aaaaaaaaaa">]><Response><Say>&a;</Say></Response>',
        b'<!DOCTYPE Response SYSTEM "file:///etc/passwd"><Response/>',
        b"<!DOCTYPE Response><Response/>",
    ],
)
def test_a_doctype_is_refused_before_anything_is_expanded(data: bytes) -> None:
    found = error(data)
    assert found.code == 12100
    assert "DOCTYPE" in found.message


def test_billion_laughs_is_refused() -> None:
    entities = "".join(
        f'<!ENTITY l{i} "{"&l" + str(i - 1) + ";" if i else "lol"}' * 10 + '">' for i in range(9)
    )
    data = f"<!DOCTYPE Response [{entities}]><Response><Say>&l8;</Say></Response>".encode()
    assert error(data).code == 12100


@pytest.mark.parametrize(
    ("inner", "where"),
    [
        ("<say>hi</say>", "<Say>, not <say>"),
        ("<Message>hi</Message>", "<Message>"),
        ("<Gather><Message/></Gather>", "inside <Gather>"),
        ("<Sya>hi</Sya>", "<Sya>"),
    ],
)
def test_an_unknown_element_is_12200(inner: str, where: str) -> None:
    found = error(f"<Response>{inner}</Response>".encode())
    assert found.code == 12200
    assert where in found.message


def test_a_document_over_64_kib_is_11750() -> None:
    data = b"<Response><Say>" + b"a" * MAX_DOCUMENT_BYTES + b"</Say></Response>"
    assert error(data).code == 11750
    assert parse(b"<Response><Say>" + b"a" * 60_000 + b"</Say></Response>").verbs


def test_depth_and_element_count_are_bounded() -> None:
    deep = "<Say>" + "<p>" * MAX_DEPTH + "x" + "</p>" * MAX_DEPTH + "</Say>"
    assert "nested" in error(f"<Response>{deep}</Response>".encode()).message
    many = "<Hangup/>" * MAX_ELEMENTS
    assert "elements" in error(f"<Response>{many}</Response>".encode()).message


def test_a_parse_error_says_where() -> None:
    found = error(b"<Response>\n<Say>a</Sya>\n</Response>")
    assert "line 2" in found.message
