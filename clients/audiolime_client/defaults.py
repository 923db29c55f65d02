"""Every default the client and the command line share, named once (as rq's defaults.py does)."""
from __future__ import annotations

DEFAULT_URL = "http://127.0.0.1:8600"
DEFAULT_HTTP_TIMEOUT = 30.0  # seconds per HTTP request, for the library
DEFAULT_CLI_HTTP_TIMEOUT = 60.0  # the command line's: it uploads whole files per request
DEFAULT_RETRIES = 4  # attempts after the first, on 502/503/504 and lost connections
DEFAULT_BACKOFF = 0.5  # seconds before the first retry, doubled before each next one
DEFAULT_MAX_DELAY = 30.0  # cap on any one wait between retries, Retry-After included
DEFAULT_POLL_INTERVAL = 0.5  # seconds between status polls while waiting
DEFAULT_K = 3  # components in each explanation mix
DEFAULT_AUDIO_FORMAT = "wav"
DEFAULT_ROWS = 5  # top components listed per tag in the report
DEFAULT_LIST_LIMIT = 20  # jobs shown by `audiolime list`
PAGE_SIZE = 100  # the API's largest page
