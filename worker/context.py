"""What a worker process builds once and keeps: settings, Redis, store, HTTP session, separators."""
from __future__ import annotations

import threading

from backend import separators
from backend.config import Settings
from backend.connection import connect
from backend.queueing import RunQueues
from backend.stems import sources_from_flac, sources_to_flac
from backend.store import Store
from engine.separation import CachingSeparator
from engine.sources import Sources
from backend.tagger.netguard import NetworkPolicy, guarded_session



class WorkerContext:
    _current: "WorkerContext | None" = None
    _lock = threading.Lock()

    def __init__(self, settings: Settings):
        self.settings = settings
        self.redis = connect(settings.redis_url)
        self.store = Store(self.redis, settings.key_prefix, settings.result_ttl, settings.lease_seconds)
        self.queues = RunQueues(self.redis, settings.queue_name, bool(settings.fair_turns))
        self.policy = NetworkPolicy.from_string(settings.tagger_allowed_networks)
        self.session = guarded_session(self.policy, pool_maxsize=settings.max_concurrency)
        self._separators: dict[str, CachingSeparator] = {}
        separators.load_plugins(settings.separator_plugins)

    @classmethod
    def current(cls) -> "WorkerContext":
        """The process's context, built on first use from the environment."""
        with cls._lock:
            if cls._current is None:
                cls._current = cls(Settings.from_env())
            return cls._current

    def separator(self, name: str) -> CachingSeparator:
        """A separator of the registry, built once per process, its separations cached in Redis by content."""
        if name not in self._separators:
            model = separators.factory(name)(self.settings, name, self.separator)
            self._separators[name] = CachingSeparator(model, RedisSourcesCache(self.store,
                                                                               self.settings.separation_cache_ttl))
        return self._separators[name]


class RedisSourcesCache:
    """Separations shared by all workers, as FLAC, keyed by model and audio content."""

    def __init__(self, store: Store, ttl: int):
        self.store = store
        self.ttl = ttl

    def get(self, key: str) -> Sources | None:
        stored = self.store.separation(key)
        return None if stored is None else sources_from_flac(stored[0], stored[1])

    def put(self, key: str, sources: Sources) -> None:
        self.store.save_separation(key, sources_to_flac(sources), sources.sample_rate, self.ttl)
