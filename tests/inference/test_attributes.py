"""Attribute vectors: quartile means of the posterior, stored beside a run, moving z."""
import json

import numpy as np
import pytest

import chainer_vae  # noqa: F401
from chainer_vae.errors import ConfigError, DamagedFile
from chainer_vae.inference import attributes
from midi.attributes import ATTRIBUTES

MUSIC = dict(steps_per_beat=1, low=60, note_state=True)
PITCHES = 6


def windows_with_notes(counts):
    """Note-state windows (8 steps, 2 x 6 columns) starting ``count`` one-step notes on
    the lowest pitch, one per step."""
    x = np.zeros((len(counts), 8, 2 * PITCHES), np.float32)
    for i, count in enumerate(counts):
        x[i, :count, 0] = x[i, :count, PITCHES] = 1  # play | onset of pitch 60
    return x


def test_a_vector_is_the_top_quartile_mean_code_minus_the_bottom_one(monkeypatch):
    counts = np.array([1, 2, 3, 4, 5, 6, 7, 8])
    codes = np.stack([counts * 10.0, np.ones(8)], axis=1).astype(np.float32)
    monkeypatch.setattr(attributes.sampling, "encode", lambda model, x, batch: codes)
    found = attributes.attribute_vectors(None, windows_with_notes(counts), MUSIC)
    # two windows a quartile: notes per bar (2 bars) 0.5, 1 against 3.5, 4
    np.testing.assert_allclose(found.vectors["note_density"], [(75 - 15), 0])
    assert (found.low["note_density"], found.high["note_density"]) == (0.75, 3.75)
    assert found.windows == 8 and set(found.vectors) == set(ATTRIBUTES)


def test_empty_windows_are_left_out_of_the_mean_pitch(monkeypatch):
    counts = np.array([0, 0, 1, 2, 3, 4, 5, 6])
    codes = np.stack([np.arange(8.0), np.zeros(8)], axis=1).astype(np.float32)
    monkeypatch.setattr(attributes.sampling, "encode", lambda model, x, batch: codes)
    found = attributes.attribute_vectors(None, windows_with_notes(counts), MUSIC)
    assert np.isfinite(found.vectors["mean_pitch"]).all()
    assert found.low["mean_pitch"] == found.high["mean_pitch"] == 60.0


def test_vectors_are_stored_beside_the_run_and_read_back(tmp_path):
    stored = attributes.AttributeVectors({"note_density": np.array([1.5, -2], np.float32)},
                                         {"note_density": 1.0}, {"note_density": 3.0}, 40)
    path = attributes.save(stored, tmp_path)
    assert path == tmp_path / "attributes.json" and not list(tmp_path.glob(".*"))
    back = attributes.load(tmp_path)
    np.testing.assert_array_equal(back.vectors["note_density"], [1.5, -2])
    assert (back.low, back.high, back.windows) == (stored.low, stored.high, 40)
    z = attributes.shift(np.zeros((2, 2)), back, {"density": -2})
    np.testing.assert_array_equal(z, [[-3, 4], [-3, 4]])
    path.write_text(json.dumps({"attributes": {"x": {}}}))
    with pytest.raises(DamagedFile, match="attributes.json: not an attributes file"):
        attributes.load(tmp_path)


def test_a_run_without_vectors_says_how_to_compute_them(tmp_path):
    with pytest.raises(ConfigError, match="compute them with: chainer-vae attributes"):
        attributes.load(tmp_path)


@pytest.mark.parametrize("text", ["loudness", "pitch", ""])
def test_unknown_or_ambiguous_names_list_the_known_ones(text):
    with pytest.raises(ConfigError, match="known: note_density, mean_pitch, pitch_range"):
        attributes.attribute_name(text)
    assert attributes.attribute_name("scale") == "in_scale"
