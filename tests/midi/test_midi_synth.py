"""midi.synth: the built-in synthesizer against closed forms: the tempo map in seconds,
a note's pitch and length, silence, and a refusal before a too-long mix is allocated."""
from __future__ import annotations

import wave

import numpy as np
import pytest

from midi.errors import MidiTooLongError
from midi.reader import read_midi
from midi.synth import SAMPLE_RATE, synthesize, synthesize_file, tick_seconds
from midi_factories import conductor, midi_file, note_track, save


def test_ticks_to_seconds_follow_the_tempo_map(tmp_path):
    # 480 ticks a beat; 120 bpm (0.5 s a beat) for 2 beats, then 60 bpm (1 s a beat)
    path = save(midi_file(conductor(tempos=[(0, 120), (960, 60)]),
                          note_track([(60, 0, 480)])), tmp_path / "a.mid")
    events = read_midi(str(path))
    assert tick_seconds(events, [0, 480, 960, 1440, 2400]).tolist() == pytest.approx(
        [0.0, 0.5, 1.0, 2.0, 4.0])


def test_a_note_sounds_at_its_pitch_for_its_length(tmp_path):
    path = save(midi_file(conductor(), note_track([(69, 0, 960)])), tmp_path / "a4.mid")
    audio = synthesize(read_midi(str(path)))  # A4 for two beats at 120 bpm: 1 s
    spectrum = np.abs(np.fft.rfft(audio[:SAMPLE_RATE]))
    assert np.fft.rfftfreq(SAMPLE_RATE, 1 / SAMPLE_RATE)[spectrum.argmax()] == pytest.approx(
        440, abs=1)
    assert 1.0 < len(audio) / SAMPLE_RATE < 1.1  # its length and the release
    assert np.abs(audio).max() <= 0.9 and np.abs(audio[:SAMPLE_RATE]).max() > 0.01
    synthesize_file(path, tmp_path / "a4.wav")
    with wave.open(str(tmp_path / "a4.wav")) as written:
        assert (written.getnchannels(), written.getsampwidth(),
                written.getframerate()) == (1, 2, SAMPLE_RATE)
        assert written.getnframes() == len(audio)


def test_drums_are_left_out_and_silence_stays_silent(tmp_path):
    path = save(midi_file(conductor(), note_track([(38, 0, 480)], channel=9)), tmp_path / "d.mid")
    assert not synthesize(read_midi(str(path))).any()


def test_a_mix_longer_than_allowed_is_refused_before_it_is_made(tmp_path):
    path = save(midi_file(conductor(), note_track([(60, 0, 480 * 4000)])), tmp_path / "long.mid")
    with pytest.raises(MidiTooLongError, match="seconds of audio, over the limit of 60"):
        synthesize(read_midi(str(path)), max_seconds=60)
