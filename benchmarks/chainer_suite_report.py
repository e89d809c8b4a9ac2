"""Summarise benchmarks/chainer_suite.sh's results: per directory, passed / failed / skipped /
modules that failed to import on the stack under test and on the 2020 baseline, and the share of
the baseline's passing tests that also pass.

    python chainer_suite_report.py RESULTS_DIR BASELINE_DIR [--list FILE]

Each folder holds one JSON file per directory of chainer's tests, written by
chainer_suite_plugin.py.
"""
import argparse
import json
import os
import re
import sys

from collections import Counter


# Breakages that live only in chainer's test files (not patched; chainer_vae mends the library):
# (test file, regular expression matched against where and how the test failed, reason).
TEST_FILE_BREAKAGES = [
    ("tests/chainer_tests/test_function_node.py", r"has no attribute 'product'",
     "the test calls numpy.product, removed in NumPy 2.0 (numpy.prod)"),
    ("tests/chainer_tests/functions_tests/array_tests/test_pad_sequence.py",
     r"test_pad_sequence\.py:\d+: OverflowError: Python integer -1 out of bounds for uint",
     "the test's expected value numpy.uint8(-1) raises OverflowError under NumPy 2 (NEP 50); "
     "F.pad_sequence itself gives 255, as under NumPy 1"),
    ("tests/chainer_tests/functions_tests/math_tests/test_det.py",
     r"test_det\.py:\d+: TypeError: only 0-dimensional arrays can be converted",
     "the test calls float() on a 1-element 1-d array, an error since NumPy 2.5 (deprecated "
     "since 1.25)"),
    ("tests/chainer_tests/functions_tests/loss_tests/test_softmax_cross_entropy.py",
     r"(?s)Outputs do not match.*DESIRED: array\(nan, dtype=float16\)",
     "the test's reference adds 300,000 float16 losses to a Python float: NumPy 1 made the sum "
     "float64, NumPy 2 (NEP 50) keeps it float16 and it overflows to nan; "
     "F.softmax_cross_entropy's own value is finite"),
]

_PARAM = re.compile(r"_param_\d+_\{")


def test_key(nodeid):
    """A test's name without the values that chainer.testing.parameterize writes into its class
    name after ``_param_N_``: they can hold random arrays (different in every run) and reprs
    that differ between NumPy 1 and 2 (``dtype=bool_`` / ``dtype=bool``). N identifies the
    parameter set."""
    out, start = [], 0
    for match in _PARAM.finditer(nodeid):
        if match.start() < start:
            continue
        out.append(nodeid[start:match.end() - 2])
        depth, i = 0, match.end() - 1
        while i < len(nodeid):
            depth += {"{": 1, "}": -1}.get(nodeid[i], 0)
            i += 1
            if depth == 0:
                break
        start = i
    out.append(nodeid[start:])
    return "".join(out)


def load(folder):
    runs = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            with open(os.path.join(folder, name)) as f:
                run = json.load(f)
            outcomes = {}
            for nodeid, outcome in run["outcomes"].items():
                key = test_key(nodeid)
                # a name shared by two tests: failed wins
                if outcomes.get(key) not in ("failed", "xpassed"):
                    outcomes[key] = outcome
            run["outcomes"] = outcomes
            run["crashes"] = {test_key(t): c for t, c in run.get("crashes", {}).items()}
            runs[name[:-5]] = run
    return runs


def label(name):
    """chainer_tests.functions_tests.array_tests -> functions/array."""
    name = re.sub(r"^chainer_tests\.", "", name).replace("chainermn_tests", "chainermn")
    return re.sub(r"_tests\b|\btest_", "", name).replace(".", "/")


