"""The study end to end: the runs behind the README's main command (``make demo``).

Every stage trains through the same ``chainer_vae.training.train`` a user runs from the
CLI (once: ``train_once`` reads a finished stage again and resumes one stopped part way,
so a study run again into its folder carries on), then evaluates, draws the figures and
generates samples from the latent prior, so a short default run and a long one differ
only in their numbers of epochs:

- MNIST with the study's subsets (1600 training and 400 test digits per class), the
  MLP VAE with latent sizes 2, 10 and 20 (Fig. 2-5, the manifold, the GIFs, samples by
  latent size, interpolation, reconstruction and completion of occluded digits);
- the study's Bach pieces (``bach_lute``) with the study's MLP (15600-1000-500-100-20),
  generated MIDI decoded from z ~ N(0, I) at the study's threshold 0.2;
- the same pieces with this project's MusicVAE-style model (``hier_config``: 4-bar
  windows, a hierarchical decoder), generated MIDI drawn from p(x|z); for every music
  run, its prior samples against its held-out windows (``summary["music_metrics"]``);
- the genre songs (``genre_midi``, when present) with the conv VAE, a few windows a song.

``StudyPlan.paper()`` trains with the study's own optimizer settings and decoder instead
of this project's defaults (see there).

Outputs land in ``out``: one run folder per model, ``figures/``, ``generated/`` and
``summary.json``.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from midi.render import SYNTH_NAMES, choose_synth, render_wav

from chainer_vae import pretrained
from chainer_vae.config import RunConfig, default_model_config
from chainer_vae.data.base import ENV_VAR, data_root
from chainer_vae.data.midi import BEATS_PER_BAR, piece_window
from chainer_vae.files import atomic_write_text, make_folder
from chainer_vae.inference import evaluate, sampling
from chainer_vae.inference.music import (held_out_f1, music_options, on_other_pieces,
                                         prior_overlap)
from chainer_vae.outputs import figures
from chainer_vae.outputs.actions import plot_run
from chainer_vae.outputs.sample import draws_samples, sample_run
from chainer_vae.outputs.midi_files import write_midi_samples
from chainer_vae.outputs.steering import write_steering
from chainer_vae.outputs.report import (AUDIO, MUSIC_METRICS, PRETRAINED_FOLDER, SUMMARY_FILE,
                                       write_report)
from chainer_vae.runs import load_run, read_log
from chainer_vae.training import train_once


LONG_BARS = 16  # the long piece the study sets beside a real one


@dataclass
class StudyPlan:
    """Epochs, sizes and optimizer settings of one study run; ``quick()``, ``full()``,
    ``smoke()`` and ``paper()`` are the presets."""

    mnist_epochs: int = 5
    mnist_latents: tuple = (2, 10, 20)
    mnist_batch: int = 100
    mnist_lr: float = 1e-3
    bach_epochs: int = 30
    bach_batch: int = 20  # 5 updates an epoch on the 100 Bach windows: denser samples
    bach_lr: float = 1e-3
    bach_windows_per_piece: Optional[int] = None  # None: windows end to end
    bach_decoder_hidden: tuple = ()  # from z to the output; empty: the encoder's mirror
    weight_decay: float = 0.0  # the L2 penalty of the MNIST and Bach runs
    bach_hier_epochs: int = 100  # the hierarchical model on the Bach pieces; 0: no stage
    bach_hier_minutes: Optional[float] = 1.5  # ends it at the first epoch end past this
    # training copies moved by these semitones; none: in 1.5 minutes more epochs over the
    # real windows beat more windows, and the held-out pieces keep their own keys
    bach_hier_transpose: tuple = ()
    # the shipped model the Bach pieces are also heard from, as it is and fine-tuned for as
    # long as the hierarchical model trains from scratch (None: neither stage)
    finetune_from: Optional[str] = "bach-chorales"
    finetune_lr: float = 3e-4
    genre_epochs: int = 3  # 0: no genre stage
    genre_windows_per_piece: Optional[int] = 4
    iw_samples: int = 500
    iw_limit: Optional[int] = 1000
    n_generated: int = 4
    music_samples: int = 64  # prior samples a music run's metrics compare
    steering: bool = True  # rows of a shipped model's samples along its controls
    limit: Optional[int] = None  # examples per split, for smoke tests

    @classmethod
    def quick(cls):
        return cls()

    @classmethod
    def full(cls):
        return cls(mnist_epochs=100, bach_epochs=300, bach_hier_epochs=200,
                   bach_hier_minutes=None, genre_epochs=50, genre_windows_per_piece=None,
                   iw_samples=5000, iw_limit=None)

    @classmethod
    def smoke(cls):
        """Seconds, not minutes: for tests and notebook checks."""
        return cls(mnist_epochs=1, mnist_latents=(2, 20), bach_epochs=2, bach_hier_epochs=1,
                   bach_hier_minutes=None, genre_epochs=1, genre_windows_per_piece=1,
                   iw_samples=10, iw_limit=50, n_generated=2, music_samples=8, limit=300,
                   steering=False)

    @classmethod
    def paper(cls):
        """The study's own settings, from its code (``MNIST-VAE.py``, ``VAE_midi.py``):
        Adam on batches of 32 with an L2 penalty of 5e-4 (chainer's ``WeightDecay``
        hook); MNIST at lr 5e-5 for 150 epochs; the Bach MLP 15600-1000-500-100-20 with
        the decoder 20-100-500-15600 at lr 1e-5 for 100 epochs, on up to 200 overlapping
        100-step windows per piece. The genre stage is not the study's: none; the
        hierarchical model on the Bach pieces is there to compare with, as in ``full``.
        The whole preset took 2 h 21 min on a shared 2-core machine (docs/reproduction.md)."""
        return cls(mnist_epochs=150, mnist_batch=32, mnist_lr=5e-5, bach_epochs=100,
                   bach_batch=32, bach_lr=1e-5, bach_windows_per_piece=200,
                   bach_decoder_hidden=(100, 500), weight_decay=5e-4, bach_hier_epochs=200,
                   bach_hier_minutes=None, genre_epochs=0, iw_samples=5000, iw_limit=1000)

    def mnist(self, latent, device, data_dir=None):
        """The ``RunConfig`` of this plan's MNIST run with ``latent`` latent dimensions."""
        return mnist_config(latent, self.mnist_epochs, device, data_dir, self.limit,
                            batch_size=self.mnist_batch, lr=self.mnist_lr,
                            weight_decay=self.weight_decay)

    def bach(self, root, device):
        """The ``RunConfig`` of this plan's Bach run: the study's MLP on the folder ``root``."""
        return midi_config(root, "mlp", self.bach_epochs, device, self.bach_windows_per_piece,
                           self.limit, self.bach_decoder_hidden, batch_size=self.bach_batch,
                           lr=self.bach_lr, weight_decay=self.weight_decay)

    def bach_hier(self, root, device):
        """The ``RunConfig`` of this plan's hierarchical run on the Bach folder ``root``."""
        return hier_config(root, self.bach_hier_epochs, device, self.bach_hier_transpose,
                           self.limit)

    def bach_finetuned(self, root, device):
        """The ``RunConfig`` of this plan's fine-tuning of ``finetune_from`` on ``root``."""
        return finetune_config(self.finetune_from, root, self.bach_hier_epochs, device,
                               self.finetune_lr, self.limit)

    def genre(self, root, device):
        """The ``RunConfig`` of this plan's genre run: the conv VAE on the folder ``root``."""
        return midi_config(root, "conv", self.genre_epochs, device,
                           self.genre_windows_per_piece, self.limit)


