"""What a worker process builds once and keeps: settings, Redis, store, HTTP session, separators."""
from __future__ import annotations

import threading

from engine.codec import Encoding, decode, encode
from engine.errors import InvalidOptionError
from engine.separation import CachingSeparator
from engine.sources import Sources
from worker.config import Settings
from worker.connection import connect
from worker.job_request import SPLEETER_SEPARATORS
from worker.store import Store
from worker.tagger.netguard import NetworkPolicy, guarded_session



class WorkerContext:
    _current: "WorkerContext | None" = None
    _lock = threading.Lock()

    def __init__(self, settings: Settings):
        self.settings = settings
        self.redis = connect(settings.redis_url)
        self.store = Store(self.redis, settings.key_prefix, settings.result_ttl, settings.lease_seconds)
        self.policy = NetworkPolicy.from_string(settings.tagger_allowed_networks)
        self.session = guarded_session(self.policy, pool_maxsize=settings.max_concurrency)
        self._separators: dict[str, CachingSeparator] = {}

    @classmethod
    def current(cls) -> "WorkerContext":
        """The process's context, built on first use from the environment."""
        with cls._lock:
            if cls._current is None:
                cls._current = cls(Settings.from_env())
            return cls._current

    def separator(self, name: str) -> CachingSeparator:
        """A Spleeter separator per model, loaded once per process, cached in Redis by content."""
        if name not in SPLEETER_SEPARATORS:
            raise InvalidOptionError(f"unknown separator {name!r}; use one of {SPLEETER_SEPARATORS} or 'provided'")
        if name not in self._separators:
            from worker.spleeter_separator import SpleeterSeparator  # noqa: PLC0415 - loads TensorFlow

            model = SpleeterSeparator(self.settings.model_dir, name.split(":", 1)[1])
            self._separators[name] = CachingSeparator(model, RedisSourcesCache(self.store,
                                                                               self.settings.separation_cache_ttl))
        return self._separators[name]


class RedisSourcesCache:
    """Separations shared by all workers, as FLAC, keyed by model and audio content."""

    def __init__(self, store: Store, ttl: int):
        self.store = store
        self.ttl = ttl

    def get(self, key: str) -> Sources | None:
        raw = self.store.redis.hgetall(self.store.separation_key(key))
        if not raw:
            return None
        rate = int(raw.pop(b"sample_rate"))
        return sources_from_flac({k.decode(): v for k, v in raw.items()}, rate)

    def put(self, key: str, sources: Sources) -> None:
        redis_key = self.store.separation_key(key)
        with self.store.redis.pipeline() as pipe:
            pipe.hset(redis_key, mapping={"sample_rate": sources.sample_rate, **sources_to_flac(sources)})
            pipe.expire(redis_key, self.ttl)
            pipe.execute()


def sources_to_flac(sources: Sources) -> dict[str, bytes]:
    return {name: encode(sources[name], sources.sample_rate, Encoding.FLAC24) for name in sources.names}


# Spleeter's order, the paper's; other names (provided stems) follow alphabetically.
SOURCE_ORDER = ("vocals", "drums", "bass", "piano", "other", "accompaniment")
_RANK = {name: i for i, name in enumerate(SOURCE_ORDER)}


def source_order(names) -> list[str]:
    """One order for a set of source names, whatever order they were stored in.

    Component indices follow the source order, and Redis hashes do not keep field
    order, so every reader (a run, a resumed run, the audio endpoints) must sort alike.
    """
    return sorted(names, key=lambda name: (_RANK.get(name, len(_RANK)), name))


def sources_from_flac(stems: dict[str, bytes], expected_rate: int | None = None,
                      max_seconds: float | None = None) -> Sources:
    """Stored stems decoded, each into at most its header's length (and `max_seconds`, if given)."""
    decoded = {name: decode(stems[name], max_seconds) for name in source_order(stems)}
    rates = {rate for _, rate in decoded.values()}
    if len(rates) != 1 or (expected_rate is not None and rates != {expected_rate}):
        raise InvalidOptionError(f"stems have sample rates {sorted(rates)}; they must share one")
    return Sources.from_mapping({name: w for name, (w, _) in decoded.items()}, rates.pop())


def flac_round_trip(sources: Sources) -> tuple[Sources, dict[str, bytes]]:
    """Stems as stored, and as every later run (or resume) will read them back."""
    stems = sources_to_flac(sources)
    return sources_from_flac(stems), stems
