"""The measures of musical control, end to end on a small hierarchical model of toy songs."""
import numpy as np
import pytest

import chainer_vae  # noqa: F401
from chainer_vae import cli
from chainer_vae.inference import attributes, control
from chainer_vae.runs import load_run
from midi.attributes import ATTRIBUTES
from midi_factories import conductor, midi_file, note_track, save

BEAT = 480


@pytest.fixture(scope="module")
def hier_run(tmp_path_factory):
    """A hierarchical model (bars of 4 beats at 2 steps a beat, 4-bar windows) of 16-bar
    songs, a note on every beat and a low note held through every bar, trained for a
    moment."""
    root = tmp_path_factory.mktemp("control")
    for piece in range(6):
        notes = [(60 + (beat + piece) % 7, beat, 1) for beat in range(64)]
        notes += [(48 + piece, 4 * bar, 4) for bar in range(16)]
        (root / "songs").mkdir(exist_ok=True)
        save(midi_file(conductor(), note_track([(p, BEAT * b, BEAT * (b + d))
                                                for p, b, d in notes])),
             root / "songs" / "{}.mid".format(piece))
    run = root / "run"
    assert cli.main(["train", "--dataset", "midi", "--data-dir", str(root / "songs"),
                     "--steps-per-beat", "2",
                     "--encoder", "lstm", "--decoder", "hier", "--autoregressive",
                     "--hidden", "16", "--latent", "3", "--epochs", "1", "--out", str(run),
                     "--no-progress"]) == 0
    assert cli.main(["attributes", str(run), "--no-progress"]) == 0
    return run


def test_downbeat_ratio_of_real_windows_and_samples(hier_run):
    found = control.downbeat_ratio(load_run(hier_run, progress=False), n=8)
    # the real songs start two notes on each downbeat, one on each other beat: 2 against
    # 3 on the 7 other steps of a bar
    assert found["real"]["ratio"] == pytest.approx(14 / 3)
    assert found["ratio_of_ratios"] == pytest.approx(found["samples"]["ratio"] / (14 / 3))


def test_attribute_and_temperature_responses_have_a_row_per_setting(hier_run):
    run = load_run(hier_run, progress=False)
    found = control.attribute_response(run, attributes.load(hier_run), n=4,
                                       amounts=(-1.0, 0.0, 1.0))
    assert list(found) == list(ATTRIBUTES)
    for row in found.values():
        assert len(row["means"]) == len(row["overlaps"]) == 3
        assert -1 <= row["rho_of_means"] <= 1 or np.isnan(row["rho_of_means"])
    rows = control.temperature_response(run, n=4, temperatures=(0.1, 1.0, 10.0))
    assert [row["temperature"] for row in rows] == [0.1, 1.0, 10.0]
    assert rows[2]["note_density"] > rows[0]["note_density"]  # probabilities near 1/2


def test_long_structure_compares_samples_with_real_segments(hier_run):
    found = control.long_structure(load_run(hier_run, progress=False), bars=4, n=4)
    assert found["bars"] == 4 and found["segments"] >= 2
    for key in ("repeated_bars", "bar_distances", "structure_overlap", "mean_overlap",
                "real_structure_overlap"):
        assert 0 <= found[key] <= 1
