"""midi.rollstore: pieces written and mapped back bit for bit, damage named, and lazy
windows that equal the windows cut in memory (transposed ones included)."""
from __future__ import annotations

import numpy as np
import pytest

import midi
from midi.dataset import PieceSet, piece_windows, split_pieces
from midi.errors import MidiDatasetError
from midi.rollstore import STATES_FILE, StoredPiece, StoreWriter, Windows, open_store

P = 12  # pitches of the toy note states (width 2P)


def random_pieces(seed=0, count=5):
    rng = np.random.default_rng(seed)
    states = []
    for _ in range(count):
        play = rng.random((int(rng.integers(5, 40)), P)) < 0.2
        play[:, :2] = play[:, -2:] = False  # room to transpose by 2 either way
        onset = play & (rng.random(play.shape) < 0.5)
        states.append(np.hstack([play, onset]))
    return states


def test_a_store_maps_back_every_piece_label_and_error(tmp_path):
    states = random_pieces()
    with StoreWriter(tmp_path / "store", 2 * P, ["major", "minor"], {"grid": 4}) as store:
        for index, state in enumerate(states):
            store.add("piece{}".format(index), index % 2, state)
        store.skip("broken", "cannot convert it")
    stored = open_store(tmp_path / "store")
    assert stored.pieces == ["piece{}".format(i) for i in range(5)]
    assert stored.labels.tolist() == [0, 1, 0, 1, 0] and stored.label_names == ["major", "minor"]
    assert stored.errors == [("broken", "cannot convert it")] and stored.info == {"grid": 4}
    for stored_piece, state in zip(stored.note_states, states):
        assert isinstance(stored_piece, StoredPiece) and stored_piece.shape == state.shape
        np.testing.assert_array_equal(np.asarray(stored_piece), state)
        np.testing.assert_array_equal(stored_piece[2:4, 3:], state[2:4, 3:])
        np.testing.assert_array_equal(stored_piece[-1], state[-1])
        np.testing.assert_array_equal(stored_piece[:, :P], state[:, :P])
        assert stored_piece[len(state):len(state) + 3].shape == (0, 2 * P)


def test_a_failed_write_leaves_no_store(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        with StoreWriter(tmp_path / "store", 2 * P, ["a"], {}) as store:
            store.add("good", 0, np.zeros((3, 2 * P), bool))
            store.add("wrong width", 0, np.zeros((3, P), bool))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncate", "index"])
def test_a_damaged_store_is_named(tmp_path, damage):
    with StoreWriter(tmp_path / "store", 2 * P, ["a"], {}) as store:
        store.add("x", 0, np.ones((4, 2 * P), bool))
    if damage == "truncate":
        (tmp_path / "store" / STATES_FILE).write_bytes(b"\x01" * 10)
    else:
        (tmp_path / "store" / "pieces.json").write_text("{not json")
    with pytest.raises(MidiDatasetError, match="store: not a readable roll store"):
        open_store(tmp_path / "store")


def test_lazy_windows_are_the_windows_cut_in_memory():
    states = random_pieces(1)
    pieces = PieceSet(pieces=list("abcde"), labels=np.array([0, 0, 1, 1, 1]),
                      label_names=["x", "y"], note_states=states)
    is_test = split_pieces(pieces.labels, 0.4, seed=0)
    common = dict(steps_per_beat=4, low=24, high=24 + P, window=8, hop=3, seed=0,
                  transpose=(-2, 1, 2))
    eager = midi.split_windows(pieces, is_test, "toy", **common)
    lazy = midi.split_windows(pieces, is_test, "toy", lazy=True, **common)
    assert isinstance(lazy.train, Windows) and isinstance(eager.train, np.ndarray)
    assert lazy.train.shape == eager.train.shape and lazy.train.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(lazy.train), eager.train)
    np.testing.assert_array_equal(np.asarray(lazy.test), eager.test)
    picked = np.array([5, 0, len(eager.train) - 1])
    np.testing.assert_array_equal(lazy.train.get_batch(picked), eager.train[picked])
    np.testing.assert_array_equal(lazy.train[-1], eager.train[-1])
    mask = eager.train_transpositions == 2
    np.testing.assert_array_equal(np.asarray(lazy.train[mask]), eager.train[mask])
    # every note lies 2 pitches inside the range: each window fits every transposition
    originals = eager.train[eager.train_transpositions == 0]
    assert mask.sum() == len(originals)
    halves = originals.reshape(len(originals), 8, 2, P)
    np.testing.assert_array_equal(eager.train[mask],
                                  np.roll(halves, 2, axis=3).reshape(-1, 8, 2 * P))


def test_a_transposed_window_moves_play_and_onset_and_a_short_piece_is_padded():
    state = np.zeros((3, 2 * P), bool)
    state[0, 4] = state[0, P + 4] = True  # pitch column 4 starts at step 0
    windows = Windows([state], [0, 0], [0, 0], [0, 3], window=5, width=2 * P)
    first, moved = windows.get_batch([0, 1])
    assert first.shape == (5, 2 * P) and not first[3:].any()  # two silent steps padded
    assert moved[0, 7] == 1 and moved[0, P + 7] == 1 and moved.sum() == 2
    with pytest.raises(IndexError):
        windows[2]


def test_piece_windows_skips_silence_and_pads_short_pieces():
    state = np.zeros((10, 2 * P), bool)
    state[6:8, 3] = True
    assert piece_windows(state, 4, hop=2).shape == (2, 4, 2 * P)  # windows at 4 and 6
    assert piece_windows(state[6:8], 4).shape == (1, 4, 2 * P)
