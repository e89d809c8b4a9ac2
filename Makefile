# One command sets up and runs the study (`make demo`), one runs the tests (`make test`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# chainer 7.8.1 builds from an sdist that needs setuptools<81 (see constraints.txt).
# pip < 25.3 applies PIP_CONSTRAINT to build environments; newer pip reads PIP_BUILD_CONSTRAINT.
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_BUILD_CONSTRAINT := $(CURDIR)/constraints.txt
export CHAINER_VAE_DATA ?= $(abspath $(CURDIR)/../shared/data)
OUT ?= study

.PHONY: install mpi demo claims test bench pretrained gpu-wheels clean

$(VENV)/.installed: setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,notebooks,corpus]'
	touch $@

install: $(VENV)/.installed

# mpi4py for data-parallel runs (chainer-vae train --communicator ...) and the MPI tests;
# needs an MPI first, e.g. Debian: apt-get install openmpi-bin libopenmpi-dev.
mpi: install
	$(PY) -m pip install --quiet -e '.[mpi]'

demo: install
	$(VENV)/bin/chainer-vae study --out $(OUT)

# The study's claims, one experiment each: $(OUT)/claims/claims.md. PRESET=full or paper: the
# study's lengths (hours on a CPU).
PRESET ?= quick
claims: install
	$(VENV)/bin/chainer-vae study --claims --preset $(PRESET) --out $(OUT)

test: install
	$(PY) -m pytest -q tests

# Train, pack and measure the shipped models (chainer_vae/pretrained/, `chainer-vae pretrained`)
# in runs/pretrained/: about an hour on 2 CPU cores; NAMES="bach-chorales" for some of them.
pretrained: install
	$(PY) -m chainer_vae.pretrained.build $(NAMES)

# The peers: pretty_midi, and PyTorch's CPU build (on Linux, PyPI's default torch wheel is
# the CUDA one, several GB: see the README's Benchmarks section).
bench: install
	$(PY) -m pip install --quiet -e '.[bench]' 'torch==2.13.0'
	$(PY) -m benchmarks.run_all

# Wheels of the pure-Python dependencies for a GPU machine whose image already has NumPy,
# CuPy, matplotlib and pytest (benchmarks/gpu_check.sh installs them there).
gpu-wheels: install
	rm -rf .gpu-wheels
	$(PY) -m pip wheel --quiet --no-deps -w .gpu-wheels chainer==7.8.1 six filelock \
		typing_extensions 'mido>=1.3' packaging 'tqdm>=4.60'

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
