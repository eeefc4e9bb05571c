"""The files a streaming run reads from what it watches: one spec for both streaming paths.

``--streaming --input`` names a directory (every file below it) or a glob. Locally
the streaming driver lists it every poll for its micro-batches
(``pipeline/stream_driver.py``); on a streaming runner the Beam graph matches it
every poll (``WatchArticles`` in ``pipeline/streaming.py``). Both ask one
:class:`FileSource`, so both read the same files under the same names:

- **what is matched**: a directory ``D`` as ``D/**``, a glob as given, both by
  Beam's ``FileSystems.match`` (``*`` stays within a directory, ``**`` crosses them);
- **what is read**: a file of a kind the reader reads (``.jsonl``, ``.txt``, ...,
  maybe compressed) whose name is not hidden (a leading ``.``: producers write
  ``.name.jsonl`` and rename, README "Streaming"; a leading ``_`` is an ordinary
  name, as in a batch run) and whose last change is ``settle_seconds`` old;
- **its name**: the path relative to the watched root, as a batch run names it,
  so its records get the same ids either way.

Example::

    source = FileSource.watching("incoming/", settle_seconds=1.0)
    source.settled(time.time())  # [InputFile("incoming/a.jsonl", "a.jsonl"), ...]
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from apache_beam.io.filesystems import FileSystems
from newsevents.pipeline.io.read_articles import InputFile, glob_root, has_glob, is_hidden, is_input_path

__all__ = ["FileSource", "is_watchable"]


def _is_glob(spec: str) -> bool:
    return has_glob(spec) and not os.path.isdir(spec)


def is_watchable(spec: str) -> bool:
    """Whether ``--input`` can be watched: a directory, or a glob (whose directory may not exist yet)."""
    return os.path.isdir(spec) or _is_glob(spec)


@dataclass(frozen=True)
class FileSource:
    """The files to read from a watched directory or glob (see the module's docstring).

    Plain values, resolved once where the job starts (:meth:`watching`), so the
    Beam graph's workers never look at the driver's file system to name a file.

    Attributes:
        pattern: the glob matched each poll.
        root: the directory the files' names are relative to.
        settle_seconds: how long a file must be unchanged before it is read.
    """

    pattern: str
    root: str
    settle_seconds: float = 1.0

    @classmethod
    def watching(cls, spec: str, settle_seconds: float = 1.0) -> "FileSource":
        """The source for ``--input spec`` and ``--settle-seconds``."""
        if _is_glob(spec):
            return cls(spec, glob_root(spec), settle_seconds)
        return cls(os.path.join(spec, "**"), spec, settle_seconds)

    def reads(self, path: str) -> bool:
        """Whether a matched path is ever read: a kind the reader reads, not a hidden name."""
        return is_input_path(path) and not is_hidden(path)

    def has_settled(self, mtime: float, now: float) -> bool:
        """Whether a file last changed at ``mtime`` is ready to read at ``now``."""
        return now - mtime >= self.settle_seconds

    def input_file(self, path: str) -> InputFile:
        """The reader's item for a matched path."""
        return InputFile(path, os.path.relpath(path, self.root))

    def files(self) -> list[tuple[InputFile, float]]:
        """Every file there now that is ever read, with its last change (seconds since the epoch), sorted."""
        matched = [m for result in FileSystems.match([self.pattern]) for m in result.metadata_list]
        return sorted((self.input_file(m.path), m.last_updated_in_seconds or 0.0) for m in matched
                      if self.reads(m.path))

    def settled(self, now: float) -> list[InputFile]:
        """The files to read at ``now``: what one poll of the Beam graph lets through, sorted."""
        return [f for f, mtime in self.files() if self.has_settled(mtime, now)]
