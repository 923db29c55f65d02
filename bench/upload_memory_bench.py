"""Upload memory benchmark: what reading a small file of long audio costs the API and the worker.

For each file (silence as FLAC, a few hundred KB), the peak of Python and numpy allocations
(tracemalloc) and the time of:
  * the API's check, `probe(data, 600)`: streams through in fixed blocks, keeps no samples;
  * the worker's decode, `decode(data, 600)`: one buffer, at most the header's length or the bound.
The files over the limit must cost next to nothing; the 600 s one shows what an accepted clip costs
the worker (its samples) and the API (one block). The API's resident memory under gunicorn, refusing
the same files, is measured by tests/integration/test_upload_memory.py (`pytest -s` prints it).

Run: .venv/bin/python bench/upload_memory_bench.py
"""
from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.codec import decode, probe  # noqa: E402
from engine.errors import InvalidAudioError  # noqa: E402
from tests.long_audio import silent_flac, with_flac_length  # noqa: E402

LIMIT_SECONDS = 600


def measure(call, data: bytes) -> tuple[float, float, str]:
    """Peak MiB allocated, seconds taken, and the outcome of `call(data, LIMIT_SECONDS)`."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        call(data, LIMIT_SECONDS)
        outcome = "accepted"
    except InvalidAudioError as exc:
        outcome = f"refused: {str(exc)[:60]}"
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak, elapsed, outcome


def files(folder: Path) -> dict[str, bytes]:
    three_hours = silent_flac(folder / "3h-8k.flac", 3 * 3600, 8000)
    return {"600 s, 44.1 kHz stereo (the limit)": silent_flac(folder / "600s-44k.flac", LIMIT_SECONDS, 44100, 2),
            "20 min, 44.1 kHz stereo": silent_flac(folder / "20min-44k.flac", 20 * 60, 44100, 2),
            "3 h, 8 kHz mono": three_hours,
            "3 h, header says 10 s": with_flac_length(three_hours, 10 * 8000),
            "3 h, header says unknown": with_flac_length(three_hours, 0)}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'file':36} {'bytes':>9}  {'probe MiB':>9} {'s':>5}  {'decode MiB':>10} {'s':>5}  outcome")
        for name, data in files(Path(folder)).items():
            probe_peak, probe_time, outcome = measure(probe, data)
            decode_peak, decode_time, _ = measure(decode, data)
            print(f"{name:36} {len(data):>9,}  {probe_peak:>9.2f} {probe_time:>5.2f}  {decode_peak:>10.1f} "
                  f"{decode_time:>5.2f}  {outcome}")


if __name__ == "__main__":
    main()
