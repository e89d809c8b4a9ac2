"""benchmarks/midi_parsers.py: its mido reference pairs notes as the reader does, and the
whole benchmark runs on a tiny data root."""
from __future__ import annotations

import json

import mido
import numpy as np

from benchmarks import midi_parsers
from midi.reader import parse_midi_bytes
from midi_factories import conductor, midi_bytes, midi_file, note_track, save


def tricky_file() -> bytes:
    """Two tracks: overlapping notes of one key, a velocity-0 off, a stray off, a note never
    released, a program change, tempo and meter."""
    notes = note_track([(62, 0, 240, 90)], channel=3, program=7, zero_velocity_offs=True, extra=[
        (0, mido.Message("note_on", note=60, velocity=10)),
        (10, mido.Message("note_on", note=60, velocity=20)),
        (20, mido.Message("note_off", note=60)),
        (25, mido.Message("note_off", note=50)),
        (30, mido.Message("note_off", note=60)),
        (40, mido.Message("note_on", note=67, velocity=30, channel=9)),
        (480, mido.MetaMessage("marker", text="end"))])
    return midi_bytes(midi_file(conductor(((0, 100), (240, 80)), ((0, 3, 4),)), notes))


def test_the_mido_reference_reads_what_the_reader_reads():
    data = tricky_file()
    ours = parse_midi_bytes(data)
    theirs = midi_parsers.mido_notes(data)
    columns = [ours.starts, ours.ends, ours.channels, ours.pitches, ours.velocities, ours.tracks]
    assert sorted(map(tuple, np.stack(columns, 1).tolist())) \
        == sorted(map(tuple, theirs["notes"].T.tolist()))
    assert ours.hanging_notes == 1 and ours.stray_note_offs == 1
    for field in ("programs", "tempos", "time_signatures"):
        np.testing.assert_array_equal(getattr(ours, field), theirs[field])
    assert midi_parsers.differences("tricky.mid", data, with_symusic=False) == []


def test_a_difference_is_reported_by_what_differs(monkeypatch):
    data = tricky_file()
    real = midi_parsers.mido_notes

    def dropping_a_note(blob):
        found = real(blob)
        found["notes"] = found["notes"][:, 1:]
        return found

    monkeypatch.setattr(midi_parsers, "mido_notes", dropping_a_note)
    assert midi_parsers.differences("tricky.mid", data, with_symusic=False) == ["mido: notes"]


def test_the_benchmark_runs_on_a_tiny_data_root(tmp_path, capsys):
    folder = tmp_path / "bach_lute" / "cminor"
    folder.mkdir(parents=True)
    (folder / "tricky.mid").write_bytes(tricky_file())
    save(midi_file(note_track([(60, 0, 480)])), folder / "plain.mid")
    assert midi_parsers.main(["--data", str(tmp_path), "--repeat", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["files"] == 2 and result["files_that_differ"] == {}
    assert set(result["ms_per_file"]) >= {"midi.reader", "mido + pairing"}
    assert "| midi.reader |" in midi_parsers.markdown(result)
    assert midi_parsers.main(["--data", str(tmp_path / "nothing")]) == 2
