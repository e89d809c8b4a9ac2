"""Piano-roll pictures: pitches sounding over beats, onsets marked."""
from __future__ import annotations

import numpy as np

from .roll import PianoRoll


def plot_roll(roll: PianoRoll, path=None, title: str = None, ax=None):
    """Draw ``roll`` (x: beats, y: MIDI pitch) and return the matplotlib Figure.

    Held steps are grey bars, onsets dark ticks at their start, so repeated notes stay
    visible. The pitch axis shows the pitches used, two either side. With ``path`` the
    figure is saved there (format from the suffix, e.g. ``.png``). matplotlib is
    imported only here, and no pyplot state is touched.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if ax is None:
        figure = Figure(figsize=(max(6.0, min(24.0, roll.n_steps / roll.steps_per_beat / 8)), 4.5))
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
    figure = ax.figure
    beats = roll.n_steps / roll.steps_per_beat
    used = np.flatnonzero(roll.play.any(axis=0))
    bottom, top = (used[0], used[-1]) if len(used) else (0, roll.n_pitches - 1)
    bottom, top = max(bottom - 2, 0), min(top + 2, roll.n_pitches - 1)
    ax.imshow(roll.play[:, bottom:top + 1].T, origin="lower", aspect="auto",
              interpolation="nearest", cmap="Greys", vmin=0, vmax=1.6,
              extent=(0, max(beats, 1e-9), roll.low + bottom - 0.5, roll.low + top + 0.5))
    steps, columns = np.nonzero(roll.onset)
    ax.scatter(steps / roll.steps_per_beat, columns + roll.low, marker="|", s=30,
               linewidths=1.2, color="tab:red", label="onset")
    ax.set_xlabel(f"beats (quarter notes; {roll.steps_per_beat} steps each)")
    ax.set_ylabel("MIDI pitch")
    ax.set_xlim(0, max(beats, 1e-9))
    ax.set_title(title if title is not None else (roll.source or "piano roll"), fontsize=9)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure
