"""The study's presets: ``study --preset paper`` trains with the settings of the study's code;
every preset puts the hierarchical model beside the study's MLP on the Bach pieces."""
import dataclasses
import json
import wave
from pathlib import Path

import pytest

import chainer_vae  # noqa: F401

from chainer_vae import cli, study
from chainer_vae.data import load_data
from chainer_vae.model import build_model
from chainer_vae.outputs.report import MUSIC_METRICS, REPORT_FILE, SUMMARY_FILE
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

    def run_midi(out, name, config, plan, progress, minutes=None):
        trained.append((name, config, minutes))
        return {}

    monkeypatch.setattr(study, "data_root", lambda: tmp_path / "data")
    monkeypatch.setattr(study, "run_mnist", lambda *args: {})
    monkeypatch.setattr(study, "run_midi", run_midi)
    monkeypatch.setattr(study, "run_pretrained", lambda out, name, *args: trained.append(
        (name, None, None)) or {})
    monkeypatch.setattr(study, "pretrained_samples", lambda out: {})
    monkeypatch.setattr(study, "write_report", lambda out: out / "index.html")
    plan, bach = StudyPlan.paper(), tmp_path / "data" / "bach_lute"
    study.run_study(tmp_path / "out", plan, device="@numpy")
    assert trained == [("bach_mlp", plan.bach(bach, "@numpy"), None),
                       ("bach_hier", plan.bach_hier(bach, "@numpy"), None),
                       ("bach_pretrained", None, None),
                       ("bach_finetuned", plan.bach_finetuned(bach, "@numpy"), None)]
    trained.clear()
    study.run_study(tmp_path / "out", StudyPlan.quick(), device="@numpy")
    minutes = StudyPlan.quick().bach_hier_minutes
    assert [(name, minutes) for name, _, minutes in trained] == [
        ("bach_mlp", None), ("bach_hier", minutes), ("bach_pretrained", None),
        ("bach_finetuned", minutes), ("genre_conv", None)]
    trained.clear()
    study.run_study(tmp_path / "out", dataclasses.replace(StudyPlan.smoke(), bach_hier_epochs=0),
                    device="@numpy")
    assert [name for name, _, _ in trained] == ["bach_mlp", "genre_conv"]


@pytest.mark.parametrize("preset", ["quick", "full", "smoke", "paper"])
def test_the_hierarchical_bach_run_is_musicvae_s_model_on_4_bar_windows(preset):
    plan = getattr(StudyPlan, preset)()
    config = plan.bach_hier(Path("bach_lute"), "@numpy")
    data, model, train = config.data, config.model, config.train
    assert (data.dataset, data.window, data.hop, data.windows_per_piece) == ("midi", 64, 16, None)
    assert (model.encoder, model.decoder, model.bar) == ("lstm", "hier", 16)
    assert model.autoregressive and model.step_made > 0 and train.free_nats > 0
    assert train.epochs == plan.bach_hier_epochs and data.limit == plan.limit
    assert data.transpose == list(plan.bach_hier_transpose)
    config.model.input_shape = (64, NOTE_STATE[1])  # what the data set it to
    build_model(config.model)  # whole bars: the decoder accepts the window
    # the quick preset (make demo) keeps to its minutes; smoke trains for seconds
    assert (plan.bach_hier_minutes is not None) == (preset == "quick")
    if preset == "smoke":
        assert plan.bach_hier_epochs == 1 and plan.limit


