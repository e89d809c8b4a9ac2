"""``python -m midi``: the ``midi-roll`` command line."""
import sys

from .cli import main

sys.exit(main())
