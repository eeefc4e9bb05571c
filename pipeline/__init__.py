"""newsevents pipeline: the Beam dataflow, its CLI and its I/O."""

from pathlib import Path

import models  # noqa: F401 - first: it drops Beam's "apitools not found" warning before Beam is imported

__all__ = ["__version__"]

__version__ = (Path(__file__).resolve().parent / "VERSION").read_text().strip()
