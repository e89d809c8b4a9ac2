"""benchmarks/report.py: a result printed as JSON or as its table, the JSON read back from
a script's output, a result file with its row, and bad input as exit status 2."""
from __future__ import annotations

import json

import pytest

from benchmarks import report
from chainer_vae.errors import ConfigError


def test_emit_prints_one_json_line_or_the_table(capsys):
    result = {"speed": 1.5, "name": "x"}
    report.emit(result, True, lambda r: "table")
    assert json.loads(capsys.readouterr().out) == result
    report.emit(result, False, lambda r: "| speed | {} |".format(r["speed"]))
    assert capsys.readouterr().out == "| speed | 1.5 |\n"


def test_last_json_skips_what_training_printed_first():
    assert report.last_json('{"a": 1}\n') == {"a": 1}
    assert report.last_json('epoch  main/loss\n1  2.5\n{"a": 1}\n') == {"a": 1}
    indented = json.dumps({"rows": [{"copies": 1}], "corpus": "c"}, indent=2)
    assert report.last_json("header {\n" + indented + "\n") == {"rows": [{"copies": 1}],
                                                                  "corpus": "c"}


def test_write_result_writes_the_json_and_prints_the_row(tmp_path, capsys):
    path = tmp_path / "out" / "quality_x.json"
    report.write_result({"figure": 2.0}, path, "| row |", as_json=True)
    assert json.loads(path.read_text()) == {"figure": 2.0}
    out, err = capsys.readouterr()
    assert json.loads(out[:out.rindex("}") + 1]) == {"figure": 2.0}
    assert out.endswith("| row |\n") and err == "wrote {}\n".format(path)


def test_bad_input_ends_the_script_with_one_line_and_exit_2(capsys):
    def bad():
        raise ConfigError("no such\n   run")

    with pytest.raises(SystemExit) as ended:
        report.run_script("quality.py", bad)
    assert ended.value.code == 2
    assert capsys.readouterr().err == "quality.py: error: no such run\n"

    def broken():
        raise ValueError("a bug, not bad input")

    with pytest.raises(ValueError):
        report.run_script("quality.py", broken)
