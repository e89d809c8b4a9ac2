#!/usr/bin/env bash
# Install chainer-vae into a fresh venv on another Python/NumPy/setuptools stack, then
# import it and run a short MNIST training and evaluation through the CLI.
#   .ci/stack_check.sh PYTHON_VERSION [NUMPY_SPEC] [SETUPTOOLS_SPEC]
# e.g. .ci/stack_check.sh 3.12 'numpy>=2' 'setuptools>=81'
set -euo pipefail
version=$1; numpy_spec=${2:-}; setuptools_spec=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${CHAINER_VAE_DATA:-$root/../shared/data}
python=$(ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/"$version"*/bin/python"$version" 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$python" ]; then python=$(command -v "python$version" || true); fi
if [ -z "$python" ]; then echo "stack check: no Python $version found" >&2; exit 1; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== stack: $("$python" --version) ${numpy_spec:-numpy (latest)} ${setuptools_spec:-}"
"$python" -m venv "$work/venv"
pip="$work/venv/bin/python -m pip"
$pip install --quiet --upgrade pip
# chainer's sdist is built under setuptools<81 (constraints.txt), exactly as the README says.
PIP_CONSTRAINT="$root/constraints.txt" PIP_BUILD_CONSTRAINT="$root/constraints.txt" $pip install --quiet "$root" ${numpy_spec:+"$numpy_spec"}
if [ -n "$setuptools_spec" ]; then
  $pip install --quiet "$setuptools_spec"   # e.g. what torch pulls in: no pkg_resources
fi
"$work/venv/bin/python" - <<'PY'
import importlib.metadata as md, sys
import chainer_vae, chainer, numpy
import chainer.gradient_check  # imports chainer.testing, which needed pkg_resources
try:
    import pkg_resources  # noqa: F401
    has = "yes"
except ImportError:
    has = "no"
print("python", sys.version.split()[0], "numpy", numpy.__version__, "chainer", chainer.__version__,
      "setuptools", md.version("setuptools"), "pkg_resources", has)
PY
cd "$work"
"$work/venv/bin/chainer-vae" train --data-dir "$data/mnist" --limit 2000 --epochs 1 \
    --out "$work/run" --no-progress
"$work/venv/bin/chainer-vae" evaluate "$work/run" --iw-samples 20 --limit 200 --json --no-progress
