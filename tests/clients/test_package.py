"""The client is a client of the public HTTP API only, installed with its console script."""
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.clients.conftest import CLI

CLIENTS = Path(__file__).resolve().parents[2] / "clients"


def test_it_imports_nothing_of_the_service():
    code = ("import sys, audiolime_client, audiolime_client.cli, audiolime_client.commands, audiolime_client.heatmap; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'engine', 'worker', 'service', 'flask', 'rq', "
            "'redis', 'tensorflow', 'sklearn'}))")
    # run from / with no PYTHONPATH: the installed package alone, not the repository's folders
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", env={}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_dependencies_are_the_five_named_and_the_script_is_installed():
    project = tomllib.loads((CLIENTS / "pyproject.toml").read_text())["project"]
    assert sorted(project["dependencies"]) == ["matplotlib", "numpy", "requests", "soundfile", "tqdm"]
    assert project["scripts"] == {"audiolime": "audiolime_client.cli:main"}
    assert CLI.is_file()
    version = subprocess.run([str(CLI), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("audiolime 1.")
