"""Streaming: windowed Parquet files (TestStream), and a real watched directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_stream import TestStream as BeamTestStream
from apache_beam.transforms import trigger, window
from apache_beam.utils.timestamp import Duration
from newsevents.pipeline.streaming import WriteWindowedTable, event_time
from newsevents.schemas.records import Article, DeadLetter

from tests.subproc import child_env

ROOT = Path(__file__).resolve().parents[2]


def _dead(i: int) -> DeadLetter:
    return DeadLetter("read", "invalid_json", f"bad {i}", f"d{i}", "{", f"f.jsonl:{i}")


def test_each_window_becomes_one_parquet_file_and_late_data_another(tmp_path):
    stream = (
        BeamTestStream()
        .add_elements([window.TimestampedValue(_dead(1), 5), window.TimestampedValue(_dead(2), 15)])
        .add_elements([window.TimestampedValue(_dead(3), 25)])
        .advance_watermark_to(40)  # closes [0, 30)
        .add_elements([window.TimestampedValue(_dead(4), 12)])  # late, within the allowed lateness
        .add_elements([window.TimestampedValue(_dead(5), 45)])
        .advance_watermark_to_infinity()
    )
    with beam.Pipeline(options=PipelineOptions(["--streaming"])) as p:
        _ = (
            p
            | stream
            | beam.WindowInto(window.FixedWindows(30), trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                              accumulation_mode=trigger.AccumulationMode.DISCARDING,
                              allowed_lateness=Duration.of(3600))
            | WriteWindowedTable("dead_letters", str(tmp_path))
        )
    files = sorted(os.listdir(tmp_path / "dead_letters"))
    assert files == ["part-19700101T000000Z-000.parquet", "part-19700101T000000Z-001.parquet",
                     "part-19700101T000030Z-000.parquet"]
    rows = {f: sorted(pq.read_table(tmp_path / "dead_letters" / f).column("doc_id").to_pylist()) for f in files}
    assert rows == {files[0]: ["d1", "d2", "d3"], files[1]: ["d4"], files[2]: ["d5"]}
    assert pq.read_schema(tmp_path / "dead_letters" / files[0]).metadata[b"newsevents.table"] == b"dead_letters"


def test_event_time_is_published_unless_missing_or_too_late():
    import datetime as dt

    now = 1_800_000_000.0
    recent = dt.datetime.fromtimestamp(now - 100, dt.timezone.utc)
    old = dt.datetime.fromtimestamp(now - 10 * 86_400, dt.timezone.utc)
    assert event_time(Article("a", "t", published=recent), now, 86_400) == now - 100
    assert event_time(Article("a", "t", published=old), now, 86_400) == now
    assert event_time(Article("a", "t"), now, 86_400) == now


def test_files_dropped_into_a_watched_directory_become_events(samples_dir, tmp_path):
    watch, out = tmp_path / "watch", tmp_path / "out"
    watch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsevents.pipeline.run", "run", "--streaming", "--input", str(watch), "--output", str(out),
         "--device", "cpu", "--window-seconds", "5", "--poll-seconds", "0.5", "--settle-seconds", "0.5",
         "--max-seconds", "300", "--quiet"],
        cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = (samples_dir / "articles.jsonl").read_text().splitlines()
    try:
        time.sleep(2)
        (watch / ".first.jsonl").write_text("\n".join(lines[:6]) + "\n")
        os.replace(watch / ".first.jsonl", watch / "first.jsonl")  # how producers should drop files
        dropped, events = time.monotonic(), 0
        while not events and time.monotonic() - dropped < 90 and proc.poll() is None:
            time.sleep(0.5)
            if (out / "events").is_dir() and any(f.endswith(".parquet") for f in os.listdir(out / "events")):
                events = ds.dataset(out / "events").to_table().num_rows  # readable while the job runs
        assert events > 0, f"no events {time.monotonic() - dropped:.0f} s after the drop"
        (watch / "second.jsonl").write_text("\n".join(lines[6:]) + "\n")
        time.sleep(3)
    finally:
        proc.send_signal(signal.SIGTERM)  # stop watching: the batch in hand is finished, then the job ends
        stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads((out / "_SUMMARY.json").read_text())
    assert summary["accounted"] and summary["streaming"]
    assert summary["documents_written"] == summary["records_read"] == 12
    docs = ds.dataset(out / "documents").to_table().column("doc_id").to_pylist()
    assert sorted(docs) == sorted(json.loads(line)["id"] for line in lines)
    names = [f for f in os.listdir(out / "events") if not f.startswith(".")]
    assert names and all(n.startswith("part-") and n.endswith(".parquet") for n in names)


def test_the_beam_streaming_graph_watches_and_flushes_on_stop(samples_dir, tmp_path):
    # The graph streaming runners (Flink, Dataflow) run: continuous matching, event
    # time, windows. Locally it flushes when watching stops (--max-seconds).
    from newsevents.pipeline.run import run

    watch = tmp_path / "watch"
    watch.mkdir()
    lines = (samples_dir / "articles.jsonl").read_text().splitlines()
    (watch / "a.jsonl").write_text("\n".join(lines[:4]) + "\n")
    os.utime(watch / "a.jsonl", (time.time() - 60, time.time() - 60))
    options = PipelineOptions(["--streaming"])
    summary = run(["--streaming", "--input", str(watch), "--output", str(tmp_path / "out"), "--device", "cpu",
                   "--quiet", "--max-seconds", "6", "--poll-seconds", "0.5", "--window-seconds", "5"],
                  test_pipeline=beam.Pipeline(options=options))
    assert summary["streaming"] and summary["accounted"] and summary["documents_written"] == 4
    names = os.listdir(tmp_path / "out" / "documents")
    assert names and all(n.startswith("part-") for n in names)
