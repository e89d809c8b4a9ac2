"""The study's claims, one experiment each (``chainer-vae study --claims``).

Every model trains through ``chainer_vae.training.train`` into ``out/claims/<name>``, with
the study's MNIST setting (``study.mnist_config``) and Bach settings (``StudyPlan.bach``,
``study.hier_config``) at the preset's lengths; the measurements are
``chainer_vae.inference.claims``'; ``outputs.claims_table`` writes the table
(``out/claims/claims.md`` and ``claims.json``). Each row says the rule by which the claim
holds, fixed before the runs. A finished run of the same config is read again, not
retrained, and one stopped part way resumes (``training.train_once``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy

from chainer_vae.data import examples_array, load_data
from chainer_vae.data.base import ENV_VAR, data_root
from chainer_vae.errors import DataError
from chainer_vae.inference import claims as measure
from chainer_vae.inference import sampling
from chainer_vae.inference.classifier import make_classifier, real_examples
from chainer_vae.outputs.claims_table import ClaimRow, write_claims_table
from chainer_vae.runs import (LATENTS_FILE, build_for, get_device, load_run, read_latents,
                              read_log, seed_everything)
from chainer_vae.study import StudyPlan, hier_config, train_stage

CLAIMS_FOLDER = "claims"
ANGLE_LIMIT = 10.0  # degrees: the largest principal angle of a subspace "the same" as PCA's
AGREEMENT_LIMIT = 0.9  # share of conditional samples a classifier must give their label


@dataclass
class ClaimsPlan:
    """Lengths and sizes of the claims' experiments; ``preset(name)`` gives the study's
    presets' (``StudyPlan``) lengths and optimizer settings."""

    study: StudyPlan = field(default_factory=StudyPlan)
    music_epochs: int = 4  # claim 3's four runs on the Bach pieces
    music_warmup: float = 2.0  # epochs of KL warm-up in claim 3's runs with warm-up
    adversarial: float = 1.0  # the VAE-GAN's gamma
    linear_latents: tuple = (2, 20)  # k of the linear VAE and PCA
    classifier: str = "mlp"
    samples: int = 1000  # prior samples judged (claim 5; claim 7: a tenth per label)
    test_digits: int = 1000  # test examples encoded or completed
    train_per_class: Optional[int] = 1600  # the study's MNIST subsets
    test_per_class: Optional[int] = 400

    @classmethod
    def preset(cls, name):
        """The plan of ``study --claims --preset name``: the study's MNIST and Bach lengths
        and, for claim 3, 4 epochs with 2 of warm-up (quick), 1 and 0.5 (smoke) or the
        hierarchical stage's epochs with its 5 of warm-up (full, paper)."""
        study = getattr(StudyPlan, name)()
        music = {"quick": (4, 2.0), "smoke": (1, 0.5)}.get(name, (study.bach_hier_epochs, 5.0))
        small = name == "smoke"
        return cls(study=study, music_epochs=music[0], music_warmup=music[1],
                   samples=100 if small else 1000, test_digits=100 if small else 1000)

    def mnist(self, latent, device, data_dir):
        config = self.study.mnist(latent, device, data_dir)
        config.data.train_per_class = self.train_per_class
        config.data.test_per_class = self.test_per_class
        return config


def _say(text):
    print(text, flush=True)


def _trained(config, run_dir, progress, label):
    """The run of ``config`` in ``run_dir`` (``study.train_stage``: trained unless it is
    there, resumed if it stopped part way); returns (its ``LoadedRun``, its log)."""
    _say("== claims: {} ({} epochs) -> {}".format(label, config.train.epochs, run_dir))
    train_stage(config, run_dir, progress)
    return load_run(run_dir), read_log(run_dir)


def _untrained_encodings(run, x, labels=None):
    """Encodings of ``x`` by the run's model as training began (the same seed)."""
    config = run.config
    seed_everything(config.train.seed, get_device(config.train.device))
    return sampling.encode(build_for(config, run.data), x, labels=labels)


