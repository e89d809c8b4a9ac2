"""Musical control of a music model (issue 31): notes on downbeats, attribute vectors,
temperature and 16-bar structure, measured by ``chainer_vae.inference.control``.

    python -m benchmarks.musical_control pretrained:bach-chorales --out control.json

Attribute vectors must be computed first (``chainer-vae attributes RUN``; the shipped
models carry theirs). Prints one JSON object and writes it to --out.
"""
import argparse
import json
import time

from chainer_vae.inference import attributes, control
from chainer_vae.runs import load_run

PARTS = ("downbeats", "attributes", "temperature", "structure")


def measure(run_dir, parts=PARTS, n=64, bars=(16,), seed=0):
    run = load_run(run_dir, progress=False)
    found = {"run": str(run_dir)}
    begin = time.perf_counter()
    if "downbeats" in parts:
        found["downbeats"] = control.downbeat_ratio(run, n, seed)
    if "attributes" in parts:
        found["attributes"] = control.attribute_response(run, attributes.load(run_dir), n,
                                                         seed=seed)
    if "temperature" in parts:
        found["temperature"] = control.temperature_response(run, n, seed=seed)
    if "structure" in parts:
        found["structure"] = [control.long_structure(run, count, n, seed) for count in bars]
    found["seconds"] = time.perf_counter() - begin
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", metavar="RUN")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--n", type=int, default=64, help="prior samples per setting")
    parser.add_argument("--bars", type=int, nargs="+", default=[16])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    found = measure(args.run_dir, args.parts, args.n, args.bars, args.seed)
    text = json.dumps(found, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
