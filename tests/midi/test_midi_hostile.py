"""Hostile input for the MIDI reader and ``midi-roll``: files and options made to hurt.

Every run ends with exit 0, or exit 2 and exactly one line on stderr, never a traceback,
within a time and memory bound. Three layers:

- a catalogue of named hostile files (one note for 10^9 ticks, a megabyte of notes struck
  at once, thousands of tracks, ...), each converted and described in this process, and
  the worst of them in a subprocess whose peak memory and CPU time are measured;
- property-based tests (Hypothesis, derandomized, a bounded number of examples) that
  build MIDI files from generated events and headers, then mutate them (truncations,
  flipped bytes, huge delta times and chunk lengths, absurd tempos, running status
  abuse, thousands of tracks), and draw the option values of ``midi-roll`` too;
- folders, worker pools and progress bars around such files.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import midi
from midi.cli import main
from midi.encode import DEFAULT_MAX_STEPS
from midi.source import DEFAULT_MAX_BYTES
from midi_factories import conductor, midi_file, note_track, save

REPO = Path(__file__).resolve().parents[2]
MEMORY_BOUND = 200 * 2 ** 20
"""Peak memory any one run may cost: Python allocations in process, RSS in a subprocess."""
CPU_BOUND = 2.0
"""CPU seconds (user + system) of a whole ``python -m midi`` subprocess, startup included;
about 0.7 s is measured on the worst file, the rest is slack for a slow machine."""
EOT = b"\x00\xff\x2f\x00"


# --- MIDI bytes, assembled by hand --------------------------------------------------------

def chunk(kind: bytes, body: bytes, length=None) -> bytes:
    """An SMF chunk; ``length`` overrides the true length of ``body`` (to lie about it)."""
    size = len(body) if length is None else length
    return kind + (size & 0xFFFFFFFF).to_bytes(4, "big") + body


def header(tracks: int, file_format: int = 1, division: int = 480, length: int = 6) -> bytes:
    return chunk(b"MThd", file_format.to_bytes(2, "big") + tracks.to_bytes(2, "big")
                 + division.to_bytes(2, "big"), length)


def smf(*bodies: bytes, division: int = 480, file_format: int = 1) -> bytes:
    """A file of one track chunk per body."""
    return header(len(bodies), file_format, division) + b"".join(chunk(b"MTrk", b) for b in bodies)


def vlq(value: int) -> bytes:
    """A variable-length quantity; values of 2**28 and more take the 5 bytes no reader takes."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def long_delays(ticks: int) -> bytes:
    """Empty text events that advance the clock by ``ticks`` (2**28 - 1 at most each)."""
    out = b""
    while ticks > 0:
        step = min(ticks, 0x0FFFFFFF)
        out += vlq(step) + b"\xff\x01\x00"
        ticks -= step
    return out


