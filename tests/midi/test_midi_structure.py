"""midi.structure: bar repetition, bar distances and downbeat onsets on pieces with known answers."""
import numpy as np
import pytest

from midi.metrics import compare
from midi.roll import PianoRoll
from midi.structure import (DISTANCE_BINS, NEAR, downbeat_onsets, jaccard_distances,
                            structure_features)

BAR = 4  # steps of a bar: 1 step per beat, 4 beats


def piece(bars, pitches=8):
    """A roll of 1 step per beat whose bar u starts the notes ``bars[u]`` (lists of
    (step, pitch)), each one step long."""
    play = np.zeros((len(bars) * BAR, pitches), bool)
    for u, notes in enumerate(bars):
        for step, pitch in notes:
            play[u * BAR + step, pitch] = True
    return PianoRoll(play, steps_per_beat=1)


A, B, C = [(0, 1), (2, 3)], [(1, 5), (3, 6)], [(0, 1), (2, 3), (3, 7)]


def test_jaccard_distances_by_hand():
    bars = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], bool)
    expected = [[0, 2 / 3, 1, 1], [2 / 3, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]]
    np.testing.assert_allclose(jaccard_distances(bars), expected)


def test_a_piece_of_one_bar_repeated_repeats_every_bar():
    features = structure_features(piece([A] * 6))
    assert features["repeated_bars"][0] == 1.0
    assert features["bar_distances"][0] == 1.0  # every pair at distance 0
    assert features["bar_distances"].shape == (DISTANCE_BINS,)


def test_repeats_and_near_repeats_are_counted_after_the_first_bar():
    # A B A C: the third bar repeats the first, the fourth is 1/3 from it (above NEAR)
    features = structure_features(piece([A, B, A, C]))
    assert 1 / 3 > NEAR
    assert features["repeated_bars"][0] == pytest.approx(1 / 3)
    # pairs: AB 1, AA 0, AC 1/3, BA 1, BC 1, AC 1/3 -> bins 0, 3 (x2), 9 (x3)
    expected = np.zeros(DISTANCE_BINS)
    expected[[0, 3, 9]] = [1 / 6, 2 / 6, 3 / 6]
    np.testing.assert_allclose(features["bar_distances"], expected)


def test_a_single_bar_has_no_structure():
    features = structure_features(piece([A]))
    assert features["repeated_bars"][0] == 0 and not features["bar_distances"].any()


def test_downbeat_onsets_leave_out_each_first_bar():
    stacked = piece([[(0, p) for p in range(8)]] + [[(0, p) for p in range(6)] + [(2, 7)]] * 2)
    result = downbeat_onsets([stacked])
    assert result == {"downbeat": 6.0, "other": pytest.approx(1 / 3), "ratio": pytest.approx(18)}
    with pytest.raises(ValueError, match="two bars"):
        downbeat_onsets([piece([A])])


def test_compare_with_structure_tells_repeating_from_random_pieces():
    rng = np.random.RandomState(0)

    def random_bar():
        return [(int(rng.randint(BAR)), int(rng.randint(8))) for _ in range(3)]

    repeating = [piece([A, B, A, B] * 4) for _ in range(6)] + [piece([B, A, B, A] * 4)] * 2
    random = [piece([random_bar() for _ in range(16)]) for _ in range(8)]
    same = compare(repeating, [piece([A, B, A, B] * 4)] * 4, beats_per_bar=4, structure=True)
    other = compare(repeating, random, beats_per_bar=4, structure=True)
    assert same["repeated_bars"]["overlap"] > 0.9
    assert other["repeated_bars"]["overlap"] < 0.1
    assert other["structure_overlap"] < same["structure_overlap"]
    assert "structure_overlap" not in compare(repeating, random, beats_per_bar=4)

