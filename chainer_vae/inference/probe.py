"""How good a trained VAE's latent space is for classifying with few labels.

The VAE is trained without labels; then a simple classifier is fitted on the posterior
means of N labelled training examples, N / C of each of the C classes, and scored on the
whole test split: a logistic regression or k nearest neighbours, which see the labelled
examples only, or label spreading (Zhou et al., 2004), which also sees the unlabelled
training examples: their k-nearest-neighbour graph carries the N labels to the rest of
the training split, and a test example takes the labels of its neighbours there.
Repeated over draws of the labelled examples, it gives the test error's mean and spread
for each N: the "M1" use of a VAE in Kingma et al. (2014), with scikit-learn's classifiers
in place of their transductive SVM.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List

import numpy
from tqdm import tqdm

from chainer_vae.data import examples_array
from chainer_vae.errors import ConfigError, choice
from chainer_vae.inference.sampling import encode
from chainer_vae.runs import load_run, seed_everything

CLASSIFIERS = ("logistic", "knn", "spreading")


@dataclass
class ProbeResult:
    """Test errors (fractions) of the classifiers fitted on ``labels`` labelled examples,
    one per draw of them."""

    labels: int
    errors: List[float]
    classifier: str

    @property
    def mean(self):
        return float(numpy.mean(self.errors))

    @property
    def std(self):
        return float(numpy.std(self.errors))

    def to_dict(self):
        return dict(asdict(self), mean=self.mean, std=self.std)


def _errors(name, neighbours, train_z, train_labels, chosen, test_z, test_labels):
    """The test error of classifier ``name`` given the labels of ``chosen`` only."""
    # scikit-learn takes a second to import, and only this command needs it
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.semi_supervised import LabelSpreading

    if name == "spreading":
        known = numpy.full(len(train_labels), -1)  # scikit-learn's "no label"
        known[chosen] = train_labels[chosen]
        model = LabelSpreading(kernel="knn", n_neighbors=neighbours, max_iter=100)
        model.fit(train_z, known)
    else:
        model = (KNeighborsClassifier(n_neighbors=min(neighbours, len(chosen))) if name == "knn"
                 else make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)))
        model.fit(train_z[chosen], train_labels[chosen])
    # a test point whose neighbours carry no label yet makes scikit-learn divide by zero
    with numpy.errstate(invalid="ignore", divide="ignore"):
        return float(numpy.mean(model.predict(test_z) != test_labels))


def balanced_draw(labels, count, rng):
    """Indices of ``count`` examples, as near ``count / C`` of each of the C classes of
    ``labels`` as their sizes allow (the remainder drawn from what is left)."""
    classes = numpy.unique(labels)
    per_class = count // len(classes)
    chosen = []
    for label in classes:
        members = numpy.flatnonzero(labels == label)
        chosen.append(rng.choice(members, size=min(per_class, len(members)), replace=False))
    chosen = numpy.concatenate(chosen)
    rest = numpy.setdiff1d(numpy.arange(len(labels)), chosen)
    extra = rng.choice(rest, size=count - len(chosen), replace=False)
    return numpy.concatenate([chosen, extra])


def probe(run_dir, labels=(100, 600, 1000, 3000), repeats=10, classifier="logistic",
          neighbours=10, seed=0, device=None, progress=False) -> List[ProbeResult]:
    """Fit ``classifier`` (see the module docstring; ``neighbours`` is the k of knn and of
    spreading's graph) on the posterior means (``sampling.encode``) of N labelled
    training examples for each N in ``labels``, ``repeats`` draws each (draw r from
    ``RandomState(seed + r)``), and score it on the run's test split."""
    choice(CLASSIFIERS, classifier, "classifier")
    if repeats < 1 or any(count < 1 for count in labels):
        raise ConfigError("--repeats and --labels must be at least 1")
    run = load_run(run_dir, device=device)
    if run.model.labels:
        raise ConfigError("{}: probe measures the latents of a run trained without labels; "
                          "this one was trained with --conditional".format(run_dir))
    data = run.data
    if data.train_labels is None or data.test_labels is None:
        raise ConfigError("{}: probe needs labelled data; the {} data set has no labels".format(
            run_dir, run.config.data.dataset))
    train_labels = numpy.asarray(data.train_labels)
    classes = len(numpy.unique(train_labels))
    too_many = [count for count in labels if count > len(train_labels)]
    if too_many:
        raise ConfigError("--labels {}: the training split has {} examples".format(
            too_many[0], len(train_labels)))
    too_few = [count for count in labels if count < classes]
    if too_few:
        raise ConfigError("--labels {}: fewer labels than the {} classes".format(
            too_few[0], classes))
    seed_everything(seed, run.device)  # the draws of a dynamically binarized split
    train_z = encode(run.model, examples_array(data.train))
    test_z = encode(run.model, examples_array(data.test))
    test_labels = numpy.asarray(data.test_labels)
    results = []
    for count in tqdm(labels, desc="probe", disable=not progress, unit="size"):
        errors = []
        for repeat in range(repeats):
            chosen = balanced_draw(train_labels, count, numpy.random.RandomState(seed + repeat))
            errors.append(_errors(classifier, neighbours, train_z, train_labels, chosen,
                                  test_z, test_labels))
        results.append(ProbeResult(count, errors, classifier))
    return results
