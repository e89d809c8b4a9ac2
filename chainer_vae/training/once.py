"""``train_once``: a run trained once, so that a long job stopped part way (the study, the
claims) carries on where it stopped when it is run again into the same folders."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from chainer_vae.files import atomic_write_text, make_folder
from chainer_vae.runs import MODEL_FILE, snapshots
from chainer_vae.training.trainer import train

# The run's request: the config asked for (before the data fill in the input shape), and
# whether the run it asked for has ended; written before training and again after it.
REQUEST_FILE = "request.json"


def _request(out):
    """The request ``train_once`` left in the run folder ``out``, or None (none, or
    unreadable: a run to start again)."""
    try:
        return json.loads((Path(out) / REQUEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _write_request(out, asked, finished):
    atomic_write_text(Path(out) / REQUEST_FILE,
                      json.dumps({"config": asked, "finished": finished}, indent=2,
                                 sort_keys=True) + "\n")


def train_once(config, out, progress=None, max_minutes=None):
    """The run of ``config`` in the folder ``out``, trained unless it is there already.

    A finished run of the same config is left as it is. One of the same config that
    stopped part way (killed, or the machine went down) resumes from its newest
    snapshot, as ``chainer-vae train --resume`` does, and ends with the parameters an
    unbroken run would have. Anything else in ``out`` is trained again from the start.
    ``max_minutes`` is ``train``'s. Returns what was done: "found", "resumed" or "trained".
    """
    out = Path(out)
    asked = json.loads(json.dumps(config.to_dict()))  # as it reads back: tuples are lists
    found = _request(out)
    same = found is not None and found.get("config") == asked
    if same and found.get("finished") and (out / MODEL_FILE).is_file():
        return "found"
    resume = "latest" if same and snapshots(out) else None
    make_folder(out)
    _write_request(out, asked, finished=False)
    # ``train`` fills in what the data say (the input shape) and resolves the runs to start
    # from: the request stays the caller's config
    train(copy.deepcopy(config), out, resume=resume, progress=progress, max_minutes=max_minutes)
    _write_request(out, asked, finished=True)
    return "trained" if resume is None else "resumed"
