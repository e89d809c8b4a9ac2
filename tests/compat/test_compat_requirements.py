"""chainer.testing decides with_requires/without_requires from importlib.metadata and
packaging (chainer_vae._compat.requirements), as pkg_resources did, without pkg_resources."""
import subprocess
import sys
import textwrap

import pytest

from chainer_vae._compat import requirements

BLOCK_PKG_RESOURCES = """
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "pkg_resources" or name.startswith("pkg_resources."):
                raise ImportError("blocked: " + name)
    sys.meta_path.insert(0, Block())
"""


def fake_distribution(site, name, version, *requires):
    info = site / "{}-{}.dist-info".format(name.replace("-", "_"), version)
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    lines += ["Requires-Dist: " + r for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Installed distributions on sys.path: needs-missing requires a distribution that is not
    installed; has-deps requires numpy; extras requires numpy, and with [more] a missing one."""
    fake_distribution(tmp_path, "needs-missing", "1.0", "no-such-distribution-xyz>=1")
    fake_distribution(tmp_path, "has-deps", "2.0rc1", "numpy>=1.0",
                      "no-such-distribution-xyz; python_version < '3'")
    fake_distribution(tmp_path, "extras", "1.5", "numpy",
                      'no-such-distribution-xyz; extra == "more"')
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


CASES = [
    ("numpy", True), ("numpy>=1.10", True), ("numpy<1", False), ("NumPy>=1.0,!=0.1", True),
    ("no-such-distribution-xyz", False), ("needs-missing", False), ("has-deps", True),
    ("has-deps>=1.9", True),  # a pre-release (2.0rc1) counts, as in pkg_resources
    ("has-deps>=3", False), ("extras", True), ("extras[more]", False),
    ("numpy; python_version < '3'", True),  # a requirement whose marker fails is not needed
]


@pytest.mark.parametrize("requirement,met", CASES)
def test_require_decides_like_pkg_resources(site, requirement, met):
    try:
        requirements.WorkingSet().require(requirement)
        found = True
    except requirements.ResolutionError:
        found = False
    assert found == met


def test_several_requirements_are_all_needed(site):
    requirements.require("numpy", "has-deps")
    with pytest.raises(requirements.DistributionNotFound):
        requirements.require("numpy", "needs-missing")
    with pytest.raises(requirements.VersionConflict):
        requirements.require("numpy<1")


def test_the_same_decisions_as_pkg_resources_where_it_exists(site):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pkg_resources = pytest.importorskip("pkg_resources")
    for requirement, met in CASES:
        try:
            pkg_resources.WorkingSet().require(requirement)
            found = True
        except pkg_resources.ResolutionError:
            found = False
        assert found == met, requirement


def test_chainer_testing_decides_without_pkg_resources(site):
    script = BLOCK_PKG_RESOURCES + """
    import sys
    sys.path.insert(0, {site!r})
    import chainer_vae, chainer.testing as T
    from chainer.testing import doctest_helper
    def skipped(decorator):
        return bool(getattr(decorator(lambda: None), "__unittest_skip__", False))
    print(skipped(T.with_requires("numpy>=1.10")), skipped(T.with_requires("numpy<1")),
          skipped(T.with_requires("numpy", "needs-missing")), skipped(T.with_requires("has-deps")),
          skipped(T.without_requires("numpy>=1.10")), skipped(T.without_requires("numpy<1")),
          doctest_helper.skipif_requires_satisfied("numpy"),
          doctest_helper.skipif_requires_satisfied("no-such-distribution-xyz"))
    """.format(site=str(site))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True", "False", "True", "False", "True",
                                   "False"]
