"""One run at a time per output directory: a lock file ``OUTPUT/_LOCK`` held for the whole run.

A second run into a directory that a live run holds stops at once with
:class:`~schemas.errors.OutputLockedError` naming the holder (pid, host, start
time). A lock left by a run that died (SIGKILL, power loss) is taken over, with a
warning on stderr naming the dead run. Without it, a second batch run's
``recover()`` would delete the first run's staging directory under it, and two
commits could interleave.

Why ``flock`` on an open file rather than ``O_CREAT|O_EXCL`` plus a pid check:
the kernel drops an ``flock`` the moment its holder dies, however it dies, so
"stale" is a fact the OS reports, not a guess. A pid check is a guess: pids are
reused, a pid from another host or another container's pid namespace cannot be
checked at all, and an ``O_EXCL`` file outlives its creator. ``flock`` works on
local filesystems and (emulated with POSIX locks by Linux) on NFSv4 mounts.

The file's content (JSON: pid, host, start time, command) only serves the
messages. It is deleted on release, while still locked; an opener that locked a
file already deleted sees its inode differ from the path's and tries again, so
two runs never both believe they hold the lock.

Example::

    with OutputLock("out/"):
        ...  # recover, run, commit
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass

from newsevents.schemas.errors import OutputLockedError

__all__ = ["LOCK_FILE", "LockHolder", "OutputLock"]

LOCK_FILE = "_LOCK"  # readers skip names starting with "_"

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) an output lock, as written in the lock file."""

    pid: int
    host: str
    started: str
    command: str = ""

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, started {self.started}"

    @classmethod
    def parse(cls, text: str) -> "LockHolder | None":
        """The holder a lock file names, or None if it is empty or unreadable."""
        try:
            d = json.loads(text)
            return cls(int(d["pid"]), str(d["host"]), str(d["started"]), str(d.get("command", "")))
        except (ValueError, KeyError, TypeError):
            return None


class OutputLock:
    """An exclusive, non-blocking lock on one output directory (a context manager).

    Args:
        output: the output directory; it must exist.

    Attributes:
        stale: the dead run whose lock this one took over, if any.
    """

    def __init__(self, output: str) -> None:
        self.path = os.path.join(output, LOCK_FILE)
        self.stale: LockHolder | None = None
        self._fd: int | None = None

    def acquire(self) -> "OutputLock":
        """Take the lock now or raise.

        Raises:
            OutputLockedError: a live run holds the directory.
        """
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _wait_for_holder(fd)
                os.close(fd)
                who = holder.describe() if holder else "its pid, host and start are not written yet"
                raise OutputLockedError(
                    f"{os.path.dirname(self.path) or '.'} is in use by another newsevents run ({who}); "
                    "wait for it to end or stop it, or choose another --output."
                ) from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # locked a file its holder deleted on release: lock the current one
        self._fd = fd
        self.stale = LockHolder.parse(_read(fd))
        if self.stale is not None:
            # A released lock is deleted, so a lock file that names a run and is not locked is
            # the remains of a run that died without releasing it.
            _LOG.warning("taking over the lock of %s, left by a run that is no longer running (%s)",
                         self.stale.describe(), self.path)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "command": " ".join(sys.argv)[:500]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        return self

    def release(self) -> None:
        """Delete the lock file and drop the lock (idempotent)."""
        if self._fd is None:
            return
        try:
            if _same_file(self._fd, self.path):
                os.unlink(self.path)
        finally:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: str) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (st.st_dev, st.st_ino)


def _read(fd: int) -> str:
    return os.pread(fd, 4096, 0).decode("utf-8", "replace")


def _wait_for_holder(fd: int, seconds: float = 1.0) -> LockHolder | None:
    # The holder writes its details just after taking the lock; give it a moment.
    deadline = time.monotonic() + seconds
    while True:
        holder = LockHolder.parse(_read(fd))
        if holder is not None or time.monotonic() >= deadline:
            return holder
        time.sleep(0.05)
