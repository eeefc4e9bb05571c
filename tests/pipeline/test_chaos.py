"""Chaos: a real run killed with SIGKILL in every phase, rerun each time, ends as a clean run (issue 14, part 8).

One output directory goes through a chain of runs of the same command
(``python -m newsevents.pipeline.run run --input IN --output OUT ...``), each but the last
killed with SIGKILL at a seeded random moment: once at a random time over the
clean run's measured duration, from outside, and then inside each phase
(reading, models, writing, committing). Commit steps take milliseconds, so the
moments in a phase are the n-th occurrence of one of its events (a record
read, a model batch, a Parquet file closed or renamed, a commit step, the lock's
release), n drawn from the counts of a clean run; a ``sitecustomize`` put on the
runs' ``PYTHONPATH`` counts them and has the process SIGKILL itself at the drawn
one.

After every kill a copy of the output is recovered as the next run would
recover it: its tables must then be, whole, either those the directory held
before (an older job's) or the clean run's, never a mix. The reruns must take
over the dead run's lock, and the last run must leave the clean run's tables
and summary, and no staging directory or lock file.

Every column is compared: the tables hold no run id or clock (``schemas/arrow.py``;
ids are hashes of content), so only the summary's clock (``seconds``,
``documents_per_s``) and ``rerun`` differ between runs. ``NEWSEVENTS_CHAOS_SEED`` replays
another schedule.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from newsevents.pipeline.io.commit import JOURNAL, STAGING, commit, recover
from newsevents.pipeline.io.lock import LOCK_FILE, LockHolder
from newsevents.pipeline.metrics import SUMMARY_FILE
from newsevents.schemas.arrow import TABLES
from newsevents.schemas.records import as_row

from tests.pipeline.test_commit import D1, D2, _doc, _stage
from tests.pipeline.test_reliability import ROOT, _tables
from tests.subproc import child_env

SEED = int(os.environ.get("NEWSEVENTS_CHAOS_SEED", "14"))
# The run-specific values of a summary: its clock, and whether this job's files were already there.
RUN_SPECIFIC = ("seconds", "documents_per_s", "rerun")
# The chain: a kill at a random time, then one in each phase. "apply" is a move of the journaled
# commit (a torn moment), "commit" any of its steps up to the lock's release. The torn moment is
# followed by a kill in the next run's reading phase, after its recover(): a rerun that did not
# recover would show the torn tables there.
SCHEDULE = ("timed", "read", "model", "write", "apply", "read", "commit")

HOOK = '''
"""Chaos hook (tests/pipeline/test_chaos.py): count a run's events, or SIGKILL the process at the n-th of one."""
import os
import runpy
import sys

# This file shadows the next sitecustomize on the path, tests/_child_site's (tests/subproc.py), which
# makes the project's warnings errors in a child: run it first, before the project is imported.
_here = os.path.dirname(os.path.abspath(__file__))
for _dir in sys.path:
    _site = os.path.join(_dir, "sitecustomize.py")
    if _dir and os.path.abspath(_dir) != _here and os.path.isfile(_site):
        runpy.run_path(_site)
        break

_KILL = os.environ.get("NEWSEVENTS_CHAOS_KILL", "")  # "phase:n"
_COUNT = os.environ.get("NEWSEVENTS_CHAOS_COUNT")  # where to write the counts at exit
if _KILL or _COUNT:
    import atexit
    import json
    import signal

    import pyarrow.parquet as pq

    from newsevents.models.events import EventModelHandler
    from newsevents.models.ner import NerModelHandler
    from newsevents.pipeline.io import lock, read_articles

    _counts = {}
    _phase, _, _n = _KILL.partition(":")
    _journaled = []

    def _event(*phases):
        for phase in phases:
            _counts[phase] = _counts.get(phase, 0) + 1
            if phase == _phase and _counts[phase] == int(_n):
                os.kill(os.getpid(), signal.SIGKILL)

    def _renamer(real):
        def rename(src, dst, *args, **kwargs):
            real(src, dst, *args, **kwargs)
            src, dst = os.fspath(src), os.fspath(dst)
            if "beam-temp" in src:  # Beam moving a written shard into staging
                _event("write")
            elif "_staging" in src or "_staging" in dst:  # the summary, the layout, the journal, its moves
                phases = ("commit", "apply") if _journaled else ("commit",)  # "apply": a journaled move
                if dst.endswith("COMMIT.json"):
                    _journaled.append(dst)
                _event(*phases)
        return rename

    os.rename, os.replace = _renamer(os.rename), _renamer(os.replace)

    _close = pq.ParquetWriter.close

    def _closed(self, *args, **kwargs):
        _close(self, *args, **kwargs)
        _event("write")

    pq.ParquetWriter.close = _closed

    _read_file = read_articles.read_file

    def _read(*args, **kwargs):
        for record in _read_file(*args, **kwargs):
            _event("read")
            yield record

    read_articles.read_file = _read

    for _cls in (NerModelHandler, EventModelHandler):
        def _inference(self, *args, _real=_cls.run_inference, **kwargs):
            _event("model")
            return _real(self, *args, **kwargs)
        _cls.run_inference = _inference

    _release = lock.OutputLock.release

    def _released(self):
        if self._fd is not None:  # the run has committed; its lock file is still there
            _event("commit")
        _release(self)

    lock.OutputLock.release = _released

    if _COUNT:
        atexit.register(lambda: open(_COUNT, "w").write(json.dumps(_counts)))
