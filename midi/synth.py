"""A small built-in synthesizer: MIDI files to WAV audio with NumPy alone.

Used where FluidSynth is not installed, so that generated music can always be heard.
Each note is a plucked-string-like tone: four harmonics (amplitudes 1, 0.5, 0.25,
0.125, those above the Nyquist frequency left out) under an envelope of a 10 ms attack,
an exponential decay (faster for high notes) and a 60 ms release after the note-off,
scaled by its velocity. Times come from the file's tempo map, so a ritardando is heard.
Drums (channel 10) are left out. The mix is scaled so that its peak is at most 0.9 and
written as 16-bit mono PCM.
"""
from __future__ import annotations

import wave

import numpy as np

from .atomic import write_atomically
from .encode import DRUM_CHANNEL
from .errors import MidiTooLongError
from .events import MidiEvents
from .reader import read_midi
from .roll import DEFAULT_TEMPO

SAMPLE_RATE = 22050
HARMONICS = (1.0, 0.5, 0.25, 0.125)
ATTACK, RELEASE = 0.01, 0.06  # seconds
PEAK = 0.9
MAX_SECONDS = 20 * 60
"""Longest audio made by default (20 minutes, 53 MB of float64 while mixing)."""


def tick_seconds(events: MidiEvents, ticks) -> np.ndarray:
    """Seconds from the start of each tick in ``ticks``, through the tempo map."""
    ticks = np.asarray(ticks, np.float64)
    rows = events.tempos.reshape(-1, 2)
    if not len(rows) or rows[0, 0] > 0:
        rows = np.vstack([[(0, DEFAULT_TEMPO)], rows])
    _, last = np.unique(rows[::-1, 0], return_index=True)  # the last change at each tick
    rows = rows[len(rows) - 1 - last]
    at, per_tick = rows[:, 0].astype(np.float64), rows[:, 1] / 1e6 / events.ticks_per_beat
    begins = np.concatenate([[0.0], np.cumsum(np.diff(at) * per_tick[:-1])])
    index = np.searchsorted(at, ticks, side="right") - 1
    return begins[index] + (ticks - at[index]) * per_tick[index]


def synthesize(events: MidiEvents, sample_rate: int = SAMPLE_RATE,
               max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """The audio (float64 samples in [-0.9, 0.9], mono) of parsed MIDI ``events``.

    Audio longer than ``max_seconds`` raises :class:`midi.MidiTooLongError` before it
    is allocated.
    """
    keep = events.channels != DRUM_CHANNEL
    starts = tick_seconds(events, events.starts[keep])
    ends = np.maximum(tick_seconds(events, events.ends[keep]), starts + 0.02)
    pitches, velocities = events.pitches[keep], events.velocities[keep]
    length = float(ends.max(initial=0.0)) + RELEASE
    if length > max_seconds:
        raise MidiTooLongError(events.source, f"{length:.0f} seconds of audio, over the limit "
                                              f"of {max_seconds:.0f}", int(length),
                               int(max_seconds), "seconds")
    audio = np.zeros(int(np.ceil(length * sample_rate)) + 1)
    for start, end, pitch, velocity in zip(starts, ends, pitches, velocities):
        tone = _note(end - start, float(pitch), velocity / 127.0, sample_rate)
        first = int(start * sample_rate)
        audio[first:first + len(tone)] += tone[:len(audio) - first]
    peak = np.abs(audio).max(initial=0.0)
    return audio * (PEAK / peak) if peak > PEAK else audio


def _note(duration: float, pitch: float, loudness: float, sample_rate: int) -> np.ndarray:
    """One note of ``duration`` seconds (plus its release) at MIDI ``pitch``."""
    count = int((duration + RELEASE) * sample_rate)
    t = np.arange(count) / sample_rate
    frequency = 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)
    tone = sum(amplitude * np.sin(2 * np.pi * number * frequency * t)
               for number, amplitude in enumerate(HARMONICS, 1)
               if number * frequency < sample_rate / 2)
    decay = 1.0 + frequency / 400.0  # per second: high notes fade sooner, as strings do
    envelope = np.minimum(t / ATTACK, 1.0) * np.exp(-decay * t)
    released = t > duration
    envelope[released] *= np.maximum(1.0 - (t[released] - duration) / RELEASE, 0.0)
    return 0.2 * loudness * tone * envelope


def write_wav(samples: np.ndarray, path, sample_rate: int = SAMPLE_RATE) -> None:
    """Write float samples in [-1, 1] as a 16-bit mono WAV file, atomically."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()

    def write(stream):
        with wave.open(stream, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            out.writeframes(pcm)
    write_atomically(path, write)


def synthesize_file(midi_path, wav_path, sample_rate: int = SAMPLE_RATE) -> None:
    """Render the MIDI file ``midi_path`` to ``wav_path`` with the built-in synthesizer."""
    write_wav(synthesize(read_midi(midi_path), sample_rate), wav_path, sample_rate)
