"""midi.corpus: music21 scores to rolls note by note (pickups, ties, grace notes, chord
symbols), the corpus cached once and mapped back, midi-roll corpus round trips, and the
errors for unknown names and a missing music21."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import midi
from midi import cli
from midi import corpus as corpus_module
from midi.encode import RollOptions, roll_from_events
from midi.errors import MidiDatasetError

music21 = pytest.importorskip("music21", reason="the corpus extra: pip install music21")

TUNE = """X:1
T:test
M:4/4
L:1/4
K:C
G | c2- c A | {d}B3 z | "Am"[ce]4 |
"""


def test_a_score_becomes_the_notes_it_sounds():
    score = music21.converter.parse(TUNE, format="abc")
    roll = roll_from_events(corpus_module.score_events(score, "tune"),
                            RollOptions(4, 24, 102, velocity=False))
    # (MIDI pitch, start step, end step): the pickup G padded to the end of its bar, the
    # tied c held as one note, the grace note and the chord symbol Am left out
    assert roll.notes()[:, :3].tolist() == [[67, 12, 16], [72, 16, 28], [69, 28, 32],
                                            [71, 32, 44], [72, 48, 64], [76, 48, 64]]


@pytest.fixture(scope="module")
def chorales(tmp_path_factory):
    cache = tmp_path_factory.mktemp("corpus")
    return cache, corpus_module.load_corpus("bach-chorales", cache_dir=cache, workers=2,
                                            progress=False, limit=4)


def test_the_first_chorales_are_converted_labelled_and_cached(chorales, monkeypatch):
    cache, pieces = chorales
    assert pieces.pieces == ["bach/bwv269", "bach/bwv347", "bach/bwv153.1", "bach/bwv86.6"]
    assert set(pieces.labels.tolist()) <= {0, 1} and pieces.errors == []
    assert [state.shape[1] for state in pieces.note_states] == [156] * 4
    # four voices: between 1 and 4 pitches sound at any step of a chorale after its pickup
    sounding = pieces.note_states[1][:, :78].sum(axis=1)
    assert sounding.max() <= 4 and np.median(sounding) == 4
    monkeypatch.setattr(corpus_module, "convert_corpus", lambda *a, **k: pytest.fail("again"))
    again = corpus_module.load_corpus("bach-chorales", cache_dir=cache, limit=4)
    for mapped, first in zip(again.note_states, pieces.note_states):
        np.testing.assert_array_equal(mapped, first)


def test_midi_roll_corpus_writes_pieces_that_read_back_note_by_note(chorales, tmp_path,
                                                                   monkeypatch):
    cache, pieces = chorales  # the command reads the test's cache of the first four
    monkeypatch.setattr(cli, "load_corpus", lambda name, *grid, progress=None:
                        corpus_module.load_corpus(name, *grid, cache_dir=cache, limit=4))
    assert cli.main(["corpus", "bach-chorales", str(tmp_path / "out"), "--no-progress"]) == 0
    for name, label, state in zip(pieces.pieces, pieces.labels, pieces.note_states):
        path = tmp_path / "out" / pieces.label_names[label] / (name.split("/")[1] + ".mid")
        back = midi.midi_to_roll(str(path)).to_note_state()
        np.testing.assert_array_equal(back[:len(state)], state)
        assert not back[len(state):].any()


def test_an_unknown_corpus_lists_the_known_ones(capsys):
    with pytest.raises(MidiDatasetError, match="known: bach-chorales, oneills-1850, essen"):
        corpus_module.load_corpus("palestrina")
    assert cli.main(["corpus", "palestrina", "out"]) == 2
    assert "corpus:palestrina: no such corpus" in capsys.readouterr().err


def test_without_music21_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "music21", None)
    with pytest.raises(MidiDatasetError, match=r"chainer-vae\[corpus\]"):
        corpus_module.load_corpus("bach-chorales", cache_dir="unused")


def test_a_piece_music21_cannot_read_is_left_out_and_counted(tmp_path, monkeypatch, capsys):
    good = tmp_path / "good.abc"
    good.write_text(TUNE)
    bad = tmp_path / "bad.abc"
    bad.write_bytes(b"X:1\nK:\xff\xfe\x00 this is no tune [[[")
    monkeypatch.setattr(corpus_module, "corpus_files", lambda corpus: [str(good), str(bad)])
    pieces = corpus_module.load_corpus("essen", cache_dir=tmp_path / "cache", workers=1,
                                       progress=False)
    assert pieces.pieces == [f"{tmp_path.name}/good"]
    assert [name for name, _ in pieces.errors] == [f"{tmp_path.name}/bad"]
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "1 of 2 pieces left out" in err
