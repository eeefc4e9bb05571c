"""Streaming restarts lose nothing and redo nothing (issue 15, part 2).

The ledger (``pipeline/io/ledger.py``) on hand-made staging directories, kills
between its steps included; then a real watching job killed with SIGKILL and
restarted.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from newsevents.pipeline.io import ledger as ledger_module
from newsevents.pipeline.io.commit import recover, staging_dir
from newsevents.pipeline.io.ledger import LEDGER_DIR, Ledger, Verdict

from tests.subproc import child_env

ROOT = Path(__file__).resolve().parents[2]


class _Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs."""


def _stage_batch(out: Path, batch: int) -> tuple[str, list[str]]:
    stage = staging_dir(str(out), f"stream-{batch:08d}")
    os.makedirs(os.path.join(stage, "documents"))
    name = os.path.join("documents", f"part-20260101T000000Z-{batch:05d}-000.parquet")
    pq.write_table(pa.table({"doc_id": [f"d{batch}"]}), os.path.join(stage, name))
    return stage, [name]


def _commit(out: Path, watch: Path, rel: str) -> None:
    ledger = Ledger.load(str(out))
    verdict, state = ledger.check(rel, str(watch / rel))
    assert verdict is not Verdict.COMMITTED
    stage, windows = _stage_batch(out, ledger.next_batch)
    ledger.commit(stage, ledger.next_batch, {rel: (str(watch / rel), state, {"read": 1})}, windows, str(watch))


def test_committed_files_are_skipped_touched_ones_too_and_changed_ones_read_again(tmp_path):
    watch, out = tmp_path / "watch", tmp_path / "out"
    watch.mkdir()
    out.mkdir()
    (watch / "a.jsonl").write_text('{"id": "a", "text": "x"}\n')
    (watch / "b.jsonl").write_text('{"id": "b", "text": "y"}\n')
    assert not Ledger.load(str(out)).found
    _commit(out, watch, "a.jsonl")
    _commit(out, watch, "b.jsonl")

    ledger = Ledger.load(str(out))  # as a restarted job reads it
    assert ledger.found and ledger.next_batch == 3 and ledger.input_files == 2
    assert sorted(os.listdir(out / LEDGER_DIR)) == ["batch-00000001.json", "batch-00000002.json"]
    assert sorted(os.listdir(out / "documents")) == ["part-20260101T000000Z-00001-000.parquet",
                                                     "part-20260101T000000Z-00002-000.parquet"]
    os.utime(watch / "a.jsonl", (time.time() + 5, time.time() + 5))  # touched: same bytes
    (watch / "b.jsonl").write_text('{"id": "b", "text": "z"}\n')  # same size, new bytes
    (watch / "c.jsonl").write_text("{}\n")
    assert ledger.check("a.jsonl", str(watch / "a.jsonl"))[0] is Verdict.COMMITTED
    verdict, state = ledger.check("b.jsonl", str(watch / "b.jsonl"))
    assert verdict is Verdict.CHANGED
    assert state.sha256 == hashlib.sha256((watch / "b.jsonl").read_bytes()).hexdigest()
    assert ledger.check("c.jsonl", str(watch / "c.jsonl"))[0] is Verdict.NEW


def test_a_file_with_the_same_size_and_time_but_other_bytes_is_changed(tmp_path):
    # Restored with its old time (``cp -p``, ``rsync -t``, an untarred copy): only the hash tells.
    watch, out = tmp_path / "watch", tmp_path / "out"
    watch.mkdir()
    out.mkdir()
    path = watch / "a.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n')
    _commit(out, watch, "a.jsonl")
    st = os.stat(path)
    path.write_text('{"id": "a", "text": "y"}\n')
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert Ledger.load(str(out)).check("a.jsonl", str(path))[0] is Verdict.CHANGED


