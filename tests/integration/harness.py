"""Real parts for integration tests: Redis, RQ worker processes, tagger servers, the API over HTTP."""
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import soundfile
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from rq import Queue, Worker
from werkzeug.serving import make_server

from backend.config import Settings
from backend.connection import connect
from backend.queueing import RunQueues

ROOT = Path(__file__).resolve().parents[2]
SPEC = OpenAPI.from_file_path(str(ROOT / "openapi.yaml"), config=Config(
    extra_media_type_deserializers={"application/problem+json": json.loads}))


def settings_env(settings: Settings) -> dict[str, str]:
    """The AUDIOLIME_* environment that makes a subprocess use `settings`."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for name, value in vars(settings).items():
        if isinstance(value, tuple):
            value = ",".join(value)
        if value is not None:
            env["AUDIOLIME_" + name.upper()] = str(value)
    return env


class Processes:
    """Starts subprocesses with logs under a folder, and always stops them."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.children: list[subprocess.Popen] = []

    def start(self, command: list[str], env: dict, name: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}-{len(self.children)}.log", "wb")  # noqa: SIM115 - closed with the child
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        child.log_path = Path(log.name)
        self.children.append(child)
        return child

    def stop_all(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@dataclass
class TaggerServer:
    url: str  # the /predict URL
    process: subprocess.Popen

    @property
    def base(self) -> str:
        return self.url.rsplit("/", 1)[0]

    def stats(self) -> dict:
        return requests.get(self.base + "/stats", timeout=5).json()

    def reset(self) -> None:
        requests.post(self.base + "/stats/reset", timeout=5)


def start_module_server(processes: Processes, module: str, *options: str) -> tuple[str, subprocess.Popen]:
    """`python -m MODULE --port 0 …` as a child; its base URL once it says it listens."""
    with open(processes.logs / f"{module}-{len(processes.children)}.log", "wb") as log:
        child = subprocess.Popen([sys.executable, "-m", module, "--port", "0", *options], cwd=ROOT,
                                 env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, stderr=log)
    processes.children.append(child)
    line = child.stdout.readline().decode().strip()
    if not line.startswith("listening on "):
        raise RuntimeError(f"{module} did not start: {line!r}")
    threading.Thread(target=child.stdout.read, daemon=True).start()  # keep its pipe drained
    return line.split()[-1], child


def start_server(processes: Processes, name: str, *options: str) -> str:
    """One of the protocol test servers in tests/servers; its base URL."""
    return start_module_server(processes, f"tests.servers.{name}", *options)[0]


def start_tagger(processes: Processes, *options: str) -> TaggerServer:
    url, child = start_module_server(processes, "taggers.reference", "--host", "127.0.0.1", *options)
    return TaggerServer(url + "/predict", child)


def queued_runs(settings: Settings) -> list[str]:
    """The RQ job ids waiting to run, over every key's queue."""
    queues = RunQueues(connect(settings.redis_url), settings.queue_name, bool(settings.fair_turns))
    return [rq_job_id for queue in queues.all() for rq_job_id in queue.job_ids]


def start_worker(processes: Processes, settings: Settings, name: str, timeout: float = 60.0) -> subprocess.Popen:
    """A real `rq worker` process with the explanation worker class, registered before returning."""
    connection = connect(settings.redis_url)
    queue = Queue(settings.queue_name, connection=connection)
    command = [sys.executable, "-m", "rq.cli", "worker", "-w", "worker.rq_worker.ExplanationWorker",
               "-u", settings.redis_url, "-n", name, settings.queue_name]
    child = processes.start(command, settings_env(settings), name)
    deadline = time.monotonic() + timeout
    while not any(w.name == name for w in Worker.all(queue=queue)):
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker {name} did not start: {child.log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return child


def start_api(processes: Processes, settings: Settings, timeout: float = 120.0) -> str:
    """The API as the Procfile's `web` runs it (gunicorn, its config), on a free loopback port; its
    base URL once /healthz answers (200, or 503 while no worker is alive yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = processes.start([sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf", "--bind",
                             f"127.0.0.1:{port}", "service:create_app()"], settings_env(settings), "api")
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + timeout
    while True:
        try:
            if requests.get(base + "/healthz", timeout=5).status_code in (200, 503):
                return base
        except requests.RequestException:  # not listening yet, or its worker still importing the app
            pass
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the API did not start: {child.log_path.read_text()[-3000:]}")
        time.sleep(0.1)


@dataclass
class Api:
    """The API over real HTTP; every response is checked against openapi.yaml."""
    base: str
    key: str | None = None
    session: requests.Session = field(default_factory=requests.Session)

    def call(self, method: str, path: str, key: str | None = "default", validate: bool = True, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        key = self.key if key == "default" else key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        response = self.session.request(method, self.base + path, headers=headers, timeout=30, **kwargs)
        if validate:
            SPEC.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
        return response

    def submit(self, audio: bytes, request: dict, stems: dict[str, bytes] | None = None, **kwargs):
        files = {"audio": ("clip.wav", audio, "audio/wav"),
                 "request": ("request.json", json.dumps(request), "application/json")}
        for name, data in (stems or {}).items():
            files[f"stem.{name}"] = (f"{name}.wav", data, "audio/wav")
        return self.call("POST", "/explanations", files=files, **kwargs)

    def wait(self, job_id: str, until=("finished", "failed", "cancelled"), timeout: float = 120.0, **kwargs) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            response = self.call("GET", f"/explanations/{job_id}", **kwargs)
            body = response.json()
            if response.status_code != 200:
                raise AssertionError(f"job {job_id}: HTTP {response.status_code}: {body}")
            if body["stage"] in until:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {body['stage']} after {timeout} s: {body['progress']}")
            time.sleep(0.2)


class ServedApp:
    """The Flask app in a real HTTP server on a free loopback port, in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()


def wav_bytes(waveform, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, sample_rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def read_audio(data: bytes):
    return soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
