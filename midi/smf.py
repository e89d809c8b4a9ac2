"""The names of the bytes of a Standard MIDI File (SMF 1.0) that :mod:`midi.reader` reads.

A status byte has bit 7 set (``0x80``); its high nibble is the kind of a channel message
and its low nibble (``0x0F``) the channel 0..15. Data bytes are 0..127 (bit 7 clear).
Variable-length quantities (delta times, lengths) carry 7 bits a byte, big-endian, with
bit 7 set on every byte but the last.
"""
from __future__ import annotations

from enum import IntEnum

HEADER_CHUNK = b"MThd"
TRACK_CHUNK = b"MTrk"
HEADER_BYTES = 14
"""Chunk type, length and the 6 bytes of format, track count and division."""
SMPTE_DIVISION = 0x8000
"""Division bit meaning frames per second and ticks per frame, not ticks per beat."""
PITCH_BEND_CENTRE = 0x2000
"""The 14-bit pitch-bend value of an unbent note."""
FIRST_SYSTEM_STATUS = 0xF0
"""Status bytes from here on are system messages: no channel, never a running status."""
MAX_QUANTITY_BYTES = 4
"""The longest variable-length quantity the spec allows (values below 2**28)."""


class Status(IntEnum):
    """Status bytes: channel-message kinds (high nibble; the channel is added) and the
    system messages that a file may hold."""

    NOTE_OFF = 0x80
    NOTE_ON = 0x90
    """Velocity 0 means note off."""
    POLY_PRESSURE = 0xA0
    CONTROL_CHANGE = 0xB0
    PROGRAM_CHANGE = 0xC0
    CHANNEL_PRESSURE = 0xD0
    PITCH_BEND = 0xE0
    SYSEX = 0xF0
    SYSEX_ESCAPE = 0xF7
    META = 0xFF
    """In a file, a meta event (in a live stream the same byte is a reset)."""


SYSTEM_COMMON_DATA_BYTES = {0xF1: 1, 0xF2: 2, 0xF3: 1}
"""Data bytes after the system common messages that carry any (MIDI time code quarter
frame, song position, song select); such messages belong to live streams, not files."""


class Meta(IntEnum):
    """Meta event types (the byte after :attr:`Status.META`)."""

    TRACK_NAME = 0x03
    END_OF_TRACK = 0x2F
    TEMPO = 0x51
    """3 bytes: microseconds per quarter note."""
    TIME_SIGNATURE = 0x58
    """Numerator, log2 of the denominator, clocks per click, 32nds per quarter."""


class Controller(IntEnum):
    """Controller numbers (the first data byte of :attr:`Status.CONTROL_CHANGE`)."""

    SUSTAIN_PEDAL = 64
