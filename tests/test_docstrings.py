"""Every ``>>>`` example in the packages' docstrings runs, and an example that drifts from the code fails.

The modules are imported by their installed names (``newsevents.models.conll``), not by
file path as ``--doctest-modules`` would (``models.conll``, a second copy of the module).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("newsevents", "newsevents.schemas", "newsevents.models", "newsevents.pipeline", "newsevents.benchmarks")


def _modules() -> list[str]:
    # the root package's own modules (the API), then the sub-packages (the repository's folders)
    root = importlib.import_module("newsevents").__path__[0]
    names = ["newsevents"] + [f"newsevents.{m.name}" for m in pkgutil.iter_modules([root])]
    for pkg in PACKAGES[1:]:
        names.append(pkg)
        names += [m.name for m in pkgutil.walk_packages(importlib.import_module(pkg).__path__, pkg + ".")]
    return sorted(names)


MODULES = _modules()


def test_every_package_module_is_checked():
    # A walk that silently finds nothing would pass every parametrized case below.
    assert {"newsevents.api", "newsevents.models.conll", "newsevents.pipeline.run", "newsevents.schemas.errors"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed (above)"
