"""Folder walks (``midi.walk``) and what relies on them: deep trees, symlink loops, names
that are no UTF-8 and a full disk end in one line each, never a traceback."""
from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
from pathlib import Path

import pytest

import chainer_vae  # noqa: F401
from chainer_vae import cli as vae_cli
from midi import cli
from midi.walk import MAX_DEPTH, files_below
from midi_factories import midi_file, note_track, save


def song(path):
    return save(midi_file(note_track([(60, 0, 480)])), path)


@pytest.fixture
def deep_tree():
    """``make(root, levels)``: ``root/d/d/.../d/x.mid``, ``levels`` folders deep (os.makedirs
    and shutil.rmtree recurse once per level: the tree is made and removed level by level)."""
    made = []

    def make(root, levels):
        root.mkdir(parents=True)
        folders = [root]
        for _ in range(levels):
            folders.append(folders[-1] / "d")
            folders[-1].mkdir()
        made.append(folders)
        return song(folders[-1] / "x.mid")
    yield make
    for folders in made:
        (folders[-1] / "x.mid").unlink()
        for folder in reversed(folders[1:]):
            folder.rmdir()


def test_a_tree_a_thousand_levels_deep_is_walked_without_recursion(tmp_path, deep_tree):
    bottom = deep_tree(tmp_path / "deep", 1100)
    warnings = []
    assert files_below(tmp_path / "deep", (".mid",), warn=warnings.append) == []
    assert len(warnings) == 1 and "more than {} levels".format(MAX_DEPTH) in warnings[0]
    assert files_below(tmp_path / "deep", (".mid",), max_depth=2000) == [Path(bottom)]


@pytest.mark.parametrize("argv", [["encode", "{deep}", "{out}"], ["info", "{deep}"]])
def test_midi_roll_on_a_deep_tree_is_one_line(tmp_path, capsys, argv, deep_tree):
    deep_tree(tmp_path / "deep", 1100)
    argv = [a.format(deep=tmp_path / "deep", out=tmp_path / "out") for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "levels" in err[0] and "holds no" in err[1]


def test_chainer_vae_on_a_deep_tree_warns_once(tmp_path, capsys, deep_tree):
    deep_tree(tmp_path / "songs" / "jazz", 1100)
    assert vae_cli.main(["train", "--dataset", "midi", "--data-dir", str(tmp_path / "songs"),
                         "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "levels" in err[0] and err[-1].startswith("chainer-vae train: error:")
    assert not any("Traceback" in line for line in err)


def test_a_symlink_loop_is_walked_once(tmp_path):
    (tmp_path / "a").mkdir()
    song(tmp_path / "a" / "x.mid")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a", target_is_directory=True)
    warnings = []
    assert files_below(tmp_path / "a", (".mid",), warn=warnings.append) == [
        tmp_path / "a" / "x.mid"]
    assert len(warnings) == 1 and "already walked" in warnings[0]


def test_names_that_are_no_utf8_are_shown_with_replacement_characters(tmp_path, capsys):
    folder = tmp_path / "songs"
    folder.mkdir()
    odd = os.fsdecode(b"caf\xe9.mid")
    song(folder / odd)
    assert cli.main(["encode", str(folder), str(tmp_path / "rolls"), "--no-progress"]) == 0
    assert (tmp_path / "rolls" / os.fsdecode(b"caf\xe9.npz")).is_file()
    assert cli.main(["plot", str(folder / odd), str(tmp_path / "rolls" / odd[:-4]) + ".png"]) == 0
    out = capsys.readouterr().out
    assert "caf?.png" in out  # printed with a replacement character, not a crash
    run = tmp_path / "study"
    (run / "generated").mkdir(parents=True)
    (run / "summary.json").write_text("{}")
    song(run / "generated" / odd)
    assert vae_cli.main(["report", str(run)]) == 0
    page = (run / "index.html").read_text(encoding="utf-8")
    assert "caf\ufffd.mid" in page and 'href="generated/caf%E9.mid"' in page


def test_a_full_disk_stops_a_folder_conversion_at_the_first_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "songs").mkdir()
    for index in range(5):
        song(tmp_path / "songs" / "{}.mid".format(index))

    def full(_):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr("midi.atomic.os.fsync", full)
    assert cli.main(["encode", str(tmp_path / "songs"), str(tmp_path / "rolls"),
                     "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0]
    assert not list((tmp_path / "rolls").iterdir())  # no half-written file left behind


def test_any_file_name_is_converted_and_shown(tmp_path):
    from hypothesis import HealthCheck, given, settings, strategies as st

    names = st.binary(min_size=1, max_size=30).filter(
        lambda name: b"/" not in name and b"\x00" not in name and name not in (b".", b".."))

    @settings(max_examples=40, deadline=None, suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(name=names)
    def any_name(name):
        folder = tmp_path / "songs"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(tmp_path / "out", ignore_errors=True)
        folder.mkdir()
        song(folder / os.fsdecode(name + b".mid"))
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            assert cli.main(["encode", str(folder), str(tmp_path / "out"), "--no-progress"]) == 0
            (folder / "summary.json").write_text("{}")
            assert vae_cli.main(["report", str(folder)]) == 0
        assert "Traceback" not in stderr.getvalue()
        (folder / "index.html").read_text(encoding="utf-8")  # valid UTF-8 whatever the name

    any_name()
