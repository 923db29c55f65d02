"""The REST API (Flask): accepts explanation jobs, reports them, serves their audio."""
from service.app import create_app

__all__ = ["create_app"]
