"""Rows of samples that show a music model's controls, for the study's page and notebook.

``write_steering`` draws one z from the prior and writes, each as MIDI files with their
piano rolls and one picture per row:

- ``<attribute>/``: z moved by each amount along the attribute's vector (a row per
  attribute, ``<attribute>.png``), when the run has attribute vectors;
- ``temperature/``: z decoded at each temperature (``temperature.png``);
- ``long/``: one piece of ``bars`` bars from z, beside a real segment as long when one is
  given (``long.png``).

The draws of every file come from the same seed, so within a row only the control changes.
"""
from __future__ import annotations

from pathlib import Path

from chainer_vae.errors import ConfigError
from chainer_vae.inference import attributes, sampling
from chainer_vae.inference.music import music_options, steps_per_bar
from chainer_vae.model import at_length
from chainer_vae.outputs import plots
from chainer_vae.outputs.midi_files import write_midi_samples
from chainer_vae.outputs.sample import draws_samples
from chainer_vae.runs import load_run

AMOUNTS = (-2.0, -1.0, 0.0, 1.0, 2.0)
TEMPERATURES = (0.5, 1.0, 1.5)


def write_steering(run_dir, out_dir, amounts=AMOUNTS, temperatures=TEMPERATURES, bars=16,
                   real=None, seed=0):
    """The rows above for the music run ``run_dir`` (a folder or ``pretrained:NAME``) into
    ``out_dir``; ``real``: a real segment (bars * bar steps, F) to set beside the long
    piece. Returns {row: [MIDI paths]} with the pictures' paths under ``"pictures"``."""
    run = load_run(run_dir, with_data=False)
    music = music_options(run.config.data)
    if music is None:
        raise ConfigError("{} models {}: it has no musical controls".format(
            run_dir, run.config.data.dataset))
    sample = draws_samples(run.config.model)
    z = sampling.prior_latents(run.model, 1, 1.0, seed)
    out_dir = Path(out_dir)

    def drawn(model, point, temperature=1.0):
        return sampling.decode(model, point, temperature=temperature,
                               sample=seed + 1 if sample else None)[0]

    rows = {}
    if attributes.has_vectors(run_dir):
        vectors = attributes.load(run_dir)
        for name in vectors.vectors:
            rows[name] = [("{} {:+g}".format(name, amount),
                           drawn(run.model, attributes.shift(z, vectors, {name: amount})))
                          for amount in amounts]
    rows["temperature"] = [("temperature {:g}".format(t), drawn(run.model, z, t))
                           for t in temperatures]
    if run.config.model.decoder == "hier":
        longer = at_length(run.model, run.config.model, bars * steps_per_bar(run.config))
        rows["long"] = [("{} bars from one z".format(bars), drawn(longer, z))]
        if real is not None:
            rows["long"].append(("a real segment of {} bars".format(bars), real))
    written, pictures = {}, []
    for row, items in rows.items():
        folder = out_dir / row
        written[row] = [path for title, array in items
                        for path in write_midi_samples([array], folder, prefix=_stem(title),
                                                       threshold=0.5 if sample else 0.2,
                                                       **music)]
        pictures.append(plots.plot_piano_rolls(
            [array for _, array in items], out_dir / "{}.png".format(row),
            [title for title, _ in items], threshold=0.5 if sample else 0.2,
            low=music["low"], steps_per_beat=music["steps_per_beat"],
            note_state=music["note_state"]))
    written["pictures"] = pictures
    return written


def _stem(title):
    """A file name of a row's title: ``note_density +1`` -> ``note_density_+1``."""
    return title.replace(" ", "_")
