"""A real HTTP server on loopback that answers from a script, for the client's retry tests.

Each request takes the next scripted answer (the last one repeats); every request is recorded
with its arrival time, method, path, headers and body.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DROP = "drop"  # close the connection after reading the request, without answering
TRUNCATE = "truncate"  # announce a long body, send part of it, close


@dataclass
class Answer:
    status: int
    body: object = None  # dict/list: JSON; str: text; DROP: no answer at all
    headers: dict = field(default_factory=dict)
    content_type: str | None = None


@dataclass
class Seen:
    at: float
    method: str
    path: str
    headers: dict
    body: bytes


class ScriptedServer:
    def __init__(self, answers: list[Answer], port: int = 0):
        self.answers, self.seen = list(answers), []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "ScriptedServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _next(self, seen: Seen) -> Answer:
        with self._lock:
            self.seen.append(seen)
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = server._next(Seen(time.monotonic(), self.command, self.path, dict(self.headers), body))
                if answer.body == DROP:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                data, content_type = _encode(answer)
                length = len(data)
                if answer.body == TRUNCATE:
                    data, length, content_type = b"RIFF" + bytes(1000), 1_000_000, "audio/wav"
                self.send_response(answer.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(length))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                if answer.body == TRUNCATE:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True

            do_GET = do_POST = do_DELETE = _answer

        return Handler


def _encode(answer: Answer) -> tuple[bytes, str]:
    if isinstance(answer.body, (dict, list)):
        default = "application/problem+json" if answer.status >= 400 else "application/json"
        return json.dumps(answer.body).encode(), answer.content_type or default
    return str(answer.body or "").encode(), answer.content_type or "text/plain"


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def job_document(job_id: str = "j1", stage: str = "queued") -> dict:
    """A minimal valid Job document (openapi.yaml: Job) for scripted answers."""
    return {"id": job_id, "status": stage if stage in ("queued", "finished", "failed", "cancelled") else "running",
            "stage": stage, "progress": {"done": 0, "total": 0, "percent": 0.0},
            "created_at": "2026-11-25T12:00:00Z", "started_at": None, "finished_at": None,
            "expires_at": "2026-11-26T12:00:00Z", "links": {"self": f"/explanations/{job_id}"},
            "ttl_seconds": 86400, "attempts": 0, "request": {}, "error": None, "result": None}
