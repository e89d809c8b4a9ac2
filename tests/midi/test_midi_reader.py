"""The SMF parser: what it reads, and how it fails (strict) or salvages (lenient)."""
from __future__ import annotations

import io
import pickle

import mido
import numpy as np
import pytest

import midi
from midi.reader import parse_midi_bytes, read_midi
from midi_factories import (END_OF_TRACK, conductor, midi_bytes, midi_file, note_track, raw_smf,
                            save)

NOTE_ON = b"\x90"


def small_file() -> bytes:
    """A type-1 file: tempo track, two notes and a program change on channel 2."""
    notes = note_track([(60, 0, 480), (64, 480, 960, 90)], channel=1, program=42, name="cello")
    return midi_bytes(midi_file(conductor(((0, 100), (960, 60))), notes))


def notes_of(events) -> list:
    """(start, end, channel, pitch, velocity) of every note, sorted."""
    return sorted(zip(events.starts.tolist(), events.ends.tolist(), events.channels.tolist(),
                      events.pitches.tolist(), events.velocities.tolist()))


def test_reads_notes_programs_tempos_and_names():
    events = parse_midi_bytes(small_file())
    assert events.format == 1 and events.ticks_per_beat == 480
    assert notes_of(events) == [(0, 480, 1, 60, 100), (480, 960, 1, 64, 90)]
    assert events.programs.tolist() == [[0, 1, 42]]
    assert events.note_programs().tolist() == [42, 42]
    assert events.tempos.tolist() == [[0, mido.bpm2tempo(100)], [960, mido.bpm2tempo(60)]]
    assert events.time_signatures.tolist() == [[0, 4, 4]]
    assert events.track_names == ("", "cello")
    assert events.end_tick == 960


def test_running_status_and_velocity_zero_note_offs():
    # One status byte for four note events: C and D on, then both off by velocity 0.
    body = (b"\x00\x90\x3c\x40" b"\x60\x3e\x50" b"\x60\x3c\x00" b"\x00\x3e\x00" + END_OF_TRACK)
    events = parse_midi_bytes(raw_smf(body, file_format=0), "running.mid")
    assert notes_of(events) == [(0, 192, 0, 60, 64), (96, 192, 0, 62, 80)]


def test_running_status_survives_meta_events():
    body = b"\x00\x90\x3c\x40" b"\x00\xff\x01\x02hi" b"\x60\x3c\x00" + END_OF_TRACK
    assert notes_of(parse_midi_bytes(raw_smf(body))) == [(0, 96, 0, 60, 64)]


def test_agrees_with_mido_on_a_file_mido_writes():
    data = small_file()
    parsed = mido.MidiFile(file=io.BytesIO(data))
    ons = sorted(msg.note for track in parsed.tracks for msg in track
                 if msg.type == "note_on" and msg.velocity)
    assert sorted(parse_midi_bytes(data).pitches.tolist()) == ons


def test_same_pitch_notes_pair_first_in_first_out():
    notes = note_track([], extra=[
        (0, mido.Message("note_on", note=60, velocity=10)),
        (10, mido.Message("note_on", note=60, velocity=20)),
        (20, mido.Message("note_off", note=60)),
        (30, mido.Message("note_off", note=60))])
    events = parse_midi_bytes(midi_bytes(midi_file(notes)))
    assert notes_of(events) == [(0, 20, 0, 60, 10), (10, 30, 0, 60, 20)]


def test_hanging_and_stray_notes_are_counted():
    notes = note_track([], extra=[
        (0, mido.Message("note_off", note=50)),
        (0, mido.Message("note_on", note=60, velocity=10)),
        (480, mido.MetaMessage("marker", text="end"))])
    events = parse_midi_bytes(midi_bytes(midi_file(notes)))
    assert notes_of(events) == [(0, 480, 0, 60, 10)]
    assert events.hanging_notes == 1 and events.stray_note_offs == 1


# --- errors -------------------------------------------------------------------------------

def test_empty_file(tmp_path):
    path = tmp_path / "empty.mid"
    path.write_bytes(b"")
    with pytest.raises(midi.MidiFormatError, match=r"empty\.mid: empty file"):
        read_midi(path)


@pytest.mark.parametrize("data", [b"hello, world\n" * 4, b"RIFF\x00\x00\x00\x00WAVEfmt ", b"\x00"])
def test_not_midi_at_all(data):
    with pytest.raises(midi.MidiFormatError, match="not a MIDI file"):
        read_midi(data)


def test_truncated_file_names_file_track_and_byte(tmp_path):
    path = tmp_path / "cut.mid"
    path.write_bytes(small_file()[:-7])
    with pytest.raises(midi.MidiTruncatedError, match=r"cut\.mid: track 1 declares \d+ bytes"):
        read_midi(path)


