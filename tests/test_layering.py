"""Dependencies point inward: the API imports no worker module, nothing that builds models or loads
TensorFlow; the engine imports nothing but numpy, scipy, scikit-learn and soundfile."""
import json
import subprocess
import sys

from tests.integration.harness import ROOT

PROBE = """
import json, sys
from backend.config import Settings
from service import create_app
app = create_app(Settings(redis_url="redis://127.0.0.1:1/0"))
client = app.test_client()
client.get("/healthz"); client.get("/")  # views import what they need on first use too
print(json.dumps(sorted(sys.modules)))
"""


def loaded(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_api_imports_no_worker_module_and_nothing_that_builds_models():
    modules = loaded(PROBE)
    assert not {m for m in modules if m == "worker" or m.startswith("worker.")}
    forbidden = {"tensorflow", "spleeter", "keras", "torch", "librosa", "numba"}
    assert not {m for m in modules if m.split(".")[0] in forbidden}
    assert "backend.separators" in modules  # it knows every separator, without building one


def test_the_engine_stays_pure():
    modules = loaded("import json, sys, engine, engine.hpss, engine.slime, engine.refine, engine.explainer\n"
                     "print(json.dumps(sorted(sys.modules)))")
    tops = {m.split(".")[0] for m in modules}
    frameworks = {"flask", "werkzeug", "rq", "redis", "requests", "urllib3", "tensorflow", "spleeter", "librosa",
                  "numba", "torch", "backend", "worker", "service"}
    assert not tops & frameworks, tops & frameworks
