"""The midi-roll command line: encode, decode, info, plot; folders; one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import midi
from midi.cli import main
from midi_factories import conductor, midi_file, note_track, save

MELODY = [(60, 0, 480), (64, 480, 960), (67, 960, 1920)]


@pytest.fixture
def song(tmp_path):
    return save(midi_file(conductor(((0, 90),)), note_track(MELODY, program=24)), tmp_path / "song.mid")


def test_encode_then_decode_round_trips(song, tmp_path, capsys):
    assert main(["encode", song, str(tmp_path / "song.npz")]) == 0
    assert "3/3 notes kept" in capsys.readouterr().out
    assert main(["decode", str(tmp_path / "song.npz"), str(tmp_path / "again.mid")]) == 0
    assert midi.midi_to_roll(tmp_path / "again.mid") == midi.midi_to_roll(song)


def test_encode_passes_grid_and_policies(song, tmp_path):
    target = tmp_path / "fine.npz"
    assert main(["encode", song, str(target), "--steps-per-beat", "24", "--low", "48", "--high",
                 "72", "--out-of-range", "fold", "--no-progress"]) == 0
    roll = midi.load_roll(target)
    assert (roll.steps_per_beat, roll.low, roll.high) == (24, 48, 72)


def test_decode_a_bare_note_state_array(tmp_path):
    state = np.zeros((16, 156), np.float32)
    state[:8, 36] = 0.9
    state[0, 114] = 0.8
    np.save(tmp_path / "sample.npy", state)
    assert main(["decode", str(tmp_path / "sample.npy"), str(tmp_path / "sample.mid"), "--bpm", "80"]) == 0
    assert midi.midi_to_roll(tmp_path / "sample.mid").notes()[:, :3].tolist() == [[60, 0, 8]]


def test_info_text_and_json(song, capsys):
    assert main(["info", song]) == 0
    text = capsys.readouterr().out
    assert "type 1, 480 ticks per beat" in text and "60..67" in text and "0: 90.0" in text
    assert main(["info", song, "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["notes"] == 3 and described["onsets_on_grid"]["4"] == 1.0


def test_plot_midi_and_npz(song, tmp_path):
    assert main(["plot", song, str(tmp_path / "song.png")]) == 0
    main(["encode", song, str(tmp_path / "song.npz")])
    assert main(["plot", str(tmp_path / "song.npz"), str(tmp_path / "roll.png")]) == 0
    for name in ("song.png", "roll.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_folders_in_batch_keep_going_past_bad_files(tmp_path, capsys):
    source = tmp_path / "in"
    (source / "jazz").mkdir(parents=True)
    save(midi_file(note_track(MELODY)), source / "jazz" / "a.mid")
    save(midi_file(note_track(MELODY[:1])), source / "b.midi")
    (source / "jazz" / "bad.mid").write_bytes(b"not midi")
    assert main(["encode", str(source), str(tmp_path / "out"), "--no-progress"]) == 2
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.npz")) == [
        "b.npz", "jazz/a.npz"]
    err = capsys.readouterr().err
    assert "bad.mid: not a MIDI file" in err and "2 of 3 files done" in err
    assert main(["decode", str(tmp_path / "out"), str(tmp_path / "back"), "--no-progress"]) == 0
    assert (tmp_path / "back" / "jazz" / "a.mid").exists()


@pytest.mark.parametrize("argv, message", [
    (["encode", "{tmp}/missing.mid", "{tmp}/x.npz"], "missing.mid: no such file or folder"),
    (["info", "{tmp}/junk.mid"], "junk.mid: not a MIDI file"),
    (["decode", "{tmp}/junk.mid", "{tmp}/x.mid"], "junk.mid: not a .npz archive"),
    (["encode", "{tmp}/junk.mid", "{tmp}/x.npz", "--low", "90", "--high", "80"], "need 0 <= low < high"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "junk.mid").write_bytes(b"junk")
    assert main([arg.format(tmp=tmp_path) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("midi-roll: error:")


def test_python_dash_m_runs_without_traceback(tmp_path):
    (tmp_path / "cut.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    done = subprocess.run([sys.executable, "-m", "midi", "info", str(tmp_path / "cut.mid")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith("header cut short: 10 bytes, 14 needed")
