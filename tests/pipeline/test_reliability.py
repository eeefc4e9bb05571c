"""Reliability with the real models: determinism, kill-and-rerun, hostile input, dedup, partitions."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from newsevents.pipeline.run import run
from newsevents.schemas.arrow import TABLES

from tests.subproc import child_env

ROOT = Path(__file__).resolve().parents[2]


def _run(inp, out, *extra):
    return run(["--input", str(inp), "--output", str(out), "--device", "cpu", "--quiet", *extra])


def _tables(out) -> dict[str, list[str]]:
    """Every table's rows as sorted JSON strings (ordering aside, content exact)."""
    result = {}
    for table in TABLES:
        rows = ds.dataset(os.path.join(out, table), partitioning="hive").to_table().to_pylist()
        result[table] = sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
    return result


@pytest.fixture(scope="module")
def clean_run(samples_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    summary = _run(samples_dir, out)
    return out, summary


def test_two_runs_give_equal_tables(clean_run, samples_dir, tmp_path):
    out, summary = clean_run
    again = _run(samples_dir, tmp_path)
    assert again["run_id"] == summary["run_id"]
    assert _tables(tmp_path) == _tables(out)


def test_killed_run_leaves_nothing_visible_and_rerun_completes(clean_run, samples_dir, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "newsevents.pipeline.run", "run", "--input", str(samples_dir), "--output",
                             str(out), "--device", "cpu", "--quiet"], cwd=ROOT, env=child_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out / "_staging").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2.0)  # into the model stages
    if proc.poll() is not None:
        pytest.fail("the run finished before it could be killed; give it more input")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not any((out / t).exists() for t in TABLES), "a killed run's tables became visible"
    assert not (out / "_SUMMARY.json").exists()
    _run(samples_dir, out)
    assert _tables(out) == _tables(clean_run[0])
    assert os.listdir(out / "_staging") == []


def test_append_of_the_same_job_adds_no_duplicates(clean_run, samples_dir, tmp_path):
    shutil.copytree(clean_run[0], tmp_path, dirs_exist_ok=True)
    _run(samples_dir, tmp_path, "--mode", "append")
    assert _tables(tmp_path) == _tables(clean_run[0])


def test_fail_if_exists_exits_2_and_touches_nothing(clean_run, samples_dir, tmp_path, capsys):
    from newsevents.pipeline.run import main

    shutil.copytree(clean_run[0], tmp_path, dirs_exist_ok=True)
    assert main(["run", "--input", str(samples_dir), "--output", str(tmp_path), "--mode", "fail-if-exists"]) == 2
    assert "fail-if-exists" in capsys.readouterr().err
    assert _tables(tmp_path) == _tables(clean_run[0])


def test_partitioned_output_is_hive_style_and_readable(clean_run, samples_dir, tmp_path):
    summary = _run(samples_dir, tmp_path, "--partition-by", "published_date")
    parts = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert parts and all(p.startswith("published_date=") for p in parts)
    events = ds.dataset(tmp_path / "events", partitioning="hive").to_table()
    assert events.num_rows == summary["events"] == clean_run[1]["events"]
    for row in events.select(["published", "published_date"]).to_pylist():
        assert row["published"] is None or str(row["published_date"]) == row["published"].date().isoformat()


def test_duplicates_are_written_once_and_counted(samples_dir, tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    text = "Police in Lagos arrested 14 protesters outside the governor's office on Friday."
    (inp / "a.jsonl").write_text(
        json.dumps({"id": "x1", "text": text}) + "\n"
        + json.dumps({"id": "x1", "text": "Another text with the same id."}) + "\n"
        + json.dumps({"id": "x2", "text": "  " + text.upper().replace(" ", "   ") + "\n"}) + "\n")
    (inp / "b.jsonl").write_text(json.dumps({"id": "x3", "text": "Kenya and Uganda signed a trade accord."}) + "\n"
                                 + json.dumps({"id": "x1", "text": text}) + "\n")
    summary = _run(inp, tmp_path / "out")
    assert summary["documents_written"] == 2 and summary["duplicates"] == 3 and summary["accounted"]
    docs = _tables(tmp_path / "out")["documents"]
    assert sorted(json.loads(d)["input_location"].rsplit("/", 1)[1] for d in docs) == ["a.jsonl:1", "b.jsonl:1"]
    assert summary["by_file"][str(inp / "a.jsonl")] == {"read": 3, "documents": 1, "dead_letters": 2,
                                                        "accounted": True}


class _NoMetrics:
    """A runner result that reports no metrics, as the DaskRunner's does."""

    def metrics(self):
        raise NotImplementedError


def test_records_that_vanish_raise_accounting_error_naming_the_file(tmp_path):
    from newsevents.pipeline.batch import records_read as _counts
    from newsevents.pipeline.batch import require_accounted as _require_accounted
    from newsevents.pipeline.io.read_articles import expand_input
    from newsevents.pipeline.metrics import summarise
    from newsevents.schemas.errors import AccountingError

    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "1", "text": "Police arrested him."}\n{"id": "2", "text": "Nothing."}\n')
    files = expand_input(str(src))
    # No metrics from the runner: the input is counted in the file itself (2 records),
    # and an empty output (no documents, no dead letters) cannot balance it.
    counts = _counts(_NoMetrics(), lambda: files, 10_000)
    assert counts == {str(src): 2}
    summary = summarise(str(tmp_path / "empty_out"), counts, 0.0, files)
    with pytest.raises(AccountingError, match="in.jsonl"):
        _require_accounted(summary, "nothing was committed")
    # Where the input cannot be read from here, accounting is left unchecked, not failed.
    assert _counts(_NoMetrics(), None, 10_000) is None
    _require_accounted(summarise(str(tmp_path / "empty_out"), None, 0.0, files), "unused")
