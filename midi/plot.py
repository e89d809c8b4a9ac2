"""Piano-roll pictures: pitches sounding over beats, onsets marked.

``draw_roll`` is the one renderer: it draws play values (binary, or probabilities from a
model) on a matplotlib Axes; ``plot_roll`` draws a ``PianoRoll`` into a new figure.
matplotlib is imported only by ``plot_roll``, and no pyplot state is touched.
"""
from __future__ import annotations

import numpy as np

from .roll import PianoRoll
from .walk import shown_name

MAX_COLUMNS = 4096
"""Most time columns drawn: a longer roll is shown as the maximum over blocks of steps
(no note vanishes), so a picture of hours of music costs what a few minutes cost."""
MAX_ONSETS = 50_000
"""Most onset marks drawn; beyond, every k-th is drawn."""
MAX_BARS = 512
"""Most bar lines drawn; beyond, every k-th bar gets one."""


def draw_roll(ax, play, onset=None, low: int = 24, steps_per_beat: int = 4,
              threshold: float = 0.5, beats_per_bar: int = 4):
    """Draw a piano roll on ``ax``: x in beats, y in MIDI pitch.

    ``play`` (steps, P) holds, for MIDI pitches ``low .. low + P - 1``, binary values or
    probabilities (darker = more likely); ``onset`` (steps, P), optional, marks the
    steps where a note starts (red ticks where both exceed ``threshold``). Faint blue
    lines mark the bars (``beats_per_bar`` beats each). The pitch axis shows the pitches
    that play above ``threshold``, two either side (all pitches when none does).
    """
    from matplotlib.ticker import MaxNLocator

    play = np.asarray(play)
    steps, pitches = play.shape
    used = np.flatnonzero((play > threshold).any(axis=0))
    bottom, top = (used[0], used[-1]) if len(used) else (0, pitches - 1)
    bottom, top = max(bottom - 2, 0), min(top + 2, pitches - 1)
    beats = max(steps / steps_per_beat, 1e-9)
    shown, factor = _columns(play[:, bottom:top + 1])
    ax.imshow(shown.T, origin="lower", aspect="auto",
              interpolation="nearest", cmap="Greys", vmin=0, vmax=1,
              extent=(0, len(shown) * factor / steps_per_beat, low + bottom - 0.5,
                      low + top + 0.5))
    if onset is not None:
        t, j = np.nonzero((np.asarray(onset) > threshold) & (play > threshold))
        if len(t) > MAX_ONSETS:
            every = -(-len(t) // MAX_ONSETS)
            t, j = t[::every], j[::every]
        if len(t):
            ax.scatter(t / steps_per_beat, j + low, marker="|", s=30, linewidths=1.2,
                       color="tab:red", label="onset")
    bars = np.arange(beats_per_bar, beats, beats_per_bar)
    if len(bars) > MAX_BARS:  # thousands of lines would be a grey wash
        every = -(-len(bars) // MAX_BARS)
        bars = bars[every - 1::every]
    if len(bars):  # one collection, not an artist per bar
        ax.vlines(bars, 0, 1, transform=ax.get_xaxis_transform(), color="tab:blue", alpha=0.25,
                  linewidth=0.8)
    ax.set_xlabel("beats (quarter notes; {} step{} each)".format(
        steps_per_beat, "" if steps_per_beat == 1 else "s"))
    ax.set_ylabel("MIDI pitch")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # pitches are whole numbers
    ax.set_xlim(0, beats)


def _columns(play: np.ndarray) -> tuple:
    """(float32 array of at most MAX_COLUMNS rows, steps per row): the maximum of each
    block of steps, so that a long roll is drawn without a full-size float copy."""
    steps = len(play)
    factor = max(1, -(-steps // MAX_COLUMNS))
    if factor == 1:
        return play.astype(np.float32), 1
    rows = -(-steps // factor)
    shown = np.zeros((rows, play.shape[1]), np.float32)
    for start in range(0, steps, factor * 256):  # a bounded slice at a time
        block = play[start:start + factor * 256]
        whole = len(block) // factor * factor
        first = start // factor
        if whole:
            shown[first:first + whole // factor] = block[:whole].reshape(
                -1, factor, play.shape[1]).max(axis=1)
        if whole < len(block):
            shown[first + whole // factor] = block[whole:].max(axis=0)
    return shown, factor


def plot_roll(roll: PianoRoll, path=None, title: str = None, ax=None):
    """Draw ``roll`` (see ``draw_roll``) and return the matplotlib Figure.

    With ``path`` the figure is saved there (format from the suffix, e.g. ``.png``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if ax is None:
        figure = Figure(figsize=(max(6.0, min(24.0, roll.n_steps / roll.steps_per_beat / 8)), 4.5))
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
    figure = ax.figure
    draw_roll(ax, roll.play, roll.onset, roll.low, roll.steps_per_beat)
    ax.set_title(shown_name(title if title is not None else (roll.source or "piano roll")),
                 fontsize=9)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure
