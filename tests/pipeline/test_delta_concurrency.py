"""Delta commits by real processes: concurrent writers, and commits killed with SIGKILL at any point.

Each child process commits a staged run with :class:`DeltaOutput`, the code the batch driver
runs after its accounting (``pipeline/batch.py``). Concurrent children read the tables'
versions (``check()``) and then wait for one signal to commit, so that each commits on a
version the other has moved past: delta-rs must settle every table between them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from newsevents.pipeline.io.delta import COMMIT_ORDER, RUN_ID_KEY, DeltaOutput
from newsevents.schemas.arrow import TABLES

from tests.pipeline.test_delta_commit import D1, D2, doc, rows, stage_run, table
from tests.subproc import child_env

deltalake = pytest.importorskip("deltalake")

ROOT = Path(__file__).resolve().parents[2]

# argv: OUT STAGE RUN_ID MODE PARTITION_BY READY GO [KILL]. KILL is "table:before|during|after": SIGKILL there.
CHILD = r'''
import os, signal, sys, time
from newsevents.pipeline.io.delta import DeltaOutput
from newsevents.schemas.errors import NewsEventsError

out, stage, run_id, mode, partition_by, ready, go = sys.argv[1:8]
kill = sys.argv[8] if len(sys.argv) > 8 else ""
where, _, when = kill.partition(":")
die = lambda: os.kill(os.getpid(), signal.SIGKILL)

real_commit, real_reader = DeltaOutput._commit_table, DeltaOutput._reader

def commit_table(self, table, *args):
    if table == where and when == "before":
        die()
    real_commit(self, table, *args)
    if table == where and when == "after":
        die()

def reader(self, stage, table, dates):
    data = real_reader(self, stage, table, dates)
    if table != where or when != "during":
        return data
    import pyarrow as pa

    def batches():
        yield from data  # delta-rs has every row but has not finished its files: no commit yet
        die()
    return pa.RecordBatchReader.from_batches(data.schema, batches())

DeltaOutput._commit_table, DeltaOutput._reader = commit_table, reader
tables = DeltaOutput(out, run_id, mode, partition_by or None)
try:
    tables.check()
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.005)
    tables.commit(stage)
except NewsEventsError as exc:
    print(f"newsevents: error: {exc}", file=sys.stderr)
    sys.exit(2)
'''


def _start(out: Path, stage: str, run_id: str, mode: str, partition_by: str, tmp: Path, go: Path,
           kill: str = "") -> tuple[subprocess.Popen, Path]:
    ready = tmp / f"ready-{run_id}-{time.monotonic_ns()}"
    env = child_env({**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(out), stage, run_id, mode, partition_by, str(ready),
                             str(go), kill], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    return proc, ready


def _together(specs: list[tuple], tmp: Path) -> list[tuple[int, str]]:
    """Start one child per spec, let them commit at the same moment once all have read the tables; (rc, stderr)."""
    go = tmp / f"go-{time.monotonic_ns()}"
    started = [_start(*spec, tmp, go) for spec in specs]
    deadline = time.monotonic() + 120
    while not all(ready.exists() or proc.poll() is not None for proc, ready in started):
        assert time.monotonic() < deadline, "the children did not get ready"
        time.sleep(0.01)
    go.touch()
    results = []
    for proc, _ in started:
        _, err = proc.communicate(timeout=120)
        results.append((proc.returncode, err))
    return results


def test_two_processes_appending_different_partitions_at_once_both_succeed(tmp_path):
    out = tmp_path / "out"
    first = stage_run(tmp_path, "r1", [doc(f"a{i}", D1) for i in range(3)], dead=1)
    second = stage_run(tmp_path, "r2", [doc(f"b{i}", D2) for i in range(3)], dead=2)
    results = _together([(out, first, "run1", "append", "published_date"),
                         (out, second, "run2", "append", "published_date")], tmp_path)
    assert results == [(0, ""), (0, "")], results
    assert rows(out, "documents") == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert rows(out, "entities") == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert len(rows(out, "dead_letters", "error")) == 3
    # Both found no tables and committed at once: one created each table, the other found it created (the
    # race lost) and committed on it; each table's second commit was made on a version that had moved on.
    for name in TABLES:
        history = sorted(table(out, name).history(), key=lambda h: h["version"])
        assert [h["operation"] for h in history] == ["CREATE TABLE", "WRITE", "WRITE"], name
        assert sorted(h[RUN_ID_KEY] for h in history[1:]) == ["run1", "run2"], name


def test_two_overwrites_of_the_same_partition_at_once_fail_one_with_one_line(tmp_path):
    out = tmp_path / "out"
    DeltaOutput(str(out), "run0", "overwrite", "published_date").check()
    base = stage_run(tmp_path, "r0", [doc("old1", D1), doc("old2", D2)])
    tables = DeltaOutput(str(out), "run0", "overwrite", "published_date")
    tables.check()
    tables.commit(base)
    first = stage_run(tmp_path, "r1", [doc("a", D1)], dead=1)
    second = stage_run(tmp_path, "r2", [doc("b", D1)], dead=1)
    results = _together([(out, first, "run1", "overwrite", "published_date"),
                         (out, second, "run2", "overwrite", "published_date")], tmp_path)
    by_code = {rc: (name, err) for name, (rc, err) in zip(("a", "b"), results)}
    assert sorted(by_code) == [0, 2], results
    winner, err = by_code[0][0], by_code[2][1]
    assert err.count("\n") == 1 and err.startswith("newsevents: error: "), err
    assert "another run committed to this table while this one ran" in err and "Run it again" in err
    assert "It had committed" not in err, "the loser committed some tables before its conflict"
    # Nothing lost: the winner's partition, and the partition neither touched.
    assert rows(out, "documents") == sorted([winner, "old2"])
    assert rows(out, "entities") == sorted([winner, "old2"])
    assert len(rows(out, "dead_letters", "error")) == 1, "the loser added its dead letters"


@pytest.mark.parametrize("mode", ["append", "overwrite"])
def test_commits_killed_at_any_point_leave_whole_tables_and_the_rerun_completes(tmp_path, mode):
    out = tmp_path / "out"
    partition_by = "published_date" if mode == "overwrite" else ""
    older = stage_run(tmp_path, "r0", [doc("old1", D1), doc("old2", D2)], dead=1)
    tables = DeltaOutput(str(out), "run0", mode, partition_by or None)
    tables.check()
    tables.commit(older)
    before = {name: rows(out, name, "error" if name == "dead_letters" else "doc_id") for name in TABLES}
    stage = stage_run(tmp_path, "r1", [doc("new", D1)], dead=1)
    clean_out = tmp_path / "clean"
    for name in ("r0", "r1"):  # the same two runs, never killed
        clean = DeltaOutput(str(clean_out), {"r0": "run0", "r1": "run1"}[name], mode, partition_by or None)
        clean.check()
        clean.commit(older if name == "r0" else stage)
    after = {name: rows(clean_out, name, "error" if name == "dead_letters" else "doc_id") for name in TABLES}
    assert before != after
    # A chain of attempts of the same run, each killed at a later point; the last one is not killed.
    order = sorted(COMMIT_ORDER, key=lambda t: DeltaOutput(str(out), "x", mode, partition_by or None)._operation(t)
                   == "add")
    kills = [f"{order[0]}:during", f"{order[1]}:after", f"{order[3]}:during", ""]
    go = tmp_path / "go"
    go.touch()
    for kill in kills:
        proc, _ = _start(out, stage, "run1", mode, partition_by, tmp_path, go, kill)
        _, err = proc.communicate(timeout=120)
        if kill:
            assert proc.returncode == -signal.SIGKILL, f"not killed at {kill}: {err}"
        else:
            assert proc.returncode == 0, err
        state = {name: rows(out, name, "error" if name == "dead_letters" else "doc_id") for name in TABLES}
        for name in TABLES:
            assert state[name] in (before[name], after[name]), f"killed at {kill}: {name} is {state[name]}"
    assert state == after
    adds = [t for t in TABLES if DeltaOutput(str(out), "x", mode, partition_by or None)._operation(t) == "add"]
    assert adds == (list(TABLES) if mode == "append" else ["dead_letters"])
    for name in adds:  # added once, however often the run was rerun
        writes = [h for h in table(out, name).history() if h["operation"] == "WRITE" and h.get(RUN_ID_KEY) == "run1"]
        assert len(writes) == 1, name
