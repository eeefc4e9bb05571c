"""newsevents pipeline: the Beam dataflow, its CLI and its I/O."""

from pathlib import Path

__all__ = ["__version__"]

__version__ = (Path(__file__).resolve().parent / "VERSION").read_text().strip()
