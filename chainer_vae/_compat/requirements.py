"""The part of ``pkg_resources`` that ``chainer.testing`` uses, from ``importlib.metadata`` and
``packaging`` (setuptools >= 81 has no ``pkg_resources``; earlier ones warn that it is
deprecated).

``chainer.testing.with_requires``/``without_requires`` and ``doctest_helper`` call
``pkg_resources.WorkingSet().require(*requirements)`` and catch ``ResolutionError`` to learn
whether requirements such as ``'numpy>=1.10'`` or ``'scipy'`` are installed. As there, a
requirement is met when its distribution is installed in a version its specifier allows
(pre-releases included), and so is, recursively, everything that distribution requires
(its ``Requires-Dist`` entries whose markers hold, with the requested extras).
"""
from importlib import metadata


class ResolutionError(Exception):
    """A requirement is not installed, or not in an allowed version."""


class DistributionNotFound(ResolutionError):
    """A required distribution is not installed."""


class VersionConflict(ResolutionError):
    """A required distribution is installed in a version the requirement excludes."""


def _parse(requirements):
    from packaging.requirements import Requirement

    for text in requirements:
        for line in str(text).splitlines():  # pkg_resources took one requirement per line
            line = line.split("#", 1)[0].strip()
            if line:
                yield Requirement(line)


def require(*requirements):
    """Raise ``ResolutionError`` unless every requirement, with what it requires, is met."""
    from packaging.utils import canonicalize_name

    todo = list(_parse(requirements))
    done = set()
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise DistributionNotFound(str(requirement)) from None
        if not requirement.specifier.contains(distribution.version, prereleases=True):
            raise VersionConflict("{} is installed, {} is required".format(
                distribution.version, requirement))
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in done:
            continue
        done.add(key)
        extras = ("",) + tuple(sorted(requirement.extras))
        for text in distribution.requires or ():
            dependency = next(_parse([text]))
            if dependency.marker is None or any(
                    dependency.marker.evaluate({"extra": extra}) for extra in extras):
                dependency.marker = None
                todo.append(dependency)


class WorkingSet:
    """``pkg_resources.WorkingSet()``: the installed distributions, as found on ``sys.path``
    when asked."""

    def require(self, *requirements):
        require(*requirements)
