"""Installed, the project is one import package, ``newsevents``, and its layering holds there.

The wheel is built from a copy of the checkout and installed with ``pip --target`` into a
fresh folder: that is what a user's site-packages receives. A user's own ``models.py``
next to their script is then still theirs, and ``lint-imports`` checks the contracts in
setup.cfg on the installed tree (from a checkout the sub-packages are top-level folders,
which import-linter cannot map to ``newsevents.*``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.subproc import child_env, run_python

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("newsevents", "models", "pipeline", "schemas", "benchmarks")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("setup.py", "setup.cfg", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(src)], check=True, capture_output=True, timeout=300)
    (found,) = out.glob("newsevents-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    return target


def test_the_wheel_adds_one_top_level_name(wheel):
    with zipfile.ZipFile(wheel) as z:
        tops = {name.split("/")[0] for name in z.namelist()}
        names = set(z.namelist())
    assert {t for t in tops if not t.endswith(".dist-info")} == {"newsevents"}
    # the sub-packages, their data and the embedded default models travel inside it
    assert {"newsevents/models/conll.py", "newsevents/pipeline/run.py", "newsevents/schemas/arrow.py",
            "newsevents/benchmarks/run.py", "newsevents/VERSION"} <= names
    assert any(n.startswith("newsevents/models/artifacts/") and n.endswith(".safetensors") for n in names)
    with zipfile.ZipFile(wheel) as z:
        (top_level,) = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")]
        assert "newsevents = newsevents.pipeline.run:main" in z.read(top_level).decode()


def test_a_users_own_models_module_is_not_shadowed(installed, tmp_path):
    (tmp_path / "models.py").write_text("MINE = True\n")
    (tmp_path / "pipeline.py").write_text("MINE = True\n")
    code = ("import newsevents.models.conll, newsevents.schemas.records, newsevents.pipeline.split, models, pipeline; "
            "print(models.MINE, pipeline.MINE, newsevents.models.conll.__file__)")
    env = child_env()
    env["PYTHONPATH"] = f"{installed}:{env['PYTHONPATH']}"  # the installed tree before the checkout's editable one
    proc = run_python(["-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    mine_models, mine_pipeline, conll = proc.stdout.split()
    assert (mine_models, mine_pipeline) == ("True", "True")
    assert Path(conll).is_relative_to(installed)


def test_the_layering_contracts_hold(installed):
    """schemas <- models <- pipeline | api <- benchmarks; no cycles; never `import models` (setup.cfg)."""
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (the dev extra has it)")
    env = child_env()
    env["PYTHONPATH"] = f"{installed}:{env['PYTHONPATH']}"
    proc = subprocess.run([str(lint), "--config", str(ROOT / "setup.cfg"), "--no-cache"], cwd=installed, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout
