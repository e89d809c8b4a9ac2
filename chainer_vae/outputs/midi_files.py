"""Generated examples as files: MIDI with a piano-roll picture each."""
from __future__ import annotations

from pathlib import Path

import midi
import numpy

from chainer_vae.errors import ConfigError
from chainer_vae.files import make_folder, require_finite
from chainer_vae.inference.sampling import to_numpy
from chainer_vae.outputs.plots import plot_piano_roll


def write_midi_samples(arrays, out_dir, steps_per_beat=4, low=24, threshold=0.2,
                       prefix="sample", bpm=120.0, piano_rolls=True, note_state=True,
                       first=0, total=None):
    """Write each array (probabilities or binary) as ``out_dir/<prefix>_<i>.mid`` (on
    where a value exceeds ``threshold``) with a piano-roll PNG of the same name beside
    it; both written atomically. An array is a (T, 2P) note state (play | onset), or
    with ``note_state`` False a (T, P) play-only roll, whose notes start wherever a
    pitch starts to play; pitches from MIDI ``low``. Files are numbered from ``first``,
    with as many digits as ``total`` files (default: these) need. Returns the .mid paths."""
    out_dir = Path(out_dir)
    make_folder(out_dir)
    arrays = [require_finite(numpy.asarray(to_numpy(a), dtype=numpy.float32), out_dir)
              for a in arrays]
    total = len(arrays) if total is None else total
    digits = max(3, len(str(max(total - 1, 0))))
    paths = []
    for index, array in enumerate(arrays, start=first):
        if array.ndim != 2 or (note_state and array.shape[1] % 2):
            raise ConfigError("a MIDI sample is a (steps, {}pitches) array, got shape {}".format(
                "2 * " if note_state else "", array.shape))
        pitches = array.shape[1] // 2 if note_state else array.shape[1]
        stem = "{}_{:0{}d}".format(prefix, index, digits)
        path = out_dir / (stem + ".mid")
        midi.roll_to_midi(array, str(path), threshold=threshold, steps_per_beat=steps_per_beat,
                          low=low, high=low + pitches, bpm=bpm)
        if piano_rolls:
            plot_piano_roll(array, out_dir / (stem + ".png"), low=low, threshold=threshold,
                            steps_per_beat=steps_per_beat, note_state=note_state,
                            title="{} (on above {:g})".format(stem, threshold))
        paths.append(path)
    return paths
