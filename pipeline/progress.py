"""Progress lines on stderr while a run works: records read, documents done, events, documents/s.

The pipeline's steps bump process-wide counters; a daemon thread in the driver
prints a line every ``--progress-seconds`` when something changed (never more
often, so logs are not flooded). Counters live in the process that runs the
steps: with the in-process DirectRunner (the default) that is the driver; on
multi-process or distributed runners the runner's own UI shows progress.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["Progress", "bump", "snapshot"]

_LOCK = threading.Lock()
_COUNTS = {"records": 0, "documents": 0, "events": 0}


def bump(name: str, n: int = 1) -> None:
    """Add ``n`` to a counter (called by the pipeline's steps)."""
    with _LOCK:
        _COUNTS[name] += n


def snapshot() -> dict[str, int]:
    with _LOCK:
        return dict(_COUNTS)


class Progress:
    """``with Progress(10):`` prints a progress line every 10 s while the block runs."""

    def __init__(self, every_seconds: float, stream: TextIO | None = None) -> None:
        self._every = every_seconds
        self._stream = stream or sys.stderr
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Progress":
        if self._every > 0:
            with _LOCK:
                for key in _COUNTS:
                    _COUNTS[key] = 0
            self._started = time.monotonic()
            self._thread = threading.Thread(target=self._loop, name="newsevents-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def line(self, counts: dict[str, int], seconds: float) -> str:
        rate = counts["documents"] / seconds if seconds > 0 else 0.0
        return (f"newsevents: {counts['records']:,} records read, {counts['documents']:,} documents done, "
                f"{counts['events']:,} events, {rate:.2f} documents/s ({seconds:.0f} s)")

    def _loop(self) -> None:
        last = None
        while not self._stop.wait(self._every):
            counts = snapshot()
            if counts != last:
                print(self.line(counts, time.monotonic() - self._started), file=self._stream, flush=True)
                last = counts
