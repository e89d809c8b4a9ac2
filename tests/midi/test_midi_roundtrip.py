"""MIDI -> roll -> MIDI -> roll on files the tests write, one MIDI feature at a time."""
from __future__ import annotations

import io

import mido
import numpy as np
import pytest

import midi
from midi_factories import (END_OF_TRACK, conductor, midi_bytes, midi_file, note_track, raw_smf,
                            timed_track)

STEP = 120  # ticks per 16th note at 480 ticks per beat

MELODY = [(60, 0, 480), (62, 480, 720, 80), (64, 720, 960), (60, 960, 1920, 70), (67, 1440, 1920)]


def round_tripped(roll: midi.PianoRoll, **options) -> midi.PianoRoll:
    """The roll of the MIDI file written from ``roll``, read with the same grid."""
    options.setdefault("steps_per_beat", roll.steps_per_beat)
    options.setdefault("low", roll.low)
    options.setdefault("high", roll.high)
    return midi.midi_to_roll(midi.roll_to_midi(roll), **options)


def assert_round_trip(source, **options) -> midi.PianoRoll:
    roll = midi.midi_to_roll(source, **options)
    again = round_tripped(roll, **options)
    assert again == roll
    assert round_tripped(again, **options) == roll
    return roll


def ticked_notes(midi_file_) -> list:
    """(pitch, start tick, end tick, channel) of every note, through mido."""
    notes, sounding = [], {}
    for track in midi_file_.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type in ("note_on", "note_off"):
                key = (message.channel, message.note)
                if message.type == "note_on" and message.velocity:
                    sounding.setdefault(key, []).append(tick)
                else:
                    notes.append((message.note, sounding[key].pop(0), tick, message.channel))
    assert not any(sounding.values()), "a note was left hanging"
    return sorted(notes)


@pytest.mark.parametrize("file_type", [0, 1])
def test_notes_on_the_grid_keep_pitch_onset_and_length(file_type):
    if file_type == 0:
        track = note_track(MELODY, program=24, extra=[(0, mido.MetaMessage("set_tempo", tempo=400_000))])
        source = midi_file(track, file_type=0)
    else:
        source = midi_file(conductor(((0, 150),)), note_track(MELODY, program=24))
    roll = assert_round_trip(midi_bytes(source))
    assert roll.notes().tolist() == [[p, s // STEP, e // STEP, v] for p, s, e, v in
                                     [(*n[:3], n[3] if len(n) > 3 else 100) for n in MELODY]]
    assert roll.report.lossless and roll.program == 24
    written = midi.roll_to_midi(roll)
    assert [n[:3] for n in ticked_notes(written)] == sorted(n[:3] for n in MELODY)


def test_tempo_changes_on_a_track_other_than_the_first():
    tempo_events = [(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100))),
                    (960, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60)))]
    source = midi_file(conductor(tempos=()), note_track(MELODY),
                       timed_track(tempo_events, name="tempo elsewhere"))
    roll = assert_round_trip(midi_bytes(source))
    assert roll.tempos == ((0, mido.bpm2tempo(100)), (8, mido.bpm2tempo(60)))
    written = midi.roll_to_midi(roll)
    tempos = [(message.time, message.tempo) for message in written.tracks[0] if message.type == "set_tempo"]
    assert tempos == [(0, mido.bpm2tempo(100)), (960, mido.bpm2tempo(60))]
    assert written.length == pytest.approx(source.length)


def test_time_signature_changes_do_not_change_what_a_step_is():
    meters = conductor(time_signatures=((0, 4, 4), (1920, 6, 8), (2880, 3, 4)))
    quarter_notes = [(60 + i, 1920 + 480 * i, 2400 + 480 * i) for i in range(4)]
    roll = assert_round_trip(midi_bytes(midi_file(meters, note_track(quarter_notes))))
    assert roll.time_signatures == ((0, 4, 4), (16, 6, 8), (24, 3, 4))
    assert (roll.notes()[:, 2] - roll.notes()[:, 1]).tolist() == [4, 4, 4, 4]


