"""chainer_vae.outputs (plots from arrays, GIFs, plot_run) and the latent recorder."""
from __future__ import annotations

import inspect
import json

import chainer_vae  # noqa: F401  (installs the compatibility shim before chainer)
import chainer
import numpy as np
import pytest

from chainer_vae.inference import sampling as gen
from chainer_vae.outputs import actions
from chainer_vae.outputs import gifs, plots
from chainer_vae.config import ModelConfig, RunConfig
from chainer_vae.data import Data
from chainer_vae.data.images import ImageDataset
from chainer_vae.errors import ConfigError, RunDirError
from chainer_vae.runs import read_latents
from chainer_vae.training.extensions import LatentRecorder
from chainer_vae.runs import save_model
from chainer_vae.training import build_trainer

from tiny_models import toy_images, train_tiny

PNG = b"\x89PNG\r\n\x1a\n"
GIF = b"GIF89a"


def png(path):
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 1000, path
    assert not list(path.parent.glob(".*part*")), "temporary files left behind"
    return data


@pytest.fixture(scope="module")
def toy():
    return toy_images(80)


@pytest.fixture(scope="module")
def model(toy):
    return train_tiny(ModelConfig(input_shape=(784,), latent=2, hidden=[16]), toy[0], steps=80)


def _digits(seed):
    """12 grey 'digits' (12, 784) in [0, 1] of RandomState(seed)."""
    return np.random.RandomState(seed).rand(12, 784).astype(np.float32)