def test_lenient_salvages_complete_tracks_and_events_before_a_cut():
    data = small_file()
    whole = notes_of(parse_midi_bytes(data))
    # The last note's note-off sits near the end: cut inside it.
    events = parse_midi_bytes(data[:-6], strict=False)
    assert events.truncated and events.warnings
    assert notes_of(events)[0] == whole[0]
    assert events.tempos.tolist() == parse_midi_bytes(data).tempos.tolist()


def test_every_prefix_fails_cleanly_in_strict_and_salvages_in_lenient():
    data = small_file()
    for cut in range(len(data)):
        with pytest.raises(midi.MidiFileError):
            parse_midi_bytes(data[:cut])
        try:
            parse_midi_bytes(data[:cut], strict=False)
        except midi.MidiFileError:
            assert cut < 22, "lenient parsing gave up past the header"


def test_corrupted_bytes_never_escape_the_error_family():
    data = bytearray(small_file())
    rng = np.random.default_rng(0)
    for _ in range(300):
        damaged = bytearray(data)
        for position in rng.integers(0, len(data), size=3):
            damaged[position] = rng.integers(0, 256)
        for strict in (True, False):
            try:
                parse_midi_bytes(bytes(damaged), strict=strict)
            except midi.MidiFileError:
                pass


def test_wrong_track_count():
    body = b"\x00\x90\x3c\x40\x60\x3c\x00" + END_OF_TRACK
    with pytest.raises(midi.MidiFormatError, match="declares 3 tracks, the file holds 2"):
        parse_midi_bytes(raw_smf(body, body, declared_tracks=3))
    with pytest.raises(midi.MidiFormatError, match="more track chunks than the 1"):
        parse_midi_bytes(raw_smf(body, body, declared_tracks=1))
    lenient = parse_midi_bytes(raw_smf(body, body, declared_tracks=3), strict=False)
    assert len(lenient.starts) == 2 and "declares 3 tracks" in lenient.warnings[0]


def test_bad_data_byte_strict_raises_lenient_clips():
    body = b"\x00\x90\x3c\xc8" b"\x60\x80\x3c\x00" + END_OF_TRACK
    with pytest.raises(midi.MidiFormatError, match=r"bad\.mid: track 0, byte 25: data byte 0xC8"):
        parse_midi_bytes(raw_smf(body), "bad.mid")
    events = parse_midi_bytes(raw_smf(body), strict=False)
    assert notes_of(events) == [(0, 96, 0, 60, 127)] and events.clipped_bytes == 1


def test_data_byte_without_running_status():
    with pytest.raises(midi.MidiFormatError, match="no running status"):
        parse_midi_bytes(raw_smf(b"\x00\x3c\x40" + END_OF_TRACK))


def test_overlong_variable_length_quantity():
    with pytest.raises(midi.MidiFormatError, match="longer than 4 bytes"):
        parse_midi_bytes(raw_smf(b"\x81\x81\x81\x81\x01\x90\x3c\x40" + END_OF_TRACK))


def test_smpte_division_and_bad_header():
    with pytest.raises(midi.MidiFormatError, match="SMPTE"):
        parse_midi_bytes(raw_smf(END_OF_TRACK, division=0xE728))
    with pytest.raises(midi.MidiFormatError, match="ticks per beat is 0"):
        parse_midi_bytes(raw_smf(END_OF_TRACK, division=0))
    with pytest.raises(midi.MidiTruncatedError, match="header cut short"):
        parse_midi_bytes(b"MThd\x00\x00\x00\x06\x00")


def test_type_0_with_two_tracks_is_refused_in_strict():
    with pytest.raises(midi.MidiFormatError, match="type 0 file declares 2 tracks"):
        parse_midi_bytes(raw_smf(END_OF_TRACK, END_OF_TRACK, file_format=0))


def test_unknown_chunks_are_skipped():
    data = raw_smf(b"\x00\x90\x3c\x40\x60\x3c\x00" + END_OF_TRACK)
    alien = b"XFIH" + (3).to_bytes(4, "big") + b"abc"
    header, track = data[:14], data[14:]
    assert len(parse_midi_bytes(header + alien + track).starts) == 1


def test_errors_pickle_for_worker_processes():
    error = midi.MidiTruncatedError("a.mid", "cut")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is midi.MidiTruncatedError and str(again) == "a.mid: cut"


def test_written_files_read_back(tmp_path):
    path = save(midi_file(note_track([(60, 0, 10)])), tmp_path / "x.mid")
    assert notes_of(read_midi(path)) == [(0, 10, 0, 60, 100)]


def test_the_deque_of_open_notes_pops_like_a_list():
    from midi.reader import _Fifo

    for index in (0, -1, 1, -2, 3):
        items = list(range(6))
        fifo = _Fifo(items)
        assert fifo.pop(index) == items.pop(index) and list(fifo) == items
    assert _Fifo([1, 2]).pop() == 2
