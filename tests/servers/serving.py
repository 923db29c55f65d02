"""What every test server shares: its loopback options, and serving until interrupted after
announcing its URL on stdout ("listening on URL": the line the harness waits for)."""
from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler
from socketserver import BaseServer


def argument_parser(module: str, doc: str) -> argparse.ArgumentParser:
    """`python -m tests.servers.<module>`'s parser, with --host and --port (0: a free port)."""
    parser = argparse.ArgumentParser(prog=f"python -m tests.servers.{module}", description=doc.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    return parser


def serve(server: BaseServer) -> None:
    with server:
        host, port = server.server_address[:2]
        print(f"listening on http://{host}:{port}", flush=True)  # the socket already listens here
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that keeps connections alive, as the worker's sessions do, and answers
    with a body of known length."""
    protocol_version = "HTTP/1.1"

    def send_json(self, status: int, payload, headers: dict | None = None) -> None:
        self.send_bytes(status, "application/json", json.dumps(payload).encode(), headers)

    def send_bytes(self, status: int, content_type: str, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
