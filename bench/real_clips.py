"""Real recorded music for judging explanations on clips nothing was tuned on: ten 30-second excerpts.

    PYTHONPATH=. .venv/bin/python bench/real_clips.py          (make real-clips)

No music can be downloaded from the web on this machine, but Debian's archive carries the
soundtracks of free games, produced as real music (mixed, mastered, OGG Vorbis): X-Moto's seven
(xmoto-data: rock, electronic, funk…) and Frozen Bubble's three (frozen-bubble-data). This script
fetches both packages with `apt-get download` (nothing is installed), unpacks their music, and cuts
one 30-second excerpt from the middle of each track into bench/output/real-clips/<name>.wav
(44.1 kHz stereo, 16 bit), ignored by git. The tracks keep their packages' licences (GPL), and are
used here only as test input. The clips are listed in CLIPS, in a fixed order.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "output" / "real-clips"
SECONDS = 30.0
PACKAGES = {"xmoto-data": "usr/share/games/xmoto/Textures/Musics",
            "frozen-bubble-data": "usr/share/games/frozen-bubble/snd"}
CLIPS = {  # name -> (package, file in its music folder)
    "madeira-stew": ("xmoto-data", "MadeiraStew.ogg"), "batcave": ("xmoto-data", "batcave.ogg"),
    "foxrun": ("xmoto-data", "foxrun.ogg"), "legolodio": ("xmoto-data", "legolodio.ogg"),
    "menu": ("xmoto-data", "menu.ogg"), "ridealong": ("xmoto-data", "ridealong.ogg"),
    "speeditup": ("xmoto-data", "speeditup.ogg"), "frozen-main-1p": ("frozen-bubble-data", "frozen-mainzik-1p.ogg"),
    "frozen-main-2p": ("frozen-bubble-data", "frozen-mainzik-2p.ogg"),
    "frozen-intro": ("frozen-bubble-data", "introzik.ogg"),
}


def paths() -> list[Path]:
    return [OUT / f"{name}.wav" for name in CLIPS]


def fetch(folder: Path) -> dict[str, Path]:
    """Each package downloaded and unpacked under `folder`; its music folder."""
    music = {}
    for package, inside in PACKAGES.items():
        subprocess.run(["apt-get", "download", package], cwd=folder, check=True, capture_output=True)
        deb = next(folder.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(folder / package)], check=True)
        music[package] = folder / package / inside
    return music


def excerpt(source: Path, target: Path) -> None:
    """SECONDS from the middle of a track, as 44.1 kHz stereo 16-bit WAV."""
    import soundfile  # noqa: PLC0415 - from the project's virtualenv

    waveform, rate = soundfile.read(source, dtype="float32", always_2d=True)
    length = int(SECONDS * rate)
    start = max(0, (len(waveform) - length) // 2)
    clip = waveform[start:start + length]
    if clip.shape[1] == 1:
        clip = clip.repeat(2, axis=1)
    if rate != 44100:
        raise SystemExit(f"{source.name} is at {rate} Hz; this script expects 44.1 kHz")
    soundfile.write(target, clip, rate, subtype="PCM_16")


def main() -> None:
    if all(path.is_file() for path in paths()):
        print(f"{len(CLIPS)} real clips in {OUT}")
        return
    if shutil.which("apt-get") is None:
        sys.exit("apt-get is needed to fetch the game soundtracks from Debian's archive")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        music = fetch(Path(folder))
        for name, (package, file) in CLIPS.items():
            excerpt(music[package] / file, OUT / f"{name}.wav")
            print(f"  {name}: {package} {file}")
    print(f"{len(CLIPS)} real clips in {OUT}")


if __name__ == "__main__":
    main()
