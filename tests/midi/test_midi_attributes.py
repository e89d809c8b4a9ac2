"""midi.attributes: the qualities attribute vectors steer, on a piece with known answers."""
import numpy as np
import pytest

from midi.attributes import ATTRIBUTES, attribute_table, piece_attributes
from midi.roll import PianoRoll


def test_piece_attributes_by_hand():
    play = np.zeros((8, 12), bool)  # two bars of 1 step per beat, pitches 24..35
    play[0, [0, 4, 7]] = True   # C E G together, one step
    play[4:6, 2] = True         # D, two steps
    roll = PianoRoll(play, steps_per_beat=1, low=24)
    found = piece_attributes(roll)
    assert found == {"note_density": 2.0, "mean_pitch": pytest.approx(24 + 13 / 4),
                     "pitch_range": 7.0, "polyphony": pytest.approx(5 / 3), "in_scale": 1.0}
    empty = attribute_table([PianoRoll(np.zeros((8, 12), bool), steps_per_beat=1)])
    assert empty.shape == (1, len(ATTRIBUTES)) and np.isnan(empty[0, 1])
