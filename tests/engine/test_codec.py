import io
import tracemalloc

import numpy as np
import pytest
import soundfile

from engine.codec import AudioInfo, AudioTooLongError, Encoding, decode, encode, encode_batch, probe
from engine.errors import InvalidAudioError, InvalidOptionError
from tests.long_audio import LongAudio, long_audio, with_flac_length


@pytest.mark.parametrize("encoding, tolerance, magic", [
    (Encoding.WAV16, 1 / 32768, b"RIFF"), (Encoding.WAV_FLOAT, 0.0, b"RIFF"), (Encoding.FLAC, 1 / 32768, b"fLaC")])
def test_round_trip(encoding, tolerance, magic):
    waveform = (0.5 * np.sin(np.linspace(0, 100, 4000))).astype(np.float32).reshape(2000, 2)
    data = encode(waveform, 16000, encoding)
    assert data.startswith(magic)
    back, rate = decode(data)
    assert rate == 16000 and back.shape == (2000, 2)
    assert np.max(np.abs(back - waveform)) <= tolerance


def test_integer_encodings_clip_instead_of_wrapping():
    back, _ = decode(encode(np.array([[1.5], [-1.5]], dtype=np.float32), 8000, "wav16"))
    assert back[0, 0] > 0.99 and back[1, 0] < -0.99


def test_unknown_encoding_and_bad_bytes():
    with pytest.raises(InvalidOptionError, match="unknown encoding 'mp3'"):
        encode(np.zeros((10, 1), dtype=np.float32), 8000, "mp3")
    with pytest.raises(InvalidAudioError, match="not a readable audio file"):
        decode(b"this is not audio")
    with pytest.raises(InvalidAudioError, match="empty"):
        decode(b"")


@pytest.mark.parametrize("encoding", list(Encoding))
def test_batch_encoding_matches_single_encoding(encoding):
    mixes = (0.9 * np.sin(np.linspace(0, 300, 3 * 1600 * 2))).astype(np.float32).reshape(3, 1600, 2)
    mixes[0, 0, 0] = 1.7  # out of range: must clip, not wrap
    for data, mix in zip(encode_batch(mixes, 16000, encoding), mixes):
        back, rate = decode(data)
        single, _ = decode(encode(mix, 16000, encoding))
        assert rate == 16000
        np.testing.assert_allclose(back, single, atol=1.5 / 32768)
        expected = mix if encoding is Encoding.WAV_FLOAT else np.clip(mix, -1, 1)
        np.testing.assert_allclose(back, expected, atol=1.5 / 32768)


