"""The conversion report: every silent loss of a MIDI-to-roll conversion, counted."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

LOSS_FIELDS = (
    "drum_notes_excluded", "out_of_range_dropped", "out_of_range_folded",
    "overlapping_notes", "zero_length_notes", "off_grid_onsets", "off_grid_offsets",
    "hanging_notes", "stray_note_offs", "pitch_bends", "sustain_events",
    "tempo_events_moved", "clipped_bytes",
)
"""Counters that mean the roll differs from the file in some way (see ConversionReport)."""


@dataclass
class ConversionReport:
    """What a conversion did to one MIDI source, in notes and events.

    ``notes_read`` notes were paired from the file, ``notes_kept`` of them made it into
    the roll (several notes can share one onset cell). The other counters record each
    policy at work: notes on channel 10 left out, notes outside [low, high) dropped or
    folded by octaves, same-pitch notes that overlapped, notes shorter than one step
    after quantization, onsets and note ends moved to the nearest step, notes closed at
    the end of their track for lack of a note-off, note-offs without a note, pitch-bend
    and sustain-pedal events ignored, tempo events moved to the nearest step, and (in
    lenient parsing) bytes clipped to 127 or skipped. ``truncated`` says lenient parsing
    salvaged a file cut short; ``warnings`` holds its messages. ``policies`` names the
    options used.
    """

    source: str = "<bytes>"
    notes_read: int = 0
    notes_kept: int = 0
    tracks_merged: int = 0
    channels_merged: int = 0
    drum_notes_excluded: int = 0
    out_of_range_dropped: int = 0
    out_of_range_folded: int = 0
    overlapping_notes: int = 0
    zero_length_notes: int = 0
    off_grid_onsets: int = 0
    off_grid_offsets: int = 0
    hanging_notes: int = 0
    stray_note_offs: int = 0
    pitch_bends: int = 0
    sustain_events: int = 0
    tempo_events_moved: int = 0
    clipped_bytes: int = 0
    truncated: bool = False
    warnings: list = field(default_factory=list)
    policies: dict = field(default_factory=dict)

    def losses(self) -> dict:
        """The non-zero loss counters, by name."""
        return {name: getattr(self, name) for name in LOSS_FIELDS if getattr(self, name)}

    @property
    def lossless(self) -> bool:
        """True when the roll holds every note of the file exactly as written."""
        return not self.losses() and not self.truncated

    @property
    def onsets_on_grid(self) -> float:
        """Share (0..1) of the notes read whose onset lies exactly on a step."""
        if not self.notes_read:
            return 1.0
        return 1.0 - self.off_grid_onsets / self.notes_read

    def as_dict(self) -> dict:
        """Every field, as plain JSON-ready values."""
        return asdict(self)

    def summary(self) -> str:
        """One line: notes kept of notes read, then each loss."""
        parts = [f"{self.notes_kept}/{self.notes_read} notes kept"]
        parts += [f"{name.replace('_', ' ')}: {count}" for name, count in self.losses().items()]
        if self.truncated:
            parts.append("truncated file salvaged")
        return f"{self.source}: " + ", ".join(parts)
