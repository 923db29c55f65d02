"""`audiolime study`, `study-status` and `study-cancel` in subprocesses against the live service:
the progress bar, the tables (checked against the API's report), the three files, the exit codes."""
import json
import re
import signal
import subprocess
from xml.etree import ElementTree

import pytest
from PIL import Image

from audiolime_client import Client
from audiolime_client.exitcodes import Exit
from audiolime_client.numbers import percent, percent_range
from tests.clients.study_clips import SAMPLES, SEGMENTS, write_clips
from tests.clients.test_cli import CLI, run
from tests.integration.test_studies import RATE, loud_audio

NONE = "—"


def study_args(tagger_url: str, *clips, extra=()) -> list:
    return ["study", *clips, "--tagger", tagger_url, "--sample-rate", RATE, "--batch-size", 16,
            "--separator", "hpss", "--segments", SEGMENTS, "--fixed", SAMPLES, "--tag", "low", *extra]


def study_id_of(stderr: str) -> str:
    return re.search(r"submitted study ([0-9a-f]{32}) of \d+ clips", stderr).group(1)


def api_study(stack, api_key, study_id: str) -> dict:
    with Client(stack.base, api_key) as client:
        return client.study(study_id).raw


def share(value) -> str:
    return NONE if value is None else f"{percent(value)} %"


def interval(value) -> str:
    return NONE if value is None else percent_range(*value)


def expected_faithfulness(row: dict) -> list[str]:
    """One k as the report JSON has it, in the table's words (written out here, not by the client)."""
    kept = f"{row['kept']}/{row['clips']}" if row["clips"] else NONE
    dropped = f"{row['dropped']}/{row['deletion_clips']}" if row["deletion_clips"] else NONE
    return [str(row["k"]), kept, share(row["share"]), interval(row["share_interval"]), share(row["random_share"]),
            share(row["comparison_share"]), dropped, share(row["dropped_share"]), interval(row["dropped_interval"]),
            share(row["random_dropped_share"])]


def expected_verified(row: dict) -> list[str]:
    """One k of the verified parts as the report JSON has it, in the table's words."""
    def part(name: str) -> list[str]:
        found = f"{row[name]}/{row[name + '_clips']}" if row[name + "_clips"] else NONE
        return [found, share(row[name + "_share"]), interval(row[name + "_interval"])]
    return [str(row["k"]), *part("sufficient"), *part("necessary")]


def cells(line: str) -> list[str]:
    return re.split(r" {2,}", line.strip())


