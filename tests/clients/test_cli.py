"""The real `audiolime` console script (.venv/bin/audiolime) in subprocesses, against the live
service: what it prints, what it writes, and the exit codes scripts rely on."""
import io
import json
import os
import re
import select
import subprocess
import sys

import numpy as np
import pytest

from audiolime_client.audio import decode
from audiolime_client.exitcodes import Exit
from audiolime_client.numbers import confidence_text
from tests.clients import tones
from tests.clients.conftest import CLI
from tests.clients.pictures import cell_colours, expected_colours, geometry, grid_from_json
from tests.clients.scripted_server import free_port

SUBCOMMANDS = ("explain", "wait", "status", "download", "cancel", "list", "study", "study-status", "study-cancel")
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


def test_explain_help_says_how_it_samples():
    done = run("explain", "--help")
    text = " ".join(done.stdout.split())
    assert "By default the service samples adaptively" in text and "--fixed N asks exactly N masks" in text
    for flag in ("--fixed N", "--samples N", "--confidence P", "--claim-k K", "--tolerance F", "--max-samples N",
                 "--min-samples N", "--round-size N", "--design {independent,paired}",
                 "--claim {strict,tolerant}", "--estimator {plain,adjusted}"):
        assert flag in done.stdout
    assert "not --top-k, which picks the tags" in text


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
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--fixed", "64", "--samples", "64"],
                 id="fixed-and-samples"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--fixed", "64", "--max-samples", "128"],
                 id="fixed-and-max-samples"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--samples", "64", "--round-size", "8"],
                 id="samples-and-round-size"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--fixed", "1"], id="fixed-1"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--confidence", "1.5"], id="confidence-over-1"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--claim-k", "0"], id="claim-k-0"),
    pytest.param(["explain", "{mix}", "--tagger", "http://t/p", "--design", "sobol"], id="bad-design"),
])
def test_bad_arguments_exit_2_before_sending_anything(args, clip, cli_env):
    # an unreachable URL: were anything sent, the exit code would be 4, not 2
    env = dict(cli_env, AUDIOLIME_URL=f"http://127.0.0.1:{free_port()}")
    done = run(*[str(clip[0]) if a == "{mix}" else a for a in args], env=env)
    assert done.returncode == Exit.USAGE, done.stderr
    assert "usage: audiolime" in done.stderr and "error:" in done.stderr


def test_an_adaptive_only_flag_beside_a_fixed_count_says_why(clip, cli_env):
    env = dict(cli_env, AUDIOLIME_URL=f"http://127.0.0.1:{free_port()}")
    done = run("explain", clip[0], "--tagger", "http://t/p", "--fixed", "64", "--max-samples", "128", env=env)
    assert done.returncode == Exit.USAGE
    assert done.stderr.splitlines()[-1] == ("audiolime explain: error: --max-samples is for adaptive runs, but "
                                            "--fixed N asks exactly N masks (leave --fixed out to sample adaptively)")


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

    # the report: first what the tagger itself said (the baseline, the verified parts), then the claim,
    # the top component of `low` (bass in seconds 2-3), the shares, the self-check
    lines = done.stdout.splitlines()
    mid = lines.index(next(line for line in lines if line.startswith("“mid”")))
    assert lines[mid + 1].startswith("  baseline: mid 0.0000 (#4) with every component off, 0.1414 (#")
    assert lines[mid + 2].startswith("  sufficient (verified): drums[") and " alone keeps mid in the top " in lines[mid + 2]
    assert lines[mid + 3].startswith("    proven minimal") and "tagger call" in lines[mid + 3]
    assert lines[mid + 4].startswith("  necessary (")
    low = lines.index(next(line for line in lines if line.startswith("“low”")))
    assert "low is last of the tagger's 4 tags on the clip" in lines[low + 2]  # nothing to verify
    low += 5  # the baseline, and each part's two lines
    assert lines[low + 1].startswith("  1 component claimed (fewer than 3 matter) at confidence ")
    assert lines[low + 1].endswith(": bass 2.00–3.00 s")
    assert lines[low + 2].split() == ["rank", "source", "time", "span", "weight", "95", "%", "interval"]
    first = lines[low + 3].split()
    assert first[:3] == ["1", "bass", "2.00–3.00"] and float(first[4]) == pytest.approx(tones.LOW_WEIGHT, rel=0.05)
    assert first[5] == "±" and "spans" not in first
    assert re.fullmatch(r"  sources: bass carries 9\d(\.\d)? % \(9\d(\.\d)?–100 %\) of the positive weight; .*",
                        lines[low + 8]), lines[low + 8]
    assert lines[low + 9].startswith("  segments: 2.00–3.00 s 9")
    assert "self-check" in lines[low + 10] and lines[low + 12].split()[:3] == ["1", "+", "bass[2.00-3.00s]"]
    assert f"finished {job_id}" in done.stdout and "3 sources × 4 segments = 12 components" in done.stdout
    assert "sampling: fixed (independent), stopped: fixed count; 512 samples, " in done.stdout
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
    mid_alone, rate = decode((out / "mid-sufficient.wav").read_bytes())  # the verified part, as heard: cut
    assert rate == tones.RATE and len(mid_alone) == tones.SECONDS * tones.RATE and not (out / "low-sufficient.wav").exists()
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


