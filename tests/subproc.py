"""Start a child Python the way the tests' own process runs: the project's warnings are errors.

pytest.ini's ``filterwarnings`` only reaches the test process; a CLI started with
``subprocess`` would print a project warning and pass. ``child_env`` puts
``tests/_child_site`` (a ``sitecustomize``) first on the child's path so the same filter
applies there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_SITE = Path(__file__).resolve().parent / "_child_site"


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with the warnings-as-errors site first on PYTHONPATH."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_SITE), env.get("PYTHONPATH", "")) if p)
    return env


def run_python(args: list[str], *, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    """``python ARGS`` in a child (``subprocess.run`` keywords pass through)."""
    return subprocess.run([sys.executable, *args], env=child_env(env), **kwargs)
