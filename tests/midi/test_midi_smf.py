"""The names of the SMF bytes agree with mido's tables of the same messages."""
from __future__ import annotations

import mido
from mido.messages.specs import SPEC_BY_TYPE
from mido.midifiles.meta import _META_SPEC_BY_TYPE

from midi.smf import (PITCH_BEND_CENTRE, SYSTEM_COMMON_DATA_BYTES, TRACK_CHUNK, Controller, Meta,
                      Status)
from midi_factories import midi_bytes, midi_file, note_track

MIDO_MESSAGE = {"NOTE_OFF": "note_off", "NOTE_ON": "note_on", "POLY_PRESSURE": "polytouch",
                "CONTROL_CHANGE": "control_change", "PROGRAM_CHANGE": "program_change",
                "CHANNEL_PRESSURE": "aftertouch", "PITCH_BEND": "pitchwheel", "SYSEX": "sysex"}
MIDO_META = {"TRACK_NAME": "track_name", "END_OF_TRACK": "end_of_track", "TEMPO": "set_tempo",
             "TIME_SIGNATURE": "time_signature"}


def test_status_and_meta_bytes_are_mido_s():
    for name, kind in MIDO_MESSAGE.items():
        assert Status[name] == SPEC_BY_TYPE[kind]["status_byte"], name
    assert {name for name in Status.__members__} == set(MIDO_MESSAGE) | {"SYSEX_ESCAPE", "META"}
    for name, kind in MIDO_META.items():
        assert Meta[name] == _META_SPEC_BY_TYPE[kind].type_byte, name
    for status, length in SYSTEM_COMMON_DATA_BYTES.items():
        spec = next(spec for spec in SPEC_BY_TYPE.values() if spec["status_byte"] == status)
        assert spec["length"] == 1 + length


def test_controller_and_pitch_bend_centre_as_mido_writes_them():
    sustain = mido.Message("control_change", control=Controller.SUSTAIN_PEDAL, value=127)
    assert sustain.bytes() == [Status.CONTROL_CHANGE, 64, 127]
    centre = mido.Message("pitchwheel", pitch=0).bytes()
    assert centre[2] << 7 | centre[1] == PITCH_BEND_CENTRE
    assert TRACK_CHUNK in midi_bytes(midi_file(note_track([])))
