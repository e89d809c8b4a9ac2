"""chainer_vae.runs: what reads a run folder back (the log, under today's key names)."""
import json

import pytest

import chainer_vae  # noqa: F401

from chainer_vae import pretrained
from chainer_vae.errors import RunDirError
from chainer_vae.runs import RENAMED_LOG_KEYS, read_log


def test_a_log_of_before_the_rename_reads_under_the_new_names(tmp_path):
    old = [{"epoch": 1, "main/loss": 3.0, "main/reconstr": 2.5, "main/kl": 0.5,
            "validation/main/reconstr": 2.75}]
    (tmp_path / "log").write_text(json.dumps(old))
    expected = [{"epoch": 1, "main/loss": 3.0, "main/rec_loss": 2.5, "main/kl": 0.5,
                 "validation/main/rec_loss": 2.75}]
    assert read_log(tmp_path) == read_log(tmp_path / "log") == read_log(old) == expected
    assert read_log(expected) == expected  # today's names stay as they are


@pytest.mark.parametrize("name", pretrained.names())
def test_the_shipped_logs_read_with_rec_loss(name):
    """The shipped logs keep the old name on disk and read with the new one."""
    folder = pretrained.run_folder(pretrained.PREFIX + name)
    assert '"main/reconstr"' in (folder / "log").read_text()
    for entry in read_log(folder):
        assert not set(entry) & set(RENAMED_LOG_KEYS)
        assert entry["main/rec_loss"] > 0 and entry["validation/main/rec_loss"] > 0


def test_what_is_no_log_is_a_run_dir_error(tmp_path):
    with pytest.raises(RunDirError, match="no training log"):
        read_log(tmp_path)
    (tmp_path / "log").write_text('{"epoch": 1}')
    with pytest.raises(RunDirError, match="expected a list"):
        read_log(tmp_path)