def latent_separation(run, run_dir, limit):
    """Claim 1: per-epoch separation of the run's 2-D test encodings (``latents.npz``),
    from the untrained model (epoch 0)."""
    recorded = read_latents(Path(run_dir) / LATENTS_FILE)
    labels = recorded["labels"][:limit]
    z_by_epoch = [_untrained_encodings(run, examples_array(run.data.test, len(labels)))]
    z_by_epoch += [z[:limit] for z in recorded["z"]]
    curve = [measure.separation(z, labels) for z in z_by_epoch]
    first, last = curve[0], curve[-1]
    return ClaimRow(
        1, "the digit classes' latent clusters become more separated during training, "
        "starting out as a unit Gaussian (section 3, Fig. 3)",
        "MLP VAE 784-500-2 on the study's MNIST subsets, {} epochs; 10-NN accuracy "
        "(5-fold) and silhouette of {} test encodings per epoch".format(
            len(curve) - 1, len(labels)),
        "k-NN accuracy {:.3f} (epoch 0) -> {:.3f} (epoch {}), silhouette {:.3f} -> {:.3f}; "
        "spread of z {:.3f} -> {:.3f}; k-NN by epoch: {}".format(
            first["knn_accuracy"], last["knn_accuracy"], len(curve) - 1,
            first["silhouette"], last["silhouette"], first["spread"], last["spread"],
            " ".join("{:.2f}".format(point["knn_accuracy"]) for point in curve)),
        last["knn_accuracy"] > first["knn_accuracy"] + 0.05,
        "k-NN accuracy at the end above epoch 0's by 0.05",
        {"curve": curve})


def loss_curves(log, what):
    """Claim 2 on one training log: KL at epoch 1, at its lowest, its peak and the end;
    the fall of the reconstruction term."""
    found = measure.curve_summary(log)
    rise = found["kl_last"] - found["kl_first"]
    return ClaimRow(
        2, "the KL divergence increases a little while the reconstruction loss drops "
        "drastically (Fig. 4, 5)", what,
        "KL {:.2f} (epoch 1), lowest {:.2f} (epoch {}), peak {:.2f} (epoch {}), {:.2f} "
        "(epoch {}); reconstruction {:.1f} -> {:.1f} nats (a fall of {:.0%})".format(
            found["kl_first"], found["kl_lowest"], found["kl_lowest_epoch"], found["kl_peak"],
            found["kl_peak_epoch"], found["kl_last"],
            found["epochs"], found["reconstr_first"], found["reconstr_last"],
            found["reconstr_fall_fraction"]),
        rise > 0 and found["reconstr_fall"] >= 5 * rise,
        "KL ends above epoch 1's, and the reconstruction falls by at least 5x the KL's rise",
        found)


def uses_z_more(first, second):
    """Whether run summary ``first`` uses its latent more than ``second``: more active
    units, or as many and more KL."""
    return (first["active_units"], first["kl"]) > (second["active_units"], second["kl"])


def music_runs(plan, root, out, device, progress):
    """Claim 3's runs on the Bach pieces: the hierarchical and the flat (an autoregressive
    LSTM) decoder of ``hier_config`` without free bits, with and without KL warm-up;
    {(decoder, warm-up): active units, KL and ELBO on the test windows}."""
    found = {}
    for decoder in ("hier", "lstm"):
        for warmup in (plan.music_warmup, 0.0):
            config = hier_config(root, plan.music_epochs, device, limit=plan.study.limit)
            config.train.free_nats, config.train.kl_warmup = 0.0, warmup
            config.model.decoder = decoder
            name = "bach_{}_{}".format("flat" if decoder == "lstm" else decoder,
                                       "warmup" if warmup else "nowarmup")
            run, log = _trained(config, out / name, progress, name)
            last = log[-1]
            active, _ = measure.active_units(run.model, examples_array(run.data.test,
                                                                       plan.test_digits))
            found[decoder, bool(warmup)] = {
                "active_units": active, "kl": last["validation/main/kl"],
                "elbo": -last["validation/main/loss"], "latent": run.model.latent}
    return found