@pytest.mark.parametrize("encoding", ["wav16", "wav_float", "flac"])
def test_truncated_files_are_refused(encoding):
    data = encode(np.zeros((16000, 1), dtype=np.float32) + 0.1, 16000, encoding)
    with pytest.raises(InvalidAudioError, match="truncated|damaged"):
        decode(data[: len(data) // 2])


# -- decoding within bounds: nothing past the header, nothing past the caller's limit ---------------

MPEG_BITRATES = {True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
                 False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


@pytest.fixture(scope="session")
def long(tmp_path_factory) -> LongAudio:
    return long_audio(tmp_path_factory)


def peak_bytes(call, *args) -> tuple[int, object]:
    """The peak of Python and numpy allocations during `call(*args)`, and its result or exception."""
    tracemalloc.start()
    try:
        outcome = call(*args)
    except InvalidAudioError as exc:
        outcome = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, outcome


def encoded(waveform: np.ndarray, sample_rate: int, **options) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, sample_rate, **options)
    return buffer.getvalue()


def music(seconds: float, sample_rate: int, channels: int = 2) -> np.ndarray:
    """Tone and noise in turns: a VBR encoder spends very different bit rates on them."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    noisy = np.sin(2 * np.pi * t / 3) > 0
    mono = 0.3 * np.sin(2 * np.pi * 440 * t) * ~noisy + 0.3 * np.random.default_rng(0).standard_normal(len(t)) * noisy
    return np.repeat(mono.astype(np.float32)[:, None], channels, axis=1)


def without_info_frame(mp3: bytes) -> bytes:
    """The MP3 with its first frame (LAME's Xing/Info frame: exact length, gapless trim) cut out."""
    start = 10 + (mp3[6] << 21 | mp3[7] << 14 | mp3[8] << 7 | mp3[9]) if mp3[:3] == b"ID3" else 0
    header = int.from_bytes(mp3[start:start + 4], "big")
    assert header >> 21 == 0x7FF and (b"Info" in mp3[start:start + 64] or b"Xing" in mp3[start:start + 64])
    version, mpeg1 = header >> 19 & 3, header >> 19 & 3 == 3
    kbps, rate = MPEG_BITRATES[mpeg1][header >> 12 & 15], MPEG_RATES[version][header >> 10 & 3]
    length = (144 if mpeg1 else 72) * kbps * 1000 // rate + (header >> 9 & 1)
    return mp3[:start] + mp3[start + length:]


@pytest.mark.parametrize("check", [probe, decode])
def test_a_header_longer_than_the_limit_is_refused_before_decoding(long, check):
    peak, outcome = peak_bytes(check, long.three_hours, 600)
    assert isinstance(outcome, AudioTooLongError)
    assert str(outcome) == "the audio is 10800.0 s long; at most 600 s is allowed"
    assert peak < 2**20


@pytest.mark.parametrize("check", [probe, decode])
@pytest.mark.parametrize("id3", [b"", b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16)], ids=["flac", "id3-then-flac"])
def test_a_flac_holding_more_than_its_header_says_is_refused(long, check, id3):
    peak, outcome = peak_bytes(check, id3 + long.lying, 600)
    assert type(outcome) is InvalidAudioError
    assert "holds more than the 80000 frames (10.0 s) its header promises" in str(outcome)
    assert peak < 2**20  # it stopped one block past the promise


def test_a_flac_of_unknown_length_is_read_to_its_end():
    waveform = music(2.5, 8000, channels=1)
    data = encoded(waveform, 8000, format="FLAC")
    unknown = with_flac_length(data, 0)
    assert soundfile.info(io.BytesIO(unknown)).frames == 2**63 - 1  # what libsndfile makes of it
    back, rate = decode(unknown, 600)
    np.testing.assert_array_equal(back, decode(data)[0])
    assert rate == 8000 and probe(unknown, 600) == AudioInfo(20000, 8000, 1)


def test_a_flac_of_unknown_length_past_the_limit_is_refused_at_the_limit(long):
    decoded_peak, outcome = peak_bytes(decode, long.unknown_length, 600)
    assert isinstance(outcome, AudioTooLongError)
    assert str(outcome).startswith("the audio is longer than 600 s (its header does not say how long")
    assert decoded_peak < (600 * 8000 + 1) * 4 + 2**20  # the bound's worth of samples, and no more
    probed_peak, outcome = peak_bytes(probe, long.unknown_length, 600)
    assert isinstance(outcome, AudioTooLongError) and probed_peak < 2**20


@pytest.mark.parametrize("check", [probe, decode])
def test_the_limit_is_inclusive(check):
    data = encoded(music(1.0, 8000), 8000, format="FLAC")
    check(data, 1.0)
    with pytest.raises(AudioTooLongError, match=r"the audio is 1\.0 s long; at most 0\.999 s"):
        check(data, 0.999)


@pytest.mark.parametrize("name, options", [
    ("wav16", {"format": "WAV", "subtype": "PCM_16"}), ("wav-float", {"format": "WAV", "subtype": "FLOAT"}),
    ("flac", {"format": "FLAC"}), ("ogg-vorbis", {"format": "OGG", "subtype": "VORBIS"}),
    ("mp3-cbr", {"format": "MP3", "bitrate_mode": "CONSTANT"}),
    ("mp3-vbr", {"format": "MP3", "bitrate_mode": "VARIABLE", "compression_level": 0.9}),
])
@pytest.mark.parametrize("sample_rate", [8000, 44100])
def test_probe_and_decode_agree_on_the_exact_length(name, options, sample_rate):
    waveform = music(3.3, sample_rate)
    data = encoded(waveform, sample_rate, **options)
    back, rate = decode(data, 600)
    assert back.shape == waveform.shape and back.dtype == np.float32 and rate == sample_rate
    assert probe(data, 600) == AudioInfo(len(waveform), sample_rate, 2)


def test_the_example_clip_decodes_as_libsndfile_reads_it(example_clip):
    data = example_clip.read_bytes()
    reference, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    back, _ = decode(data, 600)
    np.testing.assert_array_equal(back, reference)
    assert probe(data, 600) == AudioInfo(479832, 44100, 2) == AudioInfo(len(reference), rate, 2)


def test_an_mp3_without_an_info_frame_may_fall_short_of_its_estimate(example_clip):
    """mpg123 estimates the length from the file size: 1,054 frames more than decode here, within tolerance."""
    data = without_info_frame(example_clip.read_bytes())
    estimate = soundfile.info(io.BytesIO(data)).frames
    back, _ = decode(data, 600)
    assert 0 < estimate - len(back) <= 2 * 1152
    assert probe(data, 600).frames == len(back)


@pytest.mark.parametrize("check", [probe, decode])
def test_a_truncated_mp3_is_refused(example_clip, check):
    data = example_clip.read_bytes()
    with pytest.raises(InvalidAudioError, match="truncated: its header promises 479832 frames"):
        check(data[: len(data) * 2 // 3])


@pytest.mark.parametrize("check", [probe, decode])
def test_non_finite_samples_are_refused(check):
    waveform = music(0.5, 8000)
    waveform[1234, 1] = np.nan
    with pytest.raises(InvalidAudioError, match="NaN or infinite"):
        check(encoded(waveform, 8000, format="WAV", subtype="FLOAT"))


@pytest.mark.parametrize("check", [probe, decode])
def test_more_than_eight_channels_are_refused_before_decoding(check):
    with pytest.raises(InvalidAudioError, match="9 channels; expected 1 to 8"):
        check(encoded(np.zeros((100, 9), dtype=np.float32), 8000, format="WAV"))
