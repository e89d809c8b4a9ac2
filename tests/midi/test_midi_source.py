"""Where a MIDI file's bytes come from: every kind of source, its name, and what it refuses."""
from __future__ import annotations

import io

import mido
import pytest

import midi
from midi.source import source_bytes
from midi_factories import midi_bytes, midi_file, note_track


def small_file() -> bytes:
    return midi_bytes(midi_file(note_track([(60, 0, 480)], name="one")))


def test_every_kind_of_source_gives_the_same_bytes_and_a_name(tmp_path):
    data = small_file()
    path = tmp_path / "small.mid"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        sources = [(str(path), str(path)), (path, str(path)), (data, "<bytes>"),
                   (bytearray(data), "<bytes>"), (memoryview(data), "<bytes>"),
                   (handle, str(path)), (mido.MidiFile(str(path)), str(path)),
                   (io.BytesIO(data), "<file object>")]
        for source, name in sources:
            assert source_bytes(source) == (data, name)
    assert source_bytes(mido.MidiFile(file=io.BytesIO(data)))[1] == "<mido.MidiFile>"


def test_the_reader_reads_every_kind_of_source_alike(tmp_path):
    data = small_file()
    path = tmp_path / "small.mid"
    path.write_bytes(data)
    expected = midi.read_midi(data).pitches.tolist()
    with open(path, "rb") as handle:
        for source in (str(path), path, bytearray(data), handle, mido.MidiFile(path)):
            assert midi.read_midi(source).pitches.tolist() == expected


def test_missing_file_and_folder_name_the_path(tmp_path):
    with pytest.raises(midi.MidiFileError, match="nope.mid: no such file"):
        source_bytes(tmp_path / "nope.mid")
    with pytest.raises(midi.MidiFileError, match="is a folder"):
        source_bytes(tmp_path)


def test_a_text_file_object_and_a_source_of_no_kind_are_refused(tmp_path):
    path = tmp_path / "small.mid"
    path.write_bytes(small_file())
    with open(path, encoding="latin-1") as text:
        with pytest.raises(midi.MidiFileError, match="small.mid: file object must be opened "
                                                     "in binary mode"):
            source_bytes(text)
    with pytest.raises(TypeError, match="source must be a path, bytes, .* not int"):
        source_bytes(3)


def test_a_mido_file_mido_cannot_save_is_a_format_error():
    broken = midi_file(note_track([]))
    broken.tracks[0].append(mido.Message("note_on", note=60).copy(time=-5))
    with pytest.raises(midi.MidiFormatError, match="mido cannot serialise it"):
        source_bytes(broken)


def test_a_size_limit_counts_every_kind_of_source(tmp_path):
    data = small_file()
    path = tmp_path / "small.mid"
    path.write_bytes(data)
    assert source_bytes(path, max_bytes=len(data)) == (data, str(path))
    limit = len(data) - 1
    for source in (path, data, io.BytesIO(data)):
        with pytest.raises(midi.MidiTooLongError, match=f"over the limit of {limit} bytes"):
            source_bytes(source, max_bytes=limit)
    # a file object is read one byte past the limit: its size is not known
    with pytest.raises(midi.MidiTooLongError, match=f"file of more than {limit} bytes"):
        source_bytes(io.BytesIO(data + b"\0" * 100), max_bytes=limit)