def warmup_and_decoders(found, plan):
    """Claim 3's two rows from ``music_runs``."""
    def text(key):
        r = found[key]
        return "{} AU/{}, KL {:.1f}, ELBO {:.1f}".format(r["active_units"], r["latent"],
                                                          r["kl"], r["elbo"])
    setting = ("hier_config without free bits on the Bach pieces, {} epochs; active units "
               "(Cov > 0.01), KL and ELBO on the test windows".format(plan.music_epochs))
    numbers = {"{}_{}".format(*key): value for key, value in found.items()}
    both = ("hier: warm-up {}; none {}. flat: warm-up {}; none {}".format(
        text(("hier", True)), text(("hier", False)), text(("lstm", True)),
        text(("lstm", False))))
    return [ClaimRow(3, "warming the KL weight up from 0 to 1 keeps the posterior from "
                        "collapsing to the prior (Bowman et al.)",
                     "{}; {} epochs of warm-up against none".format(setting, plan.music_warmup),
                     both, all(uses_z_more(found[d, True], found[d, False])
                               for d in ("hier", "lstm")),
                     "with warm-up, more active units (or as many and more KL) for both "
                     "decoders", numbers),
            ClaimRow(3, "\"weak\" decoders force the model to use z",
                     "{}; the hierarchical decoder (each bar's LSTM sees its bar only) "
                     "against one autoregressive LSTM over the window".format(setting),
                     both, all(uses_z_more(found["hier", w], found["lstm", w])
                               for w in (True, False)),
                     "the hierarchical decoder uses z more, with and without warm-up",
                     numbers)]


def linear_against_pca(plan, train_x, test_x, nonlinear, device, data_dir, out, progress):
    """Claim 4: for each k, a linear VAE (one linear layer each way, a Gaussian likelihood
    whose sigma is probabilistic PCA's maximum-likelihood noise, the root of the mean
    variance PCA leaves out) against PCA of the training digits, and the reconstruction
    error of PCA, the linear VAE and the MLP VAE (``nonlinear``: {k: model}) at k."""
    found = {}
    for k in plan.linear_latents:
        mean, directions, variances = measure.pca(train_x, k)
        config = plan.mnist(k, device, data_dir)
        config.model.hidden, config.model.likelihood = [], "gaussian"
        config.model.sigma = float(numpy.sqrt(variances[k:].mean()))
        run, _ = _trained(config, out / "linear_z{}".format(k), progress,
                          "linear VAE 784-{}".format(k))
        model = run.model
        found[k] = {
            "sigma": config.model.sigma,
            "decoder_angles": measure.principal_angles(model.decoder.out.W.array,
                                                       directions.T).tolist(),
            "encoder_angles": measure.principal_angles(measure.covarying_directions(
                train_x, sampling.encode(model, train_x)), directions.T).tolist(),
            "pca_error": measure.squared_error(
                test_x, measure.pca_reconstruction(test_x, mean, directions)),
            "linear_error": measure.squared_error(test_x, sampling.reconstruct(model, test_x)),
            "nonlinear_error": measure.squared_error(
                test_x, sampling.reconstruct(nonlinear[k], test_x))}
    angles = "; ".join("k={}: largest angle {:.1f} deg (decoder's columns), {:.1f} deg "
                       "(the encoder's, Cov(x, z))".format(
        k, max(r["decoder_angles"]), max(r["encoder_angles"])) for k, r in found.items())
    errors = "; ".join("k={}: PCA {:.2f}, linear VAE {:.2f}, MLP VAE {:.2f}".format(
        k, r["pca_error"], r["linear_error"], r["nonlinear_error"]) for k, r in found.items())
    setting = ("linear VAE (784-k-784, Gaussian, sigma from pPCA) on the study's MNIST "
               "subsets, {} epochs, against PCA of the training digits".format(
                   plan.study.mnist_epochs))
    numbers = {str(k): value for k, value in found.items()}
    return [ClaimRow(4, "an encoder with a single layer spans the same subspace as PCA "
                        "(section 4)", setting + "; principal angles to the top-k subspace",
                     angles, all(max(r["decoder_angles"] + r["encoder_angles"]) < ANGLE_LIMIT
                                 for r in found.values()),
                     "every principal angle under {:g} degrees".format(ANGLE_LIMIT), numbers),
            ClaimRow(4, "deeper nonlinear encoders reduce dimension better than PCA "
                        "(section 4)", setting + "; and the MLP VAE 784-500-k: squared "
                     "error per test digit of the reconstruction", errors,
                     all(r["nonlinear_error"] < min(r["pca_error"], r["linear_error"])
                         for r in found.values()),
                     "the MLP VAE's error below PCA's and the linear VAE's at every k",
                     numbers)]