def filled(prefix: bytes, unit: bytes, suffix: bytes, division: int = 1,
           size: int = DEFAULT_MAX_BYTES) -> bytes:
    """A one-track file of ``size`` bytes at most: ``prefix``, ``unit`` repeated, ``suffix``."""
    room = size - len(smf(b"")) - len(prefix) - len(suffix)
    return smf(prefix + unit * (room // len(unit)) + suffix, division=division)


def hostile_files() -> dict:
    """Named files, each made to cost the most of some resource."""
    last_step_allowed = DEFAULT_MAX_STEPS // 4  # in beats at 4 steps per beat, 1 tick a beat
    strike = b"".join(b"\x00" + bytes([24 + i % 78]) + b"\x64" for i in range(78))
    one_note = b"\x00\x90\x3c\x64\x01\x80\x3c\x00" + EOT
    return {
        # The issue's 62-byte file: one note for 10^9 ticks at one tick per beat.
        "long_note": smf(b"\x00\x90\x3c\x64" + long_delays(10 ** 9) + b"\x00\x80\x3c\x00" + EOT,
                         division=1),
        "long_silence": smf(long_delays(0x0FFFFFFF * 40) + EOT, division=1),
        # A megabyte of note-ons (running status, 3 bytes each) that sound to the longest
        # roll allowed: every cell plays, every note overlaps thousands of others.
        "stacked_to_the_limit": filled(b"\x00\x90\x3c\x64", strike,
                                       vlq(last_step_allowed) + b"\xff\x2f\x00"),
        "one_key_stacked": filled(b"\x00\x90\x3c\x64", b"\x00\x3c\x64",
                                  vlq(last_step_allowed) + b"\xff\x2f\x00"),
        # One key struck 170,000 times, then released as often (first in, first out).
        "one_key_fifo": smf(b"\x00\x90" + b"\x3c\x64\x00" * 170_000 + b"\x3c\x00\x00" * 170_000
                            + b"\xff\x2f\x00"),
        "one_tick_notes": filled(b"\x00\x90", b"\x3c\x64\x01\x3c\x00\x00", b"\x3c\x00" + EOT,
                                 division=480),
        "tempo_flood": filled(b"", b"\x01\xff\x51\x03\x00\x00\x01", EOT, division=480),
        "absurd_tempos": smf(b"\x00\xff\x51\x03\x00\x00\x00" b"\x00\xff\x51\x03\xff\xff\xff"
                             b"\x00\xff\x51\x00" b"\x00\xff\x58\x04\x00\xff\x00\x00"
                             b"\x00\x90\x3c\x64\x60\x80\x3c\x00" + EOT),
        "empty_tracks": header(65535) + chunk(b"MTrk", EOT) * 65535,
        "tracks_of_one_note": header(52_000) + chunk(b"MTrk", one_note) * 52_000,
        "huge_chunk_length": header(1) + chunk(b"MTrk", b"\x00\x90\x3c\x64", 0xFFFFFFFF),
        "huge_meta_length": smf(b"\x00\xff\x01\x8f\xff\xff\x7f" + b"x" * 10),
        "huge_sysex_length": smf(b"\x00\xf0\x8f\xff\xff\x7f\xf7"),
        "overlong_delta": smf(b"\xff\xff\xff\xff\x7f\x90\x3c\x64" + EOT),
        "running_status_abuse": smf(b"\x00\x3c\x64" b"\x00\xff\x01\x00\x3c\x00"
                                    b"\x00\xf8\x3c\x64" b"\x00\xf1\x01\x3e\x64" + EOT),
        "data_bytes_out_of_range": smf(b"\x00\x90\xbc\xe4\x00\xc0\xff" + EOT),
        "zero_division": header(1, division=0) + chunk(b"MTrk", EOT),
        "smpte_division": header(1, division=0xE728) + chunk(b"MTrk", EOT),
        "format_65535": header(1, file_format=65535) + chunk(b"MTrk", EOT),
        "header_only": header(3),
        "no_track_chunk": header(1) + chunk(b"XFIH", b"\x00" * 64) + b"junk",
        "cut_in_a_note": smf(b"\x00\x90\x3c\x64" + EOT)[:-6],
        "empty": b"",
        "not_midi": b"RIFF\x00\x00\x00\x00WAVEfmt ",
    }


HOSTILE = hostile_files()


# --- running the command line in this process ---------------------------------------------

def run_cli(argv: list, trace: bool = True) -> tuple:
    """(exit status, stdout, stderr, seconds, peak bytes allocated) of ``main(argv)``.

    Nothing may escape ``main``: an exception here is the traceback a user would see.
    ``trace``: measure the peak with tracemalloc (it slows pure Python down several
    times, so large files are measured in a subprocess instead; the peak is then 0).
    """
    out, err = io.StringIO(), io.StringIO()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([str(arg) for arg in argv])
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
    finally:
        tracemalloc.stop()
    return status, out.getvalue(), err.getvalue(), seconds, peak


def assert_clean(argv: list, seconds_bound: float = 10.0, trace: bool = True) -> tuple:
    """Run ``argv``: exit 0 and a quiet stderr, or exit 2 and one ``midi-roll`` line."""
    status, out, err, seconds, peak = run_cli(argv, trace)
    assert status in (0, 2), (argv, status, err)
    if status == 2:
        assert err.count("\n") == 1 and err.startswith("midi-roll"), (argv, err)
    else:
        assert err == "", (argv, err)
    assert "Traceback" not in err + out
    assert seconds < seconds_bound, (argv, seconds)
    assert peak < MEMORY_BOUND, (argv, peak)
    return status, out, err


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, data in HOSTILE.items():
        (folder / f"{name}.mid").write_bytes(data)
    return folder


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_file_converts_or_is_refused_in_one_line(hostile_dir, tmp_path, name):
    path = hostile_dir / f"{name}.mid"
    small = len(HOSTILE[name]) < 2 ** 16
    runs = [["encode", path, tmp_path / "out.npz"], ["info", path, "--lenient", "--json"]]
    if small:
        runs += [["encode", path, tmp_path / "out.npz", "--lenient", "--drums"], ["info", path]]
    for argv in runs:
        assert_clean(argv, trace=small)


def test_the_issues_file_is_a_typed_error_naming_file_and_length(hostile_dir, capsys):
    path = hostile_dir / "long_note.mid"
    assert len(HOSTILE["long_note"]) <= 62
    with pytest.raises(midi.MidiTooLongError) as raised:
        midi.midi_to_roll(path)
    error = raised.value
    assert isinstance(error, midi.MidiFileError) and error.source == str(path)
    assert (error.length, error.limit, error.unit) == (4 * 10 ** 9, DEFAULT_MAX_STEPS, "steps")
    assert "4000000000 steps long (1000000000 beats at 4 steps per beat)" in str(error)
    assert "over the limit of 131072 steps" in str(error)
    again = pickle.loads(pickle.dumps(error))  # crosses worker processes intact
    assert (type(again), str(again), again.length) == (type(error), str(error), error.length)
    # Raising the limit is a keyword (and an option) away; a low one refuses short files.
    hours = smf(b"\x00\x90\x3c\x64" + vlq(40_000) + b"\x80\x3c\x00" + EOT, division=1)
    with pytest.raises(midi.MidiTooLongError, match="160000 steps long"):
        midi.midi_to_roll(hours)
    assert midi.midi_to_roll(hours, max_steps=160_000).n_steps == 160_000
    with pytest.raises(midi.MidiTooLongError, match="over the limit of 10 steps"):
        midi.midi_to_roll(hours, steps_per_beat=1, max_steps=10)
    assert main(["encode", str(path), os.devnull, "--max-steps", "5"]) == 2
    assert "over the limit of 5 steps" in capsys.readouterr().err


def test_files_larger_than_max_bytes_are_refused_before_reading(tmp_path):
    path = tmp_path / "big.mid"
    path.write_bytes(smf(b"\x00\xff\x01\x7f" + b"x" * 127 + EOT) + b"\x00" * 2000)
    with pytest.raises(midi.MidiTooLongError, match=r"big.mid: file of 2\d{3} bytes, over the "
                                                    r"limit of 1000 bytes"):
        midi.read_midi(path, max_bytes=1000)
    for source in (path.read_bytes(), open(path, "rb")):
        with pytest.raises(midi.MidiTooLongError, match="over the limit of 1000 bytes"):
            midi.read_midi(source, max_bytes=1000)
    assert midi.read_midi(path, max_bytes=None).end_tick == 0
    # A device that never ends costs at most one byte past the limit.
    if os.path.exists("/dev/zero"):
        with pytest.raises(midi.MidiFileError, match="zero: file of more than 1000 bytes"):
            midi.read_midi("/dev/zero", max_bytes=1000)


def test_rolls_too_long_or_too_full_to_decode_are_refused(tmp_path, capsys):
    np.savez_compressed(tmp_path / "long.npz", state=np.zeros((DEFAULT_MAX_STEPS + 1, 156), bool))
    np.savez_compressed(tmp_path / "wide.npz", state=np.zeros((10, 2 ** 15), np.uint8))
    np.save(tmp_path / "dense.npy", np.ones((300, 156), np.float32))
    for name, options, message in (
            ("long.npz", [], "array of 131073 steps, over the limit of 131072 steps"),
            ("wide.npz", ["--max-steps", "100"], "327680 bytes of arrays, over the limit of 204800"),
            ("dense.npy", ["--max-notes", "20000"], "23400 notes, over the limit of 20000 notes")):
        assert main(["decode", str(tmp_path / name), str(tmp_path / "x.mid"), *options]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert main(["decode", str(tmp_path / "dense.npy"), str(tmp_path / "x.mid"),
                 "--max-notes", "23400"]) == 0


# --- the worst files, measured in a subprocess --------------------------------------------

MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run([sys.executable, "-m", "midi", *sys.argv[1:]], capture_output=True, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"status": done.returncode, "stderr": done.stderr,
                  "seconds": time.perf_counter() - started,
                  "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss * 1024}))
"""


def measured(argv: list) -> dict:
    """Exit status, stderr, wall and CPU seconds and peak RSS of ``python -m midi argv``.

    A child of a fresh child, so that no earlier subprocess of the test run counts."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *map(str, argv)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout)


@pytest.mark.parametrize("name, command", [
    ("long_note", "encode"), ("stacked_to_the_limit", "encode"), ("one_key_stacked", "encode"),
    ("one_key_fifo", "encode"), ("tempo_flood", "encode"), ("tracks_of_one_note", "info"),
])
def test_worst_files_cost_little_memory_and_time(hostile_dir, tmp_path, name, command):
    target = [tmp_path / "out.npz"] if command == "encode" else []
    result = measured([command, hostile_dir / f"{name}.mid", *target])
    assert result["status"] in (0, 2) and "Traceback" not in result["stderr"]
    assert result["stderr"].count("\n") == (result["status"] == 2)
    assert result["rss"] < MEMORY_BOUND, result
    assert result["cpu"] < CPU_BOUND, result


# --- property-based: generated and mutated files, generated options -----------------------

# Hypothesis picks a branch of one_of evenly: a branch given twice is drawn twice as often.
DELTAS = st.one_of(st.integers(0, 127), st.integers(0, 127), st.integers(0, 2 ** 14),
                   st.integers(0, 0x0FFFFFFF), st.sampled_from([0x0FFFFFFF, 0x10000000, 2 ** 35]))
DATA = st.integers(0, 255)  # data bytes above 127 are invalid


@st.composite
def event(draw) -> bytes:
    """One event as bytes: any kind, often without a status byte (running status)."""
    kind = draw(st.sampled_from(["note", "note", "note", "control", "program", "bend", "tempo",
                                 "meter", "name", "end", "meta", "sysex", "system", "raw"]))
    channel = draw(st.integers(0, 15))
    status = lambda base: b"" if draw(st.booleans()) else bytes([base | channel])  # noqa: E731
    if kind == "note":
        body = status(draw(st.sampled_from([0x80, 0x90]))) + bytes([draw(DATA), draw(DATA)])
    elif kind in ("control", "bend"):
        body = status(0xB0 if kind == "control" else 0xE0) + bytes([draw(DATA), draw(DATA)])
    elif kind == "program":
        body = status(0xC0) + bytes([draw(DATA)])
    elif kind == "tempo":
        length = draw(st.sampled_from([3, 3, 3, 0, 1, 4]))
        tempo = draw(st.sampled_from([0, 1, 2, 0xFFFFFF, 500_000]) | st.integers(0, 0xFFFFFF))
        body = b"\xff\x51" + bytes([length]) + tempo.to_bytes(3, "big")[:length].ljust(length, b"\0")
    elif kind == "meter":
        body = b"\xff\x58\x04" + bytes([draw(DATA), draw(DATA), draw(DATA), draw(DATA)])
    elif kind == "name":
        body = b"\xff\x03" + bytes([draw(st.integers(0, 12))]) + b"\xffname\n\x00"
    elif kind == "end":
        body = b"\xff\x2f\x00"
    elif kind == "meta":
        body = b"\xff" + bytes([draw(DATA)]) + vlq(draw(DELTAS)) + b"abc"
    elif kind == "sysex":
        body = bytes([draw(st.sampled_from([0xF0, 0xF7]))]) + vlq(draw(st.integers(0, 300))) + b"\xf7"
    elif kind == "system":
        body = bytes([draw(st.integers(0xF1, 0xFE))]) + bytes(draw(st.lists(DATA, max_size=2)))
    else:
        body = draw(st.binary(min_size=1, max_size=8))
    return vlq(draw(DELTAS)) + body


@st.composite
def midi_bytes(draw) -> bytes:
    """A file built from generated events, then mutated byte by byte."""
    tracks = []
    for _ in range(draw(st.integers(0, 4))):
        body = b"".join(draw(st.lists(event(), max_size=24)))
        if draw(st.booleans()):
            body += EOT
        lie = draw(st.none() | st.none() | st.sampled_from([0, 1, 0xFFFFFFFF, 0x7FFFFFFF])
                   | st.integers(0, len(body) + 8))
        tracks.append(chunk(b"MTrk", body, lie))
    repeat = draw(st.sampled_from([1, 1, 1, 1, 2, 1000, 3000]))  # thousands of tracks
    declared = draw(st.none() | st.none() | st.none() | st.integers(0, 65535))
    file_format = draw(st.sampled_from([1, 1, 0, 2]) | st.sampled_from([1, 1, 0, 2])
                       | st.integers(0, 65535))
    if file_format == 0 and declared is None:
        declared = 1
    data = (header(len(tracks) * repeat if declared is None else declared, file_format,
                   draw(st.sampled_from([1, 24, 96, 480, 0x7FFF]) | st.integers(0, 0xFFFF)),
                   draw(st.sampled_from([6] * 12 + [0, 5, 7, 0xFFFFFFFF])))
            + b"".join(tracks) * repeat)
    if draw(st.booleans()):
        data += chunk(draw(st.sampled_from([b"XFIH", b"MTrk", b"\x00\x01ab"])),
                      draw(st.binary(max_size=16)), draw(st.none() | st.integers(0, 2 ** 32 - 1)))
    return mutated(draw, data)


def mutated(draw, data: bytes) -> bytes:
    """``data`` after a few truncations, flipped bytes, insertions, deletions, overwrites."""
    data = bytearray(data)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 4]))):
        if not data:
            break
        where = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "huge"]))
        if action == "truncate":
            del data[where:]
        elif action == "flip":
            data[where] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[where:where + draw(st.integers(1, 8))]
        else:
            data[where:where + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x8f\xff\xff\x7f",
                                                          b"\x7f\xff\xff\xff"]))
    return bytes(data)


