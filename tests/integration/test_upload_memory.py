"""Refusing long audio in a small upload costs the API no memory: it reads the header, and streams
through what it must check in fixed blocks, never holding the samples.

The API runs under real gunicorn (the Procfile's command, one worker process), and its peak resident
memory (VmHWM) is read from /proc before and after the refusals, once a warm-up request has loaded
everything a submission uses. Without the bound, the 20-minute file alone costs ~420 MiB.
"""
import io
import json
import uuid

import numpy as np
import pytest
import requests
import soundfile
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from tests.integration.conftest import free_port
from tests.integration.harness import SPEC, Api, Processes, settings_env
from tests.integration.test_gunicorn_errors import gunicorn_command, wait_for
from tests.long_audio import long_audio
from backend.config import Settings

RATE = 8000
TAGGER_URL = "http://127.0.0.1:9/predict"  # loopback, allowed below; never contacted (no worker runs)
GROWTH_LIMIT_MIB = 50


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size so far (VmHWM), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def only_child(pid: int) -> int:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        (child,) = children.read().split()
    return int(child)


@pytest.fixture(scope="module")
def gunicorn_api(redis_url, tmp_path_factory):
    """The API under gunicorn with one worker process; its Api and that worker's pid."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings = Settings(redis_url=redis_url, key_prefix=prefix, queue_name=f"{prefix}-queue", preload_separators=(),
                        tagger_allowed_networks="127.0.0.0/8,::1/128")
    env = settings_env(settings)
    env.pop("GUNICORN_CMD_ARGS", None)
    processes, port = Processes(tmp_path_factory.mktemp("gunicorn-memory")), free_port()
    child = processes.start([*gunicorn_command(port), "--workers", "1"], env, "gunicorn")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base, child)
        yield Api(base), only_child(child.pid)
    finally:
        processes.stop_all()


def tone_flac(seconds: float) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), RATE, format="FLAC")
    return buffer.getvalue()


def submit(api: Api, audio: bytes, stems: dict[str, bytes], validate: bool = True) -> requests.Response:
    request = {"tagger": {"url": TAGGER_URL, "sample_rate": RATE}, "separator": "provided", "segments": 2,
               "samples": 64, "targets": {"top_k": 1}}
    files = {"audio": ("clip.flac", audio, "audio/flac"),
             "request": ("request.json", json.dumps(request), "application/json")}
    files.update({f"stem.{name}": (f"{name}.flac", data, "audio/flac") for name, data in stems.items()})
    return api.call("POST", "/explanations", files=files, validate=validate)


def test_refusing_long_audio_in_small_files_costs_the_api_under_50_mib(gunicorn_api, tmp_path_factory):
    api, pid = gunicorn_api
    clip = tone_flac(10.0)
    warm_up = submit(api, clip, {"tone": clip})  # a real submission, read through like the long ones
    assert warm_up.status_code == 202, warm_up.text
    before = peak_rss_mib(pid)
    long = long_audio(tmp_path_factory)
    cases = {name: (data, {"tone": clip}) for name, data in long.cases().items()}
    cases["stem-of-unknown-length-3-hours"] = (clip, {"tone": long.unknown_length})
    lines, responses = [f"API worker (pid {pid}) peak RSS after the warm-up: {before:.1f} MiB"], {}
    for name, (audio, stems) in cases.items():
        response = responses[name] = submit(api, audio, stems, validate=False)  # checked below, after the figure
        lines.append(f"  {name:32} {len(audio) + sum(map(len, stems.values())):>9,} bytes sent: "
                     f"{response.status_code} {response.json().get('title')!r}, peak RSS {peak_rss_mib(pid):.1f} MiB")
    growth = peak_rss_mib(pid) - before
    lines.append(f"peak RSS growth over {len(cases)} uploads: {growth:.1f} MiB (limit {GROWTH_LIMIT_MIB} MiB)")
    print("\n".join(lines))
    assert growth < GROWTH_LIMIT_MIB, "\n".join(lines)
    for name, response in responses.items():
        assert response.status_code == 422, (name, response.text)
        SPEC.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