def vae_against_vae_gan(plan, vae, gan, judge, real_x):
    """Claim 5: prior samples (decoder means) of the VAE and the VAE-GAN of one latent
    size: sharpness against the real digits', and the digit classifier's confidence."""
    found = {}
    for name, model in (("vae", vae), ("vae_gan", gan)):
        drawn = sampling.prior_samples(model, plan.samples, seed=0)
        found[name] = {"sharpness": measure.sharpness(drawn),
                       "confidence": measure.confidence(judge, drawn.reshape(len(drawn), -1))}
    found["real"] = {"sharpness": measure.sharpness(real_x),
                     "confidence": measure.confidence(judge, real_x.reshape(len(real_x), -1))}
    text = "; ".join("{}: sharpness {:.3f}, classifier confidence {:.3f}".format(
        name.replace("_", "-"), r["sharpness"], r["confidence"]) for name, r in found.items())
    setting = ("MLP VAE 784-500-{} and the same trained as a VAE-GAN (gamma {:g}), {} epochs; "
               "{} prior samples (means)".format(vae.latent, plan.adversarial,
                                                  plan.study.mnist_epochs, plan.samples))
    return [ClaimRow(5, "VAEs give blurrier images than GANs", setting + ": mean gradient "
                     "magnitude", text, found["vae_gan"]["sharpness"] > found["vae"]["sharpness"],
                     "the VAE-GAN's samples sharper than the VAE's", found),
            ClaimRow(5, "a VAE's encoder and decoder can be trained with an adversarial loss "
                        "on the decoder (VAE-GAN, Larsen et al. 2016)",
                     setting + ": the digit classifier's confidence", text,
                     found["vae_gan"]["confidence"] >= found["vae"]["confidence"],
                     "the VAE-GAN's samples as recognisable as the VAE's, or more", found)]


def completion(model, judge, x, labels):
    """Claim 6: the classifier on occluded test digits and on the model's completions."""
    found = {"{}_{}".format(part, fraction): measure.completion_accuracy(
        model, judge, x, labels, part, fraction) for part, fraction in (("bottom", 0.5),
                                                                         ("bottom", 0.25))}
    text = "; ".join("{} hidden: accuracy {:.3f} on the occluded digit, {:.3f} on the "
                     "completion (intact {:.3f})".format(
                         "half" if key.endswith("0.5") else "a quarter", r["occluded"],
                         r["completed"], r["intact"]) for key, r in found.items())
    return ClaimRow(6, "fed an incomplete digit, the model still predicts a whole one (a "
                       "completion \"illusion\", section 4)",
                    "MLP VAE 784-500-{}; {} test digits with the bottom half or quarter "
                    "hidden, completed over 20 passes; the digit classifier".format(
                        model.latent, len(x)), text,
                    all(r["completed"] > r["occluded"] for r in found.values()),
                    "the completions classified better than the occluded digits", found)