'''


class _Killed(BaseException):
    """Stands in for SIGKILL inside this process."""


def test_a_commit_killed_half_way_is_finished_where_the_output_now_is(tmp_path, monkeypatch):
    # Regression: the journal held the paths the killed run was given, so a rerun that reached the
    # directory by another path (moved or remounted, a relative --output from another directory)
    # took every step for done, deleted the staged files, and the tables stayed half committed.
    old, new = tmp_path / "old", tmp_path / "new"
    commit(str(old), _stage(str(old), "run1", [_doc("a", D1)]), "run1", "overwrite", None)
    stage = _stage(str(old), "run2", [_doc("b", D1), _doc("c", D2)])
    real = os.replace

    def replace(src, dst):
        real(src, dst)
        if os.path.exists(os.path.join(stage, JOURNAL)) and not str(dst).endswith(JOURNAL):
            raise _Killed  # after the first journaled step: documents are run2's, the rest run1's

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(_Killed):
        commit(str(old), stage, "run2", "overwrite", None)
    monkeypatch.undo()
    os.rename(old, new)
    assert recover(str(new)) == ["run2"]
    for table in TABLES:
        assert os.listdir(new / table) == ["part-run2-00000.parquet"], table
    assert json.loads((new / SUMMARY_FILE).read_text()) == {"run_id": "run2"}
    assert os.listdir(new / STAGING) == []


# --- the chain of killed runs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def chaos(samples_dir, tmp_path_factory):
    """The input (two sample articles and one broken line), the hook, and the command that runs them."""
    base = tmp_path_factory.mktemp("chaos")
    inp, hook = base / "in", base / "hook"
    inp.mkdir()
    hook.mkdir()
    lines = (samples_dir / "articles.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (inp / "articles.jsonl").write_text("".join(lines[:2]) + "{broken json\n", encoding="utf-8")
    (hook / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    return inp, hook


def _launch(chaos, out: Path, log: Path, **env) -> tuple[subprocess.Popen, float]:
    inp, hook = chaos
    environ = child_env({**os.environ, "PYTHONPATH": str(ROOT), **env})
    # The hook first: Python imports only the first sitecustomize on the path; it runs child_env's.
    environ["PYTHONPATH"] = os.pathsep.join([str(hook), environ["PYTHONPATH"]])
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsevents.pipeline.run", "run", "--input", str(inp), "--output", str(out),
             "--device", "cpu", "--quiet"],
            cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    return proc, time.monotonic()


def _wait(proc: subprocess.Popen, log: Path, seconds: float = 600) -> int:
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        _kill(proc)
        pytest.fail(f"the run did not end in {seconds} s: {log.read_text()[-2000:]}")


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: a run must not outlive its kill
    except ProcessLookupError:
        pass
    proc.wait()


def _staged(out: Path) -> list[str]:
    return os.listdir(out / STAGING) if (out / STAGING).exists() else []


def _holder(out: Path) -> LockHolder | None:
    return LockHolder.parse((out / LOCK_FILE).read_text()) if (out / LOCK_FILE).exists() else None


def _summary(out: Path) -> dict:
    summary = json.loads((out / SUMMARY_FILE).read_text())
    return {k: v for k, v in summary.items() if k not in RUN_SPECIFIC}


@pytest.fixture(scope="module")
def clean(chaos, tmp_path_factory):
    """A clean run (once per module): its tables, summary, duration and the count of each phase's events."""
    base = tmp_path_factory.mktemp("clean")
    out, counts = base / "out", base / "counts.json"
    _older_job(out)  # as in the chain, so that the commit's events include moving the old tables away
    proc, started = _launch(chaos, out, base / "stderr", NEWSEVENTS_CHAOS_COUNT=str(counts))
    assert _wait(proc, base / "stderr") == 0, (base / "stderr").read_text()
    seconds = time.monotonic() - started
    return {"out": out, "tables": _tables(out), "summary": _summary(out), "seconds": seconds,
            "counts": json.loads(counts.read_text())}


def _older_job(out: Path) -> tuple[dict, dict]:
    """Fill ``out`` with the tables of another job (one document), as its commit left them."""
    for table, schema in TABLES.items():
        rows = [as_row(_doc("older-job", D1))] if table == "documents" else []
        os.makedirs(out / table)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), out / table / "part-0000000000000000-00000.parquet")
    (out / SUMMARY_FILE).write_text(json.dumps({"run_id": "0000000000000000", "documents_written": 1}))
    return _tables(out), _summary(out)


def _recovered_state(out: Path, scratch: Path) -> tuple[dict, dict] | str:
    """What a reader sees in a copy of ``out`` once the next run's recover() has run (or what is wrong)."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(out, scratch, symlinks=True)
    recover(str(scratch))
    missing = [t for t in TABLES if not (scratch / t).is_dir()]
    if missing:
        return f"after recovery the tables {missing} are missing"
    if _staged(scratch):
        return f"recover() left staging behind: {_staged(scratch)}"
    return _tables(scratch), _summary(scratch)


def _mix(state: tuple[dict, dict], old: tuple[dict, dict], new: tuple[dict, dict]) -> dict[str, str]:
    """Whose each table (and the summary) is: 'old', 'new' or 'neither'."""
    def whose(mine, a, b):
        return "old" if mine == a else "new" if mine == b else "neither"

    mix = {t: whose(state[0][t], old[0][t], new[0][t]) for t in TABLES}
    return {**mix, SUMMARY_FILE: whose(state[1], old[1], new[1])}


def _draws(clean) -> list[tuple[str, float]]:
    """The seeded kill moments: a delay in seconds for 'timed', else the n-th event of the phase."""
    rng = random.Random(SEED)
    draws = []
    for phase in SCHEDULE:
        if phase == "timed":
            draws.append((phase, rng.uniform(0.0, clean["seconds"])))
        else:
            # The last journaled move completes the commit: the moment before it is the last torn one.
            count = clean["counts"].get(phase, 0) - (phase == "apply")
            assert count > 0, f"a clean run had too few {phase!r} events: {clean['counts']}"
            draws.append((phase, rng.randint(1, count)))
    return draws


@pytest.mark.slow
def test_runs_killed_in_every_phase_and_rerun_end_as_a_clean_run(chaos, clean, tmp_path):
    out, scratch = tmp_path / "out", tmp_path / "scratch"
    old = _older_job(out)
    new = (clean["tables"], clean["summary"])
    assert old[0] != new[0]
    history = [f"seed {SEED}, clean run {clean['seconds']:.1f} s, events {clean['counts']}"]  # for failures
    for i, (phase, at) in enumerate(_draws(clean)):
        stale = _holder(out)
        log = tmp_path / f"stderr-{i}"
        if phase == "timed":
            proc, started = _launch(chaos, out, log)
            while proc.poll() is None and time.monotonic() - started < at:
                time.sleep(0.01)
            _kill(proc)
        else:
            proc, started = _launch(chaos, out, log, NEWSEVENTS_CHAOS_KILL=f"{phase}:{at}")
            _wait(proc, log)
        history.append(f"run {i + 1}: {phase} at {at:.2f}, rc {proc.returncode}, {time.monotonic() - started:.1f} s")
        err = log.read_text()
        if phase != "timed":
            assert proc.returncode == -signal.SIGKILL, f"not killed at {phase}:{at}: {history}\n{err[-3000:]}"
        if stale is not None and phase != "timed":  # a hooked run is always killed past the lock
            assert f"taking over the lock of {stale.describe()}" in err, f"{history}\n{err[-3000:]}"
        state = _recovered_state(out, scratch)
        assert not isinstance(state, str), f"{state}: {history}"
        assert state in (old, new), f"a kill left a mix of old and new tables {_mix(state, old, new)}: {history}"
    stale = _holder(out)
    log = tmp_path / "stderr-last"
    proc, _ = _launch(chaos, out, log)  # the same command; the hook is idle without its variables
    rc = _wait(proc, log)
    err = log.read_text()
    assert rc == 0, f"{history}\n{err[-3000:]}"
    if stale is not None:
        assert f"taking over the lock of {stale.describe()}" in err, err
    assert _tables(out) == clean["tables"], history
    summary = _summary(out)
    assert summary == clean["summary"], history
    assert summary["accounted"] and summary["records_read"] == 3
    assert summary["records_read"] == summary["documents_written"] + summary["record_dead_letters"]
    assert summary["dead_letters_by_reason"] == {"invalid_json": 1}
    assert not (out / LOCK_FILE).exists(), "the lock outlived the last run"
    assert not _staged(out), "staging left behind"
    left = [p for p in out.rglob("*") if p.name.endswith(".tmp") or "beam-temp" in p.name]
    assert not left, left
    print("\n".join(history))
