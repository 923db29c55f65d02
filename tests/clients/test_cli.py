"""The real `audiolime` console script (.venv/bin/audiolime) in subprocesses, against the live
service: what it prints, what it writes, and the exit codes scripts rely on."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from audiolime_client.audio import decode
from audiolime_client.exitcodes import Exit
from tests.clients import tones
from tests.clients.conftest import CLI
from tests.clients.pictures import cell_colours, expected_colours, geometry, grid_from_json
from tests.clients.scripted_server import free_port

SUBCOMMANDS = ("explain", "wait", "status", "download", "cancel", "list")
TAGGER_SECRET = "tagger-secret-value-77"


def run(*args, env=None, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout)


def explain_args(tagger_url: str, mix, stems: dict, *extra) -> list:
    stem_args = [a for name, path in stems.items() for a in ("--stem", f"{name}={path}")]
    return ["explain", mix, "--tagger", tagger_url, "--sample-rate", tones.RATE, "--batch-size", 32,
            "--segments", tones.SEGMENTS, *stem_args, *extra]


@pytest.fixture
def clip(tmp_path):
    return tones.write_files(tmp_path / "clip")


# -- help and usage ---------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [(), *((c,) for c in SUBCOMMANDS)], ids=["audiolime", *SUBCOMMANDS])
def test_help_for_every_command_lists_the_exit_codes(command):
    done = run(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert "exit codes:" in done.stdout
    for code in Exit:
        assert f"{code.value:>3}  " in done.stdout


def test_python_dash_m_is_the_same_command():
    done = subprocess.run([sys.executable, "-m", "audiolime_client", "status", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "usage: audiolime status" in done.stdout


@pytest.mark.parametrize("args", [
    pytest.param([], id="no-command"),
    pytest.param(["explain", "{mix}"], id="no-tagger"),
    pytest.param(["explain", "/no/such/clip.wav", "--tagger", "http://t/p"], id="missing-audio"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--tag", "a", "--top-k", "2"], id="tag-and-top-k"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--samples", "0"], id="zero-samples"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--protocol", "grpc"], id="bad-protocol"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--option", "novalue"], id="bad-option"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--stem", "bass"], id="bad-stem"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--segments", "ten"], id="bad-segments"),
    pytest.param(["status"], id="status-without-id"),
    pytest.param(["download", "abc"], id="download-without-out"),
])
def test_bad_arguments_exit_2_before_sending_anything(args, clip, cli_env):
    # an unreachable URL: were anything sent, the exit code would be 4, not 2
    env = dict(cli_env, AUDIOLIME_URL=f"http://127.0.0.1:{free_port()}")
    done = run(*[str(clip[0]) if a == "{mix}" else a for a in args], env=env)
    assert done.returncode == Exit.USAGE, done.stderr
    assert "usage: audiolime" in done.stderr and "error:" in done.stderr


def test_a_malformed_header_is_refused_without_echoing_it(clip, cli_env):
    done = run("explain", clip[0], "--tagger", "http://t/p", "--header", f"X-Api-Key {TAGGER_SECRET}", env=cli_env)
    assert done.returncode == Exit.USAGE and "Name: value" in done.stderr
    assert TAGGER_SECRET not in done.stderr + done.stdout


# -- explain, end to end ----------------------------------------------------------------------------

def test_explain_prints_the_tables_and_writes_every_file(stack, clip, cli_env, api_key, tmp_path):
    mix, stems = clip
    out = tmp_path / "results"
    done = run(*explain_args(stack.tagger.url, mix, stems, "--tag", "low", "--tag", "mid", "--samples", 512,
                             "--header", f"X-Tagger-Key: {TAGGER_SECRET}", "--k", 2, "--out", out), env=cli_env)
    assert done.returncode == Exit.OK, done.stderr
    result = json.loads((out / "result.json").read_text())
    job_id = result["id"]

    # the report: the top component of `low` is bass in seconds 2-3, and the self-check
    lines = done.stdout.splitlines()
    low = lines.index(next(line for line in lines if line.startswith("“low”")))
    assert lines[low + 1].split() == ["rank", "source", "time", "span", "weight"]
    first = lines[low + 2].split()
    assert first[:3] == ["1", "bass", "2.00–3.00"] and float(first[4]) == pytest.approx(tones.LOW_WEIGHT, rel=0.05)
    assert "self-check" in lines[low + 7] and lines[low + 9].split()[:3] == ["1", "+", "bass[2.00-3.00s]"]
    assert f"finished {job_id}" in done.stdout and "3 sources × 4 segments = 12 components" in done.stdout
    # the progress bar's final line, and the submission notice, on stderr
    assert f"submitted {job_id}" in done.stderr
    assert re.split(r"[\r\n]+", done.stderr.rstrip())[-1].startswith("finished   100.0%|██████████| [")
    # secrets are never printed
    for secret in (TAGGER_SECRET, api_key):
        assert secret not in done.stdout + done.stderr
    assert result["request"]["tagger"]["headers"] == {"X-Tagger-Key": "[redacted]"}

    # the files: stems, the top-k mixes, the heat map
    for name, path in stems.items():
        waveform, rate = decode((out / "sources" / f"{name}.wav").read_bytes())
        assert rate == tones.RATE and len(waveform) == tones.SECONDS * tones.RATE
    mix_low, rate = decode((out / "explanation-low-top2.wav").read_bytes())
    assert rate == tones.RATE and len(mix_low) == tones.SECONDS * tones.RATE
    assert (out / "explanation-mid-top2.wav").is_file()
    assert (out / "heatmap.svg").read_text().count("<svg") == 1
    check_heatmap(out / "heatmap.png", result["result"])


def check_heatmap(png, result: dict) -> None:
    """The PNG's cells have the colours of result.json's weights, bass × segment 2 the reddest."""
    for tag in ("low", "mid"):
        grid = grid_from_json(result, tag)
        colours = cell_colours(png, tag)
        assert colours.shape == (3, tones.SEGMENTS, 3)
        np.testing.assert_allclose(colours, expected_colours(grid), atol=0.03)
    low = cell_colours(png, "low")
    bass_row = result["sources"].index("bass")
    darkest_red = np.unravel_index(np.argmin(low.sum(axis=-1) - 2 * low[..., 0]), low.shape[:2])
    assert darkest_red == (bass_row, tones.BASS_SEGMENT)


def test_status_download_and_list_of_a_finished_job(stack, clip, cli_env, tmp_path):
    done = run(*explain_args(stack.tagger.url, clip[0], clip[1], "--tag", "low", "--samples", 64, "--no-progress",
                             "--out", tmp_path / "first"), env=cli_env)
    assert done.returncode == Exit.OK and "%|" not in done.stderr  # --no-progress: no bar
    job_id = json.loads((tmp_path / "first" / "result.json").read_text())["id"]

    status = run("status", job_id, env=cli_env)
    assert status.returncode == Exit.OK and "status    finished" in status.stdout and "low (R²" in status.stdout
    as_json = run("status", job_id, "--json", env=cli_env)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["stage"] == "finished"

    out = tmp_path / "again"
    download = run("download", job_id, "--out", out, "--what", "sources", "--what", "components", "--format", "flac",
                   env=cli_env)
    assert download.returncode == Exit.OK, download.stderr
    assert sorted(p.name for p in (out / "sources").iterdir()) == ["bass.flac", "drums.flac", "vocals.flac"]
    assert len(list((out / "components").iterdir())) == 12 and not (out / "result.json").exists()
    assert len(download.stdout.splitlines()) == 15  # one line per file written

    pictures = run("download", job_id, "--out", tmp_path / "picture", "--what", "heatmap", env=cli_env)
    assert pictures.returncode == Exit.OK and pictures.stdout.split() == [
        str(tmp_path / "picture" / "heatmap.png"), str(tmp_path / "picture" / "heatmap.svg")]
    assert [p["tag"] for p in geometry(tmp_path / "picture" / "heatmap.png")["panels"]] == ["low"]

    listing = run("list", env=cli_env)
    assert listing.returncode == 0 and job_id in listing.stdout and "finished" in listing.stdout


def test_download_of_a_tag_not_explained_exits_2_and_writes_nothing(stack, clip, cli_env, tmp_path):
    done = run(*explain_args(stack.tagger.url, clip[0], clip[1], "--tag", "low", "--samples", 64, "--no-progress",
                             "--out", tmp_path / "first"), env=cli_env)
    assert done.returncode == Exit.OK, done.stderr
    job_id = json.loads((tmp_path / "first" / "result.json").read_text())["id"]

    out = tmp_path / "again"
    download = run("download", job_id, "--out", out, "--tag", "jazz", env=cli_env)
    assert download.returncode == Exit.USAGE, download.stderr
    assert "audiolime: error: tag 'jazz' was not explained; explained: low" in download.stderr
    assert "Traceback" not in download.stderr and download.stdout == ""
    assert not out.exists()


# -- cancel, failures and exit codes ----------------------------------------------------------------

def test_no_wait_then_cancel_then_status_and_wait_say_cancelled(stack, clip, cli_env):
    submitted = run(*explain_args(stack.slow_tagger.url, clip[0], clip[1], "--samples", 1024, "--concurrency", 1,
                                  "--batch-size", 8, "--no-wait"), env=cli_env)
    assert submitted.returncode == Exit.OK, submitted.stderr
    job_id = submitted.stdout.strip()
    assert len(job_id) == 32 and submitted.stdout.count("\n") == 1  # only the id: for $(…) in scripts

    timed_out = run("wait", job_id, "--timeout", "1", "--no-progress", env=cli_env)
    assert timed_out.returncode == Exit.TIMEOUT and "keeps running" in timed_out.stderr

    cancel = run("cancel", job_id, env=cli_env)
    assert cancel.returncode == Exit.OK and f"cancelled {job_id}" in cancel.stdout
    status = run("status", job_id, env=cli_env)
    assert status.returncode == Exit.CANCELLED and "cancelled" in status.stdout
    waited = run("wait", job_id, "--no-progress", env=cli_env)
    assert waited.returncode == Exit.CANCELLED and "was cancelled" in waited.stderr

    deleted = run("cancel", job_id, env=cli_env)  # now ended: deleting removes it
    assert deleted.returncode == Exit.OK and "deleted" in deleted.stdout
    assert run("status", job_id, env=cli_env).returncode == Exit.API_ERROR


def test_a_failing_tagger_exits_1_with_the_reason(clip, cli_env):
    done = run(*explain_args("http://127.0.0.1:9/predict", clip[0], clip[1], "--samples", 64, "--tagger-retries", 0,
                             "--connect-timeout", 1, "--no-progress"), env=cli_env)
    assert done.returncode == Exit.JOB_FAILED, done.stderr
    assert "failed: Tagger unreachable" in done.stderr and "127.0.0.1:9" in done.stderr
    assert "stage querying" in done.stderr


def test_an_unknown_id_exits_3_with_the_problem_detail(cli_env):
    done = run("status", "no-such-job", env=cli_env)
    assert done.returncode == Exit.API_ERROR
    assert "404 Not found: no explanation 'no-such-job' for this API key" in done.stderr


def test_a_wrong_api_key_exits_3(cli_env):
    done = run("list", "--api-key", "not-a-key", env=cli_env)
    assert done.returncode == Exit.API_ERROR and "401" in done.stderr and "not valid" in done.stderr
    assert "not-a-key" not in done.stderr + done.stdout


def test_a_bad_tagger_url_exits_3(clip, cli_env):
    done = run("explain", clip[0], "--tagger", "ftp://tagger.example/predict", env=cli_env)
    assert done.returncode == Exit.API_ERROR and "scheme 'ftp'" in done.stderr


def test_an_unreachable_service_exits_4(cli_env):
    done = run("status", "abc", "--url", f"http://127.0.0.1:{free_port()}", "--retries", "1", env=cli_env)
    assert done.returncode == Exit.UNAVAILABLE
    assert "refused" in done.stderr.lower() and "attempts: 2" in done.stderr