def counts(run):
    c = Counter(run["outcomes"].values())
    return (c["passed"], c["failed"] + c["xpassed"], c["skipped"] + c["xfailed"],
            len(run["import_errors"]))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("baseline", nargs="?")
    parser.add_argument("--list", help="write the baseline-passing tests that do not pass here")
    args = parser.parse_args(argv)
    runs = load(args.results)
    base = load(args.baseline) if args.baseline and os.path.isdir(args.baseline) else {}
    first = next(iter(runs.values()), None)
    if first is None:
        sys.exit("no results in " + args.results)
    print("chainer from", os.path.dirname(first["chainer_file"]), "| numpy", first["numpy"])
    head = "{:<20} {:>7} {:>6} {:>7} {:>6}".format("directory", "passed", "failed", "skipped",
                                                   "import")
    if base:
        head += " | {:>7} {:>6} {:>7} {:>6} | {:>8} {:>8}".format(
            "passed", "failed", "skipped", "import", "kept", "share")
        print("{:<20} {:^29} | {:^29} | baseline-passing".format("", "this stack", "baseline"))
    print(head)
    total_kept = total_base = 0
    totals = [0, 0, 0, 0]
    base_totals = [0, 0, 0, 0]
    lost = []
    for name, run in runs.items():
        row = counts(run)
        totals = [a + b for a, b in zip(totals, row)]
        line = "{:<20} {:>7} {:>6} {:>7} {:>6}".format(label(name), *row)
        if name in base:
            brow = counts(base[name])
            base_totals = [a + b for a, b in zip(base_totals, brow)]
            passing = [t for t, o in base[name]["outcomes"].items() if o == "passed"]
            kept = [t for t in passing if run["outcomes"].get(t) == "passed"]
            lost += [(t, run["outcomes"].get(t, "not run"), run["crashes"].get(t, ""))
                     for t in passing if run["outcomes"].get(t) != "passed"]
            total_kept += len(kept)
            total_base += len(passing)
            share = 100.0 * len(kept) / len(passing) if passing else 100.0
            line += " | {:>7} {:>6} {:>7} {:>6} | {:>8} {:>7.2f}%".format(*brow, len(kept), share)
        print(line)
    line = "{:<20} {:>7} {:>6} {:>7} {:>6}".format("total", *totals)
    if base:
        share = 100.0 * total_kept / total_base if total_base else 100.0
        line += " | {:>7} {:>6} {:>7} {:>6} | {:>8} {:>7.2f}%".format(*base_totals, total_kept,
                                                                       share)
    print(line)
    if base:
        print("\n{} of the {} tests that pass on the baseline pass here ({:.2f} %)".format(
            total_kept, total_base, 100.0 * total_kept / max(total_base, 1)))
    errors = {m: e for run in runs.values() for m, e in run["import_errors"].items()}
    print("\nmodules that failed to import: {}".format(len(errors) or "none"))
    for module, error in sorted(errors.items()):
        print("  {}: {}".format(module, error))
    warned = Counter()
    for run in runs.values():
        warned.update(run.get("library_warnings", {}))
    print("\ndeprecation warnings raised in chainer's (or chainer_vae's) own code: {}".format(
        len(warned) or "none"))
    on_baseline = set()
    for run in base.values():
        on_baseline.update(run.get("library_warnings", {}))
    for text, n in warned.most_common():
        print("  {:>6}x {}{}".format(n, text, " (also on the baseline)" if text in on_baseline
                                     else ""))
    if lost:
        print_lost(lost, total_base, args.list)


def test_file_breakage(test, crash):
    for path, pattern, reason in TEST_FILE_BREAKAGES:
        if test.startswith(path + "::") and re.search(pattern, crash):
            return reason
    return None


def print_lost(lost, total_base, listing):
    known = Counter()
    causes = Counter()
    for test, outcome, crash in lost:
        reason = test_file_breakage(test, crash)
        if reason:
            known[(test.split("::")[0], reason)] += 1
        else:
            where = crash.split("\n")[0][:200] if crash else outcome
            causes[(test.split("::")[0], where)] += 1
    n_known = sum(known.values())
    print("\nbaseline-passing tests that do not pass here: {}".format(len(lost)))
    if known:
        print("  {} of them fail in chainer's test files themselves (not patched):".format(n_known))
        for (path, reason), n in known.most_common():
            print("  {:>6}  {}: {}".format(n, path, reason))
        print("  without those: {} of {} pass ({:.2f} %)".format(
            total_base - len(lost), total_base - n_known,
            100.0 * (total_base - len(lost)) / max(total_base - n_known, 1)))
    if causes:
        print("  the others, by test file and where they failed:")
        for (path, where), n in causes.most_common():
            print("  {:>6}  {}\n          {}".format(n, path, where))
    if listing:
        with open(listing, "w") as out:
            for test, outcome, crash in sorted(lost):
                out.write("{}\t{}\t{}\n".format(outcome, test.replace("\n", "\\n"),
                                                crash.split("\n")[0][:300]))
        print("(each test, with where it failed: {})".format(listing))


if __name__ == "__main__":
    main()
