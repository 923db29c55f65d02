"""Freely licensed clips for studies: short songs written here as MIDI and rendered with FluidSynth.

    PYTHONPATH=. .venv/bin/python bench/study_clips.py      (make study-clips: installs FluidSynth first)

No music can be downloaded on this machine, so six 15-second pieces in six styles (rock, metal,
pop, jazz, electronic, classical) are composed by this script — drums, bass, chords and a lead,
General MIDI instruments — and rendered by FluidSynth (Debian's `fluidsynth`) with the FluidR3 GM
soundfont (Debian's `fluid-soundfont-gm`, MIT licence). The clips are this project's own (CC0).
They land in bench/output/study-clips/ (ignored by git), with each instrument rendered alone
as well (`<clip>.stems/<instrument>.wav`): exact stems, for comparing explanations with them.
"""
from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "output" / "study-clips"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
TICKS = 480  # per quarter note
SECONDS = 15.0
DRUMS = 9  # MIDI channel 10


@dataclass
class Track:
    name: str
    program: int  # General MIDI, 0-based (ignored on the drum channel)
    channel: int
    notes: list[tuple[float, float, int, int]] = field(default_factory=list)  # (beat, beats, pitch, velocity)

    def add(self, beat: float, length: float, pitch: int, velocity: int = 96) -> None:
        self.notes.append((beat, length, pitch, velocity))


def midi_file(tracks: list[Track], tempo: float) -> bytes:
    """A format-1 Standard MIDI File: a tempo track, then one track per instrument."""
    chunks = [_track([(0, b"\xff\x51\x03" + int(60e6 / tempo).to_bytes(3, "big"))])]
    for track in tracks:
        events = [(0, bytes([0xC0 | track.channel, track.program]))]
        for beat, length, pitch, velocity in track.notes:
            start, stop = round(beat * TICKS), round((beat + length) * TICKS) - 1
            events += [(start, bytes([0x90 | track.channel, pitch, velocity])),
                       (stop, bytes([0x80 | track.channel, pitch, 0]))]
        chunks.append(_track(sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 == 0x90))))
    return b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), TICKS) + b"".join(chunks)


def _track(events: list[tuple[int, bytes]]) -> bytes:
    body, now = bytearray(), 0
    for tick, message in events:
        body += _varlen(tick - now) + message
        now = tick
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.insert(0, (value & 0x7F) | 0x80)
    return bytes(out)


KICK, SNARE, HAT, OPEN_HAT, CRASH, RIDE, CLAP = 36, 38, 42, 46, 49, 51, 39


def beats(tempo: float) -> int:
    return int(SECONDS * tempo / 60)


