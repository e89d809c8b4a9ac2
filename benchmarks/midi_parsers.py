"""Whether ``midi.reader`` earns its keep: its parse against mido's and symusic's.

    python -m benchmarks.midi_parsers [--json] [--data DIR] [--repeat N]

On every MIDI file of DIR/bach_lute and DIR/genre_midi, read into memory first (no disk
in the timings), milliseconds per file to go from the file's bytes to its notes in ticks:
  - ``midi.reader.parse_midi_bytes``                 (the hand parser, strict)
  - ``mido.MidiFile`` and pairing its messages        (:func:`mido_notes`, the same rule)
  - ``symusic.Score.from_midi`` and its notes as numpy (C++; optional, ``pip install symusic``)
timed in interleaved order (each round runs every file with the parsers in turn, rotating
which goes first), as the median over rounds of the mean per file. Then the cross-check:
the files on which each library's notes, as a multiset of (start, end, pitch, velocity),
differ from the hand parser's; mido's also by channel and track, with its programs, tempi
and time signatures. DIR defaults to $CHAINER_VAE_DATA, else ../shared/data.
"""
from __future__ import annotations

import argparse
import collections
import gc
import io
import json
import os
import platform
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

import mido
import numpy as np

from midi.dataset import midi_files
from midi.reader import parse_midi_bytes

REPO = Path(__file__).resolve().parents[1]

FOLDERS = ("bach_lute", "genre_midi")


def default_data() -> Path:
    """$CHAINER_VAE_DATA, else ``<repo>/../shared/data``."""
    return Path(os.environ.get("CHAINER_VAE_DATA") or REPO.parent / "shared" / "data")


def mido_notes(data: bytes) -> dict:
    """The hand parser's result rebuilt from mido's messages: notes and the meta rows.

    The pairing rule is the reader's: a note-on of velocity 0 is a note-off, an off ends
    the oldest open note of its channel and pitch, notes still open close at the track's
    last tick. Returns arrays named like :class:`midi.reader.MidiEvents` fields.
    """
    midi = mido.MidiFile(file=io.BytesIO(data))
    notes, programs, tempos, meters = [], [], [], []
    for track_index, track in enumerate(midi.tracks):
        tick = 0
        open_notes = collections.defaultdict(collections.deque)
        for message in track:
            tick += message.time
            kind = message.type
            if kind == "note_on" and message.velocity:
                open_notes[message.channel, message.note].append((tick, message.velocity))
            elif kind in ("note_on", "note_off"):
                started = open_notes.get((message.channel, message.note))
                if started:
                    start, velocity = started.popleft()
                    notes.append((start, tick, message.channel, message.note, velocity, track_index))
            elif kind == "program_change":
                programs.append((tick, message.channel, message.program))
            elif kind == "set_tempo":
                tempos.append((tick, message.tempo))
            elif kind == "time_signature":
                meters.append((tick, message.numerator, message.denominator))
        for (channel, pitch), started in open_notes.items():
            notes.extend((start, tick, channel, pitch, velocity, track_index)
                         for start, velocity in started)
    columns = np.array(notes, dtype=np.int64).reshape(-1, 6).T
    return {"notes": columns, "programs": _by_tick(programs, 3), "tempos": _by_tick(tempos, 2),
            "time_signatures": _by_tick(meters, 3)}


def _by_tick(rows: list, width: int) -> np.ndarray:
    array = np.array(rows, dtype=np.int64).reshape(-1, width)
    return array[np.argsort(array[:, 0], kind="stable")]


def symusic_notes(data: bytes) -> np.ndarray:
    """(start, end, pitch, velocity) rows of every note symusic reads, in ticks."""
    import symusic

    score = symusic.Score.from_midi(data, ttype="tick")
    parts = []
    for track in score.tracks:
        columns = track.notes.numpy()
        start = columns["time"].astype(np.int64)
        parts.append(np.stack([start, start + columns["duration"], columns["pitch"],
                               columns["velocity"]], axis=1).astype(np.int64))
    return np.concatenate(parts) if parts else np.zeros((0, 4), np.int64)


def parsers() -> dict:
    """The timed parsers by name; symusic is left out when it is not installed."""
    tools = {"midi.reader": parse_midi_bytes, "mido + pairing": mido_notes}
    try:
        import symusic  # noqa: F401
    except ImportError:
        return tools
    tools["symusic + numpy"] = symusic_notes
    return tools


