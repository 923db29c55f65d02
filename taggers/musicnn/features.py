"""musicnn's input: the log-mel spectrogram of a mono 16 kHz waveform, cut into 3-second patches.

This is musicnn 0.1.0's own preprocessing (`musicnn/extractor.py: batch_data`), computed with numpy
instead of librosa, and checked against it bit for bit with librosa 0.11 and numpy 1.26 (the log-mel
is identical on the example clip and on noise of 1 to 100,000 samples):

    mel   = librosa.feature.melspectrogram(y, sr=16000, n_fft=512, hop_length=256, n_mels=96).T
          = |STFT|² (periodic Hann window, centred frames, zero padding: librosa ≥ 0.10's
            pad_mode='constant'; librosa < 0.10 reflected the edges, which moves the example clip's
            scores by under 0.001) through librosa's default
            mel filterbank (Slaney mel scale, Slaney area normalisation, 0–8000 Hz), in float32
    log   = log10(10000 · float16(mel) + 1), in float32 (numpy 1.x promotes float16 · 10000 to float32)

Patches are 187 frames (3 s) long, start every 187 frames and the last partial patch is dropped,
exactly as the extractor does with its default input_length=3, input_overlap=False. A clip shorter
than one patch (under 47,616 samples) makes the extractor fail; here its spectrogram is
repeat-padded to one patch instead, as musicnn-training did for short clips (the model's own
config.json says "pad_short": "repeat-pad").
"""
from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 16000  # musicnn/configuration.py: SR, FFT_SIZE, FFT_HOP, N_MELS
FFT_SIZE = 512
FFT_HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
LOG_SCALE = 10000.0
# Slaney's mel scale, with librosa's constants (computed the same way, so the filterbank is equal)
MEL_HZ = 200.0 / 3  # Hz per mel below 1 kHz
MIN_LOG_HZ = 1000.0
MIN_LOG_MEL = MIN_LOG_HZ / MEL_HZ
LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(freqs: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above."""
    freqs = np.asarray(freqs, dtype=np.float64)
    log_part = MIN_LOG_MEL + np.log(np.maximum(freqs, MIN_LOG_HZ) / MIN_LOG_HZ) / LOG_STEP
    return np.where(freqs >= MIN_LOG_HZ, log_part, freqs / MEL_HZ)


def mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asarray(mels, dtype=np.float64)
    log_part = MIN_LOG_HZ * np.exp(LOG_STEP * (mels - MIN_LOG_MEL))
    return np.where(mels >= MIN_LOG_MEL, log_part, MEL_HZ * mels)


@functools.cache
def mel_filterbank() -> np.ndarray:
    """(96, 257) float32 triangles, equal to librosa.filters.mel(sr=16000, n_fft=512, n_mels=96)."""
    fft_freqs = np.fft.rfftfreq(FFT_SIZE, 1.0 / SAMPLE_RATE)
    mel_freqs = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    widths = np.diff(mel_freqs)
    ramps = mel_freqs[:, None] - fft_freqs[None, :]
    rising, falling = -ramps[:-2] / widths[:-1, None], ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)
    area = 2.0 / (mel_freqs[2:] - mel_freqs[:-2])  # Slaney: each triangle has the same area
    return (weights * area[:, None]).astype(np.float32)


@functools.cache
def hann_window() -> np.ndarray:
    """The periodic Hann window, as scipy.signal.get_window('hann', 512) computes it."""
    phase = np.linspace(-np.pi, np.pi, FFT_SIZE + 1)[:-1]
    return 0.5 + 0.5 * np.cos(phase)


def log_mel(waveform: np.ndarray) -> np.ndarray:
    """(frames, 96) float32 log-mel of one mono 16 kHz waveform; frames = 1 + len // 256."""
    samples = np.pad(np.asarray(waveform, dtype=np.float32), FFT_SIZE // 2)
    frames = np.lib.stride_tricks.sliding_window_view(samples, FFT_SIZE)[::FFT_HOP]
    spectrum = np.fft.rfft(frames * hann_window(), axis=1).astype(np.complex64)
    power = np.abs(spectrum) ** 2  # float32, (frames, 257)
    mel = np.dot(mel_filterbank(), power.T).T  # this operand order sums as librosa's einsum does
    return np.log10(LOG_SCALE * mel.astype(np.float16).astype(np.float32) + 1.0)


def patches(spectrogram: np.ndarray) -> np.ndarray:
    """(patches, 187, 96): consecutive non-overlapping patches, the partial last one dropped."""
    if len(spectrogram) < PATCH_FRAMES:
        repeats = -(-PATCH_FRAMES // len(spectrogram))
        spectrogram = np.tile(spectrogram, (repeats, 1))[:PATCH_FRAMES]
    count = len(spectrogram) // PATCH_FRAMES
    return spectrogram[:count * PATCH_FRAMES].reshape(count, PATCH_FRAMES, N_MELS)

