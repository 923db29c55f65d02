"""GET /explanations/{id}/spectrogram and /waveforms over real HTTP, with API keys on: a known clip's
energy where its tones are, envelopes that match the stems, another key's 404, 409 until the stems
exist (then a real worker separates with `hpss`), and a 10-minute clip that stays small."""
import dataclasses
import io
import math

import numpy as np
import pytest
import soundfile

from tests.integration.harness import start_worker, wav_bytes

ALICE, BOB = "alice-key-1234", "bob-key-5678"
RATE, SECONDS = 16000, 4.0
HOP = 186  # the engine's 46 ms STFT at 16 kHz: 744 samples, a quarter hop
BIN_HZ = RATE / 744


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, api_keys=(ALICE, BOB))


@pytest.fixture
def api(api):
    api.key = ALICE
    return api


def known_stems() -> dict[str, np.ndarray]:
    """110 Hz at 0.5 only in seconds 2–3; 3000 Hz at 0.1 throughout."""
    t = np.arange(int(SECONDS * RATE)) / RATE
    low = 0.5 * np.sin(2 * np.pi * 110 * t) * ((t >= 2.0) & (t < 3.0))
    high = 0.1 * np.sin(2 * np.pi * 3000 * t)
    return {"low": low.astype(np.float32)[:, None], "high": high.astype(np.float32)[:, None]}


def submit(api, separator="provided", key=ALICE, stems=None, **request):
    stems = known_stems() if stems is None else stems
    body = {"tagger": {"url": "http://127.0.0.1:9/predict", "sample_rate": RATE}, "separator": separator,
            "segments": 4, "samples": 16, "targets": {"tags": ["low"]}, **request}
    response = api.submit(wav_bytes(sum(stems.values()), RATE), body,
                          {n: wav_bytes(w, RATE) for n, w in stems.items()} if separator == "provided" else None,
                          key=key)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def decibels(body: dict) -> np.ndarray:
    low, high = body["db_range"]
    return low + np.array(body["db"], dtype=float) / body["levels"] * (high - low)


def row_of(body: dict, hz: float) -> int:
    edges = np.geomspace(*body["frequency_range"], len(body["frequencies"]) + 1)
    return int(np.searchsorted(edges, hz, side="right") - 1)


def assert_tones_where_they_sound(body: dict) -> None:
    db, times = decibels(body), np.array(body["times"])
    frequencies = np.array(body["frequencies"])
    bass = (times > 2.05) & (times < 2.95)
    clear = (times < 1.95) | (times > 3.05)  # half a window (23 ms) from the bass's edges
    loudest = frequencies[db.argmax(axis=0)]
    assert np.all(np.abs(loudest[bass] - 110) <= BIN_HZ), loudest[bass]  # the STFT resolves 21.5 Hz
    assert np.all(np.abs(loudest[clear] - 3000) <= 0.05 * 3000), loudest[clear]
    row, column = np.unravel_index(db.argmax(), db.shape)
    assert abs(frequencies[row] - 110) <= BIN_HZ and 2.0 < times[column] < 3.0
    assert db[row_of(body, 110)][bass].min() - db[row_of(body, 110)][clear].max() > 40
    # 0 dB is a full-scale sine in one bin: the 0.5 tone is at 20·log10(0.5) = −6 dB, a little below off-centre.
    assert body["db_range"] == [-86.0, -6.0] and -7 < db.max() <= -6


def test_the_spectrogram_of_a_known_clip(api):
    job_id = submit(api)  # provided stems: there from the start, no worker needed
    response = api.call("GET", f"/explanations/{job_id}/spectrogram")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "private, max-age=3600" and "Authorization" in response.headers["Vary"]
    body = response.json()
    n_frames = int(SECONDS * RATE) // HOP + 1
    assert (body["sample_rate"], body["duration"], body["levels"]) == (RATE, SECONDS, 255)
    assert body["frequency_range"] == [30.0, RATE / 2] and len(body["frequencies"]) == len(body["db"]) == 128
    step = math.log(RATE / 2 / 30) / 128  # log-spaced rows, low to high (centres to 0.01 Hz)
    assert np.allclose(np.diff(np.log(body["frequencies"])), step, rtol=0.02)
    assert body["frequencies"][0] == pytest.approx(30 * math.exp(step / 2), abs=0.01)
    assert body["frequencies"][-1] == pytest.approx(RATE / 2 * math.exp(-step / 2), abs=0.01)
    assert body["times"] == pytest.approx(np.round(np.arange(n_frames) * HOP / RATE, 4).tolist(), abs=1e-9)
    assert all(len(row) == n_frames and min(row) >= 0 and max(row) <= 255 for row in body["db"])
    assert_tones_where_they_sound(body)


