"""outputs.steering: rows of samples along attributes, temperatures and a long piece."""
import numpy as np
import pytest

import chainer_vae  # noqa: F401
from chainer_vae import cli
from chainer_vae.errors import ConfigError
from chainer_vae.outputs.steering import write_steering
from midi.attributes import ATTRIBUTES
from midi_factories import conductor, midi_file, note_track, save

BEAT = 480


@pytest.fixture(scope="module")
def hier_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("steer")
    (root / "songs").mkdir()
    for piece in range(4):
        notes = [(60 + (beat * (piece + 1)) % 9, beat, 1) for beat in range(48)]
        save(midi_file(conductor(), note_track([(p, BEAT * b, BEAT * (b + d))
                                                for p, b, d in notes])),
             root / "songs" / "{}.mid".format(piece))
    run = root / "run"
    assert cli.main(["train", "--dataset", "midi", "--data-dir", str(root / "songs"),
                     "--steps-per-beat", "1", "--encoder", "lstm", "--decoder", "hier",
                     "--autoregressive", "--hidden", "8", "--latent", "2", "--epochs", "1",
                     "--out", str(run), "--no-progress"]) == 0
    return run


def test_a_row_per_control_with_its_picture(hier_run, tmp_path):
    real = np.zeros((3 * 4, 156), np.float32)
    real[::4, 40] = real[::4, 78 + 40] = 1  # one note a bar
    without = write_steering(hier_run, tmp_path / "plain", bars=3, real=real)
    assert list(without) == ["temperature", "long", "pictures"]  # no attribute vectors yet
    assert [p.name for p in without["long"]] == ["3_bars_from_one_z_000.mid",
                                                 "a_real_segment_of_3_bars_000.mid"]
    assert cli.main(["attributes", str(hier_run), "--no-progress"]) == 0
    written = write_steering(hier_run, tmp_path / "rows", amounts=(-1, 0, 1), bars=3)
    assert list(written) == list(ATTRIBUTES) + ["temperature", "long", "pictures"]
    assert [p.name for p in written["in_scale"]] == ["in_scale_-1_000.mid", "in_scale_+0_000.mid",
                                                     "in_scale_+1_000.mid"]
    assert [p.name for p in written["pictures"]][-2:] == ["temperature.png", "long.png"]
    assert all(p.is_file() and p.with_suffix(".png").is_file()
               for row in ATTRIBUTES for p in written[row])


def test_an_image_model_has_no_musical_controls(toy_mnist, tmp_path):
    run = tmp_path / "run"
    assert cli.main(["train", "--data-dir", str(toy_mnist), "--epochs", "1", "--hidden", "8",
                     "--latent", "2", "--out", str(run), "--no-progress"]) == 0
    with pytest.raises(ConfigError, match="no musical controls"):
        write_steering(run, tmp_path / "x")