# {figure: draw(arrays of a seed, path)}: every figure of plots from arrays alone
FIGURES = {
    "prior_samples": lambda s, p: plots.plot_prior_samples(_digits(s), p, ncols=4),
    "class_samples": lambda s, p: plots.plot_class_samples(
        _digits(s).reshape(3, 4, 784), p, ["a", "b", "c"]),
    "latent_scatter": lambda s, p: plots.plot_latent_scatter(
        np.random.RandomState(s).randn(40, 3), np.arange(40) % 4, p, list("abcd")),
    "manifold": lambda s, p: plots.plot_manifold(_digits(s)[:9], gen.latent_grid(3), p),
    "by_latent_size": lambda s, p: plots.plot_samples_by_latent_size(
        {2: _digits(s)[:4], 10: _digits(s + 1)[:4]}, p),
    "interpolation": lambda s, p: plots.plot_interpolation(
        {"linear": _digits(s)[:5], "slerp": _digits(s)[5:10]}, p, ends=_digits(s)[10:]),
    "reconstructions": lambda s, p: plots.plot_reconstructions(_digits(s)[:6], _digits(s)[6:],
                                                               p),
    "completion": lambda s, p: plots.plot_completion(
        _digits(s)[:4], gen.occlusion_mask((784,)), _digits(s)[4:8], p),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_draws_its_arrays(tmp_path, name):
    draw = FIGURES[name]
    first = draw(0, tmp_path / "a.png")
    assert first == tmp_path / "a.png"
    data = png(first)
    assert png(draw(0, tmp_path / "again.png")) == data, "not deterministic"
    assert png(draw(1, tmp_path / "b.png")) != data, "ignores the arrays"


def test_figures_refuse_arrays_of_the_wrong_shape(tmp_path):
    with pytest.raises(ConfigError, match="square grid"):
        plots.plot_manifold(_digits(0)[:8], gen.latent_grid(3)[:8], tmp_path / "m.png")
    with pytest.raises(ConfigError, match="one decoding each"):
        plots.plot_manifold(_digits(0)[:4], gen.latent_grid(3), tmp_path / "m.png")
    with pytest.raises(ConfigError, match="labels, per_class"):
        plots.plot_class_samples(_digits(0)[0], tmp_path / "c.png", ["a"])
    with pytest.raises(ConfigError):
        plots.plot_samples_by_latent_size({}, tmp_path / "none.png")
    assert not list(tmp_path.iterdir())


def test_scatter_titles_say_the_latent_size_and_projection(tmp_path, monkeypatch):
    titles = []
    render = plots.render_scatter

    def spy(points, labels=None, label_names=None, axis_names=("z1", "z2"), limits=None,
            title=None, size=(6, 6)):
        titles.append(title)
        return render(points, labels, label_names, axis_names, limits, title, size)
    monkeypatch.setattr(plots, "render_scatter", spy)
    rng = np.random.RandomState(0)
    plots.plot_latent_scatter(rng.randn(30, 2), None, tmp_path / "two.png")
    plots.plot_latent_scatter(rng.randn(30, 5), np.arange(30) % 3, tmp_path / "five.png")
    assert titles == ["Test-set encodings (latent 2)",
                      "Test-set encodings (latent 5), PCA projection"]


def test_latent_projection():
    rng = np.random.RandomState(0)
    plane = rng.standard_normal((200, 2)) * [3.0, 1.0]
    basis = np.linalg.qr(rng.standard_normal((5, 5)))[0][:, :2]
    points, names = plots.latent_projection(plane @ basis.T + 7.0)
    assert names[0].startswith("PC1") and names[1].startswith("PC2")
    # The projection keeps the distances of points lying in a plane.
    np.testing.assert_allclose(np.linalg.norm(points[:, None] - points[None], axis=2),
                               np.linalg.norm(plane[:, None] - plane[None], axis=2), atol=1e-8)
    assert points[:, 0].var() > points[:, 1].var()
    same, names = plots.latent_projection(plane)
    np.testing.assert_array_equal(same, plane)
    assert tuple(names) == ("z1", "z2")
    line, _ = plots.latent_projection(plane[:, :1])
    assert line.shape == (200, 2) and (line[:, 1] == 0).all()


LOG = [{"epoch": e, "iteration": 10 * e, "main/loss": 200.0 / e, "validation/main/loss": 210.0 / e,
        "main/kl": 5.0 + e, "validation/main/kl": 5.5 + e, "main/rec_loss": 190.0 / e}
       for e in range(1, 6)]


def test_plot_losses_from_entries_file_and_folder(tmp_path):
    data = png(plots.plot_losses(LOG, tmp_path / "from_list.png"))
    (tmp_path / "log").write_text(json.dumps(LOG))
    assert png(plots.plot_losses(tmp_path / "log", tmp_path / "from_file.png")) == data
    assert png(plots.plot_losses(tmp_path, tmp_path / "from_folder.png")) == data
    changed = [dict(entry, **{"main/kl": 1.0}) for entry in LOG]
    assert png(plots.plot_losses(changed, tmp_path / "changed.png")) != data
    # A log of the training loss only (no test set evaluated yet) still draws.
    png(plots.plot_losses([{"epoch": 1, "main/loss": 3.0}], tmp_path / "train_only.png"))
    with pytest.raises(RunDirError, match="no loss"):
        plots.plot_losses([{"epoch": 1}], tmp_path / "empty.png")
    with pytest.raises(RunDirError, match="no training log"):
        plots.plot_losses(tmp_path / "missing", tmp_path / "x.png")
    (tmp_path / "bad").write_text("{not json")
    with pytest.raises(RunDirError, match="not a Chainer log"):
        plots.plot_losses(tmp_path / "bad", tmp_path / "x.png")


def test_piano_rolls(tmp_path):
    rng = np.random.RandomState(0)
    real = (rng.rand(32, 156) < 0.05).astype(np.float32)
    generated = rng.rand(32, 156).astype(np.float32) * 0.4
    one = png(plots.plot_piano_roll(real, tmp_path / "real.png", title="real"))
    assert png(plots.plot_piano_roll(generated, tmp_path / "gen.png", title="real")) != one
    both = png(plots.plot_piano_rolls([real, generated], tmp_path / "both.png",
                                      ["real", "generated"], threshold=0.2))
    assert png(plots.plot_piano_rolls([real, generated], tmp_path / "higher.png",
                                      ["real", "generated"], threshold=0.2, low=30)) != both
    with pytest.raises(ConfigError, match="note-state"):
        plots.plot_piano_roll(np.zeros((8, 5)), tmp_path / "bad.png")
    png(plots.plot_piano_roll(np.zeros((8, 5)), tmp_path / "play.png", note_state=False))
    midi = pytest.importorskip("midi")
    roll = midi.PianoRoll.from_note_state(real, steps_per_beat=4, low=24)
    png(plots.plot_piano_roll(roll, tmp_path / "roll.png", title="a midi.PianoRoll"))


def test_one_and_several_piano_rolls_take_the_same_options_in_the_same_order(tmp_path):
    """array(s), path, then the same keyword-only options; one roll is the first of many."""
    def options(function):
        return [(p.name, p.default) for p in inspect.signature(function).parameters.values()
                if p.kind is p.KEYWORD_ONLY]
    assert options(plots.plot_piano_roll) == options(plots.plot_piano_rolls)
    assert [name for name, _ in options(plots.plot_piano_roll)] == [
        "title", "low", "threshold", "steps_per_beat", "note_state"]
    roll = (np.random.RandomState(1).rand(16, 60) < 0.2).astype(np.float32)
    kw = dict(low=40, threshold=0.3, steps_per_beat=2, note_state=False)
    # one roll's title stands above its axes, as the first of several rolls' titles does
    assert (png(plots.plot_piano_roll(roll, tmp_path / "one.png", title="t", **kw))
            == png(plots.plot_piano_rolls([roll], tmp_path / "many.png", ["t"], **kw)))
    with pytest.raises(TypeError):
        plots.plot_piano_roll(roll, tmp_path / "x.png", "t")  # options by name only


def test_save_gif(tmp_path):
    from PIL import Image

    grey = [np.full((20, 30), value, np.float32) for value in (0.0, 0.5, 1.0)]
    path = gifs.save_gif(grey, tmp_path / "grey.gif", fps=5)
    assert path.read_bytes()[:6] == GIF
    with Image.open(path) as image:
        assert image.n_frames == 3 and image.size == (30, 20)
    colour = [np.random.RandomState(i).randint(0, 256, (10, 10, 3)).astype(np.uint8)
              for i in range(4)]
    with Image.open(gifs.save_gif(colour, tmp_path / "colour.gif")) as image:
        assert image.n_frames == 4
    with pytest.raises(ConfigError):
        gifs.save_gif([], tmp_path / "none.gif")


# ---------------------------------------------------------------------------- recorder and runs

def _toy_data():
    """Toy digits served like MNIST, by ImageDatasets."""
    x, labels = toy_images(100)
    train = ImageDataset(x[:80], labels[:80], binarize="threshold")
    test = ImageDataset(x[80:], labels[80:], binarize="threshold")
    return Data(train, test, (784,), train.labels, test.labels, [str(d) for d in range(4)])


def _trainer(out, data, epochs=2):
    """build_trainer's Trainer, which records latents with the default 20 x 20 grid."""
    config = RunConfig()
    config.model = ModelConfig(input_shape=(784,), latent=2, hidden=[16])
    config.train.epochs, config.train.batch_size, config.train.lr = epochs, 20, 1e-2
    trainer, model, data = build_trainer(config, out, progress=False, data=data)
    return config, trainer, model


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished 2-epoch run (with build_trainer's LatentRecorder), on toy digits."""
    out = tmp_path_factory.mktemp("run")
    data = _toy_data()
    config, trainer, model = _trainer(out, data)
    config.save(out)
    trainer.run()
    save_model(model, out)
    return out


def test_recorder_writes_one_entry_per_epoch(run_dir):
    record = read_latents(run_dir)
    assert record["epochs"].tolist() == [1, 2]
    assert record["z"].shape == (2, 20, 2) and record["labels"].shape == (20,)
    assert record["grid"].shape == (2, 400, 784) and record["grid"].dtype == np.uint8
    np.testing.assert_allclose(record["grid_z"], gen.latent_grid(20), atol=1e-6)
    assert not np.array_equal(record["z"][0], record["z"][1]), "the model did not train"


def test_recorder_draws_no_random_numbers_and_replaces_repeated_epochs(tmp_path, model, toy):
    x, labels = toy
    recorder = LatentRecorder(model, x, labels, tmp_path, grid_size=4, limit=30)
    state = np.random.get_state()
    recorder.record(1)
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(state, after)), "global RNG was touched"
    recorder.record(2)
    recorder.record(3)
    assert read_latents(tmp_path)["epochs"].tolist() == [1, 2, 3]
    recorder.record(2)  # a resumed run repeats epoch 2: later entries are dropped
    record = read_latents(tmp_path)
    assert record["epochs"].tolist() == [1, 2] and record["z"].shape == (2, 30, 2)
    np.testing.assert_allclose(record["z"][1], model.encode(x[:30]), atol=1e-6)
    # A different subset starts the record over rather than mixing two.
    LatentRecorder(model, x[:10], labels[:10], tmp_path, grid=False).record(5)
    record = read_latents(tmp_path)
    assert record["epochs"].tolist() == [5] and "grid" not in record


def test_recorder_keeps_recording_after_a_resume(tmp_path):
    """A run resumed from a snapshot records the epochs it trains, not the earlier ones."""
    from chainer_vae.runs import latest_snapshot

    data = _toy_data()
    _, trainer, _ = _trainer(tmp_path / "first", data, epochs=1)
    trainer.run()
    snapshot = latest_snapshot(tmp_path / "first")
    assert snapshot is not None
    _, resumed, _ = _trainer(tmp_path / "resumed", data, epochs=3)
    chainer.serializers.load_npz(str(snapshot), resumed)
    resumed.run()
    assert read_latents(tmp_path / "first")["epochs"].tolist() == [1]
    assert read_latents(tmp_path / "resumed")["epochs"].tolist() == [2, 3]


def test_latent_gifs(run_dir, tmp_path):
    from PIL import Image

    paths = gifs.write_latent_gifs(run_dir, tmp_path)
    assert [p.name for p in paths] == ["scatter.gif", "grid.gif"]
    for path in paths:
        assert path.read_bytes()[:6] == GIF
        with Image.open(path) as image:
            assert image.n_frames == 2


def test_plot_run_mnist(run_dir, tmp_path):
    paths = actions.plot_run(run_dir, tmp_path / "figures", data=_toy_data())
    names = sorted(p.name for p in paths)
    assert names == sorted(["losses.png", "latent_scatter.png", "prior_samples.png",
                            "reconstructions.png", "completion.png", "interpolation.png",
                            "manifold.png", "scatter.gif", "grid.gif"])
    for path in paths:
        assert path.parent == tmp_path / "figures" and path.stat().st_size > 0
    with pytest.raises(RunDirError):
        actions.plot_run(tmp_path / "nowhere", data=_toy_data())


def test_plot_run_midi(tmp_path):
    shape = (16, 156)
    rng = np.random.RandomState(0)
    windows = (rng.rand(30, *shape) < 0.1).astype(np.float32)
    config = RunConfig()
    config.data.dataset, config.data.window = "midi", 16
    config.model = ModelConfig(input_shape=shape, latent=3, hidden=[8], activation="relu")
    run = tmp_path / "run"
    run.mkdir()
    config.save(run)
    save_model(train_tiny(config.model, windows, steps=5), run)
    (run / "log").write_text(json.dumps(LOG))
    data = Data(windows, windows[:6], shape, np.zeros(30, int), np.arange(6) % 2, ["a", "b"])
    paths = actions.plot_run(run, data=data)
    assert sorted(p.name for p in paths) == ["latent_scatter.png", "losses.png",
                                             "piano_roll_samples.png", "piano_roll_test.png"]
    assert all(p.parent == run / "figures" for p in paths)
    png(paths[0])


def _conditional_run(tmp_path, config, x, labels, names, dataset="mnist"):
    config = RunConfig(model=config)
    config.data.dataset = dataset
    run = tmp_path / "run"
    run.mkdir()
    config.save(run)
    save_model(train_tiny(config.model, x, steps=20, labels=labels.astype(np.int32)), run)
    (run / "log").write_text(json.dumps(LOG))
    return run


def test_plot_run_of_a_conditional_mnist_model(tmp_path, toy):
    x, labels = toy
    names = [str(d) for d in range(10)]
    config = ModelConfig(input_shape=(784,), latent=2, hidden=[16], conditional=True,
                         label_names=names)
    run = _conditional_run(tmp_path, config, x, labels, names)
    data = Data(x, x[:30], (784,), labels, labels[:30], names)
    paths = actions.plot_run(run, data=data)
    assert sorted(p.name for p in paths) == sorted([
        "losses.png", "latent_scatter.png", "samples_by_class.png", "reconstructions.png",
        "completion.png", "interpolation.png"])  # no manifold: it would need a label
    png(run / "figures" / "samples_by_class.png")


def test_plot_run_of_a_conditional_music_model(tmp_path):
    shape = (16, 156)
    rng = np.random.RandomState(0)
    windows = (rng.rand(30, *shape) < 0.1).astype(np.float32)
    labels = np.arange(30) % 3
    names = ["jazz", "rock", "disco"]
    config = ModelConfig(input_shape=shape, latent=3, hidden=[8], activation="relu",
                         conditional=True, label_names=names)
    run = _conditional_run(tmp_path, config, windows, labels, names, dataset="midi")
    data = Data(windows, windows[:6], shape, labels, labels[:6], names)
    paths = actions.plot_run(run, data=data)
    assert sorted(p.name for p in paths) == ["latent_scatter.png", "losses.png",
                                             "piano_roll_samples.png", "piano_roll_test.png"]


def test_recorder_encodes_a_conditional_model_with_the_labels(tmp_path, toy):
    x, labels = toy
    model = train_tiny(ModelConfig(input_shape=(784,), latent=2, hidden=[16], conditional=True,
                                   label_names=[str(d) for d in range(10)]), x, steps=20,
                       labels=labels.astype(np.int32))
    LatentRecorder(model, x, labels, tmp_path, limit=30).record(1)
    record = read_latents(tmp_path)
    assert "grid" not in record  # a grid of z alone has no label to decode with
    np.testing.assert_allclose(record["z"][0], gen.encode(model, x[:30], labels=labels[:30]),
                               atol=1e-6)


def test_models_that_read_back_their_output_draw_their_samples():
    from chainer_vae.outputs.actions import draws_samples

    assert draws_samples(ModelConfig(encoder="lstm", decoder="lstm", autoregressive=True))
    assert draws_samples(ModelConfig(step_made=5))
    assert not draws_samples(ModelConfig())
    assert not draws_samples(ModelConfig(encoder="lstm", decoder="lstm", autoregressive=True,
                                         likelihood="gaussian"))
