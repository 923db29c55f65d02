"""The REST API (Flask): accepts explanation jobs, reports them, serves their audio."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from backend.config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """The app (`service.app.create_app`), imported on the first call: gunicorn's master process
    imports `service.gunicorn_conf` and `service.gunicorn_worker`, and must not load the app."""
    from service.app import create_app as build  # noqa: PLC0415 - see the docstring

    return build(settings)
