"""The table of the study's claims: one row per experiment, written as Markdown
(``claims.md``) and JSON (``claims.json``)."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from chainer_vae.files import atomic_write_text, make_folder

TABLE_FILE, JSON_FILE = "claims.md", "claims.json"
VERDICTS = {True: "yes", False: "**no**", None: "not measured"}


@dataclass
class ClaimRow:
    """One experiment on one claim: its number in the issue's list, the claim in the
    study's words, what was run, what was measured (text with the numbers), whether the
    claim holds by the rule ``rule`` (None: not measured, e.g. its data are missing), and
    the numbers themselves."""

    claim: int
    statement: str
    experiment: str
    measured: str
    holds: Optional[bool]
    rule: str = ""
    numbers: dict = dataclasses.field(default_factory=dict)


def _cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def claims_markdown(rows, notes=()):
    """The rows as a Markdown table: claim, experiment, measured, holds (and its rule);
    then the lines ``notes``, a paragraph each."""
    lines = ["| # | claim | experiment | measured | holds? |", "|---|---|---|---|---|"]
    for row in rows:
        verdict = VERDICTS[row.holds] + (" ({})".format(row.rule) if row.rule else "")
        lines.append("| {} | {} | {} | {} | {} |".format(
            row.claim, _cell(row.statement), _cell(row.experiment), _cell(row.measured),
            _cell(verdict)))
    return "\n\n".join(["\n".join(lines)] + list(notes)) + "\n"


def write_claims_table(rows, folder, notes=()):
    """Write ``folder/claims.md`` (the table and ``notes``) and ``folder/claims.json`` (a
    list of the rows' fields); returns their paths."""
    folder = Path(folder)
    make_folder(folder)
    table, raw = folder / TABLE_FILE, folder / JSON_FILE
    atomic_write_text(table, claims_markdown(rows, notes))
    atomic_write_text(raw, json.dumps([dataclasses.asdict(row) for row in rows], indent=2)
                      + "\n")
    return table, raw
