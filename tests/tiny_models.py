"""What the tests share: the toy digits, tiny trained VAEs, randomised links, run configs
and run-folder readers, the notes of a MIDI file, and models whose likelihoods are known
in closed form."""
from __future__ import annotations

import json
import math

import chainer_vae  # noqa: F401  (installs the compatibility shim before chainer)
import chainer
import mido
import numpy as np

from chainer_vae.config import ModelConfig, RunConfig, default_model_config
from chainer_vae.model import ELBOLoss, build_model


def toy_digits(n, seed):
    """Learnable stand-ins for MNIST: digit d is a bright horizontal bar at rows 2d..2d+5
    with a little noise. uint8 images (n, 28, 28) and uint8 labels (n,)."""
    rng = np.random.RandomState(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.randint(0, 40, size=(n, 28, 28))
    for i, digit in enumerate(labels):
        images[i, 2 * digit:2 * digit + 6, 4:24] = rng.randint(180, 256, size=(6, 20))
    return images.astype(np.uint8), labels


def toy_images(n, seed=0):
    """The toy digits binarized at 0.5, flat: float32 (n, 784) in {0, 1}, int labels (n,)."""
    images, labels = toy_digits(n, seed)
    return (images >= 128).reshape(n, 784).astype(np.float32), labels.astype(int)


def randomised(link, seed, scale=1.0):
    """``link`` with every parameter drawn from N(0, scale^2): strong dependencies
    everywhere, including connections that start at zero (the MADE's direct ones)."""
    rng = np.random.RandomState(seed)
    for param in link.params():
        param.array[...] = rng.randn(*param.shape) * scale
    return link


def train_tiny(config, x, steps, seed=0, lr=1e-2, labels=None):
    """A model built from ``config`` after ``steps`` Adam steps on batches of ``x`` (with
    their ``labels`` for a conditional model); the global NumPy random state is left as
    it was."""
    state = np.random.get_state()
    np.random.seed(seed)
    model = build_model(config)
    loss = ELBOLoss(model)
    optimizer = chainer.optimizers.Adam(alpha=lr)
    optimizer.setup(loss)
    rng = np.random.RandomState(seed)
    for _ in range(steps):
        loss.cleargrads()
        batch = rng.choice(len(x), 32)
        loss(x[batch], None if labels is None else labels[batch]).backward()
        optimizer.update()
    np.random.set_state(state)
    return model


# ---------------------------------------------------------------------- runs

def toy_config(data_dir, epochs=2, **train):
    config = RunConfig(model=default_model_config("mnist", "mlp"))
    config.model.hidden, config.model.latent = [64], 4
    config.data.data_dir = str(data_dir)
    config.train.epochs, config.train.batch_size = epochs, 50
    for key, value in train.items():
        setattr(config.train, key, value)
    return config


def command_line_config(argv, input_shape=(64, 88)):
    """The ``RunConfig`` that ``chainer-vae`` builds for ``argv`` (a train command line),
    with the input shape ``build_trainer`` would set from the data."""
    from chainer_vae.cli import OPTIONS, build_parser
    from chainer_vae.config_resolve import resolve_config

    args = build_parser().parse_args(argv)
    config = resolve_config({name: getattr(args, name) for name in OPTIONS
                             if getattr(args, name) is not None}, init_from=args.init_from)
    config.model.input_shape = tuple(input_shape)
    return config


def read_log(run_dir):
    return json.loads((run_dir / "log").read_text())


def note_ons(path):
    """The note-on messages that sound (velocity above 0) of the MIDI file ``path``."""
    return [message for track in mido.MidiFile(str(path)).tracks for message in track
            if message.type == "note_on" and message.velocity > 0]


def parameters(run_dir):
    with np.load(run_dir / "model.npz") as saved:
        return {key: saved[key] for key in saved.files}


# ---------------------------------------------------------------------- models with known answers

MADE_DECODERS = {
    "lstm": dict(encoder="lstm", decoder="lstm"),
    "lstm-autoregressive": dict(encoder="lstm", decoder="lstm", autoregressive=True),
    "mlp": dict(encoder="mlp", decoder="mlp"),
}


def step_made_model(kind, seed=0, dropout=0.0):
    np.random.seed(seed)
    model = build_model(ModelConfig(input_shape=(2, 3), latent=2, hidden=[8], step_made=5,
                                    dropout=dropout, **MADE_DECODERS[kind]))
    randomised(model.decoder.made, seed)
    return model


def linear_gaussian(data_dim=5, latent=2, sigma=0.5, seed=0):
    """z ~ N(0, I), x | z ~ N(W z + b, sigma^2 I): an MLP VAE without hidden layers."""
    config = ModelConfig(input_shape=(data_dim,), latent=latent, hidden=[],
                         likelihood="gaussian", sigma=sigma)
    state = np.random.get_state()
    np.random.seed(seed)  # chainer's initializers draw from the global generator
    model = build_model(config)
    np.random.set_state(state)
    rng = np.random.RandomState(seed)
    # Orthogonal columns make the true posterior's covariance diagonal, so the mean-field
    # encoder can represent it exactly.
    q, _ = np.linalg.qr(rng.randn(data_dim, latent))
    W = (q * np.array([1.5, 0.7])[:latent]).astype(np.float32)
    b = rng.randn(data_dim).astype(np.float32)
    model.decoder.out.W.array[...] = W
    model.decoder.out.b.array[...] = b
    return model, W.astype(np.float64), b.astype(np.float64), sigma


def exact_log_px(x, W, b, sigma):
    """log N(x; b, W W^T + sigma^2 I), per row of x."""
    cov = W @ W.T + sigma ** 2 * np.eye(W.shape[0])
    _, logdet = np.linalg.slogdet(cov)
    diff = x - b
    maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
    return -0.5 * (maha + logdet + W.shape[0] * math.log(2 * math.pi))


def set_exact_posterior(model, W, b, sigma):
    latent = W.shape[1]
    cov = np.linalg.inv(np.eye(latent) + W.T @ W / sigma ** 2)
    A = cov @ W.T / sigma ** 2
    model.encoder.mu.W.array[...] = A
    model.encoder.mu.b.array[...] = -A @ b
    model.encoder.ln_sigma.W.array[...] = 0
    model.encoder.ln_sigma.b.array[...] = 0.5 * np.log(np.diag(cov))


def frequencies(draws, every_x):
    """How often each binary example of ``every_x`` (K, ...) occurs among the binary
    ``draws`` (N, ...): (K,)."""
    weights = 2 ** np.arange(draws[0].size)
    codes = draws.reshape(len(draws), -1) @ weights
    return np.array([(codes == code).mean()
                     for code in every_x.reshape(len(every_x), -1) @ weights])


# ---------------------------------------------------------------------- graphs

def node_labels(variable):
    """The labels of the nodes that computed ``variable`` (a FunctionNode's label is its
    class name): which of ``chainer_vae.model.ops``' fused nodes a graph holds."""
    labels, seen, stack = set(), set(), [variable.creator_node]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        labels.add(node.label)
        stack.extend(x.creator_node for x in node.inputs)
    return labels
