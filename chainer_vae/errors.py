"""The typed errors of chainer_vae. The CLI turns each into one line and exit code 2."""


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


class TrainingDiverged(ChainerVAEError, RuntimeError):
    """The loss became NaN or infinite; the last good snapshot is kept."""
