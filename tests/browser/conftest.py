"""The browser tests run on the integration tests' real stack: their fixtures, reused here."""
from tests.integration.conftest import processes, redis_url, served, settings, tagger, worker  # noqa: F401
