"""The study's presets: ``study --preset paper`` trains with the settings of the study's code."""
from pathlib import Path

import pytest

import chainer_vae  # noqa: F401

from chainer_vae import cli, study
from chainer_vae.data import load_data
from chainer_vae.model import build_model
from chainer_vae.study import StudyPlan

NOTE_STATE = (100, 156)  # a 100-step window of play | onset of the 78 pitches MIDI 24-101


def weight_shapes(model, part):
    """The shapes (out, in) of the linear layers of ``model.encoder`` or ``.decoder``'s
    trunk, then of its output layer(s), in the order data flow through them."""
    link = getattr(model, part)
    heads = (link.mu, link.ln_sigma) if part == "encoder" else (link.out,)
    return [layer.W.shape for layer in link.trunk] + [head.W.shape for head in heads]


def test_the_paper_mnist_run_has_the_settings_of_the_study_code():
    plan = StudyPlan.paper()
    assert 2 in plan.mnist_latents
    config = plan.mnist(2, "@numpy")
    assert (config.train.batch_size, config.train.lr, config.train.weight_decay,
            config.train.epochs) == (32, 5e-5, 5e-4, 150)
    assert (config.data.train_per_class, config.data.test_per_class) == (1600, 400)
    assert (config.model.activation, config.model.decoder_hidden) == ("tanh", [])
    model = build_model(config.model)
    assert weight_shapes(model, "encoder") == [(500, 784), (2, 500), (2, 500)]
    assert weight_shapes(model, "decoder") == [(500, 2), (784, 500)]


def test_the_paper_bach_run_has_the_asymmetric_mlp_of_the_study_code():
    plan = StudyPlan.paper()
    config = plan.bach(Path("bach_lute"), "@numpy")
    assert (config.train.batch_size, config.train.lr, config.train.weight_decay,
            config.train.epochs) == (32, 1e-5, 5e-4, 100)
    assert (config.data.dataset, config.data.window, config.data.hop,
            config.data.windows_per_piece) == ("midi", 100, None, 200)
    assert 2 * (config.data.high - config.data.low) == NOTE_STATE[1]
    assert config.model.activation == "relu" and config.model.likelihood == "bernoulli"
    config.model.input_shape = NOTE_STATE  # what the data set it to
    model = build_model(config.model)
    # encoder 15600-1000-500-100-20, decoder 20-100-500-15600
    assert weight_shapes(model, "encoder") == [(1000, 15600), (500, 1000), (100, 500),
                                               (20, 100), (20, 100)]
    assert weight_shapes(model, "decoder") == [(100, 20), (500, 100), (15600, 500)]
    assert plan.genre_epochs == 0  # the genre stage is none of the study's


@pytest.mark.parametrize("preset", ["quick", "full", "smoke"])
def test_the_other_presets_keep_the_default_optimizer_and_mirror_decoder(preset):
    plan = getattr(StudyPlan, preset)()
    mnist, bach = plan.mnist(2, "@numpy"), plan.bach(Path("bach_lute"), "@numpy")
    for config in (mnist, bach):
        assert (config.train.lr, config.train.weight_decay) == (1e-3, 0.0)
        assert config.model.decoder_hidden == []
    assert (mnist.train.batch_size, bach.train.batch_size) == (100, 20)
    assert bach.data.windows_per_piece is None


def test_run_study_trains_the_plan_s_bach_config_and_no_genre_stage_for_the_paper(
        tmp_path, monkeypatch):
    for folder in ("bach_lute", "genre_midi"):
        (tmp_path / "data" / folder).mkdir(parents=True)
    trained = []
    monkeypatch.setattr(study, "data_root", lambda: tmp_path / "data")
    monkeypatch.setattr(study, "run_mnist", lambda *args: {})
    monkeypatch.setattr(study, "run_midi",
                        lambda out, name, config, plan, progress: trained.append((name, config)))
    monkeypatch.setattr(study, "write_report", lambda out: out / "index.html")
    plan = StudyPlan.paper()
    study.run_study(tmp_path / "out", plan, device="@numpy")
    assert trained == [("bach_mlp", plan.bach(tmp_path / "data" / "bach_lute", "@numpy"))]
    trained.clear()
    study.run_study(tmp_path / "out", StudyPlan.smoke(), device="@numpy")
    assert [name for name, _ in trained] == ["bach_mlp", "genre_conv"]


def test_the_study_command_offers_the_paper_preset():
    args = cli.build_parser().parse_args(["study", "--preset", "paper", "--out", "x"])
    assert args.preset == "paper"


def test_the_paper_bach_data_are_up_to_200_windows_a_piece(data_root):
    if not (data_root / "bach_lute").is_dir():
        pytest.skip("the study's Bach pieces are not under {}".format(data_root))
    config = StudyPlan.paper().bach(data_root / "bach_lute", "@numpy")
    data = load_data(config.data, config.model.encoder, progress=False)
    assert data.input_shape == NOTE_STATE
    # each of the 8 pieces has more than 200 windows that start on a sounding step
    assert data.details["pieces"] == 8 and len(data.train) + len(data.test) == 8 * 200