def test_a_kill_after_the_journal_is_finished_by_the_restart(tmp_path, monkeypatch):
    watch, out = tmp_path / "watch", tmp_path / "out"
    watch.mkdir()
    out.mkdir()
    (watch / "a.jsonl").write_text("{}\n")

    def killed(output):
        raise _Killed

    monkeypatch.setattr(ledger_module, "recover", killed)  # killed right after the journal, before any move
    with pytest.raises(_Killed):
        _commit(out, watch, "a.jsonl")
    monkeypatch.undo()
    assert not (out / "documents").exists() and not Ledger.load(str(out)).found
    recover(str(out))  # what the restarted job does first
    ledger = Ledger.load(str(out))
    assert ledger.check("a.jsonl", str(watch / "a.jsonl"))[0] is Verdict.COMMITTED
    assert os.listdir(out / "documents") == ["part-20260101T000000Z-00001-000.parquet"]
    assert os.listdir(out / "_staging") == []


def test_a_kill_before_the_journal_leaves_nothing_and_the_file_is_read_again(tmp_path, monkeypatch):
    watch, out = tmp_path / "watch", tmp_path / "out"
    watch.mkdir()
    out.mkdir()
    (watch / "a.jsonl").write_text("{}\n")
    real = ledger_module._write_synced

    def write(path, text):
        if path.endswith("COMMIT.json"):
            raise _Killed
        real(path, text)

    monkeypatch.setattr(ledger_module, "_write_synced", write)
    with pytest.raises(_Killed):
        _commit(out, watch, "a.jsonl")
    monkeypatch.undo()
    recover(str(out))
    assert not (out / "documents").exists() and not (out / LEDGER_DIR).exists()
    assert Ledger.load(str(out)).check("a.jsonl", str(watch / "a.jsonl"))[0] is Verdict.NEW


def test_batches_whose_window_files_are_all_gone_are_forgotten(tmp_path):
    watch, out = tmp_path / "watch", tmp_path / "out"
    watch.mkdir()
    out.mkdir()
    for name in ("a.jsonl", "b.jsonl"):
        (watch / name).write_text("{}\n")
        _commit(out, watch, name)
    os.remove(out / "documents" / "part-20260101T000000Z-00001-000.parquet")  # e.g. a batch run's overwrite
    ledger = Ledger.load(str(out))
    assert ledger.gone() == ([1], [])
    assert ledger.forget([1]) == ["a.jsonl"]
    assert ledger.check("a.jsonl", str(watch / "a.jsonl"))[0] is Verdict.NEW
    assert ledger.check("b.jsonl", str(watch / "b.jsonl"))[0] is Verdict.COMMITTED
    assert ledger.next_batch == 3  # a forgotten batch's number is not reused


def _job(watch: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "newsevents.pipeline.run", "run", "--streaming", "--input", str(watch), "--output", str(out),
         "--device", "cpu", "--window-seconds", "5", "--poll-seconds", "0.5", "--settle-seconds", "0.5",
         "--quiet", *extra],
        cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _window_files(out: Path) -> dict[str, str]:
    return {f"{t}/{f}": hashlib.sha256((out / t / f).read_bytes()).hexdigest()
            for t in ("documents", "entities", "events", "dead_letters") if (out / t).is_dir()
            for f in os.listdir(out / t) if f.endswith(".parquet") and not f.startswith(".")}


