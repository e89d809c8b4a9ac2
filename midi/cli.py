"""``midi-roll``: encode MIDI to rolls, decode rolls to MIDI, describe and plot, file or folder.

Bad input ends with exit status 2 and one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .dataset import MIDI_SUFFIXES
from .encode import midi_to_roll
from .errors import MidiFileError
from .info import describe_midi
from .storage import load_roll, save_roll
from .writer import roll_to_midi

PROGRAM = "midi-roll"
ROLL_SUFFIXES = (".npz", ".npy")


def main(argv=None) -> int:
    """Run the command line; return the exit status (0 fine, 2 bad input)."""
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except (MidiFileError, ValueError, OSError) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=(
        "MIDI files to piano-roll arrays (.npz) and back. IN and OUT may be folders: "
        "every file below IN is converted to the same place below OUT."))
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    encode = commands.add_parser("encode", help="MIDI file(s) to piano-roll .npz")
    encode.add_argument("input", metavar="IN", help="a MIDI file or a folder of them")
    encode.add_argument("output", metavar="OUT", help=".npz file, or folder")
    _grid_options(encode)
    _policy_options(encode)
    encode.set_defaults(command=_encode)

    decode = commands.add_parser("decode", help="piano-roll .npz file(s) to MIDI")
    decode.add_argument("input", metavar="IN", help="a .npz roll (or bare note-state array) or a folder")
    decode.add_argument("output", metavar="OUT", help=".mid file, or folder")
    _grid_options(decode)
    decode.add_argument("--threshold", type=float, default=0.5,
                        help="a bare array's cells above this are on (default 0.5)")
    decode.add_argument("--bpm", type=float, default=120.0, help="tempo where the roll has none")
    decode.add_argument("--program", type=int, default=0, help="GM program where the roll has none")
    decode.add_argument("--velocity", type=int, default=100, help="velocity where the roll has none")
    decode.set_defaults(command=_decode)

    info = commands.add_parser("info", help="tracks, tempo map, meters, pitch range, grid fit")
    info.add_argument("input", metavar="IN", help="a MIDI file or a folder of them")
    info.add_argument("--steps-per-beat", type=int, default=4, help="grid to test (default 4)")
    info.add_argument("--lenient", action="store_true", help="salvage damaged files")
    info.add_argument("--json", action="store_true", help="one JSON object per file")
    info.set_defaults(command=_info)

    plot = commands.add_parser("plot", help="piano-roll picture of a MIDI or .npz file")
    plot.add_argument("input", metavar="IN", help="a MIDI file, a .npz roll, or a folder")
    plot.add_argument("output", metavar="OUT", help=".png (or .pdf, .svg) file, or folder")
    _grid_options(plot)
    _policy_options(plot)
    plot.set_defaults(command=_plot)

    render = commands.add_parser("render", help="MIDI file(s) to WAV audio with FluidSynth")
    render.add_argument("input", metavar="IN", help="a MIDI file or a folder of them")
    render.add_argument("output", metavar="OUT", nargs="?",
                        help=".wav file, or folder (default: beside each MIDI file)")
    render.add_argument("--soundfont", help="a General MIDI .sf2 file (default: $MIDI_SOUNDFONT "
                        "or the one installed by fluid-soundfont-gm)")
    render.add_argument("--sample-rate", type=int, default=44100)
    render.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar for folders")
    render.set_defaults(command=_render)
    return parser


def _grid_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps-per-beat", type=int, default=4,
                        help="steps per quarter note (default 4: 16th notes)")
    parser.add_argument("--low", type=int, default=24, help="lowest MIDI pitch (default 24)")
    parser.add_argument("--high", type=int, default=102, help="one past the highest (default 102)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar for folders")


def _policy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lenient", action="store_true",
                        help="clip bad data bytes and salvage truncated files")
    parser.add_argument("--drums", action="store_true", help="keep channel-10 drum notes")
    parser.add_argument("--overlap", choices=("retrigger", "merge"), default="retrigger")
    parser.add_argument("--zero-length", choices=("extend", "drop"), default="extend")
    parser.add_argument("--out-of-range", choices=("drop", "fold"), default="drop")


def _roll_of(path: str, args):
    """The roll of a MIDI file or a .npz archive, chosen by suffix."""
    if path.lower().endswith(ROLL_SUFFIXES):
        return load_roll(path, args.steps_per_beat, args.low)
    return midi_to_roll(path, args.steps_per_beat, args.low, args.high, strict=not args.lenient,
                        drums=args.drums, overlap=args.overlap, zero_length=args.zero_length,
                        out_of_range=args.out_of_range)


def _encode(args) -> int:
    def encode(source, target):
        roll = _roll_of(source, args)
        save_roll(roll, target)
        return roll.report.summary()
    return _each(args.input, args.output, MIDI_SUFFIXES, ".npz", encode, args.progress)


def _decode(args) -> int:
    def decode(source, target):
        roll = load_roll(source, args.steps_per_beat, args.low, args.threshold)
        midi_file = roll_to_midi(roll, target, bpm=args.bpm, program=args.program,
                                 velocity=args.velocity)
        return f"{target}: {len(roll.notes())} notes, {midi_file.length:.1f} s"
    return _each(args.input, args.output, ROLL_SUFFIXES, ".mid", decode, args.progress)


def _plot(args) -> int:
    def plot(source, target):
        from .plot import plot_roll
        plot_roll(_roll_of(source, args), target)
        return target
    return _each(args.input, args.output, MIDI_SUFFIXES + ROLL_SUFFIXES, ".png", plot,
                 args.progress)


def _render(args) -> int:
    from .render import find_fluidsynth, find_soundfont, render_wav

    find_fluidsynth(), find_soundfont(args.soundfont)  # one clear error before any file

    def render(source, target):
        return str(render_wav(source, target, args.soundfont, args.sample_rate))
    return _each(args.input, args.output, MIDI_SUFFIXES, ".wav", render, args.progress,
                 echo=True)


def _info(args) -> int:
    def info(source, _):
        described = describe_midi(source, args.steps_per_beat, strict=not args.lenient)
        return json.dumps(described.as_dict()) if args.json else described.text()
    return _each(args.input, None, MIDI_SUFFIXES, None, info, progress=False, echo=True)


def _each(source: str, target, suffixes: tuple, new_suffix, action, progress: bool,
          echo: bool = False) -> int:
    """Run ``action(source, target)`` on one file, or on every file below a folder.

    One file: errors propagate (one line, exit 2) and the action's line is printed.
    A folder: targets mirror the sources below ``target``; each failure is one line on
    stderr and the others go on; exit 2 if any failed.
    """
    if not os.path.exists(source):
        raise MidiFileError(source, "no such file or folder")
    if not os.path.isdir(source):
        if target is not None and os.path.isdir(target):
            target = os.path.join(target, Path(source).with_suffix(new_suffix).name)
        print(action(source, target))
        return 0
    sources = sorted(str(path) for path in Path(source).rglob("*")
                     if path.suffix.lower() in suffixes and path.is_file())
    if not sources:
        raise MidiFileError(source, f"holds no {'/'.join(suffixes)} files")
    from tqdm.auto import tqdm

    failures = 0
    for path in tqdm(sources, unit="file", disable=not progress, file=sys.stderr):
        destination = None
        if target is not None:
            destination = Path(target) / Path(path).relative_to(source).with_suffix(new_suffix)
            destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            line = action(path, None if destination is None else str(destination))
        except MidiFileError as error:
            failures += 1
            tqdm.write(f"{PROGRAM}: error: {error}", file=sys.stderr)
            continue
        if echo:
            print(line)
    print(f"{len(sources) - failures} of {len(sources)} files done", file=sys.stderr)
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
