"""Progress lines: at most one per interval, only when something changed, the totals last; counts from any process."""

import io
import os
import re
import threading
import time

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from newsevents.pipeline.progress import Progress, Tally, bump

from tests.subproc import run_python

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _Script:
    """A fake clock and the ``wait`` that drives Progress's thread: each look advances 1 s and runs that second's step."""

    def __init__(self, steps: dict[int, callable], seconds: int) -> None:
        self.now = 1000.0
        self._start = self.now
        self._steps, self._seconds = steps, seconds
        self.finished = threading.Event()

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        assert seconds <= 1.0
        self.now += seconds
        elapsed = round(self.now - self._start)
        if elapsed > self._seconds:
            self.finished.set()
            return True
        self._steps.get(elapsed, lambda: None)()
        return False


def _seconds(line: str) -> int:
    return int(re.search(r"\((\d+) s\)$", line).group(1))


def test_lines_come_at_most_once_per_interval_with_the_totals_last():
    out = io.StringIO()
    script = _Script({
        1: lambda: bump("records", 5),
        2: lambda: bump("sentences", 30),
        6: lambda: bump("sentences", 30),
        7: lambda: (bump("documents", 2), bump("events", 7)),
        8: lambda: bump("sentences", 10),
        21: lambda: bump("documents", 3),  # after a quiet spell: shown at the next look, not a whole interval later
    }, seconds=30)
    with Progress(5, out, clock=script.clock, wait=script.wait):
        assert script.finished.wait(10)
    lines = out.getvalue().splitlines()
    assert [_seconds(line) for line in lines[:-1]] == [5, 10, 21]
    assert lines[0] == "newsevents: 5 records read, 30 sentences through the models (6.00/s), 0 documents done, 0 events (5 s)"
    assert "70 sentences through the models" in lines[1] and "2 documents done, 7 events" in lines[1]
    assert lines[-1] == ("newsevents: done: 5 records read, 70 sentences through the models, 5 documents done, "
                         "7 events, 0.16 documents/s (31 s)")


def test_nothing_is_printed_before_work_is_counted():
    out = io.StringIO()
    script = _Script({12: lambda: bump("records")}, seconds=13)
    with Progress(5, out, clock=script.clock, wait=script.wait):
        assert script.finished.wait(10)
    lines = out.getvalue().splitlines()
    assert [_seconds(line) for line in lines] == [12, 14] and lines[-1].startswith("newsevents: done: 1 records read")


def test_progress_off_prints_nothing():
    out = io.StringIO()
    with Progress(0, out):
        bump("records")
        time.sleep(0.3)
    assert out.getvalue() == ""


def test_counts_from_other_processes_reach_the_driver():
    # multi_processing workers and local Dask workers are child processes of the driver.
    out = io.StringIO()
    with Progress(3600, out) as progress:
        run_python(["-c", "from pipeline.progress import bump\nfor _ in range(4): bump('documents')\n"
                    "bump('events', 9)"], cwd=ROOT, check=True)
        bump("records", 4)
        assert progress.counts() == {"records": 4, "sentences": 0, "documents": 4, "events": 9}
    assert out.getvalue().startswith("newsevents: done: 4 records read, 4 documents done, 9 events")
    assert "NEWSEVENTS_PROGRESS_DIR" not in os.environ


def test_a_runner_that_counts_elsewhere_is_named_not_shown_as_zero():
    out = io.StringIO()
    with Progress(3600, out):
        pass
    assert "no progress reached this process" in out.getvalue()


def _slow(element):
    time.sleep(0.4)
    return element


@pytest.mark.parametrize("mode", ["in_memory", "multi_processing"])
def test_documents_done_show_while_a_direct_runner_run_goes(mode):
    out = io.StringIO()
    options = PipelineOptions(["--direct_running_mode", mode, "--direct_num_workers", "1"])
    with Progress(0.2, out):
        with beam.Pipeline(options=options) as p:
            _ = p | beam.Create(list(range(8))) | beam.Map(_slow) | beam.Map(Tally("documents"))
    lines = out.getvalue().splitlines()
    done = [int(re.search(r"(\d+) documents done", line).group(1)) for line in lines]
    assert any(0 < n < 8 for n in done[:-1]), lines  # seen while the run went, not only at the end
    assert lines[-1].startswith("newsevents: done:") and done[-1] == 8


def test_tally_refuses_an_unknown_counter():
    with pytest.raises(ValueError, match="Unknown progress counter"):
        Tally("documnets")
