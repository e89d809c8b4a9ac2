"""The speed and quality benchmarks of chainer-vae: scripts run from the repository root as
``python -m benchmarks.NAME`` (``--help`` on each; methods and figures in
benchmarks/README.md). They drive the CLI and the API and are not shipped with the package
(setup.py's ``find_packages`` includes ``chainer_vae`` and ``midi`` only)."""