def test_a_study_of_a_folder_prints_the_api_reports_tables_and_writes_three_files(stack, cli_env, api_key, tmp_path):
    folder = tmp_path / "clips"
    write_clips(folder, 3)
    (folder / "notes.txt").write_text("not a clip: not taken")
    out = tmp_path / "out"
    done = run(*study_args(stack.bands_tagger.url, folder, extra=("--random", 3, "--out", out)), env=cli_env)
    assert done.returncode == Exit.OK, done.stderr
    study_id = study_id_of(done.stderr)
    document = api_study(stack, api_key, study_id)
    report, lines = document["report"], done.stdout.splitlines()
    assert [c["clip"] for c in document["clips"]] == ["clip-0.wav", "clip-1.wav", "clip-2.wav"]  # sorted, audio only

    # the progress bar over clips, the tagger calls beside it; then the summary
    bar = re.split(r"[\r\n]+", done.stderr.rstrip())[-1]
    calls = document["progress"]["tagger_calls"]
    assert bar.startswith("finished  3/3 clips|") and f"tagger calls {calls['done']}/{calls['total']}" in bar
    assert lines[0].startswith(f"finished study {study_id} in ") and "3 of 3 clips explained (0 failed)" in lines[0]
    assert f"{calls['done']} tagger calls (explanations {report['calls']['explanations']}" in lines[0]
    # the faithfulness checks' calls are said to be part of the explanations' (here each clip has one
    # positive component, so its random draws are its top-k: no call of their own)
    assert ("of which" in lines[0]) == (report["calls"]["faithfulness"] > 0)

    # the per-tag table: clips, the sources' median shares with quartiles, the top component
    [low] = report["tags"]
    header = next(i for i, line in enumerate(lines) if line.startswith("  tag  clips  source shares"))
    row = cells(lines[header + 1])
    order = sorted(low["source_shares"], key=lambda name: -low["source_shares"][name])
    assert order[0] == "harmonic"
    assert row == ["low", "3", ", ".join(
        f"{name} {share(low['source_shares'][name])} "
        f"({percent_range(low['source_share_quartiles'][name][0], low['source_share_quartiles'][name][2])})"
        for name in order), "harmonic × segment 1 (3 of 3 clips)"]

    # the faithfulness table, row by row as the report says
    title = next(i for i, line in enumerate(lines) if line.startswith("“low”: faithfulness over 3 clips"))
    assert cells(lines[title + 1]) == ["k", "kept", "share", "95 % interval", "random", "comparison", "dropped",
                                       "dropped share", "95 % interval", "random dropped"]
    shown = [cells(line) for line in lines[title + 2:title + 2 + len(low["faithfulness"])]]
    assert shown == [expected_faithfulness(r) for r in low["faithfulness"]]
    assert shown[0][:3] == ["1", "3/3", "100 %"] and shown[0][4] != NONE  # the random baseline was asked

    # the verified parts table: each clip's searches ended (the service's default), row by row as the report says
    title = lines.index("“low”: verified by the tagger")
    assert cells(lines[title + 1]) == ["k", "sufficient ≤ k", "share", "95 % interval", "necessary ≤ k", "share",
                                       "95 % interval"]
    shown = [cells(line) for line in lines[title + 2:title + 2 + len(low["faithfulness"])]]
    assert shown == [expected_verified(r) for r in low["faithfulness"]]
    assert low["faithfulness"][0]["sufficient_clips"] == low["faithfulness"][0]["necessary_clips"] == 3

    # the files: the study document, the figure as a PNG that decodes and an SVG that parses
    assert lines[-1] == f"wrote 3 files to {out}/: report.json, figure.png, figure.svg"
    assert json.loads((out / "report.json").read_text()) == document
    with Image.open(out / "figure.png") as image:
        image.load()
        assert image.format == "PNG" and image.size[0] == 1300 and image.size[1] > 300
    root = ElementTree.parse(out / "figure.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and "Study over 3 clips" in (out / "figure.svg").read_text()
    assert api_key not in done.stdout + done.stderr


def test_study_status_and_study_status_wait(stack, cli_env, api_key, tmp_path):
    clips = write_clips(tmp_path / "clips", 2)
    done = run(*study_args(stack.bands_tagger.url, *clips, extra=("--compare", "slime", "--no-wait")), env=cli_env)
    assert done.returncode == Exit.OK, done.stderr
    study_id = done.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", study_id)

    waited = run("study-status", study_id, "--wait", "--no-progress", "--out", tmp_path / "out", env=cli_env)
    assert waited.returncode == Exit.OK, waited.stderr
    document = api_study(stack, api_key, study_id)
    [low] = document["report"]["tags"]
    assert "comparison: the top-k of slime's explanations" in waited.stdout
    assert low["faithfulness"][0]["comparison_share"] is not None
    title = next(i for i, line in enumerate(waited.stdout.splitlines()) if line.startswith("“low”"))
    first = cells(waited.stdout.splitlines()[title + 2])
    assert first == expected_faithfulness(low["faithfulness"][0]) and first[5] != NONE and first[4] == NONE
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["figure.png", "figure.svg", "report.json"]

    status = run("study-status", study_id, env=cli_env)
    assert status.returncode == Exit.OK, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == f"id        {study_id}" and lines[1] == "status    finished"
    assert lines[2].startswith("progress  2/2 clips ended (100.0%), 0 failed, 0 cancelled; tagger calls ")
    for clip in document["clips"]:
        row = next(line for line in lines if line.startswith(clip["clip"]))
        assert cells(row) == [clip["clip"], "finished", clip["explanation"], clip["comparison"]]
    as_json = run("study-status", study_id, "--json", env=cli_env)
    assert json.loads(as_json.stdout) == document


def test_a_study_whose_every_clip_fails_exits_1_with_the_reason(cli_env, tmp_path):
    (tmp_path / "loud.wav").write_bytes(loud_audio())
    done = run(*study_args("http://127.0.0.1:9/predict", tmp_path / "loud.wav",
                           extra=("--tagger-retries", 0, "--connect-timeout", 1, "--no-progress")), env=cli_env)
    assert done.returncode == Exit.JOB_FAILED, done.stderr
    assert "failed: every clip failed; loud.wav: Tagger unreachable" in done.stderr
    study_id = study_id_of(done.stderr)
    status = run("study-status", study_id, env=cli_env)
    assert status.returncode == Exit.JOB_FAILED and "status    failed" in status.stdout


def test_study_cancel_stops_a_running_study_and_deletes_it(stack, cli_env, tmp_path):
    clips = write_clips(tmp_path / "clips", 2)
    slow = ("--batch-size", 4, "--concurrency", 1, "--no-wait")
    done = run(*study_args(stack.slow_tagger.url, *clips, extra=slow), env=cli_env)
    study_id = done.stdout.strip()
    timed_out = run("study-status", study_id, "--wait", "--timeout", 1, "--no-progress", env=cli_env)
    assert timed_out.returncode == Exit.TIMEOUT and "keeps running" in timed_out.stderr
    cancelled = run("study-cancel", study_id, env=cli_env)
    assert cancelled.returncode == Exit.OK and f"cancelled study {study_id}" in cancelled.stdout
    gone = run("study-status", study_id, env=cli_env)
    assert gone.returncode == Exit.API_ERROR and f"no study '{study_id}' for this API key" in gone.stderr


def test_ctrl_c_while_waiting_says_how_to_follow_the_study_up_and_exits_130(stack, cli_env, tmp_path):
    clips = write_clips(tmp_path / "clips", 2)
    slow = ("--batch-size", 4, "--concurrency", 1)
    child = subprocess.Popen([str(CLI), *map(str, study_args(stack.slow_tagger.url, *clips, extra=slow))],
                             env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             # the default --out folder lands in the working directory: keep it in tmp_path;
                             # and Ctrl-C must be heard even when pytest itself runs with SIGINT ignored
                             cwd=tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    submitted = child.stderr.readline()
    while " clips|" not in child.stderr.readline():  # the bar's first line: it waits for the study now
        assert child.poll() is None
    child.send_signal(signal.SIGINT)
    _, rest = child.communicate(timeout=60)
    study_id = study_id_of(submitted)
    assert child.returncode == 130
    assert (f"interrupted; study {study_id} keeps running: `audiolime study-status {study_id} --wait`, "
            f"`audiolime study-cancel {study_id}`") in rest
    assert run("study-cancel", study_id, env=cli_env).returncode == Exit.OK  # it was still there


@pytest.mark.parametrize("make, message", [
    pytest.param(lambda d: [d / "empty"], "holds no audio file", id="empty-folder"),
    pytest.param(lambda d: [d / "a" / "x.wav", d / "b" / "x.wav"], "two clips are named 'x.wav'", id="same-names"),
    pytest.param(lambda d: [d / "missing.wav"], "no such file or folder", id="missing"),
    pytest.param(lambda d: [], "at least one clip", id="no-clips"),
])
def test_bad_clip_arguments_exit_2_before_sending_anything(stack, cli_env, api_key, tmp_path, make, message):
    (tmp_path / "empty").mkdir()
    for folder in ("a", "b"):
        write_clips(tmp_path / folder, 1)[0].rename(tmp_path / folder / "x.wav")
    done = run(*study_args(stack.bands_tagger.url, *make(tmp_path)), env=cli_env)
    assert done.returncode == Exit.USAGE and message in done.stderr, done.stderr
    with Client(stack.base, api_key) as client:
        assert list(client.list_studies()) == []


def test_provided_is_not_a_study_separator(stack, cli_env, tmp_path):
    clips = write_clips(tmp_path, 1)
    done = run("study", *clips, "--tagger", stack.bands_tagger.url, "--separator", "provided", env=cli_env)
    assert done.returncode == Exit.USAGE and "invalid choice: 'provided'" in done.stderr
