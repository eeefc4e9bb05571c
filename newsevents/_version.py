"""The project's version (``newsevents/VERSION``), importable without the root package's API."""

from pathlib import Path

__all__ = ["__version__"]

__version__ = (Path(__file__).resolve().parent / "VERSION").read_text().strip()