def conditional_samples(run, judge, plan):
    """Claim 7: the conditional model's prior samples of each digit, judged."""
    share, per_label = measure.label_agreement(run.model, judge, plan.samples // 10)
    return ClaimRow(7, "a VAE can generate data with specific features without searching "
                       "the whole distribution",
                    "conditional MLP VAE 784-500-{} (the label beside x and z), {} epochs; "
                    "{} prior samples of each digit".format(run.model.latent,
                                                            plan.study.mnist_epochs,
                                                            plan.samples // 10),
                    "the digit classifier gives {:.1%} of samples the digit asked for "
                    "(lowest digit {:.1%})".format(share, per_label.min()),
                    share >= AGREEMENT_LIMIT,
                    "at least {:.0%} agreement".format(AGREEMENT_LIMIT),
                    {"agreement": share, "per_label": per_label.tolist()})


def mnist_claims(plan, out, data_dir, device, progress):
    """Claims 1, 2 (MNIST), 4, 5, 6 and 7: their rows, and a note on the digit classifier
    that judges claims 5-7."""
    runs = {k: _trained(plan.mnist(k, device, data_dir), out / "mnist_z{}".format(k),
                        progress, "MLP VAE 784-500-{}".format(k))
            for k in sorted({2, 20} | set(plan.linear_latents))}
    z20 = runs[20][0]
    rows = [latent_separation(runs[2][0], out / "mnist_z2", plan.test_digits)]
    rows += [loss_curves(runs[k][1], "MLP VAE 784-500-{} on the study's MNIST subsets, {} "
                         "epochs (training batches' averages)".format(k, len(runs[k][1])))
             for k in (2, 20)]
    data = load_data(z20.config.data, "mlp", progress=False)
    train_x = examples_array(data.train)
    test_x, test_labels = examples_array(data.test, plan.test_digits), numpy.asarray(
        data.test_labels)[:plan.test_digits]
    rows += linear_against_pca(plan, train_x, test_x, {k: run.model for k, (run, _) in
                                                       runs.items()},
                               device, data_dir, out, progress)
    judge_data, _ = real_examples(z20.config, plan.train_per_class)
    judge = make_classifier(plan.classifier, 0).fit(judge_data[0], judge_data[1])
    accuracy = float(numpy.mean(judge.predict(judge_data[2]) == judge_data[3]))
    _say("== claims: the digit classifier ({}) has test accuracy {:.2%} on {} real test "
         "digits".format(plan.classifier, accuracy, len(judge_data[3])))
    gan_config = plan.mnist(20, device, data_dir)
    gan_config.train.adversarial = plan.adversarial
    gan, _ = _trained(gan_config, out / "vae_gan_z20", progress, "VAE-GAN 784-500-20")
    rows += vae_against_vae_gan(plan, z20.model, gan.model, judge, test_x)
    rows.append(completion(z20.model, judge, test_x, test_labels))
    conditional_config = plan.mnist(4, device, data_dir)
    conditional_config.model.conditional = True
    conditional, _ = _trained(conditional_config, out / "conditional_z4", progress,
                              "conditional MLP VAE 784-500-4")
    rows.append(conditional_samples(conditional, judge, plan))
    note = ("The digit classifier: scikit-learn's {} on the grey pixels of the training digits "
            "({} a digit), test accuracy {:.2%} on {} real test digits.".format(
                plan.classifier, plan.train_per_class or "all", accuracy, len(judge_data[3])))
    return rows, note


def music_claims(plan, root, out, device, progress):
    """Claims 2 (the study's Bach MLP) and 3 on the Bach pieces in ``root``; rows that say
    "not measured" when that folder is missing."""
    if not root.is_dir():
        return [ClaimRow(claim, statement, "needs ${}/bach_lute".format(ENV_VAR), "", None)
                for claim, statement in ((2, "KL and reconstruction on the Bach pieces"),
                                         (3, "KL warm-up; weak decoders"))]
    _, log = _trained(plan.study.bach(root, device), out / "bach_mlp", progress,
                      "the study's Bach MLP")
    rows = [loss_curves(log, "the study's MLP 15600-1000-500-100-20 on the Bach pieces, "
                             "{} epochs (training batches' averages)".format(len(log)))]
    return rows + warmup_and_decoders(music_runs(plan, root, out, device, progress), plan)


def run_claims(out, plan=None, device="@numpy", progress=False):
    """Every claim's experiment under ``out/claims``; returns the rows and writes the
    table (``outputs.claims_table``), in the claims' order. The MNIST claims come first and
    their table is written before the music runs start, which take the longest at the
    full-length presets. MNIST must be in ``$CHAINER_VAE_DATA/mnist`` (a ``DataError``
    otherwise); without ``bach_lute`` the music rows say "not measured"."""
    plan = plan or ClaimsPlan.preset("quick")
    root = data_root()
    if root is None or not (root / "mnist").is_dir():
        raise DataError("study --claims needs MNIST in ${}/mnist ({})".format(
            ENV_VAR, "unset" if root is None else "no such folder under " + str(root)))
    out = Path(out) / CLAIMS_FOLDER
    rows, note = mnist_claims(plan, out, str(root / "mnist"), device, progress)
    write_claims_table(sorted(rows, key=lambda row: row.claim), out, notes=[
        note, "The music claims (2 on the Bach pieces, and 3) are still running."])
    rows = sorted(rows + music_claims(plan, root / "bach_lute", out, device, progress),
                  key=lambda row: row.claim)
    table, _ = write_claims_table(rows, out, notes=[note])
    _say("== claims: {} of {} hold; the table: {}".format(
        sum(row.holds is True for row in rows), len(rows), table))
    return rows
