"""chainer_vae.outputs.images: image grids as PNG files."""
from __future__ import annotations

import chainer_vae  # noqa: F401  (installs the compatibility shim before chainer)

from chainer_vae.outputs import images

from tiny_models import toy_images

PNG = b"\x89PNG\r\n\x1a\n"


def test_write_image_grid(tmp_path):
    path = images.write_image_grid(toy_images(10)[0], tmp_path / "grid.png", ncols=5)
    data = path.read_bytes()
    assert data.startswith(PNG)
    from matplotlib import image as mpimage

    image = mpimage.imread(str(path))
    assert image.shape[:2] == ((2 * 29 - 1) * 4, (5 * 29 - 1) * 4)
    assert not list(tmp_path.glob(".*")), "temporary files left behind"
