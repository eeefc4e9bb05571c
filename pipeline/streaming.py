"""Streaming mode: watch a directory, window by event time, write one file per window.

    newsevents run --streaming --input DIR --output OUT [--window-seconds 60] [--max-seconds N]

- **Watching** is Beam's continuous file matching (``fileio.MatchAll`` on a
  periodic impulse, new paths only), with an impulse that can be stopped: after
  ``--max-seconds``, or on SIGINT/SIGTERM. When it stops, the watermark goes to
  the end of time, every open window fires and is written, and the job ends.
- **Event time** is the article's ``published`` timestamp, or its arrival time
  when it has none, or when it is older than ``--allowed-lateness-seconds`` (a
  window that late would already be closed; the timestamp column still holds
  ``published``). Records are never dropped as late.
- **Writing**: each window's rows of a table go to one Parquet file
  ``OUT/<table>/part-<window start>-<pane>.parquet``, written under a hidden
  name and renamed into place, so readers never see half a file while the job
  runs. A late pane (allowed lateness) adds a file for the same window.

Which files are read, and under what names, is the one
:class:`~newsevents.pipeline.io.file_source.FileSource` the local micro-batches
use too: a file is picked up once its last change is ``--settle-seconds`` old,
and never while its name is hidden (``.name.jsonl``: producers write under one
and rename when done).

**Restarts** are the local runner's (``pipeline/stream_driver.py``, micro-batches): each
batch is committed with its entry in the output's ledger
(``pipeline/io/ledger.py``), so a restarted job keeps the windows written before
and reads only new files, and files whose bytes changed. This graph remembers
paths in Beam state only, which a streaming runner's own snapshots (Flink
savepoints, Dataflow ``--update``) carry over; it refuses an output that holds a
local job's ledger rather than read every file into it again.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from typing import Any, Iterator

import apache_beam as beam
from apache_beam.coders import BooleanCoder
from apache_beam.io import fileio
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.transforms import trigger, window
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from apache_beam.utils.timestamp import Duration, Timestamp
from newsevents.pipeline.io.file_source import FileSource
from newsevents.pipeline.io.read_articles import ParseFiles
from newsevents.pipeline.io.write_tables import TableRows, table_dir, write_rows_file
from newsevents.schemas.records import Article

__all__ = ["STOP", "EventTimeWindows", "WatchArticles", "WatchFiles", "WriteWindowedTable", "event_time",
           "stop_on_signals"]

#: Set to stop the watcher: the job then flushes its open windows and ends.
STOP = threading.Event()

_FOREVER = 2**62


def stop_on_signals() -> None:
    """SIGINT and SIGTERM stop the watcher instead of killing the job (main thread only)."""
    def handler(signum, frame):
        STOP.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


class _Polls(RestrictionProvider):
    def initial_restriction(self, element):
        return OffsetRange(0, element[2])

    def create_tracker(self, restriction):
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element, restriction):
        return restriction.size()

    def truncate(self, element, restriction):
        return None  # on drain, stop polling


class _StoppableImpulse(beam.DoFn):
    """Emits the poll times ``start + i * interval`` until ``deadline`` or :data:`STOP`."""

    @beam.DoFn.unbounded_per_element()
    def process(self, element, tracker=beam.DoFn.RestrictionParam(_Polls()),
                watermark=beam.DoFn.WatermarkEstimatorParam(ManualWatermarkEstimator.default_provider())):
        start, interval, _polls, deadline = element
        index = tracker.current_restriction().start
        while True:
            if STOP.is_set() or time.time() >= deadline:
                tracker.try_claim(tracker.current_restriction().stop - 1)  # done: claim the rest, end the source
                return
            due = start + interval * index
            if due > time.time():
                watermark.set_watermark(Timestamp.of(due))
                tracker.defer_remainder(Duration.of(min(interval, max(0.05, due - time.time()))))
                return
            if not tracker.try_claim(index):
                return
            watermark.set_watermark(Timestamp.of(due))
            yield window.TimestampedValue(due, Timestamp.of(due))
            index += 1


class _NewPathsOnly(beam.DoFn):
    # State per path: each file is read once, however many polls see it.
    SEEN = ReadModifyWriteStateSpec("seen", BooleanCoder())

    def process(self, item, seen=beam.DoFn.StateParam(SEEN)):
        path, metadata = item
        if not seen.read():
            seen.write(True)
            yield metadata


def event_time(article: Article, now: float, lateness: float) -> float:
    """Seconds since the epoch that window an article: published, or arrival when missing or too old."""
    if article.published is None:
        return now
    published = article.published.timestamp()
    return published if published >= now - lateness else now


class WatchFiles(beam.PTransform):
    """``pbegin`` -> each file of ``source`` once, as an ``InputFile``, when a poll finds it settled.

    Polls every ``poll_seconds`` until ``max_seconds`` or :data:`STOP`; what a poll lets
    through is what :meth:`FileSource.settled` lists at that moment.
    """

    def __init__(self, source: FileSource, poll_seconds: float = 1.0, max_seconds: float | None = None) -> None:
        super().__init__()
        self._source = source
        self._poll = poll_seconds
        self._max_seconds = max_seconds

    def expand(self, pbegin):
        source = self._source
        start = time.time()
        deadline = start + self._max_seconds if self._max_seconds else float("inf")
        return (
            pbegin
            | "Impulse" >> beam.Create([(start, self._poll, _FOREVER, deadline)])
            | "Polls" >> beam.ParDo(_StoppableImpulse())
            | "Pattern" >> beam.Map(lambda _: source.pattern)
            | "Match" >> fileio.MatchAll(fileio.EmptyMatchTreatment.ALLOW)
            | "Inputs" >> beam.Filter(lambda m: source.reads(m.path))
            | "Settled" >> beam.Filter(lambda m: source.has_settled(m.last_updated_in_seconds or 0.0, time.time()))
            | "KeyByPath" >> beam.Map(lambda m: (m.path, m))
            | "NewOnly" >> beam.ParDo(_NewPathsOnly()).with_input_types(beam.typehints.Tuple[str, Any])
            | "AsInputFile" >> beam.Map(lambda m: source.input_file(m.path))
        )


class WatchArticles(beam.PTransform):
    """``pbegin`` -> ``(articles, dead_letters)``, timestamped and windowed, from files as they arrive.

    The files are :class:`WatchFiles` of ``FileSource.watching(spec, settle_seconds)``.
    """

    def __init__(self, spec: str, max_chars: int, window_seconds: int, lateness_seconds: int,
                 poll_seconds: float = 1.0, settle_seconds: float = 1.0, max_seconds: float | None = None) -> None:
        super().__init__()
        self._spec = spec
        self._max_chars = max_chars
        self._window = window_seconds
        self._lateness = lateness_seconds
        self._poll = poll_seconds
        self._settle = settle_seconds
        self._max_seconds = max_seconds

    def expand(self, pbegin):
        source = FileSource.watching(self._spec, self._settle)  # resolved here, where the job is built
        files = pbegin | "Files" >> WatchFiles(source, self._poll, self._max_seconds)
        articles, dead = files | "Parse" >> ParseFiles(self._max_chars)
        return (articles, dead) | "Windows" >> EventTimeWindows(self._window, self._lateness)


class EventTimeWindows(beam.PTransform):
    """``(articles, dead_letters)`` -> the same, timestamped by :func:`event_time` and in fixed windows.

    Dead letters keep their arrival time. Shared by the watching job and the
    local micro-batches, so both window the same way.
    """

    def __init__(self, window_seconds: int, lateness_seconds: int) -> None:
        super().__init__()
        self._window = window_seconds
        self._lateness = lateness_seconds

    def expand(self, pcolls):
        articles, dead = pcolls
        lateness = self._lateness
        windowing = dict(trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                         accumulation_mode=trigger.AccumulationMode.DISCARDING,
                         allowed_lateness=Duration.of(lateness))
        articles = (
            articles
            | "EventTime" >> beam.Map(lambda a: window.TimestampedValue(a, event_time(a, time.time(), lateness)))
            | "WindowArticles" >> beam.WindowInto(window.FixedWindows(self._window), **windowing)
        )
        dead = (
            dead
            | "ArrivalTime" >> beam.Map(lambda d: window.TimestampedValue(d, time.time()))
            | "WindowDeadLetters" >> beam.WindowInto(window.FixedWindows(self._window), **windowing)
        )
        return articles, dead


class _WriteWindow(beam.DoFn):
    def __init__(self, table: str, output: str, tag: str | None) -> None:
        self._table = table
        self._output = output
        self._tag = tag

    def process(self, item, win=beam.DoFn.WindowParam, pane=beam.DoFn.PaneInfoParam) -> Iterator[str]:
        _, rows = item
        start = dt.datetime.fromtimestamp(win.start.micros / 1e6, dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name = f"part-{start}-{self._tag + '-' if self._tag else ''}{pane.index:03d}.parquet"
        yield write_rows_file(rows, self._table, os.path.join(table_dir(self._output, self._table), name))


class WriteWindowedTable(beam.PTransform):
    """Windowed records -> one Parquet file per window (and pane) under ``OUT/<table>/``.

    Returns ``(written paths, dead letters)``, as ``WriteTable`` does: a row that
    does not fit the table's schema is handled by the same guarded conversion.
    """

    def __init__(self, table: str, output: str, tag: str | None = None) -> None:
        super().__init__()
        self._table = table
        self._output = output
        self._tag = tag  # told apart files of the same window from different micro-batches

    def expand(self, records):
        table = self._table
        rows, dead = records | "ToRows" >> TableRows(table)
        written = (
            rows
            | "KeyByTable" >> beam.Map(lambda row: (table, row))
            | "PerWindow" >> beam.GroupByKey()
            | "WriteWindow" >> beam.ParDo(_WriteWindow(self._table, self._output, self._tag))
        )
        return written, dead
