"""chainer_vae.pretrained.build, which makes the shipped models: a run packed with float16
weights where the test loss holds, and its card."""
from __future__ import annotations

import json

import numpy as np

import chainer_vae  # noqa: F401
from chainer_vae import cli
from chainer_vae.pretrained import build


def test_pack_stores_float16_where_the_loss_holds_and_writes_a_card(toy_mnist, tmp_path):
    run = tmp_path / "run"
    assert cli.main(["train", "--data-dir", str(toy_mnist), "--latent", "2", "--hidden", "16",
                     "--epochs", "1", "--out", str(run), "--no-progress"]) == 0
    target = build.pack("mnist-z2", run, tmp_path / "shipped" / "mnist-z2")
    card = json.loads((target / "card.json").read_text())
    assert card["command"] == build.command("mnist-z2")
    assert card["figures"]["storage"] == "float16"
    assert abs(card["figures"]["test_loss"] - card["figures"]["test_loss_float32"]) <= \
        build.FLOAT16_TOLERANCE * card["figures"]["test_loss_float32"]
    assert all(np.load(target / "model.npz")[key].dtype == np.float16
               for key in np.load(target / "model.npz").files)