def test_velocity_zero_note_offs_read_like_note_offs():
    with_offs = midi.midi_to_roll(midi_bytes(midi_file(note_track(MELODY))))
    with_zeros = assert_round_trip(midi_bytes(midi_file(note_track(MELODY, zero_velocity_offs=True))))
    assert with_zeros == with_offs


def test_running_status_files_round_trip():
    # Hand-made: one note_on status for two notes on and off, one velocity-0 off each.
    body = b"\x00\x90\x3c\x40" b"\x83\x60\x3c\x00" b"\x00\x3e\x50" b"\x83\x60\x3e\x00" + END_OF_TRACK
    roll = assert_round_trip(raw_smf(body, file_format=0))
    assert roll.notes().tolist() == [[60, 0, 4, 64], [62, 4, 8, 80]]


def test_overlapping_same_pitch_notes_retrigger_or_merge():
    source = midi_bytes(midi_file(note_track([(60, 0, 960), (60, 480, 720)])))
    retriggered = assert_round_trip(source)
    assert retriggered.notes()[:, :3].tolist() == [[60, 0, 4], [60, 4, 8]]
    assert retriggered.report.overlapping_notes == 1
    merged = assert_round_trip(source, overlap="merge")
    assert merged.notes()[:, :3].tolist() == [[60, 0, 8]]
    assert merged.report.overlapping_notes == 1


def test_touching_same_pitch_notes_stay_two_notes():
    roll = assert_round_trip(midi_bytes(midi_file(note_track([(60, 0, 480), (60, 480, 960)]))))
    assert roll.notes()[:, :3].tolist() == [[60, 0, 4], [60, 4, 8]]
    assert roll.report.lossless


def test_drums_are_excluded_by_default_and_counted():
    band = midi_file(note_track(MELODY, program=33), note_track([(36, 0, 120), (38, 480, 600)], channel=9))
    roll = assert_round_trip(midi_bytes(band))
    assert roll.report.drum_notes_excluded == 2 and 36 not in roll.notes()[:, 0]
    with_drums = midi.midi_to_roll(midi_bytes(band), drums=True)
    assert {36, 38} <= set(with_drums.notes()[:, 0].tolist())


def test_one_roll_per_program_and_a_drum_roll_round_trip():
    band = midi_file(note_track(MELODY, channel=0, program=33),
                     note_track([(72, 0, 480), (74, 480, 960)], channel=1, program=0),
                     note_track([(36, 0, 120), (38, 480, 600)], channel=9))
    rolls = midi.midi_to_rolls(midi_bytes(band), drums=True)
    assert [(roll.program, roll.is_drum) for roll in rolls] == [(0, False), (33, False), (0, True)]
    assert len({roll.n_steps for roll in rolls}) == 1
    written = midi.roll_to_midi(rolls)
    assert {n[3] for n in ticked_notes(written) if n[0] in (36, 38)} == {9}
    assert midi.midi_to_rolls(written, drums=True) == rolls


def test_pitch_bends_are_ignored_and_counted():
    bends = [(100, mido.Message("pitchwheel", pitch=4096)), (300, mido.Message("pitchwheel", pitch=0))]
    plain = midi.midi_to_roll(midi_bytes(midi_file(note_track(MELODY))))
    bent = assert_round_trip(midi_bytes(midi_file(note_track(MELODY, extra=bends))))
    assert bent == plain
    assert bent.report.pitch_bends == 1 and bent.report.losses() == {"pitch_bends": 1}


def test_several_tracks_and_channels_merge_without_summing_velocities():
    band = midi_file(conductor(),
                     note_track([(60, 0, 480, 50), (64, 0, 480)], channel=0, program=0),
                     note_track([(60, 0, 480, 90), (67, 480, 960)], channel=1, program=42),
                     note_track([(72, 0, 960)], channel=2, program=42))
    roll = assert_round_trip(midi_bytes(band))
    assert roll.report.tracks_merged == 3 and roll.report.channels_merged == 3
    assert roll.report.overlapping_notes == 1
    assert roll.velocity[0, 60 - roll.low] == 90
    assert roll.program == 42 and roll.programs == (42, 0)


