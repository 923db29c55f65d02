"""What a job says about its tagger: where it is, how it is spoken to, what it wants, how hard to try."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

from engine.codec import Encoding
from engine.errors import InvalidOptionError
from backend.tagger.netguard import check_url_syntax

REDACTED = "[redacted]"
INPUT_POLICIES = ("none", "crop", "pad", "crop_or_pad", "window")
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 9110 token
# RFC 9110 field-content: visible characters and obs-text, spaces and tabs between them.
# Without C1 controls (U+0080-U+009F), and within Latin-1: http.client encodes values as Latin-1.
HEADER_VALUE = re.compile(r"([!-~\xa0-\xff]([\t !-~\xa0-\xff]*[!-~\xa0-\xff])?)?")

# Headers that frame or route the request: a user's value would break the request or send it elsewhere.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "host", "connection", "content-type",
                             "expect", "upgrade", "te", "trailer", "keep-alive", "proxy-connection"})


class InvalidTaggerHeaderError(InvalidOptionError):
    """A tagger header whose name is not an HTTP token or whose value HTTP cannot carry as it is."""


@dataclass(frozen=True)
class TaggerSpec:
    url: str
    protocol: str = "json"
    options: dict = field(default_factory=dict)  # protocol-specific, checked by the protocol module
    headers: dict = field(default_factory=dict)  # the tagger's own auth: secret, never logged or returned
    sample_rate: int = 16000
    channels: int = 1
    encoding: str = Encoding.WAV16.value
    input_seconds: float | None = None  # a fixed input length, for taggers that need one
    input_policy: str = "none"  # how mixes meet input_seconds: crop, pad, crop_or_pad, or window + average
    batch_size: int | None = None  # mixes per request; None: the protocol's default
    concurrency: int = 2
    max_rps: float | None = None  # requests per second at most, across the job's concurrent requests
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    send_timeout: float | None = None  # for writing the request; None: as read_timeout
    retries: int = 4

    def __post_init__(self):
        from backend.tagger.protocols import PROTOCOLS  # noqa: PLC0415 - protocols import this module

        if not isinstance(self.url, str) or not self.url:
            raise InvalidOptionError(f"tagger.url must be a URL string, got {self.url!r}")
        check_url_syntax(self.url)
        if self.protocol not in PROTOCOLS:
            raise InvalidOptionError(f"unknown tagger protocol {self.protocol!r}; use one of {sorted(PROTOCOLS)}")
        protocol = PROTOCOLS[self.protocol]
        if not isinstance(self.options, dict):
            raise InvalidOptionError("tagger.options must be an object")
        object.__setattr__(self, "options", protocol.check_options(self.options))
        Encoding.parse(self.encoding)
        if not isinstance(self.headers, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.headers.items()):
            raise InvalidOptionError("tagger headers must be an object of string names to string values")
        for name, value in self.headers.items():
            _check_header(name, value)
        if self.batch_size is None:
            object.__setattr__(self, "batch_size", protocol.DEFAULT_BATCH_SIZE)
        _check_int("sample_rate", self.sample_rate, 1000, 384000)
        _check_int("channels", self.channels, 1, 2)
        _check_int("batch_size", self.batch_size, 1, protocol.MAX_BATCH_SIZE)
        _check_int("concurrency", self.concurrency, 1, 10**6)
        _check_int("retries", self.retries, 0, 10)
        for name, low, high in (("connect_timeout", 0, 600), ("read_timeout", 0, 600), ("send_timeout", 0, 600),
                                ("max_rps", 0, 10**6), ("input_seconds", 0, 3600)):
            _check_number(name, getattr(self, name), low, high,
                          optional=name in ("send_timeout", "max_rps", "input_seconds"))
        self._check_input_shape(protocol)

    def _check_input_shape(self, protocol) -> None:
        if self.input_policy not in INPUT_POLICIES:
            raise InvalidOptionError(f"tagger.input_policy must be one of {list(INPUT_POLICIES)}, "
                                     f"got {self.input_policy!r}")
        if (self.input_policy == "none") != (self.input_seconds is None):
            raise InvalidOptionError("tagger.input_seconds and tagger.input_policy go together: give both "
                                     "(e.g. 3.69 and \"window\") or neither")
        if self.input_policy == "window" and protocol.MAX_BATCH_SIZE == 1:
            raise InvalidOptionError(f"input_policy \"window\" needs a protocol that sends batches; "
                                     f"{self.protocol!r} sends one clip per request")

    @classmethod
    def from_dict(cls, data: dict) -> "TaggerSpec":
        if not isinstance(data, dict) or "url" not in data:
            raise InvalidOptionError("`tagger` must be an object with at least a `url`")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidOptionError(f"unknown tagger settings {unknown}; known: {sorted(known)}")
        return cls(**data)

    def with_headers(self, headers: dict) -> "TaggerSpec":
        return replace(self, headers=headers)

    def public(self) -> dict:
        """The settings without the secrets: header names only, values redacted."""
        data = asdict(self)
        data["headers"] = {name: REDACTED for name in self.headers}
        return data

    def __repr__(self) -> str:  # keep header values out of logs and tracebacks
        return f"TaggerSpec(url={self.url!r}, protocol={self.protocol!r}, headers={list(self.headers)})"


def _check_header(name: str, value: str) -> None:
    """Refused now what would fail at the first request (requests and http.client refuse CR, LF and
    leading whitespace) or change it (a CR LF would start a header of its own). Values are never quoted."""
    if not HEADER_NAME.fullmatch(name):
        raise InvalidTaggerHeaderError(f"tagger header name {name!r} is not an HTTP token: letters, digits and "
                                       "!#$%&'*+-.^_`|~ only, no spaces, colons or control characters")
    if name.lower() in FRAMING_HEADERS:
        raise InvalidTaggerHeaderError(f"tagger header {name!r} is set by the service itself (it frames the request "
                                       "or routes it); only the tagger's own headers, e.g. for auth, can be given")
    if not HEADER_VALUE.fullmatch(value):
        raise InvalidTaggerHeaderError(f"tagger header {name!r} has a value HTTP cannot carry: it may hold visible "
                                       "Latin-1 characters, and spaces and tabs between them, but no CR, LF, NUL, "
                                       "other control characters, or whitespace at either end")


def _check_int(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidOptionError(f"tagger.{name} must be an integer from {low} to {high}, got {value!r}")


def _check_number(name: str, value, low: float, high: float, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value <= high:
        raise InvalidOptionError(f"tagger.{name} must be a number in ({low}, {high}], got {value!r}")
