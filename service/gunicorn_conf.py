"""gunicorn's configuration for the API, in one place: `gunicorn -c python:service.gunicorn_conf 'service:create_app()'`.

gunicorn reads the module-level names below as its settings; options given on the command line
win over them (`make run` passes `--bind 127.0.0.1:8600`, for instance).
"""
import os

# Where to listen: every interface, on $PORT (a platform's choice) or 8600.
bind = [f"0.0.0.0:{os.environ.get('PORT', '8600')}"]
workers = 2
threads = 4
timeout = 120  # seconds a worker may spend on one request before it is restarted

# The worker answers gunicorn's own errors (the limits below, a malformed request line or header)
# with application/problem+json, like every other answer of the API.
worker_class = "service.gunicorn_worker.ProblemWorker"

# Request limits, enforced by gunicorn before the app sees the request (gunicorn's defaults, named
# here so that they are visible, and README's Security section can quote them).
REQUEST_LINE_BYTES = 4094  # method, URL and HTTP version: 414 above (gunicorn takes at most 8190)
HEADER_FIELDS = 100  # header fields in one request: 431 above
HEADER_FIELD_BYTES = 8190  # one header field line (name, colon, value and CRLF): 431 above

limit_request_line = REQUEST_LINE_BYTES
limit_request_fields = HEADER_FIELDS
limit_request_field_size = HEADER_FIELD_BYTES

# gunicorn 27 opens a control socket at one shared path per user ($HOME/.gunicorn/gunicorn.ctl):
# two stacks (or a stack and the tests) on one machine would fight over it, and nothing here uses it.
control_socket_disable = True
