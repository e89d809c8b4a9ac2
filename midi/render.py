"""Render MIDI files to WAV audio: with FluidSynth and a General MIDI soundfont where they
are installed, else with the built-in synthesizer (:mod:`midi.synth`, NumPy alone).

FluidSynth is a program, not a Python package: on Debian/Ubuntu
``apt-get install fluidsynth fluid-soundfont-gm``; on macOS ``brew install fluid-synth``
plus any GM ``.sf2`` file. Nothing here is needed to convert or train.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .errors import MidiFileError
from .synth import synthesize_file

SOUNDFONT_ENV = "MIDI_SOUNDFONT"
# Where Debian's fluid-soundfont-gm and other common packages put a GM soundfont.
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
SYNTHS = ("auto", "fluidsynth", "builtin")
SYNTH_NAMES = {"fluidsynth": "FluidSynth with a General MIDI soundfont",
               "builtin": "the built-in synthesizer (harmonics under an envelope; FluidSynth "
                          "is not installed)"}
INSTALL_HINT = ("install FluidSynth and a General MIDI soundfont (Debian/Ubuntu: "
                "apt-get install fluidsynth fluid-soundfont-gm; macOS: brew install fluid-synth)")


class RenderError(MidiFileError):
    """FluidSynth or a soundfont is missing, or rendering a file failed."""


def find_soundfont(soundfont=None) -> Path:
    """``soundfont``, else ``$MIDI_SOUNDFONT``, else the first GM soundfont installed."""
    if soundfont is None:
        soundfont = os.environ.get(SOUNDFONT_ENV)
    if soundfont is not None:
        if not Path(soundfont).is_file():
            raise RenderError(soundfont, "no such soundfont file")
        return Path(soundfont)
    for candidate in SOUNDFONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise RenderError("soundfont", "no General MIDI soundfont found; " + INSTALL_HINT +
                      ", or set {} to an .sf2 file".format(SOUNDFONT_ENV))


def find_fluidsynth() -> str:
    """The path of the ``fluidsynth`` program."""
    found = shutil.which("fluidsynth")
    if found is None:
        raise RenderError("fluidsynth", "program not found; " + INSTALL_HINT)
    return found


def choose_synth(synth: str = "auto", soundfont=None) -> str:
    """``fluidsynth`` or ``builtin``: ``auto`` takes FluidSynth where it and a soundfont are
    found (or ``soundfont`` is given), else the built-in synthesizer; ``fluidsynth``
    raises :class:`RenderError` saying how to install what is missing."""
    if synth not in SYNTHS:
        raise ValueError(f"synth must be one of {SYNTHS}, not {synth!r}")
    if synth == "auto" and soundfont is None:
        try:
            find_fluidsynth(), find_soundfont()
        except RenderError:
            return "builtin"
    if synth != "builtin":
        find_fluidsynth(), find_soundfont(soundfont)
        return "fluidsynth"
    return "builtin"


def render_wav(midi_path, wav_path=None, soundfont=None, sample_rate=44100, timeout=600,
               synth: str = "auto") -> Path:
    """Render ``midi_path`` to ``wav_path`` (default: beside it, ``.wav``) with ``synth``
    (see :func:`choose_synth`); returns the path.

    The WAV is written under a temporary name and renamed, so a failed render leaves
    nothing behind.
    """
    midi_path = Path(midi_path)
    if not midi_path.is_file():
        raise RenderError(midi_path, "no such MIDI file")
    wav_path = Path(wav_path) if wav_path is not None else midi_path.with_suffix(".wav")
    if choose_synth(synth, soundfont) == "builtin":
        synthesize_file(midi_path, wav_path, min(int(sample_rate), 22050))
        return wav_path
    program, font = find_fluidsynth(), find_soundfont(soundfont)
    tmp = wav_path.with_name(".{}.tmp.wav".format(wav_path.name))
    command = [program, "-ni", "-F", str(tmp), "-r", str(int(sample_rate)), "-T", "wav",
               str(font), str(midi_path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        tmp.unlink(missing_ok=True)
        raise RenderError(midi_path, "fluidsynth took longer than {} s".format(timeout)) from None
    if done.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise RenderError(midi_path, "fluidsynth failed: {}".format(
            detail[-1] if detail else "exit status {}".format(done.returncode)))
    os.replace(tmp, wav_path)
    return wav_path
