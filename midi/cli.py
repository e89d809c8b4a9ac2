"""``midi-roll``: encode MIDI to rolls, decode rolls to MIDI, describe and plot, file or folder.

Bad input ends with exit status 2 and one line on stderr, never a traceback: usage errors
(every numeric option is range-checked by a type of :mod:`midi.argtypes` before any work),
unreadable, damaged or too long files alike. A folder goes on past bad files, one line
each, and ends with a count.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .argtypes import integer, probability, real
from .atomic import FULL
from .corpus import CORPORA, load_corpus
from .dataset import MIDI_SUFFIXES, show_progress
from .encode import DEFAULT_MAX_STEPS, MAX_STEPS_PER_BEAT, RollOptions, roll_from_events
from .errors import DiskFullError, MidiFileError
from .info import describe_midi
from .reader import read_midi
from .source import DEFAULT_MAX_BYTES
from .storage import load_roll, save_roll
from .walk import files_below, tolerant_output
from .writer import DEFAULT_MAX_NOTES, MAX_BPM, MIN_BPM, roll_to_midi

PROGRAM = "midi-roll"
ROLL_SUFFIXES = (".npz", ".npy")


LIMIT = 2 ** 40
"""Upper bound of the --max-* options (only so that they stay 64-bit integers)."""


def main(argv=None) -> int:
    """Run the command line; return the exit status (0 fine, 2 bad input)."""
    tolerant_output()
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # usage errors (2, one line) and --help (0)
        return exit_.code if isinstance(exit_.code, int) else 0
    try:
        return args.command(args)
    except (MidiFileError, ValueError, OSError) as error:
        _error(error)
        return 2
    except MemoryError:
        _error(f"{args.input}: out of memory; lower --max-steps or --max-bytes")
        return 2


def _error(message) -> None:
    """One line on stderr, whatever the message holds (a file name with a newline...)."""
    print(f"{PROGRAM}: error: {_one_line(message)}", file=sys.stderr)


def _warning(message) -> None:
    print(f"{PROGRAM}: warning: {_one_line(message)}", file=sys.stderr)


def _one_line(message) -> str:
    return " ".join(str(message).split())


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit 2) instead of the usage text."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROGRAM, description=(
        "MIDI files to piano-roll arrays (.npz) and back. IN and OUT may be folders: "
        "every file below IN is converted to the same place below OUT."))
    commands = parser.add_subparsers(required=True, metavar="COMMAND", parser_class=_Parser)

    _add_encode(commands)
    _add_decode(commands)
    _add_info(commands)
    _add_plot(commands)
    _add_compare(commands)
    _add_corpus(commands)
    _add_render(commands)
    return parser


def _add_encode(commands) -> None:
    encode = commands.add_parser("encode", help="MIDI file(s) to piano-roll .npz")
    encode.add_argument("input", metavar="IN", help="a MIDI file or a folder of them")
    encode.add_argument("output", metavar="OUT", help=".npz file, or folder")
    _grid_options(encode)
    _policy_options(encode)
    encode.set_defaults(command=_encode)


def _add_decode(commands) -> None:
    decode = commands.add_parser("decode", help="piano-roll .npz file(s) to MIDI")
    decode.add_argument("input", metavar="IN", help="a .npz roll (or bare note-state array) or a folder")
    decode.add_argument("output", metavar="OUT", help=".mid file, or folder")
    _grid_options(decode)
    decode.add_argument("--threshold", type=probability, default=0.5,
                        help="a bare array's cells above this (0..1) are on (default 0.5)")
    decode.add_argument("--bpm", type=real(MIN_BPM, MAX_BPM), default=120.0,
                        help=f"tempo where the roll has none ({MIN_BPM:g}..{MAX_BPM:.0f}, "
                             "default 120)")
    decode.add_argument("--program", type=integer(0, 127), default=0,
                        help="GM program (0..127) where the roll has none")
    decode.add_argument("--velocity", type=integer(1, 127), default=100,
                        help="velocity (1..127) where the roll has none")
    decode.add_argument("--max-notes", type=integer(1, LIMIT), default=DEFAULT_MAX_NOTES,
                        help=f"refuse a roll of more notes (default {DEFAULT_MAX_NOTES})")
    decode.set_defaults(command=_decode)


def _add_info(commands) -> None:
    info = commands.add_parser("info", help="tracks, tempo map, meters, pitch range, grid fit")
    info.add_argument("input", metavar="IN", help="a MIDI file or a folder of them")
    info.add_argument("--steps-per-beat", type=integer(1, MAX_STEPS_PER_BEAT), default=4,
                      help="grid to test (default 4)")
    info.add_argument("--lenient", action="store_true", help="salvage damaged files")
    info.add_argument("--json", action="store_true", help="one JSON object per file")
    _max_bytes_option(info)
    info.set_defaults(command=_info)


def _add_plot(commands) -> None:
    plot = commands.add_parser("plot", help="piano-roll picture of a MIDI or .npz file")
    plot.add_argument("input", metavar="IN", help="a MIDI file, a .npz roll, or a folder")
    plot.add_argument("output", metavar="OUT", help=".png (or .pdf, .svg) file, or folder")
    _grid_options(plot)
    _policy_options(plot)
    plot.set_defaults(command=_plot)


def _add_compare(commands) -> None:
    compare = commands.add_parser(
        "compare", help="how much generated pieces resemble real ones (MGEval's overlapping "
                        "areas and KL divergences, feature by feature)")
    compare.add_argument("real", metavar="REAL", help="a folder of real pieces (MIDI or .npz)")
    compare.add_argument("generated", metavar="GENERATED", help="a folder of generated pieces")
    compare.add_argument("--beats-per-bar", type=integer(1, 64), default=4,
                         help="beats in a bar, for notes per bar (default 4)")
    compare.add_argument("--structure", action="store_true",
                         help="also compare how bars repeat (repeated_bars, bar_distances: "
                              "for pieces of several bars, e.g. 16)")
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    _grid_options(compare)
    _policy_options(compare)
    compare.set_defaults(command=_compare)


def _add_corpus(commands) -> None:
    corpus = commands.add_parser(
        "corpus", help="a collection of music21's corpus as MIDI files, OUT/<mode>/<piece>.mid, "
                       "as training converts it (pip install music21)")
    corpus.add_argument("name", metavar="NAME", help="one of: " + ", ".join(CORPORA))
    corpus.add_argument("output", metavar="OUT", help="folder")
    _grid_options(corpus)
    corpus.set_defaults(command=_corpus)


def _add_render(commands) -> None:
    render = commands.add_parser("render", help="MIDI file(s) to WAV audio: FluidSynth, or the "
                                                "built-in synthesizer where it is missing")
    render.add_argument("input", metavar="IN", help="a MIDI file or a folder of them")
    render.add_argument("output", metavar="OUT", nargs="?",
                        help=".wav file, or folder (default: beside each MIDI file)")
    render.add_argument("--soundfont", help="a General MIDI .sf2 file (default: $MIDI_SOUNDFONT "
                        "or the one installed by fluid-soundfont-gm)")
    render.add_argument("--sample-rate", type=integer(8000, 96000), default=44100,
                        help="samples per second, as FluidSynth allows (8000..96000; the "
                             "built-in synthesizer makes at most 22050)")
    render.add_argument("--synth", choices=("auto", "fluidsynth", "builtin"), default="auto",
                        help="FluidSynth (with --soundfont or an installed GM soundfont), the "
                             "built-in NumPy synthesizer, or auto: FluidSynth where installed "
                             "(default)")
    _progress_option(render)
    render.set_defaults(command=_render)


def _grid_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps-per-beat", type=integer(1, MAX_STEPS_PER_BEAT), default=4,
                        help="steps per quarter note (default 4: 16th notes)")
    parser.add_argument("--low", type=integer(0, 127), default=24,
                        help="lowest MIDI pitch (default 24)")
    parser.add_argument("--high", type=integer(1, 128), default=102,
                        help="one past the highest (default 102)")
    parser.add_argument("--max-steps", type=integer(1, LIMIT), default=DEFAULT_MAX_STEPS,
                        help=f"refuse a file or roll longer than this many steps (default "
                             f"{DEFAULT_MAX_STEPS}: 4.5 hours at 120 bpm at 4 steps per beat)")
    _progress_option(parser)


def _progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar for folders (default: when stderr is a terminal)")


def _max_bytes_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-bytes", type=integer(1, LIMIT), default=DEFAULT_MAX_BYTES,
                        help=f"refuse a MIDI file of more bytes (default {DEFAULT_MAX_BYTES})")


def _policy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lenient", action="store_true",
                        help="clip bad data bytes and salvage truncated files")
    parser.add_argument("--drums", action="store_true", help="keep channel-10 drum notes")
    parser.add_argument("--overlap", choices=("retrigger", "merge"), default="retrigger")
    parser.add_argument("--zero-length", choices=("extend", "drop"), default="extend")
    parser.add_argument("--out-of-range", choices=("drop", "fold"), default="drop")
    _max_bytes_option(parser)


def _options(args) -> RollOptions:
    """The conversion options of the command line, checked together before any file."""
    return RollOptions(args.steps_per_beat, args.low, args.high, strict=not args.lenient,
                       drums=args.drums, overlap=args.overlap, zero_length=args.zero_length,
                       out_of_range=args.out_of_range, max_steps=args.max_steps,
                       max_bytes=args.max_bytes)


def _roll_of(path: str, options: RollOptions):
    """The roll of a MIDI file or a .npz archive, chosen by suffix."""
    if path.lower().endswith(ROLL_SUFFIXES):
        return load_roll(path, options.steps_per_beat, options.low, max_steps=options.max_steps)
    return roll_from_events(read_midi(path, options.strict, options.max_bytes), options)


def _encode(args) -> int:
    options = _options(args)

    def encode(source, target):
        roll = _roll_of(source, options)
        save_roll(roll, target)
        return roll.report.summary()
    return _each(args.input, args.output, MIDI_SUFFIXES, ".npz", encode, args.progress)


def _decode(args) -> int:
    if not 0 <= args.low < args.high <= 128:
        raise ValueError(f"need 0 <= low < high <= 128, got low={args.low}, high={args.high}")

    def decode(source, target):
        roll = load_roll(source, args.steps_per_beat, args.low, args.threshold,
                         max_steps=args.max_steps)
        midi_file = roll_to_midi(roll, target, bpm=args.bpm, program=args.program,
                                 velocity=args.velocity, max_notes=args.max_notes)
        return f"{target}: {len(roll.notes())} notes, {midi_file.length:.1f} s"
    return _each(args.input, args.output, ROLL_SUFFIXES, ".mid", decode, args.progress)


def _plot(args) -> int:
    options = _options(args)

    def plot(source, target):
        from .plot import plot_roll
        plot_roll(_roll_of(source, options), target)
        return target
    return _each(args.input, args.output, MIDI_SUFFIXES + ROLL_SUFFIXES, ".png", plot,
                 args.progress)


def _pieces(folder: str, options: RollOptions) -> list:
    """The rolls of every MIDI or .npz file below ``folder`` (or the one file)."""
    if not os.path.exists(folder):
        raise MidiFileError(folder, "no such file or folder")
    paths = ([folder] if not os.path.isdir(folder) else [
        str(path) for path in files_below(folder, MIDI_SUFFIXES + ROLL_SUFFIXES, warn=_warning)])
    if not paths:
        raise MidiFileError(folder, "holds no MIDI or .npz files")
    return [_roll_of(path, options) for path in paths]


def _compare(args) -> int:
    from .metrics import FEATURES, compare
    from .structure import STRUCTURE_FEATURES

    options = _options(args)
    real, generated = _pieces(args.real, options), _pieces(args.generated, options)
    if len(real) < 2:
        raise MidiFileError(args.real, "a reference set needs at least two pieces")
    result = compare(real, generated, args.beats_per_bar, structure=args.structure)
    if args.json:
        print(json.dumps(dict(result, real=len(real), generated=len(generated))))
        return 0
    print(f"{len(generated)} generated pieces against {len(real)} real ones")
    print(f"{'feature':26s} {'overlap':>8s} {'KL':>8s}")
    for name in FEATURES:
        print(f"{name:26s} {result[name]['overlap']:8.3f} {result[name]['kl']:8.3f}")
    print(f"{'mean overlap':26s} {result['mean_overlap']:8.3f}")
    if args.structure:
        for name in STRUCTURE_FEATURES:
            print(f"{name:26s} {result[name]['overlap']:8.3f} {result[name]['kl']:8.3f}")
        print(f"{'structure overlap':26s} {result['structure_overlap']:8.3f}")
    return 0


def _render(args) -> int:
    from .render import SYNTH_NAMES, choose_synth, render_wav

    synth = choose_synth(args.synth, args.soundfont)  # one clear error before any file
    said = []

    def render(source, target):
        done = str(render_wav(source, target, args.soundfont, args.sample_rate, synth=synth))
        if not said:  # once, after a file rendered: which synthesizer made the sound
            print(f"rendered with {SYNTH_NAMES[synth]}", file=sys.stderr)
            said.append(True)
        return done
    return _each(args.input, args.output, MIDI_SUFFIXES, ".wav", render, args.progress,
                 echo=True)


def _corpus(args) -> int:
    """Write the pieces of a corpus, as converted for training, into label folders."""
    from tqdm.auto import tqdm

    pieces = load_corpus(args.name, args.steps_per_beat, args.low, args.high,
                         progress=args.progress)
    out = Path(args.output)
    for name in pieces.label_names:
        (out / name).mkdir(parents=True, exist_ok=True)
    written = tqdm(zip(pieces.pieces, pieces.labels, pieces.note_states), total=len(pieces.pieces),
                   desc="MIDI files", unit="file", disable=not show_progress(args.progress),
                   file=sys.stderr)
    for piece, label, state in written:
        file_name = piece.split("/")[-1].replace("#", "-") + ".mid"
        roll_to_midi(state, out / pieces.label_names[label] / file_name,
                     steps_per_beat=args.steps_per_beat, low=args.low, high=args.high)
    print(f"{len(pieces.pieces)} pieces of corpus {args.name} written to {out} "
          f"({len(pieces.errors)} left out)")
    return 0


def _info(args) -> int:
    def info(source, _):
        described = describe_midi(source, args.steps_per_beat, strict=not args.lenient,
                                  max_bytes=args.max_bytes)
        return json.dumps(described.as_dict()) if args.json else described.text()
    return _each(args.input, None, MIDI_SUFFIXES, None, info, progress=False, echo=True)


def _each(source: str, target, suffixes: tuple, new_suffix, action, progress,
          echo: bool = False) -> int:
    """Run ``action(source, target)`` on one file, or on every file below a folder.

    One file: errors propagate (one line, exit 2) and the action's line is printed.
    A folder: targets mirror the sources below ``target``; each failure (a bad or too
    long file, an unwritable target) is one line on stderr naming the file and the
    others go on; exit 2 if any failed. ``progress``: a bar on stderr (None: when
    stderr is a terminal).
    """
    if not os.path.exists(source):
        raise MidiFileError(source, "no such file or folder")
    if not os.path.isdir(source):
        if target is not None and os.path.isdir(target):
            target = os.path.join(target, Path(source).with_suffix(new_suffix).name)
        print(action(source, target))
        return 0
    sources = [str(path) for path in files_below(source, suffixes, warn=_warning)]
    if not sources:
        raise MidiFileError(source, f"holds no {'/'.join(suffixes)} files")
    from tqdm.auto import tqdm

    failures = 0
    for path in tqdm(sources, unit="file", disable=not show_progress(progress), file=sys.stderr):
        destination = None
        try:
            if target is not None:
                destination = Path(target) / Path(path).relative_to(source).with_suffix(new_suffix)
                try:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    kind = DiskFullError if error.errno in FULL else MidiFileError
                    raise kind(str(destination.parent), f"cannot make the folder: "
                                                        f"{error.strerror or error}") from None
            line = action(path, None if destination is None else str(destination))
        except DiskFullError:
            raise  # every later file would fail the same way: one line, and stop
        except (MidiFileError, ValueError) as error:
            failures += 1
            named = error if isinstance(error, MidiFileError) else f"{path}: {error}"
            tqdm.write(f"{PROGRAM}: error: {_one_line(named)}", file=sys.stderr)
            continue
        if echo:
            print(line)
    print(f"{len(sources) - failures} of {len(sources)} files done", file=sys.stderr)
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
