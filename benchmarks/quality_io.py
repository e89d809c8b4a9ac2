"""What the quality scripts (quality.py, conditional.py, music_quality.py) share: a
result written as JSON beside its markdown row, and bad input as one line and exit 2."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from chainer_vae.errors import ChainerVAEError
from chainer_vae.files import atomic_write_text


def write_result(result, path, row=None, as_json=False):
    """Write ``result`` as indented JSON to ``path`` (atomically, its folder made); print
    the JSON on stdout with ``as_json`` and then ``row`` (a line), and the path on stderr."""
    text = json.dumps(result, indent=2) + "\n"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    if as_json:
        sys.stdout.write(text)
    if row is not None:
        print(row)
    print("wrote {}".format(path), file=sys.stderr)


def run_script(name, main):
    """Run ``main()``; bad input (a ``ChainerVAEError`` or ``OSError``) ends the script
    ``name`` with one line on stderr and exit status 2."""
    try:
        main()
    except (ChainerVAEError, OSError) as error:
        print("{}: error: {}".format(name, " ".join(str(error).split())), file=sys.stderr)
        sys.exit(2)
