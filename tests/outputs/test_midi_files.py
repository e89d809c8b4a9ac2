"""chainer_vae.outputs.midi_files: piano-roll samples as MIDI files with their pictures."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (installs the compatibility shim before chainer)
import numpy as np
import pytest

from chainer_vae.errors import ConfigError
from chainer_vae.outputs import midi_files

from tiny_models import note_ons

PNG = b"\x89PNG\r\n\x1a\n"


def test_write_midi_samples(tmp_path):
    rng = np.random.RandomState(0)
    probabilities = rng.rand(3, 16, 2 * 78).astype(np.float32) * 0.4  # some above 0.2
    paths = midi_files.write_midi_samples(probabilities, tmp_path / "out", threshold=0.2)
    assert [p.name for p in paths] == ["sample_000.mid", "sample_001.mid", "sample_002.mid"]
    for path in paths:
        assert len(note_ons(path)) > 0
        assert path.with_suffix(".png").read_bytes().startswith(PNG)
    silent = midi_files.write_midi_samples([np.zeros((8, 156), np.float32)], tmp_path / "q",
                                          prefix="quiet")
    assert note_ons(silent[0]) == []
    # A stricter threshold keeps fewer notes.
    strict = midi_files.write_midi_samples(probabilities[:1], tmp_path / "s", threshold=0.35)
    assert len(note_ons(strict[0])) < len(note_ons(paths[0]))
    with pytest.raises(ConfigError):
        midi_files.write_midi_samples([np.zeros((8, 7), np.float32)], tmp_path / "bad")


def test_the_piano_roll_beside_a_midi_file_is_drawn_on_its_grid_and_layout(tmp_path,
                                                                            monkeypatch):
    """A benchmark roll (T, 88), one step a beat, is drawn as 88 keys on that grid, not
    as a note state of 44 pitches at 4 steps a beat."""
    drawn = {}

    def record(array, path, **options):
        drawn.update(options, shape=np.asarray(array).shape)

    monkeypatch.setattr(midi_files, "plot_piano_roll", record)
    roll = np.zeros((8, 88), np.float32)
    roll[:, 39] = 1
    midi_files.write_midi_samples([roll], tmp_path, steps_per_beat=1, low=21,
                                  note_state=False, threshold=0.5)
    assert (drawn["steps_per_beat"], drawn["note_state"], drawn["low"]) == (1, False, 21)
    assert drawn["shape"] == (8, 88)
