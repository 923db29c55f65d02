"""Start MLServer on the band tagger, wait until it is ready, print its URL, stop it when told.

Run from the repository root with MLServer's own interpreter (`make mlserver-venv` builds it):

    .venv-mlserver/bin/python -m taggers.mlserver.serve --port 0   # prints "listening on http://127.0.0.1:PORT"

`mlserver start taggers/mlserver` runs as a child process, with the server settings of
taggers/mlserver/settings.json (loopback only, no metrics server, inference in the server process)
and the ports given here through MLSERVER_HTTP_PORT and MLSERVER_GRPC_PORT: MLServer always starts
its gRPC server too, so it gets a port of its own (0: a free one, like --port; a port that is
already listening is refused, so another server cannot pass for this one). The URL is printed
only once GET /v2/health/ready and GET /v2/models/band-tagger/ready both answer 200. MLServer's
log goes to stderr, so stdout carries nothing but that line. SIGTERM or SIGINT stops MLServer
(SIGTERM, then SIGKILL after --stop-timeout seconds); on Linux the child also gets SIGTERM if this
launcher dies without cleaning up.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"  # settings.json binds MLServer to it
MODEL_NAME = "band-tagger"
SERVER_DIR = Path(__file__).resolve().parent
ROOT = SERVER_DIR.parent.parent  # the child's working directory: taggers.mlserver.runtime is importable
POLL_SECONDS = 0.1
PR_SET_PDEATHSIG = 1


class Stopped(Exception):
    """SIGTERM or SIGINT arrived."""


def claim_ports(wanted: list[int]) -> list[int]:
    """The wanted ports, each 0 replaced by a free one, all checked free on HOST right now (so the
    readiness check cannot mistake another server for ours); SystemExit if one is taken."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in wanted]
    try:
        for sock, port in zip(sockets, wanted):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like uvicorn: TIME_WAIT is no obstacle
            try:
                sock.bind((HOST, port))
            except OSError as exc:
                raise SystemExit(f"cannot use {HOST}:{port}: {exc.strerror}") from exc
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def die_with_parent() -> None:
    """In the child, before exec: ask Linux for SIGTERM when the launcher dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_mlserver(http_port: int, grpc_port: int) -> subprocess.Popen:
    env = dict(os.environ, MLSERVER_HTTP_PORT=str(http_port), MLSERVER_GRPC_PORT=str(grpc_port))
    command = [sys.executable, "-c", "from mlserver.cli.main import main; main()", "start", str(SERVER_DIR)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=sys.stderr,
                            preexec_fn=die_with_parent)


def answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):  # HTTPError (400: not ready yet) is a URLError
        return False


def wait_ready(child: subprocess.Popen, base_url: str, timeout: float) -> None:
    """Return once the server and the model are ready; SystemExit if MLServer exits or times out."""
    urls = [f"{base_url}/v2/health/ready", f"{base_url}/v2/models/{MODEL_NAME}/ready"]
    deadline = time.monotonic() + timeout
    while not all(answers_200(url) for url in urls):
        if child.poll() is not None:
            raise SystemExit(f"mlserver exited with code {child.returncode} before it was ready (its log is above)")
        if time.monotonic() > deadline:
            raise SystemExit(f"mlserver was not ready at {urls} within {timeout} s (its log is above)")
        time.sleep(POLL_SECONDS)


def stop(child: subprocess.Popen, timeout: float) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def on_signal(signum: int, frame) -> None:
    raise Stopped(signum)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m taggers.mlserver.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8602, help="HTTP port; 0 picks a free one")
    parser.add_argument("--grpc-port", type=int, default=0, help="gRPC port; 0 (default) picks a free one")
    parser.add_argument("--startup-timeout", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument("--stop-timeout", type=float, default=10.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    if not (0 <= args.port <= 65535 and 0 <= args.grpc_port <= 65535):
        parser.error("--port and --grpc-port take 0..65535")
    if args.port and args.port == args.grpc_port:
        parser.error("--port and --grpc-port must differ")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    http_port, grpc_port = claim_ports([args.port, args.grpc_port])
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    child = start_mlserver(http_port, grpc_port)
    try:
        base_url = f"http://{HOST}:{http_port}"
        wait_ready(child, base_url, args.startup_timeout)
        print(f"listening on {base_url}", flush=True)
        print(f"gRPC on {HOST}:{grpc_port}", file=sys.stderr, flush=True)
        return child.wait()
    except Stopped:
        return 0
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the stop short
        stop(child, args.stop_timeout)


if __name__ == "__main__":
    sys.exit(main())