# -- sampling ---------------------------------------------------------------------------------------

def test_an_adaptive_run_shows_its_confidence_climbing_then_the_claim_and_the_shares(stack, clip, cli_env, tmp_path):
    """On a terminal the bar's postfix carries the confidence of each round, of its target; the report
    then names the claim, the shares and why sampling stopped."""
    out = tmp_path / "results"
    args = explain_args(stack.slow_tagger.url, clip[0], clip[1], "--tag", "low", "--tag", "mid", "--batch-size", 8,
                        "--concurrency", 1, "--confidence", 0.99, "--min-samples", 32, "--round-size", 16,
                        "--poll-interval", 0.1, "--out", out)
    report, bar, code = run_on_terminal(args, cli_env)
    assert code == Exit.OK, bar[-2000:]
    stats = json.loads((out / "result.json").read_text())["result"]["stats"]
    assert (stats["strategy"], stats["stop_reason"]) == ("adaptive", "converged") and stats["rounds"] >= 3, stats

    drawn = re.findall(r"(\w+) +\d+\.\d%\|[^|]*\| \[[^\]]*?(\d+)/(\d+) masks, confidence (\d\.\d+) / 0\.99\]", bar)
    rounds = {confidence_text(c) for _, c in stats["confidence_trace"] if c is not None}
    running = {value for stage, _, _, value in drawn if stage == "querying"}
    assert len(running) >= 2 and running <= rounds, (running, rounds)  # it climbed while the bar was watched
    assert drawn[-1][0] == "finished" and drawn[-1][3] == confidence_text(stats["confidence_trace"][-1][1])
    assert float(drawn[-1][3]) >= 0.99

    lines = report.splitlines()
    assert f"sampling: adaptive (paired), stopped: converged after {stats['rounds']} rounds; " in report
    low = lines.index(next(line for line in lines if line.startswith("“low”")))
    # first what the tagger hears with every component off, then the verified parts, then the claim
    assert lines[low + 1].startswith("  baseline: low 0.0000 (#4) with every component off"), lines[low + 1]
    claim = next(i for i in range(low + 1, len(lines)) if "claimed" in lines[i])
    assert all(line.startswith(("  baseline", "  sufficient", "  necessary", "    ")) for line in lines[low + 1: claim]), \
        lines[low: claim + 1]
    assert re.fullmatch(r"  1 component claimed \(fewer than 3 matter\) at confidence \d\.\d+ \(target 0\.99\): "
                        r"bass 2\.00–3\.00 s", lines[claim]), lines[low + 1: claim + 1]
    assert any(line.startswith("  sources: bass carries ") and "of the positive weight" in line for line in lines)
    mid = lines.index(next(line for line in lines if line.startswith("“mid”")))
    claim = next(i for i in range(mid + 1, len(lines)) if "claimed" in lines[i])
    assert lines[claim].startswith("  top 3 claimed at confidence ")  # the drums sound throughout: a tie of four
    assert lines[claim + 1].startswith("  tied: drums ") and "which of them belong is not claimed" in lines[claim + 1]
    assert re.search(r"sources: drums carries 9\d % \(\d+–\d+ %\) of the positive weight", report)


def run_on_terminal(args: list, env: dict, timeout: float = 180) -> tuple[str, str, int]:
    """The command with stderr on a pseudo-terminal (as in a shell): (stdout, what the terminal got, exit code)."""
    master, slave = os.openpty()
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    child = subprocess.Popen([str(CLI), *map(str, args)], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=slave, text=True)
    os.close(slave)
    terminal = io.BytesIO()
    try:
        while True:  # drain the terminal while it runs: a full pty would block the bar
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed its end
                    chunk = b""
                if not chunk:
                    break
                terminal.write(chunk)
            elif child.poll() is not None:
                break
        stdout = child.communicate(timeout=timeout)[0]
    finally:
        os.close(master)
    return stdout, terminal.getvalue().decode("utf-8", "replace"), child.returncode


def test_fixed_64_asks_exactly_64_masks_and_download_writes_the_samples(stack, clip, cli_env, tmp_path):
    done = run(*explain_args(stack.tagger.url, clip[0], clip[1], "--tag", "low", "--fixed", 64, "--no-progress",
                             "--out", tmp_path / "first"), env=cli_env)
    assert done.returncode == Exit.OK, done.stderr
    body = json.loads((tmp_path / "first" / "result.json").read_text())
    stats = body["result"]["stats"]
    assert (stats["strategy"], stats["stop_reason"], stats["samples"]) == ("fixed", "fixed", 64)
    assert (body["request"]["samples"], body["request"]["sampling"]["strategy"]) == (64, "fixed")
    assert f"sampling: fixed (independent), stopped: fixed count; 64 samples, {stats['unique_masks']} distinct" \
        in done.stdout

    download = run("download", body["id"], "--out", tmp_path / "again", "--what", "samples", env=cli_env)
    assert download.returncode == Exit.OK, download.stderr
    assert download.stdout.split() == [str(tmp_path / "again" / "samples.npz")]
    with np.load(tmp_path / "again" / "samples.npz") as samples:
        assert int(samples["counts"].sum()) == 64 and samples["masks"].shape == (stats["unique_masks"], 12)
        assert samples["masks"][0].all() and list(samples["labels"]) == ["low", "mid", "high", "loud"]