def test_out_of_range_notes_dropped_or_folded_by_octaves():
    source = midi_bytes(midi_file(note_track([(10, 0, 480), (60, 0, 480), (110, 480, 960)])))
    dropped = assert_round_trip(source)
    assert dropped.notes()[:, 0].tolist() == [60] and dropped.report.out_of_range_dropped == 2
    folded = assert_round_trip(source, out_of_range="fold")
    assert sorted(folded.notes()[:, 0].tolist()) == [34, 60, 98]
    assert folded.report.out_of_range_folded == 2


def test_off_grid_notes_are_quantized_to_the_nearest_step():
    source = midi_bytes(midi_file(note_track([(60, 130, 370), (62, 60, 200), (64, 1000, 1090)])))
    roll = midi.midi_to_roll(source)
    assert roll.notes()[:, :3].tolist() == [[60, 1, 3], [62, 1, 2], [64, 8, 9]]
    assert roll.report.off_grid_onsets == 3 and roll.report.off_grid_offsets == 3
    assert round_tripped(roll) == roll


def test_zero_length_notes_last_one_step_or_vanish():
    # Note-on then note-off at the same tick: a note of no length.
    instant = [(0, mido.Message("note_on", note=60, velocity=90)), (0, mido.Message("note_off", note=60))]
    source = midi_bytes(midi_file(note_track([(62, 480, 500), (64, 960, 1440)], extra=instant)))
    extended = assert_round_trip(source)
    assert extended.notes()[:, :3].tolist() == [[60, 0, 1], [62, 4, 5], [64, 8, 12]]
    assert extended.report.zero_length_notes == 2
    dropped = assert_round_trip(source, zero_length="drop")
    assert dropped.notes()[:, 0].tolist() == [64]


def test_written_files_close_every_note():
    hanging = note_track([], extra=[(0, mido.Message("note_on", note=60, velocity=90)),
                                    (960, mido.MetaMessage("marker", text="fine"))])
    roll = midi.midi_to_roll(midi_bytes(midi_file(hanging)))
    assert roll.report.hanging_notes == 1
    written = midi.roll_to_midi(roll)
    assert ticked_notes(written) == [(60, 0, 960, 0)]
    end = max(sum(message.time for message in track) for track in written.tracks)
    assert end == 960


@pytest.mark.parametrize("ticks_per_beat", [25, 100, 96, 384])
def test_resolutions_not_divisible_by_the_grid_still_fill_the_roll(ticks_per_beat):
    beat = ticks_per_beat
    notes = [(60 + i, i * beat, (i + 1) * beat) for i in range(8)]
    roll = assert_round_trip(midi_bytes(midi_file(note_track(notes), ticks_per_beat=ticks_per_beat)))
    assert roll.n_steps == 32 and len(roll.notes()) == 8


def test_triplets_need_a_finer_grid():
    triplets = [(60 + i, 160 * i, 160 * (i + 1)) for i in range(6)]
    source = midi_bytes(midi_file(note_track(triplets)))
    for steps in (24, 48):
        roll = assert_round_trip(source, steps_per_beat=steps)
        assert roll.report.lossless and roll.notes()[:, 1].tolist() == [i * steps // 3 for i in range(6)]
    assert midi.midi_to_roll(source).report.off_grid_onsets == 4


def test_a_file_without_notes():
    roll = assert_round_trip(midi_bytes(midi_file(conductor())))
    assert roll.shape == (0, 78) and roll.notes().shape == (0, 4)


def test_mido_file_objects_round_trip():
    source = midi_file(conductor(((0, 90),)), note_track(MELODY))
    roll = assert_round_trip(source)
    assert roll == midi.midi_to_roll(mido.MidiFile(file=io.BytesIO(midi_bytes(source))))


def test_lenient_conversion_of_a_truncated_file_keeps_what_came_before():
    data = midi_bytes(midi_file(conductor(), note_track(MELODY)))
    roll = midi.midi_to_roll(data[:-10], strict=False)
    assert roll.report.truncated and 0 < len(roll.notes()) <= len(MELODY)
    assert np.array_equal(roll.play[:4], midi.midi_to_roll(data).play[:4])
