"""music21's corpus as training pieces on this package's grid.

music21 (an optional extra: ``pip install 'chainer-vae[corpus]'``) ships a corpus of
encoded scores. Each piece becomes note events in ticks (every part merged, tied notes
held as one note, grace notes and chord symbols left out, repeats *not* expanded: a
repeat sign is played once, as written) and then a roll through the same code and
policies as a MIDI file (:func:`midi.encode.roll_from_events`). A piece is labelled with
the mode (``major``/``minor``) that music21's key analysis (Krumhansl-Schmuckler) finds.

The pieces are converted once, in parallel, into a roll store (:mod:`midi.rollstore`) in
a cache folder (``$CHAINER_VAE_CACHE``, else ``~/.cache/chainer_vae``), keyed by the
corpus, the grid and the versions of this conversion and of music21; later runs map it
from disk.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .dataset import PieceSet, available_cores, show_progress
from .encode import RollOptions, roll_from_events
from .errors import MidiDatasetError
from .events import MidiEvents
from .rollstore import StoreWriter, open_store

CONVERSION_VERSION = 1
"""Part of every store's key; bumped when the conversion changes its output."""

TICKS_PER_BEAT = 480
"""Ticks per quarter note of the events a score becomes (divisible by 2, 3, 4, 5, 8, 16)."""

CACHE_VAR = "CHAINER_VAE_CACHE"
MODES = ("major", "minor")


@dataclass(frozen=True)
class Corpus:
    """One named collection of music21's corpus: what it is, its terms of use, and where
    its files are (``folder`` under music21's corpus, or ``chorales``: the 371 chorales
    in Riemenschneider's order)."""

    name: str
    description: str
    terms: str
    folder: str


_CORPUS_TERMS = ("distributed with music21 under its corpus terms (music21/corpus/license.txt): "
                 "out of copyright or licensed for use; some encodings may not be used "
                 "commercially")
CORPORA = {corpus.name: corpus for corpus in (
    Corpus("bach-chorales", "J. S. Bach's four-part chorales, 371 in Riemenschneider's "
           "numbering (MusicXML)", "Bach's music is in the public domain; the encodings are "
           + _CORPUS_TERMS, "chorales"),
    Corpus("oneills-1850", "O'Neill's Music of Ireland (1903): about 1,850 Irish folk "
           "melodies, transcribed in ABC by Norbert Paap", "the tunes are in the public "
           "domain; the transcriptions are " + _CORPUS_TERMS, "oneills1850"),
    Corpus("essen", "the Essen folk-song collection: about 8,500 European folk melodies in "
           "ABC (Schaffrath; ABC by Seymour Shlien)", "non-commercial distribution and use "
           "only (music21/corpus/essenFolksong/license.txt)", "essenFolksong"),
)}


def corpus_named(name: str) -> Corpus:
    """The corpus called ``name``; a :class:`MidiDatasetError` listing the known ones."""
    if name not in CORPORA:
        raise MidiDatasetError(f"corpus:{name}", "no such corpus; known: " + ", ".join(CORPORA))
    return CORPORA[name]


def music21_module():
    """music21, imported; a :class:`MidiDatasetError` naming the extra when it is missing."""
    try:
        import music21
    except ImportError:
        raise MidiDatasetError("music21", "not installed: the corpus needs the optional extra "
                                          "(pip install 'chainer-vae[corpus]', or pip install "
                                          "music21)") from None
    return music21


def cache_root() -> Path:
    """``$CHAINER_VAE_CACHE``, else ``~/.cache/chainer_vae``."""
    return Path(os.environ.get(CACHE_VAR) or Path.home() / ".cache" / "chainer_vae").expanduser()


def corpus_files(corpus: Corpus) -> list:
    """The corpus's source files, in a fixed order (the chorales: Riemenschneider's)."""
    music21 = music21_module()
    if corpus.folder == "chorales":
        from music21.corpus import chorales
        found = music21.corpus.getComposer("bach")
        by_name = {Path(path).stem: str(path) for path in found}
        return [by_name[Path(name).name] for name in chorales.Iterator(returnType="filename")
                if Path(name).name in by_name]
    root = Path(music21.__file__).parent / "corpus" / corpus.folder
    return sorted(str(path) for path in root.glob("*.abc"))


def load_corpus(name: str, steps_per_beat: int = 4, low: int = 24, high: int = 102,
                cache_dir=None, workers: Optional[int] = None,
                progress: Optional[bool] = None, limit: Optional[int] = None) -> PieceSet:
    """The pieces of corpus ``name`` as note states (steps, 2P), memory-mapped from the
    roll store (converted first when the cache has none; ``workers`` processes, default
    one per core; a progress bar when ``progress``, None: stderr is a terminal). A piece
    music21 cannot read is left out, named once on stderr, and listed in ``errors``.
    ``limit``: only the first N source files (quick tests)."""
    corpus = corpus_named(name)
    options = RollOptions(steps_per_beat, low, high, velocity=False)
    music21 = music21_module()
    key = hashlib.sha256(json.dumps([CONVERSION_VERSION, name, options.as_dict(), limit,
                                     music21.__version__], sort_keys=True).encode())
    path = Path(cache_dir or cache_root() / "corpus") / f"{name}-{key.hexdigest()[:16]}"
    if not path.exists():
        convert_corpus(corpus, options, path, workers, progress, limit)
    stored = open_store(path)
    if not stored.pieces:
        raise MidiDatasetError(f"corpus:{name}", "no piece could be converted")
    return PieceSet(pieces=stored.pieces, labels=stored.labels,
                    label_names=stored.label_names, note_states=stored.note_states,
                    errors=stored.errors)


