"""Progress lines on stderr while a run works: records read, sentences through the models, documents done.

The pipeline's steps :func:`bump` named counters; a daemon thread in the driver
prints a line at most once every ``--progress-seconds``, only when something
changed, and :class:`Progress` prints a last line with the totals when the run ends.

Where the counts travel (issue 15, "Progress lines on the DirectRunner stop after
the first"):

- Steps that run in the driver process (the DirectRunner's ``in_memory`` and
  ``multi_threading`` modes) add to counters in memory.
- Steps in other processes on this machine (``--direct_running_mode
  multi_processing``, whose workers the runner starts while a run is in progress,
  and a local Dask cluster started inside it) append ``name count`` lines to a
  file of their own in a directory the driver names in an environment variable;
  the driver's thread reads what was appended since its last look. Beam's own
  metrics would not do: the DirectRunner reports them only once the run is over.
- Steps on other machines see no such directory and count nothing: the last line
  then says so, and the runner's own UI shows the progress.

The DirectRunner runs the graph stage by stage, and documents are assembled after
a grouping that waits for every sentence, so "documents done" moves only at the
end; ``beam.Map(Tally("sentences"))`` after the model stages counts the sentences they have
finished, which moves while the models work.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from typing import Callable, TextIO

__all__ = ["COUNTERS", "Progress", "Tally", "bump", "snapshot"]

#: The counters a progress line shows, in its order.
COUNTERS = ("records", "sentences", "documents", "events")

# The driver's channel for other processes: the directory their counts go to, and
# the driver's pid (in its own process a bump stays in memory).
_DIR_ENV = "NEWSEVENTS_PROGRESS_DIR"
_PID_ENV = "NEWSEVENTS_PROGRESS_PID"

_LOCK = threading.Lock()
_COUNTS = dict.fromkeys(COUNTERS, 0)
_FILE: dict[str, int] = {}  # "pid:directory" -> the fd of this process's counts file for that run


def bump(name: str, n: int = 1) -> None:
    """Add ``n`` to a counter (called by the pipeline's steps, in whichever process runs them)."""
    directory = os.environ.get(_DIR_ENV)
    if directory is None or os.environ.get(_PID_ENV) == str(os.getpid()):
        with _LOCK:
            _COUNTS[name] = _COUNTS.get(name, 0) + n
        return
    _append(directory, f"{name} {n}\n".encode())


def _append(directory: str, line: bytes) -> None:
    # One O_APPEND write per bump: whole lines, never interleaved with another
    # thread's, and nothing buffered that a worker killed at the end would lose.
    key = f"{os.getpid()}:{directory}"
    try:
        with _LOCK:
            fd = _FILE.get(key)
            if fd is None:
                for stale in _FILE.values():  # an earlier run's (a long-lived worker serves many)
                    os.close(stale)
                _FILE.clear()
                fd = _FILE[key] = os.open(os.path.join(directory, f"{os.getpid()}.counts"),
                                          os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(fd, line)
    except OSError:  # the run that asked for progress is over: progress never fails a step
        pass


def snapshot() -> dict[str, int]:
    """The counts bumped in this process since the last :class:`Progress` began."""
    with _LOCK:
        return dict(_COUNTS)


class _Channel:
    """The driver's end: a directory other processes append counts to, read incrementally."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="newsevents-progress-")
        self._read: dict[str, int] = {}  # file -> bytes already counted
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()  # the thread and the block's end both read

    def counts(self) -> dict[str, int]:
        with self._lock:
            return self._read_new()

    def _read_new(self) -> dict[str, int]:
        try:
            names = os.listdir(self.directory)
        except OSError:
            return dict(self._counts)
        for name in names:
            path = os.path.join(self.directory, name)
            try:
                with open(path, "rb") as f:
                    f.seek(self._read.get(name, 0))
                    data = f.read()
            except OSError:
                continue
            whole = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
            self._read[name] = self._read.get(name, 0) + len(whole)
            for line in whole.splitlines():
                counter, _, n = line.decode(errors="replace").partition(" ")
                if n.isdigit():  # anything else is not ours: progress never fails the run
                    self._counts[counter] = self._counts.get(counter, 0) + int(n)
        return dict(self._counts)

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class Progress:
    """``with Progress(10):`` prints at most one progress line per 10 s while the block runs, and the totals after.

    Args:
        every_seconds: the interval (0: no lines at all).
        stream: where lines go (stderr).
        clock: seconds as a float (``time.monotonic``); tests give a fake one.
        wait: ``wait(seconds) -> bool`` sleeps between looks and says whether to stop
            (the block's end); tests give one that advances their fake clock.
    """

    def __init__(self, every_seconds: float, stream: TextIO | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 wait: Callable[[float], bool] | None = None) -> None:
        self._every = every_seconds
        self._stream = stream or sys.stderr
        self._clock = clock
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None
        self._channel: _Channel | None = None
        self._env: dict[str, str | None] = {}
        self._last: dict[str, int] | None = None
        self._last_at = 0.0
        self._started = 0.0

    def __enter__(self) -> "Progress":
        if self._every <= 0:
            return self
        with _LOCK:
            for key in _COUNTS:
                _COUNTS[key] = 0
        self._channel = _Channel()
        self._env = {k: os.environ.get(k) for k in (_DIR_ENV, _PID_ENV)}
        os.environ[_DIR_ENV], os.environ[_PID_ENV] = self._channel.directory, str(os.getpid())
        self._started = self._last_at = self._clock()
        self._last = self.counts()  # nothing done yet: the first line waits for work
        self._thread = threading.Thread(target=self._loop, name="newsevents-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self._channel is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for key, value in self._env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if exc_type is None:  # after a failure the error says what happened, not a total
            self._print(self.counts(), final=True)
        self._channel.close()

    def counts(self) -> dict[str, int]:
        """Every counter, bumped here or in another process of this run."""
        counts = snapshot()
        if self._channel is not None:
            for key, n in self._channel.counts().items():
                counts[key] = counts.get(key, 0) + n
        return counts

    def tick(self) -> bool:
        """Print a line if the interval has passed since the last one and the counts changed; say if it did."""
        now = self._clock()
        if now - self._last_at < self._every:
            return False
        counts = self.counts()
        if counts == self._last:
            return False
        self._print(counts)
        self._last, self._last_at = counts, now
        return True

    def line(self, counts: dict[str, int], seconds: float, final: bool = False) -> str:
        parts = [f"{counts.get('records', 0):,} records read"]
        if counts.get("sentences"):
            rate = f" ({counts['sentences'] / seconds:.2f}/s)" if seconds > 0 and not final else ""
            parts.append(f"{counts['sentences']:,} sentences through the models{rate}")
        parts += [f"{counts.get('documents', 0):,} documents done", f"{counts.get('events', 0):,} events"]
        if final or counts.get("documents"):
            rate = counts.get("documents", 0) / seconds if seconds > 0 else 0.0
            parts.append(f"{rate:.2f} documents/s")
        return f"newsevents: {'done: ' if final else ''}{', '.join(parts)} ({seconds:.0f} s)"

    def _print(self, counts: dict[str, int], final: bool = False) -> None:
        seconds = self._clock() - self._started
        if final and not any(counts.values()):
            text = ("newsevents: no progress reached this process (the runner ran the steps elsewhere; its own UI "
                    f"shows their progress) ({seconds:.0f} s)")
        else:
            text = self.line(counts, seconds, final)
        print(text, file=self._stream, flush=True)

    def _loop(self) -> None:
        # Looks more often than it may print, so a change after a quiet spell shows within a second or so.
        look = min(self._every, 1.0)
        while not self._wait(look):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a progress line is never worth failing the run
                pass


class Tally:
    """A step's function that counts each element under a progress counter and passes it on unchanged.

    Example::

        found | "TallySentences" >> beam.Map(Tally("sentences"))
    """

    def __init__(self, counter: str) -> None:
        if counter not in COUNTERS:
            raise ValueError(f"Unknown progress counter {counter!r}; known: {COUNTERS}.")
        self.counter = counter

    def __call__(self, element):
        bump(self.counter)
        return element
