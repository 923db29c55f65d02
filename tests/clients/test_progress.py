"""The progress bar on a real pseudo-terminal and into a log file: the masks answered and the confidence."""
import io
import os
import select
import sys

from audiolime_client.models import Job
from audiolime_client.progress import ProgressBar, StudyProgressBar, postfix
from audiolime_client.study_models import Study
from tests.clients.scripted_server import job_document


def state(stage: str, done: int, total: int, confidence: float | None = None, strategy: str = "adaptive",
          settled: int | None = None) -> Job:
    document = job_document("j1", stage)
    document["progress"] = {"done": done, "total": total, "percent": 100.0 * done / total if total else 0.0,
                            "confidence": confidence, "settled": settled}
    document["request"] = {"sampling": {"strategy": strategy, "confidence": 0.95, "top_k": 3}}
    return Job.from_json(document)


def study_state(status: str, done: int, total: int, calls: int) -> Study:
    return Study.from_json({"id": "s" * 32, "status": status, "created_at": "2026-01-02T03:04:05Z",
                            "finished_at": None, "expires_at": "2026-01-03T03:04:05Z", "links": {}, "request": {},
                            "progress": {"done": done, "failed": 0, "cancelled": 0, "total": total,
                                         "percent": 100.0 * done / total, "tagger_calls": {"done": calls,
                                                                                          "total": 200}},
                            "clips": [], "report": None})


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
    assert "querying    25.0%|" in text and "finished   100.0%|" in text and "128/128 masks" in text


def test_into_a_log_file_one_line_per_change_not_per_poll():
    log = io.StringIO()
    bar = ProgressBar(log)
    for job in [state("querying", 0, 64)] * 5 + [state("querying", 32, 64)] * 5 + [state("finished", 64, 64)]:
        bar.update(job)
    bar.close()
    drawn = [part for part in log.getvalue().replace("\n", "\r").split("\r") if part]
    assert [part.split("|")[0].split()[0] for part in drawn] == ["querying", "querying", "finished"]
    assert "32/64 masks" in drawn[1] and drawn[-1].startswith("finished   100.0%|##########|")
    lines = log.getvalue().rstrip("\n").split("\n")  # each state its own line, not one of carriage returns
    assert [line.strip("\r").split()[0] for line in lines] == ["querying", "querying", "finished"]


def test_a_study_into_a_log_file_a_line_per_clip_and_the_calls_alone_every_ten_seconds():
    now = [0.0]
    log = io.StringIO()
    bar = StudyProgressBar(log, clock=lambda: now[0])
    for seconds, done, calls in [(0, 0, 0), (1, 0, 16), (2, 0, 32), (9, 0, 48), (11, 0, 64), (12, 1, 80),
                                 (13, 1, 96), (14, 1, 96), (30, 1, 112)]:
        now[0] = seconds
        bar.update(study_state("running", done, 3, calls))
    bar.update(study_state("finished", 3, 3, 200))
    bar.close()
    lines = [line.strip("\r") for line in log.getvalue().rstrip("\n").split("\n")]
    assert [line.split("[", 1)[1].split("calls ")[1].split("/")[0] for line in lines] == [
        "0", "64", "80", "112", "200"]  # at 0 s; 11 s (10 s on); a clip ended; 30 s; the end
    assert [line.split("|")[0] for line in lines] == [
        "running   0/3 clips", "running   0/3 clips", "running   1/3 clips", "running   1/3 clips",
        "finished  3/3 clips"]


def test_the_confidence_climbs_in_the_postfix_of_an_adaptive_run_and_stands_alone_in_a_fixed_one():
    log = io.StringIO()
    bar = ProgressBar(log)
    for job in [state("querying", 128, 2054), state("querying", 128, 2054, 0.0), state("querying", 192, 2054, 0.0),
                state("querying", 192, 2054, 0.8712), state("querying", 192, 2054, 0.8712),
                state("finished", 262, 262, 0.9987)]:
        bar.update(job)
    bar.close()
    drawn = [part for part in log.getvalue().replace("\n", "\r").split("\r") if part]
    assert [part.split("[", 1)[1].split(", ", 1)[1] for part in drawn] == [
        "128/2054 masks]", "128/2054 masks, confidence 0.00 / 0.95]", "192/2054 masks, confidence 0.00 / 0.95]",
        "192/2054 masks, confidence 0.87 / 0.95]", "262/262 masks, confidence 0.999 / 0.95]"]  # a new line per change
    assert postfix(state("checking", 130, 130, 0.9353, strategy="fixed")) == "130/130 masks, confidence 0.94"
    assert postfix(state("queued", 0, 0)) == ""


def test_the_confident_prefix_shows_while_sampling():
    """A user who asked for the top 3 sees that the top one is certain before the rest is."""
    assert postfix(state("querying", 256, 2054, 0.41, settled=1)) == (
        "256/2054 masks, confidence 0.41 / 0.95, top 1 of 3 settled")
    assert postfix(state("querying", 256, 2054, 0.41, settled=0)) == "256/2054 masks, confidence 0.41 / 0.95"
    assert "settled" not in postfix(state("checking", 300, 310, 0.96, settled=3))


def _read_all(fd: int) -> str:
    """Everything written so far: a pty may hand it over in several pieces, one read is not enough."""
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8")
