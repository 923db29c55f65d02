"""What a job says about its tagger: where it is, what it wants, how hard to try."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from engine.codec import Encoding
from engine.errors import InvalidOptionError

REDACTED = "[redacted]"


@dataclass(frozen=True)
class TaggerSpec:
    url: str
    protocol: str = "json"
    headers: dict = field(default_factory=dict)  # the tagger's own auth: secret, never logged or returned
    sample_rate: int = 16000
    channels: int = 1
    encoding: str = Encoding.WAV16.value
    batch_size: int = 16
    concurrency: int = 2
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    retries: int = 4

    def __post_init__(self):
        from worker.tagger.protocols import PROTOCOLS  # noqa: PLC0415 - protocols import this module

        if not isinstance(self.url, str) or not self.url:
            raise InvalidOptionError(f"tagger.url must be a URL string, got {self.url!r}")
        if self.protocol not in PROTOCOLS:
            raise InvalidOptionError(f"unknown tagger protocol {self.protocol!r}; use one of {sorted(PROTOCOLS)}")
        Encoding.parse(self.encoding)
        if not isinstance(self.headers, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.headers.items()):
            raise InvalidOptionError("tagger headers must be an object of string names to string values")
        _check_int("sample_rate", self.sample_rate, 1000, 384000)
        _check_int("channels", self.channels, 1, 2)
        _check_int("batch_size", self.batch_size, 1, 10**6)
        _check_int("concurrency", self.concurrency, 1, 10**6)
        _check_int("retries", self.retries, 0, 10)
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 600:
                raise InvalidOptionError(f"tagger.{name} must be a number of seconds in (0, 600], got {value!r}")

    @classmethod
    def from_dict(cls, data: dict) -> "TaggerSpec":
        if not isinstance(data, dict) or "url" not in data:
            raise InvalidOptionError("`tagger` must be an object with at least a `url`")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidOptionError(f"unknown tagger settings {unknown}; known: {sorted(known)}")
        return cls(**data)

    def public(self) -> dict:
        """The settings without the secrets: header names only, values redacted."""
        data = asdict(self)
        data["headers"] = {name: REDACTED for name in self.headers}
        return data

    def __repr__(self) -> str:  # keep header values out of logs and tracebacks
        return f"TaggerSpec(url={self.url!r}, protocol={self.protocol!r}, headers={list(self.headers)})"


def _check_int(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidOptionError(f"tagger.{name} must be an integer from {low} to {high}, got {value!r}")
