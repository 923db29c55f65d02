"""One settings object for the API and the workers, read from AUDIOLIME_* variables.

Every variable is documented in README.md (Configuration).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from engine.errors import InvalidOptionError

PREFIX = "AUDIOLIME_"
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "audiolime"
    queue_name: str = "explanations"
    fair_turns: int = 1  # 1: a queue per API key, workers take turns between keys; 0: one FIFO for all
    model_dir: Path = ROOT / "models"
    result_ttl: int = 24 * 3600  # seconds results, stems and mixes are kept
    api_keys: tuple[str, ...] = ()  # plain keys; or hashes in api_keys_file
    api_keys_file: Path | None = None  # one sha256 hex digest per line
    tagger_allowed_networks: str = ""  # e.g. "127.0.0.0/8,::1/128" for taggers on this host
    max_upload_bytes: int = 64 * 1024 * 1024
    max_duration_seconds: float = 600.0
    max_sample_rate: int = 96000  # Hz: with the duration and two channels, what a worker may have to hold
    min_duration_seconds: float = 1.0  # shorter audio is refused: one segment of it explains nothing
    max_samples: int = 16384
    max_segments: int = 32
    max_stems: int = 8
    max_tags: int = 50
    max_self_check_k: int = 10
    max_batch_size: int = 256
    max_concurrency: int = 16
    quota_active_jobs: int = 10  # per API key: explanations queued or running (0: no limit)
    quota_stored_bytes: int = 1024**3  # per API key: audio, stems and results kept (0: no limit)
    quota_active_studies: int = 2  # per API key: studies with a job queued or running (0: no limit)
    max_study_clips: int = 100  # clips in one study (its uploads and earlier explanations together)
    max_study_bytes: int = 512 * 1024 * 1024  # one POST /studies, every clip and the request together
    job_attempts: int = 3  # runs of one job, counting resumes after a lost worker
    lease_seconds: int = 15  # a running job whose worker is silent this long is taken over
    tagger_load_wait: float = 600.0  # seconds a job may wait in all for its tagger's model to load
    separation_cache_ttl: int = 24 * 3600
    preload_separators: tuple[str, ...] = ("spleeter:2stems",)  # loaded when a worker starts
    separator_plugins: tuple[str, ...] = ()  # modules that register separators of their own
    # The key of the digest that tells taggers called with different headers apart in the answers
    # context (the same for every worker); unset, a job with tagger headers shares no answers.
    reuse_secret: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(PREFIX + f.name.upper())
            # An empty list is a real value (`AUDIOLIME_PRELOAD_SEPARATORS=` preloads nothing);
            # any other empty variable means "use the default".
            if raw is not None and (raw != "" or f.type.startswith("tuple")):
                values[f.name] = _parse(f.name, f.type, raw)
        return replace(cls(**values), **overrides)

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys or self.api_keys_file)


def _parse(name: str, kind: str, raw: str):
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if "Path" in kind:
            return Path(raw)
        return raw
    except ValueError:
        raise InvalidOptionError(f"{PREFIX}{name.upper()}={raw!r} is not a valid {kind}") from None
