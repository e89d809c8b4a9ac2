"""The typed errors of chainer_vae (the CLI turns each into one line and exit code 2), and
the one-line warnings."""
import sys


class ChainerVAEError(Exception):
    """Base of every error chainer_vae raises on purpose (bad input, bad options)."""


class DataError(ChainerVAEError, ValueError):
    """A data file or folder is missing, unreadable or malformed; the message names it."""


class DownloadError(DataError):
    """A data set could not be downloaded or failed its checksum."""


class ConfigError(ChainerVAEError, ValueError):
    """Options or a saved config that cannot build a model (unknown part, impossible shape)."""


class RunDirError(ChainerVAEError, ValueError):
    """A run folder is missing or lacks what the command needs (config.json, model.npz)."""


class PathError(ChainerVAEError, OSError):
    """A path the user gave (a run or output folder, a data file, a config) cannot be
    read or written: no such folder, no permission, a full disk. The message names it."""


def path_error(error, path, verb="write"):
    """The ``PathError`` of ``OSError`` ``error`` met using ``path``: its message as it
    was when it names a file or has no error number, else ``cannot VERB PATH: reason``
    (a full disk names no file)."""
    if isinstance(error, PathError):
        return error
    if error.errno is None:
        return PathError(*error.args)
    if error.filename is None:
        return PathError(error.errno, "cannot {} {}: {}".format(
            verb, path, error.strerror or error))
    return PathError(error.errno, error.strerror, error.filename, None, error.filename2)


class DamagedFile(ChainerVAEError, ValueError):
    """A file the project wrote (weights, snapshot, latents) is missing, empty, truncated
    or not what it claims; the message names it."""


class NotFinite(ChainerVAEError, ValueError):
    """Arrays about to be written hold NaN or infinity (a model or option that overflowed);
    nothing is written."""


class TrainingDiverged(ChainerVAEError, RuntimeError):
    """The loss became NaN or infinite; the last good snapshot is kept."""


def choice(choices, name, what):
    """``choices[name]`` for a mapping, ``name`` itself for a sequence of names; a
    ``ConfigError`` naming ``what`` was unknown and listing the choices otherwise."""
    try:
        if name in choices:
            return choices[name] if hasattr(choices, "keys") else name
    except TypeError:  # an unhashable name (a list from a hand-edited config) is unknown
        pass
    raise ConfigError("unknown {} {!r}; choose one of {}".format(
        what, name, ", ".join(sorted(str(known) for known in choices))))


def print_warning(message):
    """One line on stderr: ``chainer-vae: warning: message``."""
    print("chainer-vae: warning: " + " ".join(str(message).split()), file=sys.stderr)