def drums(pattern: str, tempo: float, swing: float = 0.0) -> Track:
    """Named grooves on the drum channel, bar by bar."""
    track = Track("drums", 0, DRUMS)
    for bar in range(beats(tempo) // 4):
        base = 4 * bar
        for eighth in range(8):
            at = base + eighth / 2 + (swing if eighth % 2 else 0.0)
            if pattern in ("rock", "pop", "metal"):
                track.add(at, 0.25, HAT if pattern != "metal" else RIDE, 70)
            if pattern == "electronic" and eighth % 2:
                track.add(at, 0.25, OPEN_HAT, 70)
            if pattern == "jazz" and eighth in (0, 2, 3, 4, 6, 7):
                track.add(at, 0.3, RIDE, 60)
        kicks = {"rock": (0, 2.5), "pop": (0, 2), "metal": tuple(i / 4 for i in range(16)),
                 "electronic": (0, 1, 2, 3), "jazz": (0,)}[pattern]
        for k in kicks:
            track.add(base + k, 0.25, KICK, 110)
        snare = CLAP if pattern == "electronic" else SNARE
        for s in ((1, 3) if pattern != "jazz" else (1.67, 3.67)):
            track.add(base + s, 0.25, snare, 105 if pattern != "jazz" else 50)
        if bar % 4 == 0 and pattern in ("rock", "metal", "pop"):
            track.add(base, 1, CRASH, 90)
    return track


def chords(name: str, program: int, channel: int, progression, tempo: float, rhythm: list[float],
           length: float, velocity: int = 80) -> Track:
    track = Track(name, program, channel)
    for bar in range(beats(tempo) // 4):
        for pitch in progression[bar % len(progression)]:
            for at in rhythm:
                track.add(4 * bar + at, length, pitch, velocity)
    return track


def line(name: str, program: int, channel: int, tempo: float, phrase: list[tuple[float, float, int]],
         bar_beats: int = 4, bars: int = 4, velocity: int = 90, transpose=(0,)) -> Track:
    """A phrase of `bars` bars repeated, transposed per repeat."""
    track = Track(name, program, channel)
    repeats = beats(tempo) // (bar_beats * bars) + 1
    for r in range(repeats):
        for at, length, pitch in phrase:
            beat = r * bar_beats * bars + at
            if beat < beats(tempo):
                track.add(beat, length, pitch + transpose[r % len(transpose)], velocity)
    return track


def power(root: int) -> tuple[int, ...]:
    return (root, root + 7, root + 12)


def rock() -> tuple[list[Track], float]:
    tempo = 120.0
    roots = [40, 48, 50, 45]  # E C D A
    guitar = chords("guitar", 29, 0, [power(r + 12) for r in roots], tempo, [i / 2 for i in range(8)], 0.45, 95)
    bass = chords("bass", 33, 1, [(r,) for r in roots], tempo, [i / 2 for i in range(8)], 0.45, 100)
    lead = line("lead", 27, 2, tempo, [(0, 1, 71), (1, 0.5, 69), (1.5, 1.5, 67), (4, 2, 64), (8, 1, 72),
                                     (9, 1, 71), (10, 2, 67), (12, 3, 69)])
    return [drums("rock", tempo), bass, guitar, lead], tempo


def metal() -> tuple[list[Track], float]:
    tempo = 160.0
    roots = [40, 40, 43, 38]
    guitar = chords("guitar", 30, 0, [power(r) for r in roots], tempo, [i / 4 for i in range(16)], 0.2, 110)
    bass = chords("bass", 34, 1, [(r - 12,) for r in roots], tempo, [i / 2 for i in range(8)], 0.45, 105)
    return [drums("metal", tempo), bass, guitar], tempo


def pop() -> tuple[list[Track], float]:
    tempo = 100.0
    progression = [(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)]  # C G Am F
    piano = chords("piano", 0, 0, progression, tempo, [0, 1, 2, 3], 0.9, 70)
    bass = chords("bass", 33, 1, [(c[0] - 24,) for c in progression], tempo, [0, 2, 2.5], 0.9, 90)
    voice = line("voice", 53, 2, tempo, [(0, 1.5, 72), (1.5, 0.5, 74), (2, 2, 76), (4, 3, 74), (8, 1, 72),
                                       (9, 1, 71), (10, 2, 69), (12, 3, 67)], velocity=100)
    return [drums("pop", tempo), bass, piano, voice], tempo


def jazz() -> tuple[list[Track], float]:
    tempo = 140.0
    progression = [(50, 53, 57, 60), (55, 59, 62, 65), (48, 52, 55, 59), (48, 52, 55, 59)]  # Dm7 G7 Cmaj7
    piano = chords("piano", 0, 0, progression, tempo, [0.67, 2.33], 0.6, 65)
    walk = [(0, 1, 38), (1, 1, 41), (2, 1, 45), (3, 1, 43), (4, 1, 43), (5, 1, 47), (6, 1, 50), (7, 1, 49),
            (8, 1, 48), (9, 1, 47), (10, 1, 45), (11, 1, 43), (12, 1, 48), (13, 1, 50), (14, 1, 52), (15, 1, 47)]
    bass = line("bass", 32, 1, tempo, walk, velocity=95)
    sax = line("sax", 65, 2, tempo, [(0.67, 0.8, 74), (1.67, 0.3, 72), (2, 1.5, 69), (4.67, 1, 71), (6, 2, 67),
                                   (8.67, 0.8, 72), (10, 2, 76), (12.67, 2.5, 74)], velocity=85)
    return [drums("jazz", tempo, swing=0.17), bass, piano, sax], tempo


def electronic() -> tuple[list[Track], float]:
    tempo = 128.0
    bassline = [(i / 2, 0.4, p) for i, p in enumerate([36, 36, 48, 36, 39, 36, 46, 36] * 4)]
    bass = line("bass", 38, 1, tempo, bassline, bars=4, transpose=(0, 0, 5, 3), velocity=110)
    pads = chords("pad", 89, 0, [(60, 63, 67), (60, 63, 67), (65, 68, 72), (63, 67, 70)], tempo, [0], 3.9, 60)
    lead = line("lead", 81, 2, tempo, [(i * 0.75, 0.5, p) for i, p in enumerate([72, 75, 79, 75, 84, 79, 75, 72])]
                + [(8 + i * 0.75, 0.5, p) for i, p in enumerate([77, 80, 84, 80, 82, 79, 75, 79])], velocity=85)
    return [drums("electronic", tempo), bass, pads, lead], tempo


def classical() -> tuple[list[Track], float]:
    tempo = 80.0
    progression = [(55, 62, 67, 71), (52, 60, 64, 67), (57, 60, 64, 69), (50, 57, 62, 66)]  # G Em Am D
    strings = chords("strings", 48, 0, progression, tempo, [0, 2], 1.95, 70)
    cello = chords("cello", 42, 1, [(c[0] - 12,) for c in progression], tempo, [0, 1, 2, 3], 0.95, 80)
    violin = line("violin", 40, 2, tempo, [(0, 1, 74), (1, 1, 76), (2, 2, 78), (4, 1.5, 79), (5.5, 0.5, 78),
                                         (6, 2, 76), (8, 1, 72), (9, 1, 71), (10, 2, 69), (12, 4, 74)], velocity=85)
    return [strings, cello, violin], tempo


PIECES = {"rock": rock, "metal": metal, "pop": pop, "jazz": jazz, "electronic": electronic, "classical": classical}


def render(midi: bytes, destination: Path) -> None:
    source = destination.with_suffix(".mid")
    source.write_bytes(midi)
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", "44100", "-F", str(destination),
                    str(SOUNDFONT), str(source)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    source.unlink()


def build(out: Path = OUT) -> list[Path]:
    """Every piece as a 44.1 kHz stereo WAV, and its instruments alone; those present are kept."""
    if shutil.which("fluidsynth") is None or not SOUNDFONT.is_file():
        raise SystemExit("fluidsynth and the FluidR3 GM soundfont are needed: `make study-clips` installs them "
                         "(apt-get install fluidsynth fluid-soundfont-gm)")
    out.mkdir(parents=True, exist_ok=True)
    clips = []
    for name, compose in PIECES.items():
        clip = out / f"{name}.wav"
        tracks, tempo = compose()
        if not clip.is_file():
            stems = out / f"{name}.stems"
            stems.mkdir(exist_ok=True)
            parts = [stems / f"{track.name}.wav" for track in tracks]
            render(midi_file(tracks, tempo), clip)
            for track, part in zip(tracks, parts):
                render(midi_file([track], tempo), part)
            _normalise(clip, parts)
        clips.append(clip)
    return clips


def _normalise(clip: Path, parts: list[Path], peak: float = 0.7) -> None:
    """The mix to a peak of 0.7 (FluidSynth's level depends on the piece), its stems by the same gain."""
    import numpy as np
    import soundfile

    mix, rate = soundfile.read(clip, dtype="float32")
    gain = peak / max(float(np.abs(mix).max()), 1e-9)
    for path in [clip, *parts]:
        audio, _ = soundfile.read(path, dtype="float32")
        soundfile.write(path, np.clip(audio * gain, -1, 1), rate, subtype="PCM_16")


if __name__ == "__main__":
    for path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(path)
