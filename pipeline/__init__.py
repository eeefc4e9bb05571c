"""newsevents pipeline: the Beam dataflow, its CLI, its drivers and its I/O."""

from newsevents._version import __version__

__all__ = ["__version__"]