def convert_corpus(corpus: Corpus, options: RollOptions, path, workers=None, progress=None,
                   limit=None) -> None:
    """Convert every piece of ``corpus`` into a roll store at ``path``, file by file in
    ``workers`` processes, writing each piece as it arrives (memory: one file's pieces)."""
    from tqdm.auto import tqdm

    files = corpus_files(corpus)[:limit]
    if not files:
        raise MidiDatasetError(f"corpus:{corpus.name}", "music21 holds none of its files "
                                                        "(a music21 without its corpus?)")
    workers = min(workers or available_cores(), len(files))
    bar = tqdm(total=len(files), desc=f"corpus {corpus.name}", unit="file",
               disable=not show_progress(progress), file=sys.stderr)
    info = {"corpus": corpus.name, "terms": corpus.terms, "grid": options.as_dict()}
    with bar, StoreWriter(path, 2 * (options.high - options.low), MODES, info) as store:
        if workers <= 1:
            results = (convert_file(file, options) for file in files)
            _store_all(results, store, bar)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                _store_all(pool.map(convert_file, files, [options] * len(files), chunksize=4),
                           store, bar)
    if store.errors:
        print(f"warning: corpus {corpus.name}: {len(store.errors)} of "
              f"{len(store.errors) + len(store.pieces)} pieces left out, music21 could not "
              f"read them (first: {store.errors[0][0]}: {store.errors[0][1]})", file=sys.stderr)


def _store_all(results, store: StoreWriter, bar) -> None:
    for pieces in results:
        for name, state, label, problem in pieces:
            if state is None:
                store.skip(name, problem)
            else:
                store.add(name, label, state)
        bar.update()


def convert_file(path: str, options: RollOptions) -> list:
    """[(piece name, note state or None, mode index, problem or None)] for the pieces of
    one corpus file (a score, or an ABC file of many tunes)."""
    music21 = music21_module()
    name = _piece_name(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = music21.converter.parse(path)
    except Exception as error:  # music21 raises many kinds on a file it cannot read
        return [(name, None, 0, f"music21 cannot read it: {type(error).__name__}: {error}")]
    scores = list(parsed.scores) if isinstance(parsed, music21.stream.Opus) else [parsed]
    results = []
    for number, score in enumerate(scores, 1):
        piece = name if len(scores) == 1 else f"{name}#{_tune_number(score, number)}"
        try:
            events = score_events(score, piece)
            state = roll_from_events(events, options).to_note_state()
            if not state[:, :state.shape[1] // 2].any():
                raise ValueError("no note within the pitch range")
            mode = score.analyze("key").mode
            results.append((piece, state, MODES.index(mode) if mode in MODES else 0, None))
        except Exception as error:  # music21's errors vary; ours are MidiFileError
            results.append((piece, None, 0, f"cannot convert it: {type(error).__name__}: {error}"))
    return results


def _piece_name(path: str) -> str:
    """A piece's name: its file within the corpus (``bach/bwv269``, ``oneills1850/0001-0050``)."""
    path = Path(path)
    return f"{path.parent.name}/{path.stem}"


def _tune_number(score, number: int) -> str:
    """An ABC tune's own number (its ``X:`` field) where music21 read one."""
    own = getattr(score.metadata, "number", None) if score.metadata is not None else None
    return str(own) if own else str(number)


def score_events(score, source: str) -> MidiEvents:
    """The notes of a music21 score as :class:`midi.MidiEvents` at ``TICKS_PER_BEAT``:
    each part a track, ties held as one note, grace notes and chord symbols left out,
    repeats as written; a pickup bar is padded so that bar lines fall on whole bars."""
    from music21 import harmony, meter, tempo

    parts = list(score.parts) or [score]
    rows, pickup = [], _pickup(parts[0])
    for track, part in enumerate(parts):
        for element in part.flatten().stripTies().notes:
            if isinstance(element, harmony.Harmony) or element.duration.isGrace:
                continue
            start = _ticks(element.offset + pickup)
            end = start + max(_ticks(element.quarterLength), 1)
            rows += [(start, end, pitch.midi, track) for pitch in element.pitches]
    flat = score.flatten()
    # what stands at the start holds from the padded pickup on
    signatures = [(_ticks(s.offset + pickup) if s.offset else 0, s.numerator, s.denominator)
                  for s in flat.getElementsByClass(meter.TimeSignature)]
    tempos = [(_ticks(m.offset + pickup) if m.offset else 0,
               int(round(60e6 / m.getQuarterBPM())))
              for m in flat.getElementsByClass(tempo.MetronomeMark) if m.getQuarterBPM()]
    notes = np.array(rows, np.int64).reshape(-1, 4)
    end_tick = int(max(notes[:, 1].max(initial=0), _ticks(score.highestTime + pickup)))
    count = len(notes)
    return MidiEvents(
        source=source, format=1, ticks_per_beat=TICKS_PER_BEAT, starts=notes[:, 0],
        ends=notes[:, 1], channels=np.zeros(count, np.int64), pitches=notes[:, 2],
        velocities=np.full(count, 100, np.int64), tracks=notes[:, 3],
        programs=np.zeros((0, 3), np.int64),
        tempos=np.array(sorted(tempos), np.int64).reshape(-1, 2),
        time_signatures=np.array(sorted(signatures), np.int64).reshape(-1, 3),
        end_tick=end_tick, track_names=tuple(str(i) for i in range(len(parts))))


def _pickup(part) -> float:
    """Quarter notes missing from a first, incomplete bar (an anacrusis), else 0."""
    measures = part.getElementsByClass("Measure")
    return float(measures[0].paddingLeft) if len(measures) else 0.0


def _ticks(quarters) -> int:
    return int(round(float(quarters) * TICKS_PER_BEAT))
