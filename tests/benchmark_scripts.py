"""The benchmark scripts of benchmarks/, loaded as modules for their tests."""
import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name):
    """benchmarks/<name>.py as a module (its folder on sys.path while it loads, for the
    scripts it imports itself)."""
    spec = importlib.util.spec_from_file_location("_bench_" + name, BENCH / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def command_line_config(argv, input_shape=(64, 88)):
    """The ``RunConfig`` that ``chainer-vae`` builds for ``argv`` (a train command line),
    with the input shape ``build_trainer`` would set from the data."""
    from chainer_vae.cli import _new_config, build_parser

    config = _new_config(build_parser().parse_args(argv))
    config.model.input_shape = tuple(input_shape)
    return config
