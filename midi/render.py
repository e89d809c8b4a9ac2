"""Render MIDI files to WAV audio with FluidSynth and a General MIDI soundfont.

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

SOUNDFONT_ENV = "MIDI_SOUNDFONT"
# Where Debian's fluid-soundfont-gm and other common packages put a GM soundfont.
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
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


def render_wav(midi_path, wav_path=None, soundfont=None, sample_rate=44100, timeout=600) -> Path:
    """Render ``midi_path`` to ``wav_path`` (default: beside it, ``.wav``); returns the path.

    The WAV is written under a temporary name and renamed, so a failed render leaves
    nothing behind.
    """
    midi_path = Path(midi_path)
    if not midi_path.is_file():
        raise RenderError(midi_path, "no such MIDI file")
    wav_path = Path(wav_path) if wav_path is not None else midi_path.with_suffix(".wav")
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
