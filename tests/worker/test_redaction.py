import base64
import json
import logging

from worker.redaction import REDACTED, Redactor, install_log_redaction, redacting


def test_every_quoted_form_of_a_secret_is_redacted():
    secret = 'Bearer tok"en\\with/odd+chars'
    redactor = Redactor([secret])
    for quoted in (secret, "tok\"en\\with/odd+chars", json.dumps(secret), repr(secret),
                   "tok%22en%5Cwith%2Fodd%2Bchars"):
        assert "tok" not in redactor.text(f"the tagger said: {quoted}!"), quoted


def test_basic_credentials_are_redacted_decoded_too():
    redactor = Redactor(["Basic " + base64.b64encode(b"alice:pa55word").decode()])
    assert redactor.text("user alice:pa55word refused") == f"user {REDACTED} refused"
    assert "pa55word" not in redactor.text("password pa55word is wrong")


def test_short_scheme_words_and_structure_are_kept():
    redactor = Redactor(["Bearer abcdefgh1234"])
    data = {"detail": "Bearer abcdefgh1234 refused", "weights": [0.1, 2], "n": 3}
    assert redactor.data(data) == {"detail": f"{REDACTED} refused", "weights": [0.1, 2], "n": 3}
    assert redactor.text("a Bearer token is needed") == "a Bearer token is needed"
    assert not Redactor([]) and Redactor([]).text("x") == "x"


def test_labels_are_redacted_and_labels_that_redact_alike_stay_apart_in_any_order():
    redactor = Redactor(["Bearer RAWSECRET456"])
    assert redactor.labels(("low", "tok:Bearer RAWSECRET456")) == ("low", f"tok:{REDACTED}")
    both = ("tok:Bearer RAWSECRET456", "tok:RAWSECRET456", "low")
    named = dict(zip(both, redactor.labels(both)))
    assert named == dict(zip(both[::-1], redactor.labels(both[::-1])))
    assert sorted(named.values()) == ["low", f"tok:{REDACTED} #1", f"tok:{REDACTED} #2"]


def test_log_records_are_redacted_while_a_run_holds_its_secret(caplog):
    install_log_redaction()
    log = logging.getLogger("tests.redaction")
    with caplog.at_level(logging.INFO, logger="tests.redaction"):
        with redacting(Redactor(["key-0123456789"])):
            log.info("sent %s", "key-0123456789")
            try:
                raise ValueError("the tagger refused key-0123456789")
            except ValueError:
                log.exception("failed")
        log.info("after: %s", "key-0123456789")
    text = caplog.text
    assert "sent [redacted]" in text and "ValueError: the tagger refused [redacted]" in text
    assert text.count("key-0123456789") == 1 and "after: key-0123456789" in text
