"""How fast midi.midi_to_roll encodes, against mido's parse alone and pretty_midi.

    python -m benchmarks.midi_speed [--json] [--data DIR] [--repeat N] [--workers N]

On the 8 Bach files of DIR/bach_lute: milliseconds per file of
  - ``midi.midi_to_roll(path)``                      (parse + 16th-note roll, 4 steps/beat)
  - ``mido.MidiFile(file=...)``                      (parse alone: the floor for mido users)
  - ``pretty_midi.PrettyMIDI(path).get_piano_roll(fs=8)`` (8 Hz = 16th notes at 120 bpm)
timed in interleaved order (each repeat runs every file with the three tools in turn,
rotating which goes first), as the median over repeats of the mean per file. Goals: at
most 1.2x mido's parse, at least 1.5x faster than pretty_midi. Then files per second
converting the 149 songs of DIR/genre_midi in parallel (``midi.load_pieces``, no cache)
and on one core. pretty_midi is optional (``pip install pretty_midi``); without it its
column says so. DIR defaults to $CHAINER_VAE_DATA, else ../shared/data.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import mido

import midi
from midi.dataset import available_cores, midi_files

from benchmarks import report
from benchmarks.timing import medians, timed

REPO = Path(__file__).resolve().parents[1]


def default_data() -> Path:
    """$CHAINER_VAE_DATA, else ``<repo>/../shared/data``."""
    return Path(os.environ.get("CHAINER_VAE_DATA") or REPO.parent / "shared" / "data")


def encoders() -> dict:
    """The timed tools by name; pretty_midi maps to None when it is not installed."""
    def ours(path):
        midi.midi_to_roll(path)

    def mido_parse(path):
        with open(path, "rb") as stream:
            mido.MidiFile(file=stream)

    tools = {"midi.midi_to_roll": ours, "mido parse alone": mido_parse, "pretty_midi": None}
    try:
        import pretty_midi
    except ImportError:
        return tools

    def pretty(path):
        pretty_midi.PrettyMIDI(path).get_piano_roll(fs=8)

    tools["pretty_midi"] = pretty
    return tools


def ms_per_file(files: list, repeat: int) -> dict:
    """Median over ``repeat`` rounds of the mean milliseconds per file, per tool."""
    tools = {name: tool for name, tool in encoders().items() if tool is not None}
    names = list(tools)
    for path in files:  # warm-up: imports, caches, the files in the page cache
        for tool in tools.values():
            tool(path)
    rounds = {name: [] for name in names}
    for round_index in range(repeat):
        totals = dict.fromkeys(names, 0.0)
        gc.collect()
        for file_index, path in enumerate(files):
            shift = (round_index + file_index) % len(names)
            for name in names[shift:] + names[:shift]:
                start = time.perf_counter()
                tools[name](path)
                totals[name] += time.perf_counter() - start
        for name in names:
            rounds[name].append(1000 * totals[name] / len(files))
    return medians(rounds)


def files_per_second(root: Path, workers) -> float:
    """Songs per second that ``midi.load_pieces`` converts with ``workers`` processes."""
    count = len(midi_files(root)[0])
    _, seconds = timed(midi.load_pieces, root, workers=workers, progress=False)
    return count / seconds


def run(data: Path, repeat: int = 15, workers=None) -> dict:
    """All figures as one dict (milliseconds, ratios, files per second)."""
    bach = midi_files(data / "bach_lute")[0]
    timings = ms_per_file(bach, repeat)
    ours, floor = timings["midi.midi_to_roll"], timings["mido parse alone"]
    pretty = timings.get("pretty_midi")
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {available_cores()} cores, "
                   f"Python {platform.python_version()}, mido {version('mido')}",
        "bach_files": len(bach), "repeat": repeat, "ms_per_file": timings,
        "ratio_to_mido_parse": ours / floor,
        "speedup_over_pretty_midi": None if pretty is None else pretty / ours,
        "pretty_midi_installed": pretty is not None,
    }
    genre = data / "genre_midi"
    if genre.is_dir():
        used = workers or available_cores()
        result.update({
            "genre_files": len(midi_files(genre)[0]), "workers": used,
            "genre_files_per_second_parallel": files_per_second(genre, used),
            "genre_files_per_second_one_core": files_per_second(genre, 1),
        })
    return result


def markdown(result: dict) -> str:
    """The figures as a small markdown table and a line per goal."""
    lines = [f"Encoding the {result['bach_files']} Bach files (median of {result['repeat']} "
             f"interleaved rounds; {result['machine']}):", "",
             "| tool | ms per file |", "|---|---:|"]
    for name, value in result["ms_per_file"].items():
        lines.append(f"| {name} | {value:.2f} |")
    if not result["pretty_midi_installed"]:
        lines.append("| pretty_midi | not installed (pip install pretty_midi) |")
    lines += ["", f"- midi_to_roll / mido parse: {result['ratio_to_mido_parse']:.2f}x (goal <= 1.2x)"]
    if result["speedup_over_pretty_midi"] is not None:
        lines.append(f"- pretty_midi / midi_to_roll: {result['speedup_over_pretty_midi']:.1f}x faster "
                     "(goal >= 1.5x)")
    if "genre_files" in result:
        lines.append(f"- {result['genre_files']} genre songs: "
                     f"{result['genre_files_per_second_parallel']:.0f} files/s on {result['workers']} "
                     f"processes, {result['genre_files_per_second_one_core']:.0f} files/s on one")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--data", type=Path, default=default_data(), help="data root")
    parser.add_argument("--repeat", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--workers", type=int, default=None, help="processes for the genre songs")
    args = parser.parse_args(argv)
    if not (args.data / "bach_lute").is_dir():
        print(f"midi_speed: {args.data / 'bach_lute'} is absent", file=sys.stderr)
        return 2
    result = run(args.data, args.repeat, args.workers)
    report.emit(result, args.json, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
