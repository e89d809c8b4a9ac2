"""pytest plugin used by benchmarks/chainer_suite.sh (loaded with ``-p chainer_suite_plugin``).

Loaded before any conftest.py, so with ``CHAINER_SUITE_IMPORT_VAE=1`` it imports chainer_vae
(and so installs chainer_vae._compat) before chainer's tests import chainer. It writes every
test's outcome, every module that failed to import and the warnings raised by chainer's own
library code to the JSON file ``$CHAINER_SUITE_RESULTS``.
"""
import json
import os

if os.environ.get("CHAINER_SUITE_IMPORT_VAE") == "1":
    import chainer_vae  # noqa: F401  (must run before chainer is imported)

_outcomes = {}        # nodeid -> passed | failed | skipped | xfailed | xpassed
_import_errors = {}   # module nodeid -> last line of the error
_library_warnings = {}  # "Category: message (file:line)" -> count
_crashes = {}         # failed nodeid -> "file:line: error" where the failure was raised
_LIBRARY_DIRS = None


def _library_dirs():
    global _LIBRARY_DIRS
    if _LIBRARY_DIRS is None:
        dirs = []
        for name in ("chainer", "chainermn", "chainer_vae"):
            try:
                module = __import__(name)
            except Exception:  # noqa: BLE001  (chainermn needs mpi4py)
                continue
            dirs.append(os.path.dirname(os.path.abspath(module.__file__)) + os.sep)
        _LIBRARY_DIRS = tuple(dirs)
    return _LIBRARY_DIRS


def _set(nodeid, outcome):
    # A failure in any phase wins; otherwise the call phase decides.
    if _outcomes.get(nodeid) == "failed":
        return
    _outcomes[nodeid] = outcome


def _crash(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is None:
        return str(report.longrepr)[-2000:]
    path, site, tests = str(crash.path), os.sep + "site-packages" + os.sep, os.sep + "tests" + os.sep
    if site in path:
        path = path.split(site, 1)[1]
    elif tests in path:
        path = "tests" + os.sep + path.split(tests, 1)[1]
    # chainer.testing.parameterize wraps the error: keep what follows the last "(caused by)"
    message = crash.message.rsplit("(caused by)", 1)[-1].strip()
    return "{}:{}: {}".format(path, crash.lineno, message)[:2000]


def pytest_runtest_logreport(report):
    if report.failed:
        _crashes.setdefault(report.nodeid, _crash(report))
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            _set(report.nodeid, "xfailed" if report.skipped else "xpassed")
        else:
            _set(report.nodeid, report.outcome)
    elif report.when == "teardown" and report.failed:
        _outcomes[report.nodeid] = "failed"


def pytest_collectreport(report):
    if report.failed:
        text = str(report.longrepr).strip().splitlines()
        errors = [line for line in text if line.startswith("E ")]
        _import_errors[report.nodeid] = (errors[-1] if errors else text[-1] if text else "?")[:300]


def pytest_warning_recorded(warning_message, when, nodeid, location):
    filename = os.path.abspath(warning_message.filename or "")
    if filename.startswith(_library_dirs()) and issubclass(
            warning_message.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
        key = "{}: {} ({}:{})".format(
            warning_message.category.__name__, str(warning_message.message).splitlines()[0][:160],
            filename.split(os.sep + "site-packages" + os.sep)[-1], warning_message.lineno)
        _library_warnings[key] = _library_warnings.get(key, 0) + 1


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("CHAINER_SUITE_RESULTS")
    if not path:
        return
    import chainer
    import numpy
    with open(path, "w") as out:
        json.dump({"outcomes": _outcomes, "import_errors": _import_errors, "crashes": _crashes,
                   "library_warnings": _library_warnings, "exitstatus": int(exitstatus),
                   "chainer_file": chainer.__file__, "numpy": numpy.__version__}, out, indent=0)

