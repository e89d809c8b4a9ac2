"""The claims table: Markdown rows with their verdicts and rules, and the JSON beside it."""
from __future__ import annotations

import json

from chainer_vae.outputs.claims_table import ClaimRow, claims_markdown, write_claims_table


def test_the_table_gives_each_verdict_and_escapes_cells(tmp_path):
    rows = [ClaimRow(1, "clusters separate", "VAE | z=2", "0.3 -> 0.8", True, "rises by 0.05",
                     {"curve": [0.3, 0.8]}),
            ClaimRow(2, "KL rises a little", "log", "KL 7 -> 5", False, "KL ends higher"),
            ClaimRow(3, "warm-up", "needs bach_lute", "", None)]
    table, raw = write_claims_table(rows, tmp_path / "claims", notes=["The classifier: 97 %."])
    lines = table.read_text().splitlines()
    assert lines[0] == "| # | claim | experiment | measured | holds? |"
    assert lines[2] == ("| 1 | clusters separate | VAE \\| z=2 | 0.3 -> 0.8 | yes (rises by "
                        "0.05) |")
    assert lines[3].endswith("| **no** (KL ends higher) |")
    assert lines[4].endswith("| not measured |")
    assert lines[-1] == "The classifier: 97 %."
    saved = json.loads(raw.read_text())
    assert [row["holds"] for row in saved] == [True, False, None]
    assert saved[0]["numbers"] == {"curve": [0.3, 0.8]}
    assert claims_markdown(rows) == "\n".join(lines[:5]) + "\n"
