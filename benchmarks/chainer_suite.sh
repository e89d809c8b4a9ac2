#!/usr/bin/env bash
# Chainer 7.8.1's own test suite on today's stack after `import chainer_vae`, judged against the
# 2020 stack chainer was made for. Not part of CI (CI cannot reach chainer's repository).
#
#   benchmarks/chainer_suite.sh CHAINER_CHECKOUT [PYTHON]
#
# CHAINER_CHECKOUT  a work tree of chainer's git tag v7.8.1. The source archive on PyPI holds no
#                   tests, so make one yourself, outside this repository, e.g.
#                     git clone --depth 1 --branch v7.8.1 https://github.com/chainer/chainer /tmp/chainer-7.8.1
#                   or, from a clone you have:  mkdir /tmp/chainer-7.8.1 &&
#                     git -C CLONE archive v7.8.1 | tar -x -C /tmp/chainer-7.8.1
# PYTHON            a version (3.12: found with pyenv, else python3.12 on PATH) or the path of
#                   a python executable; default 3.12.
#
# Two venvs are made under $CHAINER_SUITE_WORK (default ~/.cache/chainer_vae/chainer_suite) and
# kept for later runs (delete the folder to start afresh):
#   today-X.Y     PYTHON + the newest NumPy and setuptools + this package (editable, so edits to
#                 chainer_vae/_compat count at once); the tests run after `import chainer_vae`.
#   baseline-3.11 the 2020 stack: Python $CHAINER_SUITE_BASELINE_PYTHON (3.11) + numpy 1.26.4 +
#                 setuptools<81 + plain chainer 7.8.1, no chainer_vae. Its results are kept and
#                 reused; CHAINER_SUITE_REFRESH=1 runs it again.
# Both get the same test tools (pytest, mock, pytest-timeout) and chainer's optional test
# dependencies (scipy, matplotlib; mpi4py where `mpicc` exists, for chainermn), so the two run
# the same tests. Each directory runs in a pytest process of its own (chainermn on one MPI
# process), with chainer's CI markers and warnings shown instead of raised (chainer's setup.cfg
# turns every warning into an error, which stops even the 2020 stack at numpy.distutils' warning).
# Printed per directory: passed, failed, skipped, modules that failed to import, on both stacks,
# and the share of the tests passing on the baseline that also pass here (tests are matched by
# name, chainer.testing.parameterize's values left out of it: they hold random arrays); then
# the modules that failed to import, deprecation warnings raised in chainer's own code, and the
# baseline-passing tests that did not pass: those failing in chainer's test files themselves
# (known, with their reason, in chainer_suite_report.py; not patched), the share without them,
# and the others by file and where they failed (one by one in RESULTS/lost.tsv).
#
# Environment: CHAINER_SUITE_DIRS (space-separated test paths relative to the checkout, instead
# of the 16 below), CHAINER_SUITE_JOBS=N (pytest-xdist -n N; default: one process),
# CHAINER_SUITE_NICE (default 10). Each stack takes about 7 minutes on 2 busy cores (the venvs,
# made once, a few more).
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
checkout=$(cd "$1" && pwd) || usage
python_arg=${2:-3.12}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${CHAINER_SUITE_WORK:-$HOME/.cache/chainer_vae/chainer_suite}
baseline_version=${CHAINER_SUITE_BASELINE_PYTHON:-3.11}
nice_level=${CHAINER_SUITE_NICE:-10}
markers="not gpu and not cudnn and not slow and not ideep"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# Open MPI refuses root unless told; harmless elsewhere.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

if [ ! -d "$checkout/tests/chainer_tests" ] || [ ! -f "$checkout/chainer/_version.py" ]; then
  echo "chainer_suite: $checkout is not a checkout of chainer with its tests/ (see the usage)" >&2
  exit 2
fi
version=$(sed -n "s/^__version__ = '\(.*\)'/\1/p" "$checkout/chainer/_version.py")
if [ "$version" != "7.8.1" ]; then
  echo "chainer_suite: $checkout is chainer $version; check out the tag v7.8.1" >&2
  exit 2
fi

