"""What the benchmark scripts print and write: a result as JSON or as its table, the JSON
that ends a script's output, a result file beside its markdown row, and bad input as one line
and exit status 2."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def emit(result, as_json, table):
    """Print ``result`` (a dict) as one line of JSON with ``as_json``, else ``table(result)``
    (its markdown table)."""
    print(json.dumps(result) if as_json else table(result))


def last_json(stdout):
    """The JSON object that ends a script's ``stdout`` (training may print report headers
    before it): the text from its first line that starts with ``{``, else all of it."""
    start = stdout.index("\n{") + 1 if "\n{" in stdout else 0
    return json.loads(stdout[start:])


def write_result(result, path, row=None, as_json=False):
    """Write ``result`` as indented JSON to ``path`` (atomically, its folder made); print
    the JSON on stdout with ``as_json`` and then ``row`` (a line), and the path on stderr."""
    # chainer_vae (so chainer) is imported by the scripts that need it: midi_speed and
    # run_all print results without it
    from chainer_vae.files import atomic_write_text

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
    from chainer_vae.errors import ChainerVAEError

    try:
        main()
    except (ChainerVAEError, OSError) as error:
        print("{}: error: {}".format(name, " ".join(str(error).split())), file=sys.stderr)
        sys.exit(2)
