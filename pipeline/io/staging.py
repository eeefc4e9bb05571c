"""Staging directories that concurrent runs can share an output with (``--table-format delta``).

A Parquet run holds the output's lock (``pipeline/io/lock.py``) and has one staging
directory, ``OUTPUT/_staging/<run id>/``, which the next run finishes or deletes. Delta
runs into one output may run at the same time (Delta's optimistic concurrency decides
between their commits), so each needs its own staging directory, and a run must not
delete a live one's:

- a local output's attempt is ``OUTPUT/_staging/<run id>-<8 hex>/``, beside the lock
  file ``<run id>-<8 hex>.lock`` that its run holds (``flock``) until it ends. The lock
  file is locked before it is given its name (a hard link to a locked file), so every
  lock file another run sees is locked by a live run or by none;
- a run deletes its own attempt when it ends, however it ends short of SIGKILL; the
  attempts of killed runs (a lock file that nobody holds) are deleted by the next run
  into the same output;
- an object-store output's attempt is a local temporary directory (the graph's writers
  and the commit then run on this machine: README "Output modes").

Example::

    with StagingAttempt("out/", run_id) as stage:
        ...  # run the graph into stage, account, commit
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import tempfile
import time

from newsevents.pipeline.io.commit import STAGING
from newsevents.pipeline.io.read_articles import is_remote

__all__ = ["StagingAttempt", "discard_dead_attempts"]

_LOCK_SUFFIX = ".lock"
_ATTEMPT = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{8}$")
# A hidden lock file is one an attempt has not named yet; one older than this belongs to a killed run.
_UNNAMED_SECONDS = 60.0


class StagingAttempt:
    """One run's own staging directory (a context manager giving its path), deleted when the run ends.

    Args:
        output: the ``--output`` directory or URL.
        run_id: the run's id (``pipeline.io.commit.compute_run_id``).
    """

    def __init__(self, output: str, run_id: str) -> None:
        self.output = output
        self.run_id = run_id
        self.path: str | None = None
        self._fd: int | None = None
        self._lock: str | None = None

    def __enter__(self) -> str:
        if is_remote(self.output):
            self.path = tempfile.mkdtemp(prefix=f"newsevents-{self.run_id}-")
            return self.path
        root = os.path.join(self.output, STAGING)
        os.makedirs(root, exist_ok=True)
        discard_dead_attempts(self.output)
        name = f"{self.run_id}-{secrets.token_hex(4)}"
        unnamed = os.path.join(root, f".{name}{_LOCK_SUFFIX}")
        self._fd = os.open(unnamed, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else can hold it
        self._lock = os.path.join(root, name + _LOCK_SUFFIX)
        os.link(unnamed, self._lock)  # named only once locked
        os.unlink(unnamed)
        self.path = os.path.join(root, name)
        os.mkdir(self.path)
        return self.path

    def __exit__(self, *exc) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._lock)  # after the directory: a lock file without one is harmless
        if self._fd is not None:
            os.close(self._fd)  # drops the flock
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(self.output, STAGING))  # only if empty
        self.path = self._fd = self._lock = None


def _held(path: str) -> bool:
    """Whether a live process holds the ``flock`` of ``path`` (False also if it is gone)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def discard_dead_attempts(output: str) -> list[str]:
    """Delete the staging attempts of killed runs in ``OUTPUT/_staging/``; returns their names.

    An attempt is dead when nobody holds its lock file. Directories of other kinds (a
    Parquet run's ``<run id>/``) are left alone.
    """
    root = os.path.join(output, STAGING)
    if not os.path.isdir(root):
        return []
    dead = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if name.startswith(".") and name.endswith(_LOCK_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                if time.time() - os.stat(path).st_mtime > _UNNAMED_SECONDS and not _held(path):
                    os.unlink(path)
        elif _ATTEMPT.match(name) and not _held(os.path.join(root, name + _LOCK_SUFFIX)):
            shutil.rmtree(path, ignore_errors=True)
            dead.append(name)
        elif (name.endswith(_LOCK_SUFFIX) and _ATTEMPT.match(name[: -len(_LOCK_SUFFIX)])
              and not os.path.exists(path[: -len(_LOCK_SUFFIX)]) and not _held(path)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # its directory went first (sorted before it, or its run deleted it)
    return dead