# label:path, the 16 directories (two are single files) of issue 25.
dirs=${CHAINER_SUITE_DIRS:-"
  tests/chainer_tests/distributions_tests
  tests/chainer_tests/functions_tests/array_tests
  tests/chainer_tests/functions_tests/activation_tests
  tests/chainer_tests/functions_tests/connection_tests
  tests/chainer_tests/functions_tests/math_tests
  tests/chainer_tests/functions_tests/loss_tests
  tests/chainer_tests/functions_tests/rnn_tests
  tests/chainer_tests/links_tests/connection_tests
  tests/chainer_tests/optimizers_tests
  tests/chainer_tests/training_tests
  tests/chainer_tests/serializers_tests
  tests/chainer_tests/iterators_tests
  tests/chainer_tests/dataset_tests
  tests/chainer_tests/test_variable.py
  tests/chainer_tests/test_function_node.py
  tests/chainermn_tests"}

find_python() {  # a version like 3.12, or a path
  local v=$1 p
  if [ -x "$v" ]; then echo "$v"; return; fi
  p=$(ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/"$v"*/bin/python"$v" \
      2>/dev/null | sort -V | tail -1 || true)
  [ -n "$p" ] || p=$(command -v "python$v" || true)
  [ -n "$p" ] || { echo "chainer_suite: no Python $v found" >&2; exit 1; }
  echo "$p"
}

test_tools="pytest mock pytest-timeout"
[ -n "${CHAINER_SUITE_JOBS:-}" ] && test_tools="$test_tools pytest-xdist"
mpi=""
if command -v mpicc >/dev/null 2>&1; then mpi=mpi4py; else
  echo "chainer_suite: no mpicc (e.g. apt-get install libopenmpi-dev openmpi-bin):" \
       "without mpi4py chainermn's test modules cannot import" >&2
fi

make_venv() {  # make_venv DIR PYTHON KIND
  local venv=$1 python=$2 kind=$3 pip
  if [ -x "$venv/bin/pytest" ] && [ -f "$venv/.chainer_suite_ready" ]; then return; fi
  echo "== making $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  pip="$venv/bin/python -m pip"
  $pip install --quiet --upgrade pip
  # chainer 7.8.1 is an sdist whose setup.py imports pkg_resources: built under setuptools<81.
  if [ "$kind" = today ]; then
    PIP_CONSTRAINT="$root/constraints.txt" PIP_BUILD_CONSTRAINT="$root/constraints.txt" \
      $pip install --quiet -e "$root"
    $pip install --quiet --upgrade numpy setuptools $test_tools $mpi
  else
    PIP_BUILD_CONSTRAINT="$root/constraints.txt" \
      $pip install --quiet chainer==7.8.1 numpy==1.26.4 'setuptools<81' scipy matplotlib \
      $test_tools $mpi
  fi
  touch "$venv/.chainer_suite_ready"
}

stack_line() {
  (cd / && "$1/bin/python" -) <<'PY'
import importlib.metadata as md, platform
def v(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "-"
print("Python", platform.python_version(), "| numpy", v("numpy"), "| setuptools", v("setuptools"),
      "| chainer", v("chainer"), "| chainer-vae", v("chainer-vae"), "| scipy", v("scipy"),
      "| pytest", v("pytest"), "| mpi4py", v("mpi4py"))
PY
}

run_suite() {  # run_suite VENV RESULTS IMPORT_VAE keep|rerun
  local venv=$1 results=$2 vae=$3 keep=$4 path name xdist=""
  mkdir -p "$results"
  [ -n "${CHAINER_SUITE_JOBS:-}" ] && xdist="-n $CHAINER_SUITE_JOBS"
  for path in $dirs; do
    name=$(echo "$path" | sed 's#^tests/##; s#/#.#g; s#\.py$##')
    if [ "$keep" = keep ] && [ -f "$results/$name.json" ]; then continue; fi
    echo "   $(date +%H:%M:%S) $name" >&2
    # Chainer's tests import helpers relative to tests/; the installed chainer is the one tested
    # (pytest's entry point keeps the checkout's chainer/ off sys.path).
    (cd "$checkout" && env CHAINER_SUITE_RESULTS="$results/$name.json" \
        CHAINER_SUITE_IMPORT_VAE="$vae" PYTHONPATH="$plugin_dir" \
        nice -n "$nice_level" "$venv/bin/pytest" -p chainer_suite_plugin -p no:cacheprovider \
        -q -m "$markers" -o filterwarnings=default --continue-on-collection-errors --timeout 900 $xdist \
        "$path" >"$results/$name.log" 2>&1) || true
    if [ ! -f "$results/$name.json" ]; then
      echo "chainer_suite: pytest wrote no results for $path; see $results/$name.log" >&2
      tail -5 "$results/$name.log" >&2
    fi
  done
}

mkdir -p "$work"
plugin_dir="$work/plugin"
mkdir -p "$plugin_dir"
cp "$root/benchmarks/chainer_suite_plugin.py" "$plugin_dir/"

python=$(find_python "$python_arg")
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
today="$work/today-$pyver"
baseline="$work/baseline-$baseline_version"
make_venv "$today" "$python" today
make_venv "$baseline" "$(find_python "$baseline_version")" baseline

base_results="$work/results/baseline-$baseline_version"
[ -n "${CHAINER_SUITE_REFRESH:-}" ] && rm -rf "$base_results"
echo "== baseline: $(stack_line "$baseline")" >&2
run_suite "$baseline" "$base_results" 0 keep   # directories it has results for are not rerun
results="$work/results/today-$pyver"
[ -n "${CHAINER_SUITE_DIRS:-}" ] && results="$results-subset"
rm -rf "$results"
echo "== this stack: $(stack_line "$today")" >&2
run_suite "$today" "$results" 1 rerun

echo "chainer $version tests from $checkout, markers: $markers"
echo "this stack: $(stack_line "$today"), after import chainer_vae"
echo "baseline:   $(stack_line "$baseline"), plain chainer"
"$today/bin/python" "$root/benchmarks/chainer_suite_report.py" "$results" "$base_results" \
  --list "$results/lost.tsv"
echo "logs and per-test results: $results (baseline: $base_results)"
