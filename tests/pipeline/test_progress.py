"""Progress lines: at a steady interval, only when something changed, none when off."""

import io
import time

from pipeline.progress import Progress, bump


def test_progress_prints_changes_at_the_interval_only():
    out = io.StringIO()
    with Progress(0.2, out):
        bump("records", 5)
        time.sleep(0.5)
        bump("documents", 2)
        bump("events", 7)
        time.sleep(0.9)  # several intervals without change: no new lines
    lines = out.getvalue().splitlines()
    assert 2 <= len(lines) <= 3
    assert lines[0].startswith("newsevents: 5 records read, 0 documents done, 0 events")
    assert "5 records read, 2 documents done, 7 events" in lines[-1] and "documents/s" in lines[-1]


def test_progress_off_prints_nothing():
    out = io.StringIO()
    with Progress(0, out):
        bump("records")
        time.sleep(0.3)
    assert out.getvalue() == ""
