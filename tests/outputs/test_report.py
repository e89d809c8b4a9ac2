"""chainer-vae report: a static page for a run or study folder, checked in a real browser
(headless Chromium, Debian's ``chromium``; skipped, saying why, where none is installed)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import wave

import numpy as np
import pytest

import chainer_vae  # noqa: F401

from chainer_vae import cli
from chainer_vae.outputs.report import REPORT_FILE
from midi_factories import midi_file, note_track, save

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def run_cli(capsys, *args):
    code = cli.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def write_wav(path, seconds=0.2, rate=8000):
    samples = (np.sin(np.arange(int(seconds * rate)) * 0.3) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(samples.tobytes())


@pytest.fixture(scope="module")
def music_run(tmp_path_factory):
    """A run on a tiny MIDI folder, with its figures, two samples and a WAV of one."""
    root = tmp_path_factory.mktemp("report")
    for label, base in (("a", 48), ("b", 60)):
        (root / "songs" / label).mkdir(parents=True)
        for index in range(3):
            notes = [(base + index + (t % 5), t * 120, (t + 1) * 120) for t in range(64)]
            save(midi_file(note_track(notes)), root / "songs" / label / "song{}.mid".format(index))
    run = root / "run"
    assert cli.main(["train", "--dataset", "midi", "--data-dir", str(root / "songs"),
                     "--window", "16", "--hidden", "16", "--latent", "2", "--epochs", "1",
                     "--out", str(run), "--no-progress"]) == 0
    assert cli.main(["plot", str(run)]) == 0
    assert cli.main(["sample", str(run), "--out", str(run / "generated"), "--n", "2"]) == 0
    write_wav(run / "generated" / "sample_000.wav")
    return run


def test_the_page_links_every_figure_and_midi_file_with_its_roll_and_sound(music_run, capsys):
    code, out, _ = run_cli(capsys, "report", music_run)
    assert code == 0 and out.strip() == str(music_run / REPORT_FILE)
    page = (music_run / REPORT_FILE).read_text()
    for figure in sorted((music_run / "figures").glob("*.png")):
        assert 'src="figures/{}"'.format(figure.name) in page
    assert '<a href="generated/sample_000.mid">' in page
    assert 'src="generated/sample_000.png"' in page  # the roll beside its MIDI file
    assert page.count("<audio") == 1 and 'src="generated/sample_000.wav"' in page
    assert 'src="loss.png"' in page and "Last epochs" in page
    assert "snapshot_epoch" not in page and "http" not in page  # nothing from outside


def test_report_refuses_a_folder_that_is_no_run_or_study(tmp_path, capsys):
    code, _, err = run_cli(capsys, "report", tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "neither a run folder" in err and not (tmp_path / REPORT_FILE).exists()


def test_a_study_folder_gets_its_summary(tmp_path, capsys):
    (tmp_path / "summary.json").write_text(
        '{"mnist_z2": {"elbo": -120.5, "log_likelihood": -115.25, "n": 50}}')
    assert run_cli(capsys, "report", tmp_path)[0] == 0
    page = (tmp_path / REPORT_FILE).read_text()
    assert "mnist_z2" in page and "elbo -120.5" in page
    assert "Music: prior samples" not in page  # no music runs, no music table


def test_a_study_s_music_metrics_get_a_table_of_their_own(tmp_path, capsys):
    metrics = {"mean_overlap": 0.61234, "real_mean_overlap": 0.87, "samples": 64,
               "held_out": 168, "window_steps": 64, "features": {"pitch_count": 0.5}}
    (tmp_path / "summary.json").write_text(json.dumps({
        "bach_mlp": {"test_loss": 900.5, "midi": ["a.mid"]},
        "music_metrics": {"bach_mlp": dict(metrics, window_steps=100, mean_overlap=0.25,
                                           drawn=False, threshold=0.2),
                          "bach_hier": dict(metrics, drawn=True, threshold=None,
                                            note_f1=0.1234)}}))
    assert run_cli(capsys, "report", tmp_path)[0] == 0
    page = (tmp_path / REPORT_FILE).read_text()
    runs, music = page.split("Music: prior samples against held-out windows")
    assert "<td>bach_mlp</td>" in runs and "<td>music_metrics</td>" not in runs  # not a run
    assert ("<tr><td>bach_hier</td><td>64</td><td>drawn</td><td>0.6123</td><td>0.87</td>"
            "<td>0.1234</td><td>64 / 168</td></tr>") in music
    # a summary written before the note F1 was measured: an empty cell
    assert ("<tr><td>bach_mlp</td><td>100</td><td>above 0.2</td><td>0.25</td><td>0.87</td>"
            "<td></td>") in music


def render(page, screenshot):
    """(the DOM after the page's scripts ran, the screenshot path) from headless Chromium."""
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--allow-file-access-from-files", "--virtual-time-budget=10000",
             "--user-data-dir={}".format(screenshot.parent / "chromium-profile")]
    dom = subprocess.run(flags + ["--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    subprocess.run(flags + ["--screenshot={}".format(screenshot), "--window-size=1280,2400",
                            page.as_uri()], capture_output=True, timeout=120)
    return dom, screenshot


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (Debian: apt-get install "
                                             "chromium); .ci/run installs it")
def test_every_image_and_sound_loads_in_a_real_browser(music_run, tmp_path):
    page = music_run / REPORT_FILE
    if not page.exists():
        cli.main(["report", str(music_run)])
    dom, screenshot = render(page, tmp_path / "report.png")
    check = re.search(r'id="load-check">loaded: (\d+) images \((\d+) broken\), (\d+) sounds '
                      r'\((\d+) broken\)', dom)
    assert check, dom[-2000:]
    images, broken_images, sounds, broken_sounds = map(int, check.groups())
    assert images >= 5 and sounds == 1
    assert (broken_images, broken_sounds) == (0, 0)
    assert screenshot.is_file() and screenshot.stat().st_size > 10000
    # the check can fail: a picture that is not there is counted as broken
    (music_run / "figures" / "losses.png").rename(tmp_path / "moved.png")
    try:
        dom, _ = render(page, tmp_path / "broken.png")
        assert re.search(r"images \([1-9]\d* broken\)", dom), dom[-2000:]
    finally:
        (tmp_path / "moved.png").rename(music_run / "figures" / "losses.png")
