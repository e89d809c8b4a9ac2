#!/usr/bin/env bash
# The GPU checks in one run, for a machine with a CUDA GPU whose Python already has NumPy,
# CuPy, matplotlib and pytest (the device image): where chainer is missing it installs the
# wheels `make gpu-wheels` left in .gpu-wheels/ (carry that folder there), then runs the
# gpu-marked tests and the training throughput on GPU 0 (benchmarks.train_throughput --device
# @cupy:0). What it prints also goes to files under $OUT (default gpu_check/):
# machine.txt, gpu_tests.log, gpu_throughput.json. Exit status 0 only if both passed.
set -uo pipefail
out=${OUT:-gpu_check}
mkdir -p "$out"
if ! python -c "import chainer" 2>/dev/null; then
    python -m pip install --quiet --no-index --no-deps .gpu-wheels/*.whl || exit 1
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0
{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    python -c "import chainer_vae, chainer, cupy, numpy, sys; print('python', sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__, 'chainer', chainer.__version__)"
} 2>&1 | tee "$out/machine.txt"
# only the files that hold gpu tests: collecting the others would import what the image
# lacks (SciPy, nbformat)
python -m pytest -q -m gpu -p no:cacheprovider $(grep -rl --include="test_*.py" "pytest.mark.gpu" tests) \
    2>&1 | tee "$out/gpu_tests.log" || status=1
python -m benchmarks.train_throughput --device @cupy:0 --json 2>&1 \
    | tee "$out/gpu_throughput.json" || status=1
exit $status
