"""midi.metrics, MGEval's comparison of sets of pieces, on sets with known answers."""
import numpy as np
import pytest

from midi import PianoRoll
from midi.metrics import FEATURES, compare, overlap_and_kl, piece_features

C_MAJOR = np.array([60, 62, 64, 65, 67, 69, 71, 72])


def melody(seed, steps=64):
    """A C major piece: a melody of 1-, 2- and 4-step notes over a held bass note a bar."""
    rng = np.random.RandomState(seed)
    play = np.zeros((steps, 60), bool)
    onset = np.zeros_like(play)
    t = 0
    while t < steps:
        length = min(rng.choice([1, 2, 2, 4]), steps - t)
        pitch = rng.choice(C_MAJOR) - 36
        play[t:t + length, pitch] = onset[t, pitch] = True
        t += length
    for bar in range(0, steps, 16):
        bass = rng.choice([0, 5, 7]) + 12  # C2, F2, G2 above the roll's low 24
        play[bar:bar + 16, bass] = onset[bar, bass] = True
    return PianoRoll(play, onset, steps_per_beat=4, low=24)


REFERENCE = [melody(seed) for seed in range(20)]
OTHERS = [melody(seed) for seed in range(100, 120)]


def transposed(roll, semitones):
    return PianoRoll(np.roll(roll.play, semitones, axis=1), np.roll(roll.onset, semitones, axis=1),
                     steps_per_beat=roll.steps_per_beat, low=roll.low)


def stretched(roll):
    """Every note twice as long: each step played twice, onsets on the first copy."""
    onset = np.zeros((2 * roll.n_steps, roll.n_pitches), bool)
    onset[::2] = roll.onset
    return PianoRoll(np.repeat(roll.play, 2, axis=0), onset, steps_per_beat=roll.steps_per_beat,
                     low=roll.low)


def test_features_of_a_known_piece():
    play = np.zeros((16, 30), bool)
    onset = np.zeros_like(play)
    for start, pitch, length in ((0, 0, 4), (4, 4, 4), (8, 7, 2), (10, 12, 2)):  # C E G C
        play[start:start + length, pitch] = onset[start, pitch] = True
    features = piece_features(PianoRoll(play, onset, steps_per_beat=4, low=60))
    assert features["pitch_count"][0] == 4  # C4, E4, G4 and C5: distinct pitches, not classes
    assert features["pitch_range"][0] == 12
    assert features["pitch_interval"][0] == pytest.approx((4 + 3 + 5) / 3)
    np.testing.assert_allclose(features["pitch_class_histogram"][[0, 4, 7]], [0.5, 0.25, 0.25])
    assert features["inter_onset_interval"][0] == pytest.approx((1 + 1 + 0.5) / 3)
    assert features["note_length_histogram"][2] == 0.5 and features["note_length_histogram"][3] == 0.5
    assert features["notes_per_bar"][0] == 4 and features["in_scale"][0] == 1.0
    assert features["empty_steps"][0] == 4 / 16 and features["polyphony"][0] == 1.0
    transitions = features["pitch_class_transitions"].reshape(12, 12)
    assert transitions[0, 4] == transitions[4, 7] == transitions[7, 0] == pytest.approx(1 / 3)


def test_a_set_against_itself_and_against_others_like_it_overlaps_nearly_whole():
    for other in (REFERENCE, OTHERS):
        result = compare(REFERENCE, other)
        assert result["mean_overlap"] > 0.8, result
        assert set(result) == set(FEATURES) | {"mean_overlap"}


def test_large_sets_are_represented_by_a_draw_of_their_pieces():
    """Sets above ``max_pieces`` are subsampled (the same draw for the same seed), so a
    comparison of 4,000 pieces costs no more memory than one of 500; the answer stays."""
    many = REFERENCE * 3  # 60 pieces
    full = compare(many, OTHERS)
    drawn = compare(many, OTHERS, max_pieces=12)
    assert drawn == compare(many, OTHERS, max_pieces=12)
    assert drawn != compare(many, OTHERS, max_pieces=12, seed=1)
    assert drawn["mean_overlap"] > 0.7 and full["mean_overlap"] > 0.8
    silent = [PianoRoll(np.zeros((64, 60), bool), steps_per_beat=4, low=24)] * 50
    assert compare(many, silent, max_pieces=12)["mean_overlap"] < 0.5