def expected_envelope(waveform: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(waveform)
    spans = [waveform[c * n // columns:(c + 1) * n // columns] for c in range(columns)]
    return np.array([s.min() for s in spans]), np.array([s.max() for s in spans])


@pytest.mark.parametrize("columns", [None, 100, 4000])
def test_waveform_envelopes_match_the_stems(api, columns):
    job_id = submit(api)
    params = {"columns": columns} if columns else {}
    response = api.call("GET", f"/explanations/{job_id}/waveforms", params=params)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, max-age=3600"
    body = response.json()
    wanted = columns or 800
    assert (body["columns"], body["duration"], body["sample_rate"]) == (wanted, SECONDS, RATE)
    assert list(body["sources"]) == ["high", "low"]  # the result's source order
    for name, stem in known_stems().items():
        low, high = expected_envelope(stem[:, 0], wanted)
        np.testing.assert_allclose(body["sources"][name]["min"], low, atol=6e-5)  # 4 decimals, 24-bit FLAC
        np.testing.assert_allclose(body["sources"][name]["max"], high, atol=6e-5)
    low = body["sources"]["low"]
    seconds = (np.arange(wanted) + 0.5) * SECONDS / wanted
    assert max(low["max"]) == pytest.approx(0.5, abs=1e-4) and min(low["min"]) == pytest.approx(-0.5, abs=1e-4)
    outside = (seconds < 1.99) | (seconds > 3.01)
    assert np.all(np.array(low["max"])[outside] == 0) and np.all(np.array(low["min"])[outside] == 0)
    assert max(body["sources"]["high"]["max"]) == pytest.approx(0.1, abs=1e-4)


def test_a_bad_column_count_is_refused(api):
    job_id = submit(api)
    for columns in ("0", "4001", "many"):
        response = api.call("GET", f"/explanations/{job_id}/waveforms", params={"columns": columns})
        assert response.status_code == 400 and "`columns`" in response.json()["detail"], columns


def test_pictures_belong_to_their_owner(api):
    job_id = submit(api, key=ALICE)
    for picture in ("spectrogram", "waveforms"):
        for key, status in ((BOB, 404), (None, 401), (ALICE, 200)):
            response = api.call("GET", f"/explanations/{job_id}/{picture}", key=key)
            assert response.status_code == status, (picture, key)
        unknown = api.call("GET", f"/explanations/{'0' * 32}/{picture}")
        assert unknown.status_code == 404 and unknown.headers["Content-Type"] == "application/problem+json"
    cancelled = submit(api)  # queued, then cancelled: its record stays, its audio is gone
    assert api.call("GET", f"/explanations/{cancelled}/spectrogram").status_code == 200  # rendered, kept in memory
    assert api.call("DELETE", f"/explanations/{cancelled}").status_code == 204
    for picture in ("spectrogram", "waveforms"):
        response = api.call("GET", f"/explanations/{cancelled}/{picture}")
        assert response.status_code == 404 and "deleted" in response.json()["detail"], picture


def test_not_ready_until_a_worker_has_separated_then_the_hpss_stems(api, settings, processes, tagger):
    job_id = submit(api, separator="hpss", tagger={"url": tagger.url, "sample_rate": RATE})
    for picture in ("spectrogram", "waveforms"):  # no worker yet: queued, no stems
        response = api.call("GET", f"/explanations/{job_id}/{picture}")
        assert response.status_code == 409 and response.headers["Content-Type"] == "application/problem+json"
        assert "stems" in response.json()["detail"] and "Cache-Control" not in response.headers
    start_worker(processes, settings, f"{settings.key_prefix}-late")
    body = api.wait(job_id, timeout=180)
    assert body["stage"] == "finished" and body["result"]["sources"] == ["harmonic", "percussive"], body["error"]

    assert_tones_where_they_sound(api.call("GET", f"/explanations/{job_id}/spectrogram").json())
    envelopes = api.call("GET", f"/explanations/{job_id}/waveforms").json()["sources"]
    assert list(envelopes) == ["harmonic", "percussive"]
    seconds = (np.arange(800) + 0.5) * SECONDS / 800
    harmonic, percussive = (np.maximum(-np.array(e["min"]), np.array(e["max"])) for e in envelopes.values())
    steady = (seconds > 2.2) & (seconds < 2.8)
    assert harmonic[steady] == pytest.approx(0.6, abs=0.03)  # sustained tones are harmonic: 0.5 + 0.1
    assert harmonic[seconds < 1.8] == pytest.approx(0.1, abs=0.01)
    away = np.abs(seconds - 2.0) > 0.2
    away &= np.abs(seconds - 3.0) > 0.2  # the bass's switching on and off is the only percussive thing
    assert percussive[away].max() < 0.1 * harmonic.max()


def flac_bytes(waveform: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, RATE, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def test_ten_minutes_stay_small(api):
    """Averaged down to 1,200 frames; a 1 kHz tone in minute five still shows there."""
    t = np.arange(600 * RATE) / RATE
    clip = (0.25 * np.sin(2 * np.pi * 1000 * t) * ((t >= 300) & (t < 360))).astype(np.float32)[:, None]
    request = {"tagger": {"url": "http://127.0.0.1:9/predict", "sample_rate": RATE}, "separator": "provided",
               "segments": 10, "samples": 16}
    response = api.submit(flac_bytes(clip), request, {"all": flac_bytes(clip)})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    spectrogram = api.call("GET", f"/explanations/{job_id}/spectrogram")
    body = spectrogram.json()
    assert len(body["times"]) == 1200 and all(len(row) == 1200 for row in body["db"])
    assert len(spectrogram.content) < 700_000
    times = np.array(body["times"])
    n_frames = 600 * RATE // HOP + 1
    assert times[0] == pytest.approx((n_frames // 1200 - 1) / 2 * HOP / RATE, abs=1e-4)  # the mean of its group
    assert np.all(np.diff(times) > 0) and times[-1] == pytest.approx(600, abs=0.3)
    db = decibels(body)
    row = row_of(body, 1000)
    sounding = (times > 301) & (times < 359)
    assert np.all(db.argmax(axis=0)[sounding] == row)
    assert np.all(db[row][(times < 299) | (times > 361)] == body["db_range"][0])  # silence: the floor
    waveforms = api.call("GET", f"/explanations/{job_id}/waveforms")
    assert len(waveforms.content) < 40_000
    envelope = waveforms.json()["sources"]["all"]
    assert max(envelope["max"]) == pytest.approx(0.25, abs=1e-4)


def test_a_cancelled_jobs_components_are_gone_even_from_this_processs_copies(api, tagger):
    from tests.integration.test_explain_end_to_end import submit_tones

    job_id = submit_tones(api, tagger).json()["id"]  # no worker: it stays queued, with its provided stems
    assert api.call("GET", f"/explanations/{job_id}/components/0").status_code == 200  # now cached here
    assert api.call("DELETE", f"/explanations/{job_id}").status_code == 204
    gone = api.call("GET", f"/explanations/{job_id}/components/0")
    assert gone.status_code == 404 and "deleted" in gone.json()["detail"]


def test_a_cancelled_job_answers_the_same_for_everything_it_had(api, tagger):
    """One state, one answer: what a cancelled job had is deleted, and each of its resources says so."""
    from tests.integration.test_explain_end_to_end import submit_tones

    job_id = submit_tones(api, tagger).json()["id"]  # no worker: it stays queued
    assert api.call("DELETE", f"/explanations/{job_id}").status_code == 204
    for path in ("samples", "spectrogram", "waveforms", "audio", "original", "components/0", "sources/bass"):
        gone = api.call("GET", f"/explanations/{job_id}/{path}")
        assert gone.status_code == 404, (path, gone.status_code)
        assert gone.headers["Content-Type"] == "application/problem+json"
        assert "cancelled" in gone.json()["detail"] or "deleted" in gone.json()["detail"], (path, gone.json())