def junk(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Option values: valid ones (as text), out-of-range numbers, and text that is no number."""
    valid = valid.map(str)
    return st.one_of(valid, valid, valid, st.integers(-10 ** 12, 10 ** 12).map(str),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.sampled_from(["", "nan", "-inf", "1e3", "0x10", " 4", "４", "--", "-0"]))


@st.composite
def options(draw, names: dict) -> list:
    """Some of ``names`` (option -> strategy of its values) with generated values."""
    argv = []
    for name, values in names.items():
        if draw(st.integers(0, 3)) == 0:
            argv += [name, draw(values)]
    return argv


GRID = {"--steps-per-beat": junk(st.integers(1, 48) | st.integers(1, 32767)),
        "--low": junk(st.integers(0, 127)), "--high": junk(st.integers(1, 128)),
        "--max-steps": junk(st.integers(1, DEFAULT_MAX_STEPS)),
        "--max-bytes": junk(st.integers(1, DEFAULT_MAX_BYTES))}
POLICY = {"--overlap": st.sampled_from(["retrigger", "merge", "bogus"]),
          "--zero-length": st.sampled_from(["extend", "drop"]),
          "--out-of-range": st.sampled_from(["drop", "fold"])}
FLAGS = st.lists(st.sampled_from(["--lenient"] * 4 + ["--drums", "--drums", "--progress",
                                                      "--no-progress", "--frobnicate"]),
                 max_size=3)
INFO = {"--steps-per-beat": GRID["--steps-per-beat"], "--max-bytes": GRID["--max-bytes"]}
INFO_FLAGS = st.lists(st.sampled_from(["--lenient"] * 4 + ["--json"] * 2 + ["--bogus"]),
                      max_size=2)
DECODE = {"--bpm": junk(st.floats(3.6, 6e7)), "--threshold": junk(st.floats(0, 1)),
          "--program": junk(st.integers(0, 127)), "--velocity": junk(st.integers(1, 127)),
          "--max-notes": junk(st.integers(1, 10 ** 6)),
          "--steps-per-beat": junk(st.integers(1, 48)), "--low": junk(st.integers(0, 127)),
          "--high": junk(st.integers(1, 128)), "--max-steps": junk(st.integers(1, DEFAULT_MAX_STEPS))}
FUZZ = settings(derandomize=True, database=None, deadline=timedelta(seconds=10),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@settings(FUZZ, max_examples=300)
@given(data=midi_bytes(), strict=st.booleans())
def test_the_reader_raises_only_midi_file_errors(data, strict):
    try:
        events = midi.read_midi(data, strict=strict)
    except midi.MidiFileError as error:
        assert str(error).startswith("<bytes>: ")
        return
    assert len(events.starts) == len(events.ends) and (events.ends >= events.starts).all()


SONG = smf(b"\x00\xff\x51\x03\x07\xa1\x20\x00\xc0\x18\x00\x90\x3c\x64\x83\x60\x80\x3c\x00"
           b"\x00\x90\x40\x64\x83\x60\x40\x00" + EOT)
"""Two quarter notes at 120 bpm, program 24: a file every command converts."""
KNOWN = [  # values reported in the issue, or on the edges of each range
    ["--bpm", "0"], ["--bpm", "-120"], ["--bpm", "nan"], ["--bpm", "inf"], ["--bpm", "1e308"],
    ["--bpm", "3.5"], ["--threshold", "nan"], ["--threshold", "-1"], ["--threshold", "2"],
    ["--velocity", "0"], ["--velocity", "128"], ["--program", "-1"], ["--program", "128"],
    ["--steps-per-beat", "0"], ["--steps-per-beat", "-4"], ["--steps-per-beat", "2.5"],
    ["--low", "-1"], ["--high", "129"], ["--low", "100", "--high", "50"],
    ["--max-steps", "0"], ["--max-notes", "0"], ["--max-notes", "1"]]


@settings(FUZZ, max_examples=200)
@given(data=midi_bytes(), encode=options(GRID | POLICY), flags=FLAGS, info=options(INFO),
       info_flags=INFO_FLAGS, decode=options(DECODE))
def test_midi_roll_ends_in_exit_0_or_one_line(tmp_path, data, encode, flags, info, info_flags,
                                              decode):
    check_midi_roll(tmp_path, data, encode, flags, info, info_flags, decode)


@pytest.mark.parametrize("options", KNOWN, ids=" ".join)
def test_known_bad_option_values_are_refused_before_any_work(tmp_path, options):
    song, roll = tmp_path / "song.mid", tmp_path / "song.npz"
    song.write_bytes(SONG)
    assert main(["encode", str(song), str(roll)]) == 0
    bare = tmp_path / "sample.npy"  # a model's output: no tempo, program or velocity of its own
    np.save(bare, np.load(roll)["note_state"].astype(np.float32))
    grid = {"--steps-per-beat", "--low", "--high", "--max-steps"}
    commands = [["decode", roll, tmp_path / "back.mid"], ["decode", bare, tmp_path / "back.mid"]]
    if grid.issuperset(options[::2]):
        commands.append(["encode", song, tmp_path / "again.npz"])
    for command in commands:
        status, _, err = assert_clean(command + options)
        assert status == 2 and (options[0] in err or "notes, over the limit" in err
                                or "need 0 <= low < high" in err), err
    assert not (tmp_path / "back.mid").exists() and not (tmp_path / "again.npz").exists()


def check_midi_roll(tmp_path, data, encode, flags, info, info_flags, decode):
    """Encode ``data``, describe it, and decode what encode wrote, each run clean."""
    path, roll = tmp_path / "fuzz.mid", tmp_path / "fuzz.npz"
    path.write_bytes(data)
    if roll.exists():
        roll.unlink()
    status, _, _ = assert_clean(["encode", path, roll, *encode, *flags])
    assert_clean(["info", path, *info, *info_flags])
    if status == 0:
        assert_clean(["decode", roll, tmp_path / "back.mid", *decode])


@settings(FUZZ, max_examples=100)
@given(command=st.sampled_from(["encode", "decode", "info", "plot", "render"]),
       argv=st.lists(st.sampled_from(["--bpm", "--steps-per-beat", "--threshold", "--max-steps",
                                      "--sample-rate", "--low", "-h", "0", "-1", "nan", "1e309",
                                      "x", "", "--", "--json"]), max_size=5))
def test_any_argument_list_is_refused_in_one_line_or_runs(tmp_path, command, argv):
    # Inputs that do not exist: whatever the options, the answer is one line and exit 2
    # (or the help text and exit 0).
    status, out, err, _, _ = run_cli([command, tmp_path / "none.mid", tmp_path / "o", *argv])
    if "-h" in argv and err == "":
        assert status == 0 and "usage:" in out
    else:
        assert status == 2 and err.count("\n") == 1 and err.startswith("midi-roll"), err


ROLL_FIELDS = ["play", "onset", "velocity", "note_state", "tempos", "time_signatures",
               "steps_per_beat", "low", "ticks_per_beat", "program", "programs", "is_drum",
               "source"]
NUMBERS = st.one_of(st.integers(-2 ** 63, 2 ** 63 - 1), st.integers(-3, 300),
                    st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def forged_value(draw):
    """A value for an archive field: a number, or an array of any shape and kind."""
    kind = draw(st.sampled_from(["number", "array", "rows", "text"]))
    if kind == "number":
        return np.array(draw(NUMBERS))
    if kind == "text":
        return np.array(draw(st.text(max_size=8)))
    if kind == "rows":
        width = draw(st.integers(1, 4))
        rows = draw(st.lists(st.lists(NUMBERS, min_size=width, max_size=width), max_size=4))
        return np.array(rows, dtype=float if any(isinstance(v, float) for r in rows for v in r)
                        else object).astype(float) if rows else np.zeros((0, width))
    shape = tuple(draw(st.lists(st.integers(0, 40), min_size=1, max_size=3)))
    dtype = draw(st.sampled_from([bool, np.uint8, np.int64, np.float32, np.float64]))
    fill = draw(st.sampled_from([0, 1, 255, -1, np.nan, np.inf, 0.7]))
    with np.errstate(invalid="ignore"):
        return np.full(shape, fill).astype(dtype)


@settings(FUZZ, max_examples=150)
@given(changes=st.dictionaries(st.sampled_from(ROLL_FIELDS), forged_value(), max_size=3),
       dropped=st.lists(st.sampled_from(ROLL_FIELDS), max_size=2),
       damage=st.sampled_from([None, None, None, "truncate", "flip"]),
       where=st.floats(0, 1), options=st.just([]) | st.just([]) | options(DECODE))
def test_decode_of_forged_or_damaged_roll_archives_ends_in_one_line(tmp_path, changes, dropped,
                                                                     damage, where, options):
    from midi.storage import roll_arrays

    arrays = roll_arrays(midi.midi_to_roll(SONG))
    arrays.update(changes)
    for name in dropped:
        arrays.pop(name, None)
    archive = tmp_path / "forged.npz"
    np.savez_compressed(archive, **arrays)
    if damage:
        data = bytearray(archive.read_bytes())
        index = int(where * (len(data) - 1))
        if damage == "truncate":
            del data[index:]
        else:
            data[index] ^= 0x5A
        archive.write_bytes(bytes(data))
    assert_clean(["decode", archive, tmp_path / "back.mid", *options])


# --- folders, worker pools, progress bars --------------------------------------------------

@pytest.fixture
def mixed_folder(tmp_path, hostile_dir) -> Path:
    """good/a.mid, good/b.mid, bad/long_note.mid, bad/one_tick_notes_big.mid (too big)."""
    root = tmp_path / "songs"
    (root / "good").mkdir(parents=True)
    (root / "bad").mkdir()
    for name, pitch in (("a", 60), ("b", 64)):
        save(midi_file(conductor(), note_track([(pitch, 0, 480), (pitch + 3, 480, 1920)])),
             root / "good" / f"{name}.mid")
    (root / "bad" / "long_note.mid").write_bytes(HOSTILE["long_note"])
    (root / "bad" / "too_big.mid").write_bytes(b"\0" * TOO_BIG)
    return root


TOO_BIG = DEFAULT_MAX_BYTES + 100


def test_folder_conversion_goes_on_past_too_long_files(mixed_folder, tmp_path):
    status, out, err = assert_clean_folder(["encode", mixed_folder, tmp_path / "out"])
    assert status == 2 and sorted(p.name for p in (tmp_path / "out").rglob("*.npz")) == [
        "a.npz", "b.npz"]
    lines = err.splitlines()
    assert len(lines) == 3 and lines[-1] == "2 of 4 files done"
    assert "bad/long_note.mid: 4000000000 steps long" in lines[0]
    assert (f"bad/too_big.mid: file of {TOO_BIG} bytes, over the limit of {DEFAULT_MAX_BYTES} "
            "bytes") in lines[1]
    assert "100%" not in err  # stderr is no terminal: no progress bar unless asked for


def assert_clean_folder(argv: list) -> tuple:
    status, out, err, _, peak = run_cli(argv)
    assert status in (0, 2) and "Traceback" not in err and peak < MEMORY_BOUND
    return status, out, err


def test_progress_bars_only_on_a_terminal_or_when_asked(mixed_folder, tmp_path, monkeypatch):
    _, _, err = assert_clean_folder(["encode", mixed_folder, tmp_path / "o1", "--progress"])
    assert "100%" in err
    _, _, err = assert_clean_folder(["encode", mixed_folder, tmp_path / "o2"])
    assert "100%" not in err

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert not midi.dataset.show_progress(None)
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert midi.dataset.show_progress(None) and not midi.dataset.show_progress(False)


@pytest.mark.parametrize("workers", [1, 2])
def test_load_windows_leaves_out_too_long_files_by_name(mixed_folder, workers, capsys):
    split = midi.load_windows(mixed_folder, window=4, test_fraction=0, workers=workers)
    assert split.label_names == ["bad", "good"] and len(split.pieces) == 2
    assert [(Path(path).name, message.split(",")[0]) for path, message in split.errors] == [
        ("long_note.mid", "4000000000 steps long (1000000000 beats at 4 steps per beat)"),
        ("too_big.mid", f"file of {TOO_BIG} bytes")]
    assert capsys.readouterr().err == ""  # no progress bar: stderr is no terminal
    with pytest.raises(midi.MidiDatasetError, match=r"no usable MIDI file among 2: "
                                                    r"bad/long_note.mid: 4000000000 steps long"):
        midi.load_windows(mixed_folder, labels=["bad"], workers=workers)


def test_a_worker_that_dies_costs_its_file_not_the_folder(mixed_folder, monkeypatch):
    from concurrent.futures import Future

    failed = Future()
    failed.set_exception(MemoryError())
    assert midi.dataset._result(failed) == (
        None, "conversion failed in a worker process: MemoryError: ")


def test_a_long_roll_is_drawn_at_bounded_cost_without_losing_short_notes():
    from matplotlib.figure import Figure

    from midi.plot import MAX_BARS, MAX_COLUMNS, _columns, draw_roll

    play = np.zeros((DEFAULT_MAX_STEPS, 78), bool)
    play[50_001, 36] = True  # one 16th note in four and a half hours
    shown, factor = _columns(play)
    assert len(shown) <= MAX_COLUMNS and factor == DEFAULT_MAX_STEPS // MAX_COLUMNS
    assert shown.dtype == np.float32 and np.flatnonzero(shown[:, 36]).tolist() == [50_001 // factor]
    ax = Figure().add_subplot()
    draw_roll(ax, play, play)
    assert len(ax.collections) == 2 and len(ax.collections[1].get_segments()) <= MAX_BARS


def test_every_flipped_or_cut_byte_of_a_roll_archive_is_one_line(tmp_path):
    """Systematic where Hypothesis samples: every 4th byte of an archive flipped in turn,
    and the archive cut after every 16th."""
    good = tmp_path / "good.npz"
    midi.save_roll(midi.midi_to_roll(SONG), good)
    data = good.read_bytes()
    damaged = tmp_path / "damaged.npz"
    outcomes = set()
    for index in range(0, len(data), 4):
        cut = [data[:index]] if index % 16 == 0 else []
        for changed in [data[:index] + bytes([data[index] ^ 0x5A]) + data[index + 1:], *cut]:
            damaged.write_bytes(changed)
            try:
                midi.load_roll(damaged)
                outcomes.add("read")
            except midi.MidiFileError as error:
                assert str(error).startswith(f"{damaged}: ")
                outcomes.add(type(error).__name__)
    assert {"read", "RollFileError"} <= outcomes


def test_a_cache_entry_with_a_flipped_byte_is_rebuilt(tmp_path):
    (tmp_path / "songs").mkdir()
    (tmp_path / "songs" / "song.mid").write_bytes(SONG)
    cache = tmp_path / "cache"
    first = midi.load_windows(tmp_path / "songs", window=4, test_fraction=0, cache_dir=cache,
                              workers=1)
    (entry,) = cache.glob("*.npz")
    data = bytearray(entry.read_bytes())
    for index in range(40, len(data) - 40, 7):  # inside the compressed arrays, among others
        damaged = bytearray(data)
        damaged[index] ^= 0x5A
        entry.write_bytes(bytes(damaged))
        again = midi.load_windows(tmp_path / "songs", window=4, test_fraction=0, cache_dir=cache,
                                  workers=1)
        assert np.array_equal(again.train, first.train)