def test_a_transposed_set_loses_its_pitch_features_not_its_timing():
    result = compare(REFERENCE, [transposed(roll, 6) for roll in OTHERS])
    for pitch_feature in ("pitch_class_histogram", "pitch_class_transitions"):
        assert result[pitch_feature]["overlap"] < 0.3, result[pitch_feature]
        assert result[pitch_feature]["kl"] > 1.0
    for kept in ("inter_onset_interval", "note_length_histogram", "pitch_range", "in_scale"):
        assert result[kept]["overlap"] > 0.6, (kept, result[kept])


def test_a_stretched_set_loses_its_timing_features_not_its_pitches():
    result = compare(REFERENCE, [stretched(roll) for roll in OTHERS])
    for timing in ("inter_onset_interval", "note_length_histogram"):
        assert result[timing]["overlap"] < 0.3, (timing, result[timing])
    for kept in ("pitch_class_histogram", "pitch_range", "pitch_interval"):
        assert result[kept]["overlap"] > 0.6, (kept, result[kept])


def test_silence_resembles_no_music():
    silence = [PianoRoll(np.zeros((64, 60), bool), steps_per_beat=4, low=24)] * 5
    assert compare(REFERENCE, silence)["mean_overlap"] < 0.3
    assert piece_features(silence[0])["empty_steps"][0] == 1.0


def test_overlap_of_known_distributions():
    rng = np.random.RandomState(0)
    same = overlap_and_kl(rng.normal(0, 1, 4000), rng.normal(0, 1, 4000))
    apart = overlap_and_kl(rng.normal(0, 1, 4000), rng.normal(10, 1, 4000))
    half = overlap_and_kl(rng.normal(0, 1, 4000), rng.normal(1.349, 1, 4000))
    assert same[0] > 0.95 and same[1] < 0.02
    assert apart[0] < 0.01 and apart[1] > 10
    assert half[0] == pytest.approx(0.5, abs=0.05)  # 2 Phi(-1.349 / 2) = 0.5
    assert overlap_and_kl([1.0, 1.0], [1.0, 1.0])[0] == pytest.approx(1.0)


def test_a_reference_of_one_piece_is_refused():
    with pytest.raises(ValueError, match="at least two"):
        compare(REFERENCE[:1], OTHERS)


def test_midi_roll_compare_prints_the_table_and_json(tmp_path, capsys):
    import json

    from midi import roll_to_midi, save_roll
    from midi.cli import main

    for name, rolls in (("real", REFERENCE[:6]), ("moved", [transposed(r, 6) for r in OTHERS[:6]])):
        (tmp_path / name).mkdir()
        for index, roll in enumerate(rolls):
            if index % 2:  # MIDI files and rolls alike
                roll_to_midi(roll, tmp_path / name / "{}.mid".format(index))
            else:
                save_roll(roll, tmp_path / name / "{}.npz".format(index))
    assert main(["compare", str(tmp_path / "real"), str(tmp_path / "moved"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["real"], result["generated"]) == (6, 6)
    assert result["pitch_class_histogram"]["overlap"] < 0.5 < result["inter_onset_interval"]["overlap"]
    assert main(["compare", str(tmp_path / "real"), str(tmp_path / "real")]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "6 generated pieces against 6 real ones"
    assert table[-1].startswith("mean overlap") and float(table[-1].split()[-1]) > 0.8
    assert main(["compare", str(tmp_path / "real"), str(tmp_path / "real"), "--structure"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in table[-3:]] == ["repeated_bars", "bar_distances",
                                                        "structure"]
    assert main(["compare", str(tmp_path / "nowhere"), str(tmp_path / "real")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
