"""The progress bar on a real pseudo-terminal and into a log file."""
import io
import os
import select
import sys

from audiolime_client.models import Job
from audiolime_client.progress import ProgressBar
from tests.clients.scripted_server import job_document


def state(stage: str, done: int, total: int) -> Job:
    document = job_document("j1", stage)
    document["progress"] = {"done": done, "total": total, "percent": 100.0 * done / total if total else 0.0}
    return Job.from_json(document)


def test_a_terminal_that_reports_no_size_still_gets_the_bar(monkeypatch):
    """A fresh pty is 0 × 0, as under `script` or some CI runners: there tqdm alone sizes the bar
    of stderr to 0 columns and draws nothing."""
    master, slave = os.openpty()
    with os.fdopen(slave, "w", encoding="utf-8") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)  # the bar's default stream, where tqdm measures
        monkeypatch.delenv("COLUMNS", raising=False)
        monkeypatch.delenv("LINES", raising=False)
        bar = ProgressBar()
        for job in (state("querying", 32, 128), state("finished", 128, 128)):
            bar.update(job)
        bar.close()
        terminal.flush()
        text = _read_all(master)
    os.close(master)
    assert "querying    25.0%|" in text and "finished   100.0%|" in text and "128/128 tagger calls" in text


def test_into_a_log_file_one_line_per_change_not_per_poll():
    log = io.StringIO()
    bar = ProgressBar(log)
    for job in [state("querying", 0, 64)] * 5 + [state("querying", 32, 64)] * 5 + [state("finished", 64, 64)]:
        bar.update(job)
    bar.close()
    drawn = [part for part in log.getvalue().replace("\n", "\r").split("\r") if part]
    assert [part.split("|")[0].split()[0] for part in drawn] == ["querying", "querying", "finished"]
    assert "32/64 tagger calls" in drawn[1] and drawn[-1].startswith("finished   100.0%|##########|")


def _read_all(fd: int) -> str:
    """Everything written so far: a pty may hand it over in several pieces, one read is not enough."""
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8")
