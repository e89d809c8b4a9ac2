"""Small music files for the tests: MIDI made with mido or assembled byte by byte,
``.mat`` files shaped like the polyphonic benchmarks, and a stand-in ``fluidsynth``."""
from __future__ import annotations

import io
import os
import stat

import mido
import numpy as np


def timed_track(events, name=None) -> mido.MidiTrack:
    """A track of (absolute tick, message) pairs; sorted by tick, file order kept on ties."""
    track = mido.MidiTrack()
    if name:
        track.append(mido.MetaMessage("track_name", name=name, time=0))
    now = 0
    for tick, message in sorted(events, key=lambda pair: pair[0]):
        track.append(message.copy(time=tick - now))
        now = tick
    return track


def note_events(notes, channel=0, zero_velocity_offs=False):
    """(tick, message) pairs of notes given as (pitch, start tick, end tick[, velocity]).

    Note-offs come first among events of one tick, as a sequencer writes them.
    """
    offs, ons = [], []
    for note in notes:
        pitch, start, end = note[:3]
        velocity = note[3] if len(note) > 3 else 100
        ons.append((start, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
        off = (mido.Message("note_on", channel=channel, note=pitch, velocity=0) if zero_velocity_offs
               else mido.Message("note_off", channel=channel, note=pitch, velocity=64))
        offs.append((end, off))
    return offs + ons


def note_track(notes, channel=0, program=None, name=None, zero_velocity_offs=False,
               extra=()) -> mido.MidiTrack:
    """A track with an optional program change, ``notes`` and ``extra`` (tick, message) pairs."""
    events = list(extra)
    if program is not None:
        events.insert(0, (0, mido.Message("program_change", channel=channel, program=program)))
    return timed_track(events + note_events(notes, channel, zero_velocity_offs), name)


def conductor(tempos=((0, 120),), time_signatures=((0, 4, 4),)) -> mido.MidiTrack:
    """A tempo track: (tick, bpm) tempo changes and (tick, numerator, denominator) meters."""
    events = [(tick, mido.MetaMessage("time_signature", numerator=n, denominator=d))
              for tick, n, d in time_signatures]
    events += [(tick, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))) for tick, bpm in tempos]
    return timed_track(events)


def midi_file(*tracks, ticks_per_beat=480, file_type=1) -> mido.MidiFile:
    """A MidiFile of the given tracks."""
    result = mido.MidiFile(type=file_type, ticks_per_beat=ticks_per_beat)
    result.tracks.extend(tracks)
    return result


def midi_bytes(midi) -> bytes:
    """The bytes mido writes for ``midi``."""
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def save(midi, path) -> str:
    """Write ``midi`` to ``path`` and return the path as a string."""
    midi.save(str(path))
    return str(path)


def chunk(kind: bytes, body: bytes) -> bytes:
    """One SMF chunk: 4-byte type, 4-byte big-endian length, body."""
    return kind + len(body).to_bytes(4, "big") + body


def raw_smf(*track_bodies: bytes, file_format=1, declared_tracks=None, division=480) -> bytes:
    """A Standard MIDI File assembled from raw track-chunk bodies (events as bytes)."""
    count = len(track_bodies) if declared_tracks is None else declared_tracks
    header = chunk(b"MThd", file_format.to_bytes(2, "big") + count.to_bytes(2, "big")
                   + division.to_bytes(2, "big"))
    return header + b"".join(chunk(b"MTrk", body) for body in track_bodies)


END_OF_TRACK = b"\x00\xff\x2f\x00"
"""Delta 0, then the end-of-track meta event."""


def independent_onsets(midi, steps_per_beat, low, high):
    """{(step, pitch)} of every non-drum note onset, read through mido's own messages.

    Pairs nothing and shares no code with the package: a note starts wherever a
    note_on with a velocity above 0 is, rounded to the nearest step (halves up).
    """
    onsets = set()
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if (message.type == "note_on" and message.velocity > 0 and message.channel != 9
                    and low <= message.note < high):
                step = (2 * tick * steps_per_beat + midi.ticks_per_beat) // (2 * midi.ticks_per_beat)
                onsets.add((step, message.note))
    return onsets


# ---------------------------------------------------------------------- .mat benchmarks

LENGTHS = {"traindata": [20, 9, 17, 12], "validdata": [10, 6], "testdata": [7, 13, 5]}


def _roll(rng, steps):
    roll = np.zeros((steps, 88), np.uint8)
    for t in range(steps):
        roll[t, rng.choice(np.arange(30, 70), size=4, replace=False)] = 1
    return roll


def mat_cells(rolls):
    cells = np.empty((1, len(rolls)), dtype=object)
    for i, roll in enumerate(rolls):
        cells[0, i] = roll
    return cells


def write_mat(path, lengths=LENGTHS, seed=0):
    import scipy.io

    rng = np.random.RandomState(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {key: mat_cells([_roll(rng, n) for n in ns])
                                 for key, ns in lengths.items()})
    return path



# ---------------------------------------------------------------------- FluidSynth

FAKE_FLUIDSYNTH = """#!/bin/sh
echo "$@" > "{log}"
if [ -n "{fail}" ]; then echo "fluidsynth: error: {fail}" >&2; exit 1; fi
while [ "$1" != "-F" ]; do shift; done
printf 'RIFF....WAVEfmt ' > "$2"
"""


def install_fake(tmp_path, monkeypatch, fail=""):
    """A ``fluidsynth`` first on PATH that records its arguments in the returned file and
    writes a WAV header (or, with ``fail``, exits 1 with that message)."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    program = folder / "fluidsynth"
    log = tmp_path / "fluidsynth.args"
    program.write_text(FAKE_FLUIDSYNTH.format(log=log, fail=fail))
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(folder) + os.pathsep + os.environ["PATH"])
    return log
