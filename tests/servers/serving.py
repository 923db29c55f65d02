"""What every test server shares: its loopback options, and serving until interrupted after
announcing its URL on stdout ("listening on URL": the line the harness waits for)."""
from __future__ import annotations

import argparse
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
