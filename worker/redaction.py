"""Keep a job's tagger secrets out of everything stored, returned or logged.

A tagger may quote what it was sent (`401 {"error": "invalid credentials
'Bearer …'"}`), and that answer becomes the job's error; an exception message
may carry it into a log or into RQ's record of a crashed run; a tagger may even
name a tag after it, and labels are kept and served with every answer. So every
text that leaves a run goes through the run's `Redactor` (labels as they arrive,
worker.answering), and while a run holds secrets, every log record of the
process is redacted too.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import traceback
from contextlib import contextmanager
from typing import Iterable
from urllib.parse import quote as percent_encode

REDACTED = "[redacted]"
MIN_PIECE = 8  # shorter words of a header value ("Bearer", "Basic") are not secrets on their own


class Redactor:
    """Replaces every form in which a secret may be quoted: as sent, each long word of it,
    JSON- and repr-escaped, percent-encoded, and the decoded user:password of Basic auth."""

    def __init__(self, secrets: Iterable[str]):
        forms: set[str] = set()
        for secret in secrets:
            for text in _texts(secret):
                forms |= {text, json.dumps(text)[1:-1], repr(text)[1:-1], percent_encode(text, safe="")}
        self._forms = sorted((f for f in forms if f), key=len, reverse=True)  # longest first

    def __bool__(self) -> bool:
        return bool(self._forms)

    def text(self, value: str) -> str:
        for form in self._forms:
            value = value.replace(form, REDACTED)
        return value

    def labels(self, labels: tuple[str, ...]) -> tuple[str, ...]:
        """A tagger's tag names, redacted (a tagger may name a tag after the credential it got).
        Names that redact alike are told apart by a number, in the order of their own names, so
        that every answer with the same tags maps them alike, in whatever order it lists them."""
        redacted = [self.text(label) for label in labels]
        if len(set(redacted)) == len(redacted):
            return tuple(redacted)
        alike: dict[str, list[str]] = {}
        for label, text in zip(labels, redacted):
            alike.setdefault(text, []).append(label)
        return tuple(text if len(alike[text]) == 1 else f"{text} #{sorted(alike[text]).index(label) + 1}"
                     for label, text in zip(labels, redacted))

    def data(self, value):
        """Every string in a JSON-like value redacted (numbers and structure untouched)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value


def _texts(secret: str) -> set[str]:
    words = secret.split()
    texts = {secret} | {w for w in words if len(w) >= MIN_PIECE}
    if len(words) == 2 and words[0].lower() == "basic":
        texts |= _basic_credentials(words[1])
    return texts


def _basic_credentials(encoded: str) -> set[str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return set()
    user, _, password = decoded.partition(":")
    return {decoded} | {part for part in (user, password) if len(part) >= 4}


def header_secrets(headers: dict) -> list[str]:
    return [value for value in headers.values() if value]


# -- the process's logs ------------------------------------------------------------------------
_active: list[Redactor] = []
_lock = threading.Lock()
_installed = False


@contextmanager
def redacting(redactor: Redactor):
    """While a run holds its secrets, every log record of the process is redacted with them."""
    with _lock:
        _active.append(redactor)
    try:
        yield redactor
    finally:
        with _lock:
            _active.remove(redactor)


def redact_active(text: str) -> str:
    with _lock:
        redactors = list(_active)
    for redactor in redactors:
        text = redactor.text(text)
    return text


def install_log_redaction() -> None:
    """Redact log records as they are made, whichever logger or handler takes them."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()

    def redacted_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if _active:
            record.msg, record.args = redact_active(record.getMessage()), ()
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact_active("".join(traceback.format_exception(*record.exc_info)).rstrip())
                record.exc_info = None
        return record

    logging.setLogRecordFactory(redacted_record)
