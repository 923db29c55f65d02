"""`make run` refuses to expose an API without keys."""
from scripts.stack import main


def test_refuses_a_public_bind_without_api_keys(monkeypatch, capsys):
    monkeypatch.delenv("AUDIOLIME_API_KEYS", raising=False)
    monkeypatch.delenv("AUDIOLIME_API_KEYS_FILE", raising=False)
    assert main(["--host", "0.0.0.0"]) == 2
    assert "refusing to bind 0.0.0.0: no API keys are configured" in capsys.readouterr().err


def test_the_supervisor_starts_a_dead_child_again_with_a_growing_backoff(capsys):
    import os
    import signal
    import sys
    import time

    from scripts.stack import RESTART_BACKOFF, Child, _stop, supervise_once

    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    children = [Child(sleeper, dict(os.environ)).start(), Child(sleeper, dict(os.environ)).start()]
    try:
        first_pid, other_pid = children[0].process.pid, children[1].process.pid
        for expected_restarts, backoff in ((1, RESTART_BACKOFF), (2, 2 * RESTART_BACKOFF)):
            os.kill(children[0].process.pid, signal.SIGKILL)
            children[0].process.wait()
            killed = time.monotonic()
            while children[0].restarts < expected_restarts:
                supervise_once(children)
                time.sleep(0.05)
            waited = time.monotonic() - killed
            assert backoff <= waited < backoff + 2.0  # a crash loop is slowed down, not spun
            assert children[0].poll() is None and children[0].process.pid != first_pid
        assert children[1].process.pid == other_pid and children[1].restarts == 0  # the others untouched
        assert "exited with -9; starting it again" in capsys.readouterr().err
    finally:
        _stop(children)
    assert all(child.poll() is not None for child in children)


def test_make_run_starts_one_worker_per_core_unless_told(monkeypatch):
    import os

    from scripts.stack import _arguments, default_workers

    monkeypatch.delenv("AUDIOLIME_WORKERS", raising=False)
    assert _arguments([]).workers == default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("AUDIOLIME_WORKERS", "3")
    assert _arguments([]).workers == 3


def test_ctrl_c_stops_the_supervisor_even_when_it_was_started_with_sigint_ignored(tmp_path):
    """As with `nohup make run &`: SIGINT inherited as ignored. Ctrl-C to the process group
    must stop the supervisor, not have it start its children again."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    started = tmp_path / "started"
    child = ("import pathlib, signal, time; signal.signal(signal.SIGINT, lambda *_: exit(0)); "
             f"p = pathlib.Path({str(started)!r}); p.write_text(p.read_text() + 'x' if p.exists() else 'x'); "
             "time.sleep(120)")
    supervisor = ("import sys; from scripts.stack import Child, _supervise, _stop\n"
                  f"import os; children = [Child([sys.executable, '-c', {child!r}], dict(os.environ)).start()]\n"
                  "try:\n    sys.exit(_supervise(children))\nfinally:\n    _stop(children)\n")
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-c", supervisor], cwd=root, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        while not started.exists():
            assert process.poll() is None
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert started.read_text() == "x"  # started once, never again
    finally:
        if process.poll() is None:
            process.kill()