def ms_per_file(blobs: list, tools: dict, repeat: int) -> dict:
    """Median over ``repeat`` rounds of the mean milliseconds per file, per parser."""
    names = list(tools)
    for data in blobs:  # warm-up: imports and caches
        for tool in tools.values():
            tool(data)
    rounds = {name: [] for name in names}
    for round_index in range(repeat):
        totals = dict.fromkeys(names, 0.0)
        gc.collect()
        for file_index, data in enumerate(blobs):
            shift = (round_index + file_index) % len(names)
            for name in names[shift:] + names[:shift]:
                start = time.perf_counter()
                tools[name](data)
                totals[name] += time.perf_counter() - start
        for name in names:
            rounds[name].append(1000 * totals[name] / len(blobs))
    return {name: statistics.median(values) for name, values in rounds.items()}


def _multiset(rows: np.ndarray) -> collections.Counter:
    return collections.Counter(map(tuple, rows.tolist()))


def differences(path: Path, data: bytes, with_symusic: bool) -> list:
    """What a library reads differently from the hand parser in one file (empty: nothing)."""
    ours = parse_midi_bytes(data, str(path))
    our_notes = np.stack([ours.starts, ours.ends, ours.channels, ours.pitches, ours.velocities,
                          ours.tracks], axis=1)
    theirs = mido_notes(data)
    found = []
    if _multiset(our_notes) != _multiset(theirs["notes"].T):
        found.append("mido: notes")
    for field in ("programs", "tempos", "time_signatures"):
        if not np.array_equal(getattr(ours, field), theirs[field]):
            found.append(f"mido: {field}")
    if with_symusic:
        plain = our_notes[:, [0, 1, 3, 4]]
        other = symusic_notes(data)
        if _multiset(plain) != _multiset(other):
            extra = sum((_multiset(other) - _multiset(plain)).values())
            missing = sum((_multiset(plain) - _multiset(other)).values())
            found.append(f"symusic: {missing} of {len(plain)} notes differ ({extra} in their place)")
    return found


def run(data: Path, repeat: int = 5) -> dict:
    """All figures as one dict (milliseconds per file, ratios, files that differ)."""
    paths = [path for folder in FOLDERS if (data / folder).is_dir()
             for path in midi_files(data / folder)[0]]
    blobs = [Path(path).read_bytes() for path in paths]
    tools = parsers()
    timings = ms_per_file(blobs, tools, repeat)
    with_symusic = "symusic + numpy" in tools
    differing = {}
    for path, blob in zip(paths, blobs):
        found = differences(Path(path), blob, with_symusic)
        if found:
            differing[str(Path(path).relative_to(data))] = found
    versions = f"mido {version('mido')}" + (f", symusic {version('symusic')}" if with_symusic else "")
    return {
        "machine": f"{platform.processor() or platform.machine()}, Python "
                   f"{platform.python_version()}, {versions}",
        "files": len(paths), "megabytes": sum(map(len, blobs)) / 1e6, "repeat": repeat,
        "ms_per_file": timings,
        "times_faster_than_hand_parser": {name: timings["midi.reader"] / value
                                          for name, value in timings.items()},
        "symusic_installed": with_symusic, "files_that_differ": differing,
    }


def markdown(result: dict) -> str:
    """The figures as a small markdown table and the cross-check's findings."""
    lines = [f"Bytes to notes on {result['files']} files ({result['megabytes']:.1f} MB; median "
             f"of {result['repeat']} interleaved rounds; {result['machine']}):", "",
             "| parser | ms per file | speed against midi.reader |", "|---|---:|---:|"]
    for name, value in result["ms_per_file"].items():
        lines.append(f"| {name} | {value:.2f} | "
                     f"{result['times_faster_than_hand_parser'][name]:.2f}x |")
    if not result["symusic_installed"]:
        lines.append("| symusic | not installed (pip install symusic) | |")
    differing = result["files_that_differ"]
    lines += ["", f"Files read differently from midi.reader: {len(differing)} of {result['files']}"]
    lines += [f"- {path}: {'; '.join(found)}" for path, found in sorted(differing.items())]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--data", type=Path, default=default_data(), help="data root")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (default 5)")
    args = parser.parse_args(argv)
    if not any((args.data / folder).is_dir() for folder in FOLDERS):
        print(f"midi_parsers: neither {' nor '.join(FOLDERS)} is in {args.data}", file=sys.stderr)
        return 2
    result = run(args.data, args.repeat)
    print(json.dumps(result) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
