"""The API's app factory: settings, then Redis, store and queue, then the routes."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider

from backend import separators
from service import problems
from service.auth import load_key_hashes
from backend.config import Settings
from backend.connection import connect_fast_fail
from backend.queueing import RunQueues
from backend.store import Store
from backend.tagger.netguard import NetworkPolicy


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    queues: RunQueues
    key_hashes: frozenset
    policy: NetworkPolicy


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    separators.load_plugins(settings.separator_plugins)
    app = Flask(__name__)
    app.json = StrictJSON(app)
    # App-wide, the larger limit; each request gets its route's own (a study's is set by its blueprint).
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_upload_bytes, settings.max_study_bytes)

    @app.before_request
    def upload_limit() -> None:
        request.max_content_length = settings.max_upload_bytes

    app.json.sort_keys = False
    connection = connect_fast_fail(settings.redis_url)
    app.extensions["audiolime"] = Services(
        settings=settings,
        store=Store(connection, settings.key_prefix, settings.result_ttl, settings.lease_seconds),
        queues=RunQueues(connection, settings.queue_name, bool(settings.fair_turns)),
        key_hashes=load_key_hashes(settings),
        policy=NetworkPolicy.from_string(settings.tagger_allowed_networks),
    )
    problems.register(app)
    # The views need the app's pieces (the store, the queues) through current_app: imported here.
    from service.views import audio, explanations, health, pages, samples, studies, visuals  # noqa: PLC0415

    app.register_blueprint(explanations.blueprint)
    app.register_blueprint(studies.blueprint)
    app.register_blueprint(audio.blueprint)
    app.register_blueprint(samples.blueprint)
    app.register_blueprint(visuals.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(pages.blueprint)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return app


class StrictJSON(DefaultJSONProvider):
    """Documents are strict JSON: a NaN or an infinity is a bug to fix where it arises (the engine
    writes null and says why), never a token JavaScript's JSON.parse cannot read."""

    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)