def test_a_killed_watching_job_restarts_without_losing_or_redoing_a_file(samples_dir, tmp_path):
    watch, out = tmp_path / "watch", tmp_path / "out"
    watch.mkdir()
    lines = (samples_dir / "articles.jsonl").read_text().splitlines()
    (watch / "a.jsonl").write_text("\n".join(lines[:4]) + "\n")
    (watch / "b.jsonl").write_text("\n".join(lines[4:6]) + "\n")
    first = _job(watch, out, "--max-seconds", "300")
    try:
        started = time.monotonic()
        while not (out / LEDGER_DIR).is_dir() and time.monotonic() - started < 120 and first.poll() is None:
            time.sleep(0.2)
        assert (out / LEDGER_DIR).is_dir(), f"no batch committed after {time.monotonic() - started:.0f} s"
    finally:
        first.send_signal(signal.SIGKILL)  # no flush, no summary, the lock left behind
        first.communicate(timeout=60)
    kept = _window_files(out)
    assert any(f.startswith("documents/") for f in kept)

    os.utime(watch / "a.jsonl", (time.time() - 10, time.time() - 10))  # touched, same bytes: not a change
    (watch / "b.jsonl").write_text("\n".join(lines[4:8]) + "\n")  # changed: read again
    (watch / "c.jsonl").write_text("\n".join(lines[8:]) + "\n")  # new
    old = time.time() - 5  # settled already: the restart's first poll reads them, then --max-seconds ends it
    for name in ("b.jsonl", "c.jsonl"):
        os.utime(watch / name, (old, old))
    second = _job(watch, out, "--max-seconds", "1")
    stdout, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr[-3000:]

    now = _window_files(out)
    assert {f: now.get(f) for f in kept} == kept  # every earlier window file, unchanged
    summary = json.loads((out / "_SUMMARY.json").read_text())
    assert summary["resumed"] and summary["accounted"] and summary["committed_before"] == 2
    assert summary["reprocessed_files"] == ["b.jsonl"] and summary["skipped_files"] == 1
    assert sorted(os.path.basename(p) for p in summary["by_file"]) == ["b.jsonl", "c.jsonl"]
    assert summary["records_read"] == 4 + len(lines[8:]) == summary["documents_written"] + summary[
        "record_dead_letters"]
    assert "b.jsonl changed since it was committed; reading it again" in stderr
    assert "a.jsonl" not in stderr.replace(str(out), "")
    docs = ds.dataset(out / "documents").to_table().column("doc_id").to_pylist()
    # Four of a, two of b's first version, all of its second and of c: nothing lost, only b read twice.
    assert len(docs) == 6 + summary["documents_written"]
    assert sorted(set(docs)) == sorted(json.loads(line)["id"] for line in lines)


def test_a_streaming_graph_refuses_an_output_a_local_job_keeps_a_ledger_in(tmp_path):
    # The graph (Flink, Dataflow; here a test pipeline) keeps no ledger: it would read every file again.
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from newsevents.pipeline.run import run
    from newsevents.schemas.errors import ConfigError

    watch, out = tmp_path / "watch", tmp_path / "out"
    watch.mkdir()
    (watch / "a.jsonl").write_text("{}\n")
    out.mkdir()
    _commit(out, watch, "a.jsonl")
    with pytest.raises(ConfigError, match="ledger of a local streaming job"):
        run(["--streaming", "--input", str(watch), "--output", str(out), "--device", "cpu", "--quiet",
             "--max-seconds", "1"], test_pipeline=beam.Pipeline(options=PipelineOptions(["--streaming"])))
    assert os.listdir(out / "documents") == ["part-20260101T000000Z-00001-000.parquet"]  # nothing wiped


def test_an_unreadable_file_is_new_once_then_committed_like_any_other(tmp_path, monkeypatch):
    # The reader makes it an unreadable_file dead letter; hashing it must not stop the job.
    watch, out = tmp_path / "watch", tmp_path / "out"
    watch.mkdir()
    out.mkdir()
    (watch / "a.jsonl").write_text("{}\n")
    real = open

    def guarded(path, *args, **kwargs):  # as chmod 0 would, for any user, root included
        if str(path).endswith("a.jsonl"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ledger_module, "open", guarded, raising=False)
    _commit(out, watch, "a.jsonl")
    assert Ledger.load(str(out)).check("a.jsonl", str(watch / "a.jsonl"))[0] is Verdict.COMMITTED
    monkeypatch.undo()  # readable now
    assert Ledger.load(str(out)).check("a.jsonl", str(watch / "a.jsonl"))[0] is Verdict.CHANGED
