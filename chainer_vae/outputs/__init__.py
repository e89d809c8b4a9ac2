"""Outputs of a trained run: figures (``plots``), GIFs (``gifs``), image grids
(``images``), MIDI files (``midi_files``), and what the ``sample`` and ``plot`` commands
write (``actions``)."""