def test_the_study_s_bach_stages_write_the_music_metrics_and_the_page_shows_them(
        data_root, tmp_path, monkeypatch, capsys):
    """The smoke preset's Bach stages, on 64 windows a split (seconds)."""
    if not (data_root / "bach_lute").is_dir():
        pytest.skip("the study's Bach pieces are not under {}".format(data_root))
    monkeypatch.setenv("CHAINER_VAE_DATA", str(data_root))
    monkeypatch.setattr(study, "run_mnist", lambda *args: {})
    plan = dataclasses.replace(StudyPlan.smoke(), genre_epochs=0, limit=64)
    summary = study.run_study(tmp_path, plan, device="@numpy")
    out = capsys.readouterr().out
    music = json.loads((tmp_path / SUMMARY_FILE).read_text())[MUSIC_METRICS]
    stages = ["bach_mlp", "bach_hier", "bach_pretrained", "bach_finetuned"]
    assert music == summary[MUSIC_METRICS] and list(music) == stages
    for name in stages:  # the reconstructions of the held-out windows, scored
        assert 0 <= music[name]["note_f1"] <= 1
    for name, window, drawn in (("bach_mlp", 100, False), ("bach_hier", 64, True),
                                ("bach_pretrained", 64, True), ("bach_finetuned", 64, True)):
        found = music[name]
        assert (found["window_steps"], found["drawn"], found["samples"]) == (
            window, drawn, plan.music_samples)
        assert 0 <= found["mean_overlap"] <= 1 and 0.3 < found["real_mean_overlap"] <= 1
        assert MUSIC_METRICS not in summary[name]  # the metrics live in one place
        assert "{:.3f}".format(found["mean_overlap"]) in out  # the study prints the table
        assert len(list((tmp_path / "generated" / name).glob("sample_*.mid"))) == 2
        walk = sorted((tmp_path / "generated" / name / "between_pieces").glob("slerp_*.mid"))
        assert len(walk) == 5 and all(str(p) in summary[name]["midi"] for p in walk)
        assert (tmp_path / "figures" / name / "piano_roll_samples.png").is_file()
    page = (tmp_path / REPORT_FILE).read_text()
    heard = sorted((tmp_path / "pretrained" / "bach-chorales").glob("sample_*.mid"))
    assert len(heard) == 8 and all(path.with_suffix(".wav").is_file() for path in heard)
    assert page.index("<h2>pretrained/bach-chorales</h2>") < page.index("<h2>generated/")
    table = page[page.index("Music: prior samples"):]
    assert "bach_hier</td><td>64</td><td>drawn" in table
    assert "bach_mlp</td><td>100</td><td>above 0.2" in table
    assert "{:.4g}".format(music["bach_hier"]["real_mean_overlap"]) in table
    assert "<td>{:.4g}</td>".format(music["bach_finetuned"]["note_f1"]) in table


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


def test_generated_midi_is_rendered_by_fluidsynth_or_else_the_built_in_synthesizer(
        tmp_path, monkeypatch):
    from midi_factories import conductor, install_fake, midi_file, note_track, save

    songs = [save(midi_file(conductor(), note_track([(60, 0, 480)])), tmp_path / name)
             for name in ("a.mid", "b.mid")]
    font = tmp_path / "gm.sf2"
    font.write_bytes(b"sfbk")
    monkeypatch.setenv("MIDI_SOUNDFONT", str(font))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no fluidsynth: the built-in one
    assert study.render_if_possible(songs) == [str(tmp_path / "a.wav"), str(tmp_path / "b.wav")]
    with wave.open(str(tmp_path / "a.wav")) as built_in:  # a quarter note at 120 bpm
        assert built_in.getframerate() == 22050
        assert 0.5 < built_in.getnframes() / 22050 < 0.6
    install_fake(tmp_path, monkeypatch)
    assert study.render_if_possible(songs) == [str(tmp_path / "a.wav"), str(tmp_path / "b.wav")]
    assert (tmp_path / "b.wav").read_bytes().startswith(b"RIFF")


@pytest.mark.parametrize("preset", ["quick", "full", "paper"])
def test_a_music_stage_stopped_part_way_loses_a_tenth_of_its_epochs_at_most(preset):
    plan, root = getattr(StudyPlan, preset)(), Path("music")
    stages = [plan.bach(root, "@numpy"), plan.bach_hier(root, "@numpy"),
              plan.bach_finetuned(root, "@numpy")]
    if plan.genre_epochs:
        stages.append(plan.genre(root, "@numpy"))
    for config in stages:
        train = config.train
        assert 1 <= train.snapshot_every <= max(1, train.epochs // 10)
        assert train.keep_snapshots == 1  # the study's MLP has 32M weights