def mnist_config(latent, epochs, device, data_dir=None, limit=None, **train):
    """The study's MNIST setting: 1600 training and 400 test digits per class, binarized at
    0.5, Chainer's example MLP (784-500-latent, tanh). ``train`` sets other
    ``TrainConfig`` fields (``batch_size``, ``lr``, ``weight_decay``)."""
    config = RunConfig(model=default_model_config("mnist", "mlp"))
    config.model.latent = latent
    config.data.data_dir, config.data.limit = data_dir, limit
    config.data.train_per_class, config.data.test_per_class = 1600, 400
    config.train = dataclasses.replace(config.train, epochs=epochs, device=device, **train)
    return config


def snapshot_every(epochs):
    """Epochs between the snapshots of a music stage of ``epochs`` epochs: about ten in a
    run, so that a stage stopped part way loses a tenth of its epochs at most. Its config
    keeps only the newest, for the models are large (the study's MLP has 32M weights)."""
    return max(1, epochs // 10)


def midi_config(root, arch, epochs, device, windows_per_piece=None, limit=None,
                decoder_hidden=(), **train):
    """The study's MIDI setting: 100-step windows of the 156-column note-state matrix on a
    16th-note grid, Bernoulli likelihood; the study's MLP for ``arch="mlp"``, with the
    mlp decoder's own hidden sizes ``decoder_hidden`` (from z; empty: the encoder's
    mirror). ``windows_per_piece`` draws that many distinct, overlapping windows of each
    piece (None: windows end to end); ``train`` sets other ``TrainConfig`` fields
    (``batch_size``, ``lr``, ``weight_decay``)."""
    config = RunConfig(model=default_model_config("midi", arch))
    config.model.decoder_hidden = list(decoder_hidden)
    config.data.dataset, config.data.data_dir = "midi", str(root)
    config.data.windows_per_piece, config.data.limit = windows_per_piece, limit
    config.train = dataclasses.replace(config.train, epochs=epochs, device=device, **train)
    config.train.snapshot_every, config.train.keep_snapshots = snapshot_every(epochs), 1
    return config


def hier_config(root, epochs, device, transpose=(), limit=None, **train):
    """This project's MusicVAE-style setting on a MIDI folder: 4-bar windows (64 steps of
    the note-state matrix) every bar, and training copies moved by ``transpose`` semitones;
    a bidirectional LSTM encoder (256 units), latent 64, and the hierarchical decoder (a
    conductor LSTM over the bars, an LSTM per bar reading back its previous step, a
    step MADE of 100 units over the notes of a step); batches of 32, 48 free nats of KL
    (the latent is used) reached over 5 epochs of KL warm-up. ``train`` sets other
    ``TrainConfig`` fields."""
    config = midi_config(root, "lstm", epochs, device, limit=limit, batch_size=32,
                         free_nats=48.0, kl_warmup=5.0, **train)
    bar = BEATS_PER_BAR * config.data.steps_per_beat
    config.data.window, config.data.hop, config.data.transpose = 4 * bar, bar, list(transpose)
    model = config.model
    model.decoder, model.bar = "hier", bar
    model.latent, model.hidden, model.autoregressive, model.step_made = 64, [256], True, 100
    return config


def _say(text):
    print(text, flush=True)


def run_mnist(out, plan, device, progress):
    """Train the MNIST models, evaluate, draw every figure; returns the summary part."""
    root = data_root()
    data_dir = str(root / "mnist") if root is not None else None
    summary, models = {}, {}
    for latent in plan.mnist_latents:
        run_dir = out / "mnist_z{}".format(latent)
        _say("== MNIST, MLP VAE 784-500-{} ({} epochs) -> {}".format(
            latent, plan.mnist_epochs, run_dir))
        train_stage(plan.mnist(latent, device, data_dir), run_dir, progress)
        scores = evaluate(run_dir, iw_samples=plan.iw_samples, limit=plan.iw_limit,
                          progress=progress)
        summary[run_dir.name] = scores.to_dict()
        _say("   test ELBO {:.2f} nats, IWAE (K={}) log p(x) {:.2f} nats on {} digits".format(
            scores.elbo, scores.iw_samples, scores.log_likelihood, scores.n))
        run = load_run(run_dir)
        written = plot_run(run_dir, out / "figures" / run_dir.name, data=run.data)
        models[latent] = run.model
        _say("   {} figures in {}".format(len(written), out / "figures" / run_dir.name))
    figures.plot_samples_by_latent_size(models, out / "figures" / "samples_by_latent_size.png")
    return summary


def train_stage(config, run_dir, progress, minutes=None):
    """Train ``config`` into ``run_dir`` (``train_once``: a finished run of it there is
    read again, one stopped part way resumes), for at most the epochs ending past
    ``minutes``, saying when it did not train from the start."""
    done = train_once(config, run_dir, progress=progress, max_minutes=minutes)
    if done == "found":
        _say("   finished in {} already: read again, not retrained".format(run_dir))
    elif done == "resumed":
        _say("   resumed from the newest snapshot of the run stopped part way")


def run_midi(out, name, config, plan, progress, minutes=None):
    """Train ``config`` (a ``midi_config`` or ``hier_config``) into ``out / name`` (for
    at most the epochs ending past ``minutes``), then write what ``music_outputs`` does."""
    run_dir = out / name
    parts = dict.fromkeys([config.model.encoder, config.model.decoder])  # mlp, or lstm-hier
    _say("== MIDI {}, {} VAE ({} epochs{}{}) -> {}".format(
        config.data.data_dir, "-".join(parts), config.train.epochs,
        "" if minutes is None else ", at most {:g} minutes".format(minutes),
        ", from " + config.train.init_from[0] if config.train.init_from else "", run_dir))
    train_stage(config, run_dir, progress, minutes)
    return music_outputs(out, name, load_run(run_dir), run_dir, plan)


def run_pretrained(out, name, model_name, root, plan, progress):
    """Shipped model ``model_name`` as it is on the MIDI folder ``root`` (on its grid and
    windows, split by piece as every run on ``root`` is): what ``music_outputs`` writes."""
    _say("== MIDI {}, {}{} as it is (no training on it) -> {}".format(
        root, pretrained.PREFIX, model_name, out / "generated" / name))
    run = on_other_pieces(pretrained.PREFIX + model_name, root, plan.limit, progress)
    return music_outputs(out, name, run, pretrained.model_folder(model_name), plan,
                         trained=False)


def finetune_config(model_name, root, epochs, device, lr, limit=None):
    """Shipped model ``model_name``'s run, fine-tuned on the MIDI folder ``root``: its model,
    grid and windows, every training piece of ``root`` (no validation pieces, no
    transposed copies), Adam at ``lr`` from its parameters."""
    source = RunConfig.load(pretrained.model_folder(model_name))
    data = dataclasses.replace(source.data, data_dir=str(root), transpose=[],
                               valid_fraction=0.0, limit=limit)
    train_config = dataclasses.replace(
        source.train, epochs=epochs, device=device, lr=lr, select="last",
        init_from=[pretrained.PREFIX + model_name], snapshot_every=snapshot_every(epochs),
        keep_snapshots=1)
    return RunConfig(data=data, model=source.model, train=train_config)


def music_outputs(out, name, run, run_dir, plan, trained=True):
    """Draw the figures of a music run (``run``, loaded with the data to compare against)
    into ``out/figures/name``, write generated MIDI into ``out/generated/name`` (prior
    samples, a walk between two prior draws and one between the first and the last
    held-out window) and measure it on the held-out windows (``MUSIC_METRICS``: the
    prior samples' MGEval overlap, ``prior_overlap``, and the note F1 of the
    reconstructions, ``held_out_f1``). A decoder that reads back its own output
    (autoregressive, or a step MADE) has its samples drawn from p(x|z); the others' are
    the means above the study's threshold 0.2. ``trained``: the run was trained on these
    data, so its last test loss is theirs (a shipped model's is not)."""
    config, data = run.config, run.data
    drawn = draws_samples(config.model)
    plot_run(run_dir, out / "figures" / name, data=data)
    generated = sample_run(run_dir, out / "generated" / name, n=plan.n_generated,
                           sample=drawn, threshold=0.2, seed=0, data=data)
    # A walk between two draws from the prior rather than between two encodings: on the
    # study's 100 Bach windows the MLP overfits, test windows encode close to z = 0 (far
    # from where prior draws fall) and decode to walls of notes at threshold 0.2.
    ends = sampling.prior_latents(run.model, 2, seed=1)
    path = sampling.interpolate_latents(ends[0], ends[1], 4, method="slerp")
    interpolation = write_midi_samples(
        sampling.decode(run.model, path, sample=1 if drawn else None),
        out / "generated" / name / "interpolation", threshold=0.5 if drawn else 0.2,
        prefix="slerp")
    # And a walk between two real pieces (the first and the last held-out window), which
    # a model whose latent carries the music (the hierarchical one) decodes to music.
    interpolation += sample_run(run_dir, out / "generated" / name / "between_pieces",
                                interpolate_between=(0, -1), steps=5, methods=("slerp",),
                                sample=drawn, threshold=0.2, seed=0, data=data)
    metrics = prior_overlap(run.model, data, plan.music_samples, sample=drawn, threshold=0.2,
                            **music_options(config.data))
    metrics["note_f1"] = held_out_f1(run.model, data, **music_options(config.data))
    midi_files = [str(p) for p in generated + interpolation if p.suffix == ".mid"]
    wav_files = render_if_possible(midi_files)
    result = {"midi": midi_files, "wav": wav_files, MUSIC_METRICS: metrics}
    if trained:
        log = read_log(run_dir)
        result["test_loss"] = log[-1]["validation/main/loss"]
        _say("   {} epochs, test loss {:.1f} nats per window".format(
            log[-1]["epoch"], result["test_loss"]))
    _say("   {} MIDI files{} in {}".format(len(midi_files), " with WAV" if wav_files else "",
                                          out / "generated" / name))
    return result


def render_if_possible(midi_files):
    """WAV files beside ``midi_files`` (their paths, as strings): FluidSynth where it and a
    General MIDI soundfont are installed, else the built-in synthesizer."""
    synth = choose_synth()
    return [str(render_wav(path, synth=synth)) for path in midi_files]


def pretrained_samples(out, n=8):
    """``n`` prior samples of every shipped music model into ``out/pretrained/NAME/``
    (MIDI, piano rolls, WAV): what a listener meets first; {name: MIDI files}."""
    written = {}
    for name in pretrained.names():
        config = RunConfig.load(pretrained.model_folder(name))
        if config.data.dataset == "mnist":
            continue
        paths = sample_run(pretrained.PREFIX + name, out / PRETRAINED_FOLDER / name, n=n, seed=0)
        written[name] = [str(path) for path in paths if path.suffix == ".mid"]
        render_if_possible(written[name])
        _say("== {}{}: {} prior samples in {}".format(pretrained.PREFIX, name, n,
                                                      out / PRETRAINED_FOLDER / name))
    return written


def steering_samples(out, root=None, name="bach-chorales"):
    """Rows of samples of the shipped model ``name`` along each attribute, at three
    temperatures and 16 bars long beside a real 16-bar segment of the first Bach piece
    under ``root/bach_lute`` (``outputs.steering``), into ``out/pretrained/NAME/steering``
    and rendered; {row: MIDI files}, empty without that model."""
    if name not in pretrained.names():
        return {}
    run_dir = pretrained.PREFIX + name
    config = RunConfig.load(pretrained.model_folder(name))
    real = None
    pieces = sorted((root / "bach_lute").rglob("*.mid")) if root is not None else []
    if pieces and config.model.decoder == "hier":
        real = piece_window(pieces[0], config.data, LONG_BARS * config.model.bar)
    folder = out / PRETRAINED_FOLDER / name / "steering"
    written = write_steering(run_dir, folder, bars=LONG_BARS, real=real)
    written.pop("pictures")
    render_if_possible([str(path) for paths in written.values() for path in paths])
    _say("== {}: samples along each attribute, by temperature and {} bars long in {}".format(
        run_dir, LONG_BARS, folder))
    return {row: [str(path) for path in paths] for row, paths in written.items()}


def run_study(out, plan=None, device="@numpy", progress=False):
    """Run every stage of the study under ``out``; returns (and writes) the summary."""
    plan = plan or StudyPlan.quick()
    out = Path(out)
    make_folder(out)
    heard = pretrained_samples(out)
    root = data_root()
    steered = steering_samples(out, root) if plan.steering else {}
    summary = run_mnist(out, plan, device, progress)
    if heard:
        summary[PRETRAINED_FOLDER] = {"midi": sum(heard.values(), [])}
    if steered:
        summary["steering"] = steered
    if root is not None and (root / "bach_lute").is_dir():
        summary["bach_mlp"] = run_midi(out, "bach_mlp", plan.bach(root / "bach_lute", device),
                                       plan, progress)
        if plan.bach_hier_epochs:
            summary["bach_hier"] = run_midi(out, "bach_hier",
                                            plan.bach_hier(root / "bach_lute", device), plan,
                                            progress, minutes=plan.bach_hier_minutes)
        if plan.bach_hier_epochs and plan.finetune_from in pretrained.names():
            summary["bach_pretrained"] = run_pretrained(
                out, "bach_pretrained", plan.finetune_from, root / "bach_lute", plan, progress)
            summary["bach_finetuned"] = run_midi(
                out, "bach_finetuned", plan.bach_finetuned(root / "bach_lute", device), plan,
                progress, minutes=plan.bach_hier_minutes)
        elif plan.bach_hier_epochs and plan.finetune_from:
            _say("== no {}{} in this package: the Bach pieces are not heard from a "
                 "pretrained model".format(pretrained.PREFIX, plan.finetune_from))
    else:
        _say("== MIDI skipped: set {} to a data root with bach_lute/".format(ENV_VAR))
    if plan.genre_epochs and root is not None and (root / "genre_midi").is_dir():
        summary["genre_conv"] = run_midi(out, "genre_conv",
                                         plan.genre(root / "genre_midi", device), plan, progress)
    music = {name: result.pop(MUSIC_METRICS) for name, result in summary.items()
             if MUSIC_METRICS in result}
    if music:
        summary[MUSIC_METRICS] = music
        _say("== music: mean overlap of prior samples with the held-out windows (MGEval; "
             "real training windows: the ceiling)")
        for name, found in music.items():
            _say("   {:15s} {:4d} steps  {:9s}  {:.3f}  (real {:.3f}), note F1 of "
                 "reconstructions {:.3f}".format(
                     name, found["window_steps"], "drawn" if found["drawn"] else
                     "above {:g}".format(found["threshold"]), found["mean_overlap"],
                     found["real_mean_overlap"], found["note_f1"]))
    summary[AUDIO] = SYNTH_NAMES[choose_synth()]
    atomic_write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    _say("== done: {}; open {} to look and listen".format(out / SUMMARY_FILE,
                                                          write_report(out)))
    return summary
